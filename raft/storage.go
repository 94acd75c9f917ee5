package raft

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Stable storage layout. Every write goes through env.Store before the
// node sends any message that depends on it (Figure 2: "updated on stable
// storage before responding to RPCs").
//
//	hs                 currentTerm, votedFor
//	snap               snapshot: index, term, digest, config, the state machine's bytes
//	log/<16 hex index> one entry per key, so an append writes only the new entries
const (
	keyHardState = "hs"
	keySnapshot  = "snap"
	logPrefix    = "log/"
)

// logKey is the key of entry i: log/<i in 16 hex digits>, so that sorted
// keys are in index order. The node never makes it: it reaches entries by
// number (env.StoreAt and its siblings), which the store keeps in an array
// instead of hashing key strings; traces and Keys name them so.
func logKey(i int64) string { return sim.IndexKey(logPrefix, uint64(i)) }

func parseLogKey(k string) (int64, error) {
	v, err := strconv.ParseUint(k[len(logPrefix):], 16, 64)
	return int64(v), err
}

// persistHardState writes currentTerm and votedFor.
// It encodes on the stack, as protocols.Encoder.Varint would: env.Store
// copies the value, and a clone of the node starts without a buffer.
func (n *Node) persistHardState(env *sim.Env) {
	var buf [2 * binary.MaxVarintLen64]byte
	b := binary.AppendVarint(buf[:0], n.term)
	b = binary.AppendVarint(b, int64(n.vote))
	env.Store(keyHardState, b)
}

// persistEntries writes the entries lo..hi (inclusive).
func (n *Node) persistEntries(env *sim.Env, lo, hi int64) {
	for i := lo; i <= hi; i++ {
		n.enc.B = n.enc.B[:0]
		encodeEntry(&n.enc, n.log.at(i))
		env.StoreAt(logPrefix, uint64(i), n.enc.B)
	}
}

// deleteEntries removes the stored entries lo..hi (inclusive).
func (n *Node) deleteEntries(env *sim.Env, lo, hi int64) {
	for i := lo; i <= hi; i++ {
		env.DeleteAt(logPrefix, uint64(i))
	}
}

func encodeEntry(e *protocols.Encoder, en *Entry) {
	e.Varint(en.Term)
	e.Uvarint(uint64(en.Kind))
	switch en.Kind {
	case EntryCommand:
		e.Request(&en.Req)
	case EntryConfig:
		encodeConfig(e, en.Config)
	}
}

func decodeEntry(d *protocols.Decoder) Entry {
	var en Entry
	en.Term = d.Varint()
	en.Kind = EntryKind(d.Uvarint())
	switch en.Kind {
	case EntryCommand:
		en.Req = d.Request()
	case EntryConfig:
		en.Config = decodeConfig(d)
	case EntryNoop:
	default:
		d.Err = fmt.Errorf("unknown entry kind %d", en.Kind)
	}
	return en
}

func encodeConfig(e *protocols.Encoder, c *Config) {
	e.Uvarint(uint64(len(c.Members)))
	for _, m := range c.Members {
		e.Varint(int64(m))
	}
	e.Varint(int64(c.Version))
	e.Varint(int64(c.Removed))
}

func decodeConfig(d *protocols.Decoder) *Config {
	c := &Config{}
	k := d.Uvarint()
	if k > sim.MaxNodes {
		d.Err = fmt.Errorf("config of %d members", k)
		return c
	}
	for i := uint64(0); i < k; i++ {
		c.Members = append(c.Members, sim.NodeID(d.Varint()))
	}
	c.Version = int(d.Varint())
	c.Removed = sim.NodeID(d.Varint())
	return c
}

// persistSnapshot writes the snapshot the node holds.
func (n *Node) persistSnapshot(env *sim.Env) {
	var e protocols.Encoder
	e.Varint(n.log.snapIndex)
	e.Varint(n.log.snapTerm)
	e.Uvarint(n.snapDigest)
	encodeConfig(&e, n.snapConfig)
	e.Bytes(n.snapData)
	env.Store(keySnapshot, e.B)
}

// restore rebuilds the persistent state from storage after a (re)start:
// hard state, then snapshot, then the entries after it. Anything else is
// volatile and starts afresh.
func (n *Node) restore(env *sim.Env) {
	if b, ok := env.Load(keyHardState); ok {
		d := protocols.Decoder{B: b}
		n.term = d.Varint()
		n.vote = sim.NodeID(d.Varint())
		if d.Err != nil {
			panic(fmt.Sprintf("%v: corrupt hard state: %v", n.id, d.Err))
		}
	}
	n.snapConfig = &Config{Members: n.members}
	if b, ok := env.Load(keySnapshot); ok {
		d := protocols.Decoder{B: b}
		n.log.snapIndex = d.Varint()
		n.log.snapTerm = d.Varint()
		n.snapDigest = d.Uvarint()
		n.snapConfig = decodeConfig(&d)
		n.snapData = d.Bytes()
		if d.Err != nil {
			panic(fmt.Sprintf("%v: corrupt snapshot: %v", n.id, d.Err))
		}
	}
	n.startStateMachine()
	// The entries follow the snapshot, one key each, up to the first
	// missing index: no listing of the keys, no sort. The persistence
	// checker holds that no other entry is stored (a key left behind by a
	// truncation or a compaction).
	stored := make([]Entry, 0, n.storedEntries(env)) // one array for all
	for i := n.log.snapIndex + 1; ; i++ {
		// PeekAt, not LoadAt: decodeEntry copies what it keeps (the
		// request's strings), so the stored bytes need no copy of their own.
		b, ok := env.PeekAt(logPrefix, uint64(i))
		if !ok {
			break
		}
		d := protocols.Decoder{B: b}
		en := decodeEntry(&d)
		if d.Err != nil {
			panic(fmt.Sprintf("%v: corrupt entry %d: %v", n.id, i, d.Err))
		}
		stored = append(stored, en)
	}
	n.log.entries = make([]*Entry, len(stored), len(stored)+64)
	for k := range stored {
		n.log.entries[k] = &stored[k]
	}
	n.commit, n.applied = n.log.snapIndex, n.log.snapIndex
	n.reloadConfig()
}

// storedEntries counts the entries stored after the snapshot, galloping
// then bisecting on HasAt, for restore to size the log's array to what it
// holds (a restarted node's log is often far shorter than the snapshot
// interval) without reading anything twice. It is only a capacity: with a
// hole in the stored log (which the persistence checker reports) it may
// count wrong, and restore still reads up to the first missing entry.
func (n *Node) storedEntries(env *sim.Env) int64 {
	has := func(k int64) bool { return env.HasAt(logPrefix, uint64(n.log.snapIndex+k)) }
	// Entries 1..lo are stored, hi is not (or hi is past what an index
	// can be).
	lo, hi := int64(0), int64(1)
	for has(hi) {
		lo = hi
		if hi > math.MaxInt64/4 {
			panic(fmt.Sprintf("%v: more than %d entries stored after snapshot %d", n.id, hi, n.log.snapIndex))
		}
		hi *= 2
	}
	for hi-lo > 1 {
		if m := lo + (hi-lo)/2; has(m) {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}
