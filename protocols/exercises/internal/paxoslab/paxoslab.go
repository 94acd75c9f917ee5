// Package paxoslab is a solution of the paxos-single exercise written on
// the skeleton's messages and options as a student would write it (Paxos
// Made Simple §2), and the mistakes students make in it, each switched on
// by name. The grader's corpus test (protocols/exercises/corpus_test.go)
// grades the correct solution and every mistake, and requires each
// mistake to lose the points of the tests that name what it breaks.
//
// Each Bug is a small, local change of the correct code, marked where it
// applies: read the correct path first, then the branch.
package paxoslab

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/synod-dev/synod/protocols"
	synodlab "github.com/synod-dev/synod/protocols/exercises/skeletons/paxos-single"
	"github.com/synod-dev/synod/sim"
)

// Bug names a deliberate mistake; "" is the correct solution.
type Bug string

// The mistakes.
const (
	// FirstReported: with a majority of promises, the proposer adopts the
	// value of the first promise that reported one, not the value of the
	// highest-ballot accepted proposal (§2.2, P2c).
	FirstReported Bug = "first-reported"
	// IgnoreAccepted: the proposer always proposes its own value.
	IgnoreAccepted Bug = "ignore-accepted"
	// AcceptBelowPromise: an acceptor accepts a ballot below its promise.
	AcceptBelowPromise Bug = "accept-below-promise"
	// PromiseNotPersisted: an acceptor saves what it accepts but not what
	// it promises: a restarted acceptor forgets its promises.
	PromiseNotPersisted Bug = "promise-not-persisted"
	// AcceptedNotPersisted: an acceptor saves its promises but not what
	// it accepts.
	AcceptedNotPersisted Bug = "accepted-not-persisted"
	// MinorityChosen: a proposer declares its value chosen with the
	// acceptances of half the acceptors (on three nodes, its own).
	MinorityChosen Bug = "minority-chosen"
	// NoRetry: a preempted proposer never tries a higher ballot.
	NoRetry Bug = "no-retry"
)

// Spec returns the solution with the given mistake ("" for none).
func Spec(bug Bug) *protocols.Spec {
	base := synodlab.Spec()
	name := "paxoslab"
	if bug != "" {
		name += "-" + string(bug)
	}
	return &protocols.Spec{
		Name:        name,
		Description: "a paxos-single solution (corpus: " + string(bug) + ")",
		Options:     base.Options,
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := c.Options.(*synodlab.Options)
			if o.RetryMin <= 0 || o.RetryMax < o.RetryMin {
				return nil, fmt.Errorf("options.retry_max: %v < retry_min %v", o.RetryMax, o.RetryMin)
			}
			return func(id sim.NodeID) protocols.Node { return &Node{opts: o, id: id, bug: bug} }, nil
		},
		Messages: base.Messages,
	}
}

// acceptorState is what an acceptor saves.
type acceptorState struct {
	Promised synodlab.Ballot    `json:"promised"`
	Accepted synodlab.Ballot    `json:"accepted"`
	Value    *protocols.Request `json:"value,omitempty"`
}

// Node is proposer, acceptor and learner.
type Node struct {
	opts *synodlab.Options
	id   sim.NodeID
	bug  Bug

	// Acceptor.
	promised    synodlab.Ballot
	accepted    synodlab.Ballot
	acceptedVal *protocols.Request
	// saved is the acceptor state as last stored.
	saved acceptorState

	// Proposer: phase is 0 (idle), 1 (preparing) or 2 (accepting).
	ballot   synodlab.Ballot
	phase    int
	proposal *protocols.Request
	value    *protocols.Request
	promises map[sim.NodeID]*synodlab.Promise
	first    *protocols.Request // FirstReported: the first reported value
	accepts  map[sim.NodeID]bool

	// Learner.
	chosen  *protocols.Request
	waiting map[sim.NodeID]int64
}

// Start recovers the acceptor.
func (n *Node) Start(env *sim.Env) {
	n.waiting = map[sim.NodeID]int64{}
	if b, ok := env.Load("acceptor"); ok {
		var s acceptorState
		if err := json.Unmarshal(b, &s); err != nil {
			panic(fmt.Sprintf("paxoslab: %v: %v", n.id, err))
		}
		n.promised, n.accepted, n.acceptedVal, n.saved = s.Promised, s.Accepted, s.Value, s
	}
}

// save stores the acceptor state before any reply leaves.
func (n *Node) save(env *sim.Env) {
	s := acceptorState{Promised: n.promised, Accepted: n.accepted, Value: n.acceptedVal}
	switch n.bug {
	case PromiseNotPersisted:
		s.Promised = n.saved.Promised
		if n.accepted != n.saved.Accepted {
			s.Promised = n.accepted // accepting a ballot promises it
		}
	case AcceptedNotPersisted:
		s.Accepted, s.Value = n.saved.Accepted, n.saved.Value
	}
	n.saved = s
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	env.Store("acceptor", b)
}

