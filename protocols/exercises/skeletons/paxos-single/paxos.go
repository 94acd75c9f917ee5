// Package synodlab is your single-decree Paxos (the Synod protocol of
// Paxos Made Simple §2): every node is proposer, acceptor and learner;
// every client request asks the cluster to choose that request as the one
// value, and every client is answered with the value chosen, whichever it
// is. The plumbing is done; the protocol is yours: look for TODO. Read
// README.md first.
package synodlab

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Options are set from a scenario's `options:` mapping.
type Options struct {
	// RetryMin and RetryMax bound the random wait before a proposer that
	// was preempted (or heard nothing) tries a higher ballot.
	RetryMin sim.Time `yaml:"retry_min" json:"retry_min"`
	RetryMax sim.Time `yaml:"retry_max" json:"retry_max"`
}

// Spec describes this protocol to synod.
func Spec() *protocols.Spec {
	return &protocols.Spec{
		Name:        "synodlab",
		Description: "a student's single-decree Paxos",
		Options:     func() any { return &Options{RetryMin: 20 * sim.Millisecond, RetryMax: 100 * sim.Millisecond} },
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := c.Options.(*Options)
			if o.RetryMin <= 0 || o.RetryMax < o.RetryMin {
				return nil, fmt.Errorf("options.retry_max: %v < retry_min %v", o.RetryMax, o.RetryMin)
			}
			return func(id sim.NodeID) protocols.Node { return &Node{opts: o, id: id} }, nil
		},
		Messages: []sim.Message{&Prepare{}, &Promise{}, &Accept{}, &Accepted{}, &Decided{},
			&protocols.Request{}, &protocols.Response{}},
	}
}

// Ballot orders proposals: by round, then by the proposing node, so that
// two proposers never use the same ballot.
type Ballot struct {
	Round int64      `json:"round"`
	Node  sim.NodeID `json:"node"`
}

// Less orders ballots.
func (b Ballot) Less(o Ballot) bool {
	return b.Round < o.Round || (b.Round == o.Round && b.Node < o.Node)
}

func (b Ballot) String() string { return fmt.Sprintf("%d.%d", b.Round, b.Node) }

// Prepare is phase 1a.
type Prepare struct {
	Ballot Ballot `json:"ballot"`
}

// Promise is phase 1b: OK false is a refusal (the acceptor promised a
// higher ballot); otherwise it carries the acceptor's accepted proposal,
// if any.
type Promise struct {
	Ballot   Ballot             `json:"ballot"`
	OK       bool               `json:"ok"`
	Accepted Ballot             `json:"accepted"`
	Value    *protocols.Request `json:"value,omitempty"`
}

// Accept is phase 2a.
type Accept struct {
	Ballot Ballot            `json:"ballot"`
	Value  protocols.Request `json:"value"`
}

// Accepted is phase 2b (OK false: refused).
type Accepted struct {
	Ballot Ballot `json:"ballot"`
	OK     bool   `json:"ok"`
}

// Decided tells the learners the chosen value.
type Decided struct {
	Value protocols.Request `json:"value"`
}

func (*Prepare) MessageType() string  { return "synodlab.Prepare" }
func (*Promise) MessageType() string  { return "synodlab.Promise" }
func (*Accept) MessageType() string   { return "synodlab.Accept" }
func (*Accepted) MessageType() string { return "synodlab.Accepted" }
func (*Decided) MessageType() string  { return "synodlab.Decided" }

func (m *Prepare) Describe() string { return "bal=" + m.Ballot.String() }
func (m *Promise) Describe() string {
	return fmt.Sprintf("bal=%v ok=%v acc=%v", m.Ballot, m.OK, m.Accepted)
}
func (m *Accept) Describe() string   { return "bal=" + m.Ballot.String() + " " + sim.Describe(&m.Value) }
func (m *Accepted) Describe() string { return fmt.Sprintf("bal=%v ok=%v", m.Ballot, m.OK) }
func (m *Decided) Describe() string  { return sim.Describe(&m.Value) }

