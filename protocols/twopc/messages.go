package twopc

import (
	"fmt"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// TxnRequest is a client's transaction, sent to the coordinator once.
type TxnRequest struct {
	Client sim.NodeID `json:"client"`
	Seq    int64      `json:"seq"`
	Ops    []Op       `json:"ops"`
}

// TxnReply tells the client whether its transaction committed.
type TxnReply struct {
	Client    sim.NodeID `json:"client"`
	Seq       int64      `json:"seq"`
	Txn       TxnID      `json:"txn"`
	Committed bool       `json:"committed"`
	Reason    string     `json:"reason,omitempty"`
}

// Prepare asks a participant to do its part of a transaction and vote.
type Prepare struct {
	Txn   TxnID        `json:"txn"`
	Parts []sim.NodeID `json:"parts"`
	Ops   []Op         `json:"ops"`
	// Client and Seq name the request, so that whoever finds the outcome
	// (in Paxos Commit, possibly not the coordinator) can answer it.
	Client sim.NodeID `json:"client,omitempty"`
	Seq    int64      `json:"seq,omitempty"`
}

// Vote is a participant's vote (2PC).
type Vote struct {
	Txn    TxnID  `json:"txn"`
	Yes    bool   `json:"yes"`
	Reason string `json:"reason,omitempty"`
}

// Decision carries the outcome of a transaction to a participant.
type Decision struct {
	Txn    TxnID `json:"txn"`
	Commit bool  `json:"commit"`
}

// Ack acknowledges a decision (2PC).
type Ack struct {
	Txn TxnID `json:"txn"`
}

// Query asks for the outcome of a transaction: an uncertain participant
// sends it to the coordinator (2PC), to the acceptors (Paxos Commit) and,
// with cooperative termination, to the other participants.
type Query struct {
	Txn    TxnID        `json:"txn"`
	Parts  []sim.NodeID `json:"parts"`
	Client sim.NodeID   `json:"client,omitempty"`
	Seq    int64        `json:"seq,omitempty"`
}

// QueryReply is a participant's answer to another participant's Query:
// the outcome it knows, or Unknown while it is uncertain too.
type QueryReply struct {
	Txn     TxnID   `json:"txn"`
	Outcome Outcome `json:"outcome"`
}

// Phase1a (Paxos Commit) asks the acceptors to promise ballot Ballot for
// every instance of a transaction and to report what they accepted.
type Phase1a struct {
	Txn    TxnID        `json:"txn"`
	Ballot int64        `json:"ballot"`
	Parts  []sim.NodeID `json:"parts"`
}

// Phase1b answers Phase1a: a promise with the accepted values, or a refusal
// naming the higher ballot promised.
type Phase1b struct {
	Txn      TxnID      `json:"txn"`
	Ballot   int64      `json:"ballot"`
	OK       bool       `json:"ok"`
	Promised int64      `json:"promised"`
	Accepted []accepted `json:"accepted,omitempty"`
}

// accepted is an acceptor's accepted value for one instance.
type accepted struct {
	Inst   sim.NodeID `json:"inst"`
	Ballot int64      `json:"ballot"`
	Value  Outcome    `json:"value"`
}

// Phase2a (Paxos Commit) proposes values for instances at a ballot. Ballot
// 0 is the participant's own proposal of its vote.
type Phase2a struct {
	Txn    TxnID        `json:"txn"`
	Ballot int64        `json:"ballot"`
	Parts  []sim.NodeID `json:"parts"`
	Insts  []instValue  `json:"insts"`
	Client sim.NodeID   `json:"client,omitempty"`
	Seq    int64        `json:"seq,omitempty"`
}

// Phase2b reports that an acceptor accepted values at a ballot. At ballot 0
// an acceptor bundles the instances of a transaction into one message.
type Phase2b struct {
	Txn    TxnID       `json:"txn"`
	Ballot int64       `json:"ballot"`
	Insts  []instValue `json:"insts"`
}

// MessageType implementations.
func (*TxnRequest) MessageType() string { return "twopc.TxnRequest" }
func (*TxnReply) MessageType() string   { return "twopc.TxnReply" }
func (*Prepare) MessageType() string    { return "twopc.Prepare" }
func (*Vote) MessageType() string       { return "twopc.Vote" }
func (*Decision) MessageType() string   { return "twopc.Decision" }
func (*Ack) MessageType() string        { return "twopc.Ack" }
func (*Query) MessageType() string      { return "twopc.Query" }
func (*QueryReply) MessageType() string { return "twopc.QueryReply" }
func (*Phase1a) MessageType() string    { return "twopc.Phase1a" }
func (*Phase1b) MessageType() string    { return "twopc.Phase1b" }
func (*Phase2a) MessageType() string    { return "twopc.Phase2a" }
func (*Phase2b) MessageType() string    { return "twopc.Phase2b" }

// Describe implementations: key fields on one line.
func (m *TxnRequest) Describe() string {
	return fmt.Sprintf("%v#%d %s", m.Client, m.Seq, opsString(m.Ops))
}
func (m *TxnReply) Describe() string {
	s := fmt.Sprintf("%v#%d %v ", m.Client, m.Seq, m.Txn)
	if m.Committed {
		return s + "committed"
	}
	return s + "aborted " + m.Reason
}
func (m *Prepare) Describe() string {
	return fmt.Sprintf("%v parts=%s ops=%s", m.Txn, partsString(m.Parts), opsString(m.Ops))
}
func (m *Vote) Describe() string {
	if m.Yes {
		return m.Txn.String() + " yes"
	}
	return m.Txn.String() + " no " + m.Reason
}
func (m *Decision) Describe() string {
	if m.Commit {
		return m.Txn.String() + " commit"
	}
	return m.Txn.String() + " abort"
}
func (m *Ack) Describe() string        { return m.Txn.String() }
func (m *Query) Describe() string      { return m.Txn.String() }
func (m *QueryReply) Describe() string { return m.Txn.String() + " " + m.Outcome.String() }
func (m *Phase1a) Describe() string    { return fmt.Sprintf("%v bal=%s", m.Txn, ballotString(m.Ballot)) }
func (m *Phase1b) Describe() string {
	if !m.OK {
		return fmt.Sprintf("%v bal=%s refused promised=%s", m.Txn, ballotString(m.Ballot), ballotString(m.Promised))
	}
	s := make([]string, len(m.Accepted))
	for i, a := range m.Accepted {
		s[i] = fmt.Sprintf("%v:%v@%s", a.Inst, valueString(a.Value), ballotString(a.Ballot))
	}
	return fmt.Sprintf("%v bal=%s accepted=[%s]", m.Txn, ballotString(m.Ballot), strings.Join(s, " "))
}
func (m *Phase2a) Describe() string {
	return fmt.Sprintf("%v bal=%s %s", m.Txn, ballotString(m.Ballot), instsString(m.Insts))
}
func (m *Phase2b) Describe() string {
	return fmt.Sprintf("%v bal=%s %s", m.Txn, ballotString(m.Ballot), instsString(m.Insts))
}

// valueString names a Paxos Commit instance value.
func valueString(v Outcome) string {
	switch v {
	case Committed:
		return "prepared"
	case Aborted:
		return "aborted"
	}
	return "none"
}

func instsString(ivs []instValue) string {
	s := make([]string, len(ivs))
	for i, iv := range ivs {
		s[i] = iv.Inst.String() + ":" + valueString(iv.Value)
	}
	return strings.Join(s, " ")
}

// Ballots: 0 is every participant's own proposal; a recovery leader uses
// round*ballotNodes + its node id, so ballots of different nodes differ.
const ballotNodes = 128

func ballotString(b int64) string {
	if b == 0 {
		return "0"
	}
	return fmt.Sprintf("%d.%v", b/ballotNodes, sim.NodeID(b%ballotNodes))
}

// messageExamples lists one value of every message type, for the registry.
func messageExamples() []sim.Message {
	return []sim.Message{&TxnRequest{}, &TxnReply{}, &Prepare{}, &Vote{}, &Decision{}, &Ack{}, &Query{},
		&QueryReply{}, &Phase1a{}, &Phase1b{}, &Phase2a{}, &Phase2b{}}
}
