package paxos

import (
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Entry is one slot's value as an acceptor or learner reports it: the
// ballot it was accepted in and the command, or a decided command.
type Entry struct {
	Slot    int64             `json:"slot"`
	Ballot  Ballot            `json:"ballot"`
	Cmd     protocols.Request `json:"cmd"`
	Decided bool              `json:"decided,omitempty"`
}

// Prepare is phase 1a: a proposer asks acceptors to promise ballot Ballot
// for every slot from From on.
type Prepare struct {
	Ballot Ballot `json:"ballot"`
	From   int64  `json:"from"`
}

// Promise is phase 1b: the acceptor promised Ballot and reports what it
// accepted (or knows decided) in slots from From on. When From is at or
// below the acceptor's snapshot, Snapshot carries the key-value state up to
// slot Snap, since the acceptor no longer holds those slots.
type Promise struct {
	Ballot   Ballot  `json:"ballot"`
	From     int64   `json:"from"`
	Snap     int64   `json:"snap,omitempty"`
	Snapshot []byte  `json:"snapshot,omitempty"`
	Entries  []Entry `json:"entries,omitempty"`
}

// Accept is phase 2a for one slot. Commit piggybacks the leader's chosen
// prefix, so learners need no extra message in the steady state.
type Accept struct {
	Ballot Ballot            `json:"ballot"`
	Slot   int64             `json:"slot"`
	Cmd    protocols.Request `json:"cmd"`
	Commit int64             `json:"commit"`
}

// Accepted is phase 2b: the acceptor accepted the slot in Ballot.
type Accepted struct {
	Ballot Ballot `json:"ballot"`
	Slot   int64  `json:"slot"`
}

// Nack tells a proposer that its Ballot was refused because the acceptor
// promised Promised.
type Nack struct {
	Ballot   Ballot `json:"ballot"`
	Promised Ballot `json:"promised"`
}

// Heartbeat is the leader's sign of life when it has nothing to propose,
// with its chosen prefix.
type Heartbeat struct {
	Ballot Ballot `json:"ballot"`
	Commit int64  `json:"commit"`
}

// HeartbeatAck answers a Heartbeat, so the leader knows a quorum still
// follows it.
type HeartbeatAck struct {
	Ballot Ballot `json:"ballot"`
}

// CatchUp asks for the decisions from slot From on.
type CatchUp struct {
	From int64 `json:"from"`
}

// Decisions answers CatchUp with decided slots, after a snapshot up to Snap
// when the asker is behind the sender's log.
type Decisions struct {
	Snap     int64   `json:"snap,omitempty"`
	Snapshot []byte  `json:"snapshot,omitempty"`
	Entries  []Entry `json:"entries,omitempty"`
}

// MessageType implements sim.Message.
func (*Prepare) MessageType() string      { return "paxos.Prepare" }
func (*Promise) MessageType() string      { return "paxos.Promise" }
func (*Accept) MessageType() string       { return "paxos.Accept" }
func (*Accepted) MessageType() string     { return "paxos.Accepted" }
func (*Nack) MessageType() string         { return "paxos.Nack" }
func (*Heartbeat) MessageType() string    { return "paxos.Heartbeat" }
func (*HeartbeatAck) MessageType() string { return "paxos.HeartbeatAck" }
func (*CatchUp) MessageType() string      { return "paxos.CatchUp" }
func (*Decisions) MessageType() string    { return "paxos.Decisions" }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// Describe renders the key fields on one line.
func (m *Prepare) Describe() string { return "bal=" + m.Ballot.String() + " from=" + itoa(m.From) }
func (m *Promise) Describe() string {
	s := "bal=" + m.Ballot.String() + " from=" + itoa(m.From) + " n=" + strconv.Itoa(len(m.Entries))
	if m.Snapshot != nil {
		s += " snap=" + itoa(m.Snap)
	}
	return s
}
func (m *Accept) Describe() string {
	return "bal=" + m.Ballot.String() + " slot=" + itoa(m.Slot) + " " + cmdString(&m.Cmd) + " commit=" + itoa(m.Commit)
}
func (m *Accepted) Describe() string { return "bal=" + m.Ballot.String() + " slot=" + itoa(m.Slot) }
func (m *Nack) Describe() string {
	return "bal=" + m.Ballot.String() + " promised=" + m.Promised.String()
}
func (m *Heartbeat) Describe() string {
	return "bal=" + m.Ballot.String() + " commit=" + itoa(m.Commit)
}
func (m *HeartbeatAck) Describe() string { return "bal=" + m.Ballot.String() }
func (m *CatchUp) Describe() string      { return "from=" + itoa(m.From) }
func (m *Decisions) Describe() string {
	s := "n=" + strconv.Itoa(len(m.Entries))
	if len(m.Entries) > 0 {
		s += " slots=" + itoa(m.Entries[0].Slot) + ".." + itoa(m.Entries[len(m.Entries)-1].Slot)
	}
	if m.Snapshot != nil {
		s += " snap=" + itoa(m.Snap)
	}
	return s
}

// noop is a gap filler; see noopBy.
var noop = protocols.Request{Op: protocols.Op{Kind: protocols.OpNoop}}

// noopBy is the no-op command leader id proposes to fill a gap. It names
// the leader as its client so that every node id in a message is a real
// one (traces encode node ids as n1, c1, and zero as "-"); nobody is
// answered for it.
func noopBy(id sim.NodeID) protocols.Request {
	c := noop
	c.Client = id
	return c
}

// isNoop reports whether c is a gap filler.
func isNoop(c *protocols.Request) bool { return c.Op.Kind == protocols.OpNoop }

// cmdString renders a command for traces and views: "c1#4 put k1=v" or
// "noop".
func cmdString(c *protocols.Request) string {
	if isNoop(c) {
		return "noop"
	}
	return c.Describe()
}

var multiMessages = []sim.Message{&Prepare{}, &Promise{}, &Accept{}, &Accepted{}, &Nack{}, &Heartbeat{}, &HeartbeatAck{}, &CatchUp{}, &Decisions{},
	&protocols.Request{}, &protocols.Response{}}