// Node is proposer, acceptor and learner at once.
type Node struct {
	opts *Options
	id   sim.NodeID

	// Acceptor state: persist it before you answer (a restarted acceptor
	// that forgets a promise breaks safety).
	promised    Ballot
	accepted    Ballot
	acceptedVal *protocols.Request

	// Proposer state.
	ballot   Ballot
	proposal protocols.Request
	promises map[sim.NodeID]*Promise
	accepts  map[sim.NodeID]bool

	// Learner state.
	chosen  *protocols.Request
	waiting map[sim.NodeID]int64 // client -> its latest request's Seq
}

// Start recovers the acceptor's state.
func (n *Node) Start(env *sim.Env) {
	n.waiting = map[sim.NodeID]int64{}
	// TODO: env.Load the promised and accepted ballots and the accepted
	// value (protocols.Encoder / Decoder, or encoding/json).
}

// Receive dispatches a message.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *protocols.Request:
		n.onRequest(env, m)
	case *Prepare:
		n.onPrepare(env, from, m)
	case *Promise:
		n.onPromise(env, from, m)
	case *Accept:
		n.onAccept(env, from, m)
	case *Accepted:
		n.onAccepted(env, from, m)
	case *Decided:
		n.learn(env, &m.Value)
	}
}

// Timer dispatches a timer.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	if t.Name == "retry" {
		n.onRetry(env, t.Arg)
	}
}

// answer is the response every client gets: the chosen value.
func (n *Node) answer(client sim.NodeID, seq int64) *protocols.Response {
	return &protocols.Response{Client: client, Seq: seq, Status: protocols.StatusOK, Value: sim.Describe(n.chosen), Found: true}
}

// onRequest answers at once when a value is chosen; otherwise it
// remembers the client and proposes the request.
func (n *Node) onRequest(env *sim.Env, req *protocols.Request) {
	// TODO: if n.chosen != nil, env.Send(req.Client, n.answer(...)).
	// Otherwise record the client in n.waiting and, if not already
	// proposing, start phase 1 with a ballot above any seen.
}

// onPrepare is the acceptor's phase 1b.
func (n *Node) onPrepare(env *sim.Env, from sim.NodeID, m *Prepare) {
	// TODO: promise a ballot not below any promised; persist; reply with
	// the accepted proposal, if any. Refuse lower ballots.
}

// onPromise is the proposer's phase 2a.
func (n *Node) onPromise(env *sim.Env, from sim.NodeID, m *Promise) {
	// TODO: with promises from a majority, propose the value of the
	// highest-ballot accepted proposal among them, or your own; send Accept.
}

// onAccept is the acceptor's phase 2b.
func (n *Node) onAccept(env *sim.Env, from sim.NodeID, m *Accept) {
	// TODO: accept unless promised a higher ballot; persist; reply.
}

// onAccepted is the proposer learning that its value is chosen.
func (n *Node) onAccepted(env *sim.Env, from sim.NodeID, m *Accepted) {
	// TODO: with a majority of acceptances of your current ballot, the
	// value is chosen: learn it and send Decided to every other node.
}

// onRetry runs when a proposer's ballot made no progress.
func (n *Node) onRetry(env *sim.Env, round int64) {
	// TODO: if still undecided, start again with a higher ballot.
}

// learn records the chosen value and answers every waiting client.
func (n *Node) learn(env *sim.Env, v *protocols.Request) {
	// TODO: set n.chosen, answer n.waiting (in sorted client order: map
	// order must not leak into what you do).
}

// Inspect shows the node's state. The grader reads the "chosen" field.
func (n *Node) Inspect() sim.View {
	chosen := "-"
	if n.chosen != nil {
		chosen = sim.Describe(n.chosen)
	}
	acc := "-"
	if n.acceptedVal != nil {
		acc = n.accepted.String() + " " + sim.Describe(n.acceptedVal)
	}
	return sim.View{Role: "proposer+acceptor+learner", Term: n.ballot.Round, TermLabel: "ballot", Leader: n.ballot.Node,
		Fields: []sim.Field{{Name: "promised", Value: n.promised.String()}, {Name: "accepted", Value: acc}, {Name: "chosen", Value: chosen}}}
}
