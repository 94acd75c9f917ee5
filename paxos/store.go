package paxos

import (
	"fmt"
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Stable storage layout. Every acceptor write is one small key, so a step
// persists only what it changed:
//
//	promised          the highest ballot promised
//	acc/%016d         the (ballot, command) accepted in a slot
//	snap              the applied slot and the key-value state at it
const (
	keyPromised = "promised"
	keyAccPfx   = "acc/"
	keySnap     = "snap"
)

// accKey is the storage key of a slot's accepted value. The zero padding
// makes sorted keys come in slot order.
func accKey(slot int64) string {
	var b [len(keyAccPfx) + 16]byte
	copy(b[:], keyAccPfx)
	v := slot
	for i := len(b) - 1; i >= len(keyAccPfx); i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[:])
}

// slotOfKey parses the slot back out of an acc/ key.
func slotOfKey(key string) (int64, error) {
	if len(key) != len(keyAccPfx)+16 || key[:len(keyAccPfx)] != keyAccPfx {
		return 0, fmt.Errorf("storage key %q is not an accepted slot", key)
	}
	return strconv.ParseInt(key[len(keyAccPfx):], 10, 64)
}

func encodeBallot(e *protocols.Encoder, b Ballot) {
	e.Varint(b.Round)
	e.Varint(int64(b.Node))
}

func decodeBallot(d *protocols.Decoder) Ballot {
	r := d.Varint()
	return Ballot{Round: r, Node: sim.NodeID(d.Varint())}
}

// encodeAccepted appends an accepted (ballot, command) record.
func encodeAccepted(e *protocols.Encoder, b Ballot, c *protocols.Request) {
	encodeBallot(e, b)
	e.Request(c)
}

// decodeAccepted reads a record written by encodeAccepted.
func decodeAccepted(data []byte) (Ballot, protocols.Request, error) {
	d := protocols.Decoder{B: data}
	b := decodeBallot(&d)
	c := d.Request()
	if d.Err != nil {
		return Ballot{}, protocols.Request{}, fmt.Errorf("accepted record: %v", d.Err)
	}
	return b, c, nil
}

// decodePromised reads the promised ballot record.
func decodePromised(data []byte) (Ballot, error) {
	d := protocols.Decoder{B: data}
	b := decodeBallot(&d)
	if d.Err != nil {
		return Ballot{}, fmt.Errorf("promised record: %v", d.Err)
	}
	return b, nil
}

// Change kinds in a node's journal.
const (
	changeAccepted uint8 = iota + 1 // the node persisted an accepted value
	changeLearned                   // the node learned a slot was decided
	changeApplied                   // the node applied a slot to its state machine
)

// journalMax bounds a node's journal; a checker that falls further behind
// rescans the node's storage instead.
const journalMax = 256

// change is one journal record.
type change struct {
	Kind   uint8
	Slot   int64
	Ballot Ballot // of an acceptance
	Cmd    protocols.Request
}

// journal is a bounded record of a node's recent acceptances, decisions
// and applications. It exists for the checkers, which read true stable
// storage but would be too slow scanning it all after every event: the
// journal says which slots to look at. It does not affect the protocol.
type journal struct {
	ring [journalMax]change
	n    uint64
}

func (j *journal) add(kind uint8, slot int64, c *protocols.Request) {
	j.ring[j.n%journalMax] = change{Kind: kind, Slot: slot, Cmd: *c}
	j.n++
}

// addAccepted records an acceptance of c in ballot b.
func (j *journal) addAccepted(slot int64, b Ballot, c *protocols.Request) {
	j.ring[j.n%journalMax] = change{Kind: changeAccepted, Slot: slot, Ballot: b, Cmd: *c}
	j.n++
}

// journaled is implemented by both Paxos nodes: Journal exposes the node's
// journal to the checkers, read-only.
type journaled interface {
	Journal() *journal
}