// Receive dispatches a message.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *protocols.Request:
		n.onRequest(env, m)
	case *synodlab.Prepare:
		n.onPrepare(env, from, m)
	case *synodlab.Promise:
		n.onPromise(env, from, m)
	case *synodlab.Accept:
		n.onAccept(env, from, m)
	case *synodlab.Accepted:
		n.onAccepted(env, from, m)
	case *synodlab.Decided:
		n.learn(env, &m.Value)
	}
}

// Timer dispatches a timer.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	if t.Name == "retry" && n.chosen == nil && n.phase != 0 && t.Arg == n.ballot.Round {
		n.prepare(env)
	}
}

func (n *Node) answer(client sim.NodeID, seq int64) *protocols.Response {
	return &protocols.Response{Client: client, Seq: seq, Status: protocols.StatusOK, Value: sim.Describe(n.chosen), Found: true}
}

func (n *Node) onRequest(env *sim.Env, req *protocols.Request) {
	if n.chosen != nil {
		env.Send(req.Client, n.answer(req.Client, req.Seq))
		return
	}
	n.waiting[req.Client] = req.Seq
	if n.phase == 0 {
		r := *req
		n.proposal = &r
		n.prepare(env)
	}
}

// prepare starts phase 1 with a ballot above any this node has seen.
func (n *Node) prepare(env *sim.Env) {
	n.ballot = synodlab.Ballot{Round: max(n.ballot.Round, n.promised.Round) + 1, Node: n.id}
	n.phase, n.promises, n.accepts, n.first = 1, map[sim.NodeID]*synodlab.Promise{}, map[sim.NodeID]bool{}, nil
	for _, to := range env.Nodes() {
		env.Send(to, &synodlab.Prepare{Ballot: n.ballot})
	}
	n.armRetry(env)
}

func (n *Node) armRetry(env *sim.Env) {
	if n.bug == NoRetry {
		return
	}
	env.SetTimer(env.Rand().Between(n.opts.RetryMin, n.opts.RetryMax), "retry", n.ballot.Round)
}

func (n *Node) onPrepare(env *sim.Env, from sim.NodeID, m *synodlab.Prepare) {
	if m.Ballot.Less(n.promised) {
		env.Send(from, &synodlab.Promise{Ballot: m.Ballot, Accepted: n.promised})
		return
	}
	n.promised = m.Ballot
	n.save(env)
	env.Send(from, &synodlab.Promise{Ballot: m.Ballot, OK: true, Accepted: n.accepted, Value: n.acceptedVal})
}

func (n *Node) onPromise(env *sim.Env, from sim.NodeID, m *synodlab.Promise) {
	if n.phase != 1 || m.Ballot != n.ballot {
		return
	}
	if !m.OK {
		return // the retry timer tries a higher ballot
	}
	n.promises[from] = m
	if m.Value != nil && n.first == nil {
		n.first = m.Value
	}
	if len(n.promises) <= len(env.Nodes())/2 {
		return
	}
	// P2c: the value of the highest-ballot proposal any promise reports,
	// or our own. Promises are read in node order: map order must not
	// leak into what we do.
	v, best := n.proposal, synodlab.Ballot{}
	ids := make([]sim.NodeID, 0, len(n.promises))
	for id := range n.promises {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if p := n.promises[id]; p.Value != nil && best.Less(p.Accepted) {
			v, best = p.Value, p.Accepted
		}
	}
	switch {
	case n.bug == FirstReported && n.first != nil:
		v = n.first
	case n.bug == IgnoreAccepted:
		v = n.proposal
	}
	n.value, n.phase = v, 2
	for _, to := range env.Nodes() {
		env.Send(to, &synodlab.Accept{Ballot: n.ballot, Value: *v})
	}
}

func (n *Node) onAccept(env *sim.Env, from sim.NodeID, m *synodlab.Accept) {
	if m.Ballot.Less(n.promised) && n.bug != AcceptBelowPromise {
		env.Send(from, &synodlab.Accepted{Ballot: m.Ballot})
		return
	}
	if n.promised.Less(m.Ballot) {
		n.promised = m.Ballot
	}
	v := m.Value
	n.accepted, n.acceptedVal = m.Ballot, &v
	n.save(env)
	env.Send(from, &synodlab.Accepted{Ballot: m.Ballot, OK: true})
}

func (n *Node) onAccepted(env *sim.Env, from sim.NodeID, m *synodlab.Accepted) {
	if n.phase != 2 || m.Ballot != n.ballot || !m.OK {
		return
	}
	n.accepts[from] = true
	quorum := len(n.accepts) > len(env.Nodes())/2
	if n.bug == MinorityChosen {
		quorum = len(n.accepts) >= len(env.Nodes())/2
	}
	if !quorum {
		return
	}
	v := n.value
	n.learn(env, v)
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, &synodlab.Decided{Value: *v})
		}
	}
}

// learn records the chosen value and answers the waiting clients.
func (n *Node) learn(env *sim.Env, v *protocols.Request) {
	if n.chosen == nil {
		c := *v
		n.chosen = &c
	}
	n.phase = 0
	clients := make([]sim.NodeID, 0, len(n.waiting))
	for c := range n.waiting {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	for _, c := range clients {
		env.Send(c, n.answer(c, n.waiting[c]))
	}
	clear(n.waiting)
}

// Inspect shows what the grader reads (the "chosen" field).
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
