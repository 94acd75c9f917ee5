// Package mpaxoslab is a solution of the multi-paxos exercise written on
// the skeleton's messages and options as a student would write it (Paxos
// Made Simple §3), and the mistakes students make in it, each switched on
// by name. The grader's corpus test (protocols/exercises/corpus_test.go)
// grades the correct solution and every mistake.
//
// The design: a leader runs phase 1 once for every slot from its commit
// index on, re-proposes what the promises report (no-ops in the gaps),
// then runs phase 2 per command. A slot is chosen when a majority accepts
// it under the leader's ballot. Followers learn from the leader's commit
// index: a slot up to it is chosen with the value they accepted under the
// leader's ballot; a follower missing one asks for it with a refused
// Accepted that carries the leader's ballot and the slot it needs.
package mpaxoslab

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
	multipaxoslab "github.com/synod-dev/synod/protocols/exercises/skeletons/multi-paxos"
	"github.com/synod-dev/synod/sim"
)

// Bug names a deliberate mistake; "" is the correct solution.
type Bug string

// The mistakes.
const (
	// FirstReported: a new leader re-proposes, for each slot, the value
	// of the first promise that reported one, not the highest ballot's.
	FirstReported Bug = "first-reported"
	// AcceptBelowPromise: an acceptor accepts a ballot below its promise.
	AcceptBelowPromise Bug = "accept-below-promise"
	// PromiseNotPersisted: an acceptor does not save its promise.
	PromiseNotPersisted Bug = "promise-not-persisted"
	// SlotReuse: a new leader gives new commands the slots after its own
	// commit index, reusing slots the promises reported.
	SlotReuse Bug = "slot-reuse"
	// NoGapFill: a new leader re-proposes the reported slots but leaves
	// the gaps between them empty instead of filling them with no-ops.
	NoGapFill Bug = "no-gap-fill"
	// NoResendAccept: a leader sends each slot's Accept once; a slot whose
	// Accepts were lost is never chosen, and the log stops there.
	NoResendAccept Bug = "no-resend-accept"
)

// Spec returns the solution with the given mistake ("" for none).
func Spec(bug Bug) *protocols.Spec {
	base := multipaxoslab.Spec()
	name := "mpaxoslab"
	if bug != "" {
		name += "-" + string(bug)
	}
	return &protocols.Spec{
		Name:        name,
		Description: "a multi-paxos solution (corpus: " + string(bug) + ")",
		Options:     base.Options,
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := c.Options.(*multipaxoslab.Options)
			if o.Heartbeat <= 0 || o.ElectionTimeout <= o.Heartbeat {
				return nil, fmt.Errorf("options.election_timeout: %v must exceed heartbeat %v", o.ElectionTimeout, o.Heartbeat)
			}
			return func(id sim.NodeID) protocols.Node { return &Node{opts: o, id: id, bug: bug} }, nil
		},
		Messages:     base.Messages,
		Linearizable: true,
	}
}

// resendMax bounds the slots a leader re-sends for one request of a
// lagging follower.
const resendMax = 64

type Ballot = multipaxoslab.Ballot

// Node is proposer, acceptor and learner.
type Node struct {
	opts *multipaxoslab.Options
	id   sim.NodeID
	bug  Bug

	// Acceptor (saved: "promised", "s/<slot>").
	promised Ballot
	accepted map[int64]multipaxoslab.Slot

	// Leader.
	ballot    Ballot
	leading   bool
	promises  map[sim.NodeID]*multipaxoslab.Promise
	next      int64
	proposals map[int64]protocols.Request
	// sent is when each open slot's Accepts were last sent.
	sent    map[int64]sim.Time
	acks    map[int64]map[sim.NodeID]bool
	waiting map[int64]sim.NodeID

	// Learner.
	leader  sim.NodeID
	chosen  map[int64]protocols.Request
	commit  int64
	applied int64
	kv      *protocols.KV
	timer   sim.TimerID
	beat    sim.TimerID
}

func slotKey(i int64) string { return fmt.Sprintf("s/%016d", i) }

// Start recovers the acceptor state and waits for a leader.
func (n *Node) Start(env *sim.Env) {
	n.accepted = map[int64]multipaxoslab.Slot{}
	n.chosen = map[int64]protocols.Request{}
	n.proposals = map[int64]protocols.Request{}
	n.sent = map[int64]sim.Time{}
	n.acks = map[int64]map[sim.NodeID]bool{}
	n.waiting = map[int64]sim.NodeID{}
	n.kv = protocols.NewKV()
	if b, ok := env.Load("promised"); ok {
		mustUnmarshal(b, &n.promised)
	}
	for _, k := range env.Keys("s/") {
		i, _ := strconv.ParseInt(strings.TrimPrefix(k, "s/"), 10, 64)
		b, _ := env.Load(k)
		var s multipaxoslab.Slot
		mustUnmarshal(b, &s)
		n.accepted[i] = s
	}
	n.resetTimer(env)
}

func mustUnmarshal(b []byte, v any) {
	if err := json.Unmarshal(b, v); err != nil {
		panic(fmt.Sprintf("mpaxoslab: %v", err))
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("mpaxoslab: %v", err))
	}
	return b
}

// promise raises the promise to b, saved before any reply leaves.
func (n *Node) promise(env *sim.Env, b Ballot) {
	if !n.promised.Less(b) {
		return
	}
	n.promised = b
	if n.leading && n.ballot.Less(b) {
		n.leading = false
	}
	if n.bug != PromiseNotPersisted {
		env.Store("promised", mustJSON(b))
	}
}

func (n *Node) resetTimer(env *sim.Env) {
	if n.timer != 0 {
		env.CancelTimer(n.timer)
	}
	n.timer = env.SetTimer(n.opts.ElectionTimeout+env.Rand().Between(0, n.opts.ElectionTimeout), "election", 0)
}

// Receive dispatches a message.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *protocols.Request:
		n.onRequest(env, m)
	case *multipaxoslab.Prepare:
		n.onPrepare(env, from, m)
	case *multipaxoslab.Promise:
		n.onPromise(env, from, m)
	case *multipaxoslab.Accept:
		n.onAccept(env, from, m)
	case *multipaxoslab.Accepted:
		n.onAccepted(env, from, m)
	case *multipaxoslab.Commit:
		n.onCommit(env, from, m)
	}
}

// Timer dispatches a timer.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	switch t.Name {
	case "election":
		n.onElectionTimeout(env)
	case "heartbeat":
		n.onHeartbeat(env)
	}
}

func (n *Node) onElectionTimeout(env *sim.Env) {
	n.resetTimer(env)
	if n.leading {
		return
	}
	n.ballot = Ballot{Round: max(n.ballot.Round, n.promised.Round) + 1, Node: n.id}
	n.promises = map[sim.NodeID]*multipaxoslab.Promise{}
	for _, to := range env.Nodes() {
		env.Send(to, &multipaxoslab.Prepare{Ballot: n.ballot, From: n.commit + 1})
	}
}

func (n *Node) onHeartbeat(env *sim.Env) {
	n.beat = 0
	if !n.leading {
		return
	}
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, &multipaxoslab.Commit{Ballot: n.ballot, Index: n.commit})
		}
	}
	n.resendPending(env)
	n.beat = env.SetTimer(n.opts.Heartbeat, "heartbeat", 0)
}

// resendAfterBeats is how many heartbeats a slot's Accepts may go
// unanswered by a majority before the leader sends them again: long
// enough that Accepts merely in flight are not doubled.
const resendAfterBeats = 4

// resendPending sends again the Accepts of the first resendMax slots
// proposed but not chosen for resendAfterBeats heartbeats: a lost Accept
// (or Accepted) would otherwise leave its slot open for ever, and the log
// could not be applied past it. Acceptors accept the same ballot's value
// again.
func (n *Node) resendPending(env *sim.Env) {
	if n.bug == NoResendAccept {
		return
	}
	for i := n.commit + 1; i < n.next && i <= n.commit+resendMax; i++ {
		v, proposed := n.proposals[i]
		if _, chosen := n.chosen[i]; !proposed || chosen || env.Now()-n.sent[i] < resendAfterBeats*n.opts.Heartbeat {
			continue
		}
		n.sent[i] = env.Now()
		for _, to := range env.Nodes() {
			if !n.acks[i][to] {
				env.Send(to, &multipaxoslab.Accept{Ballot: n.ballot, Index: i, Value: v, Commit: n.commit})
			}
		}
	}
}

func (n *Node) onRequest(env *sim.Env, req *protocols.Request) {
	if !n.leading {
		env.Send(req.Client, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: n.leader})
		return
	}
	if r, dup := n.kv.Duplicate(req); dup {
		env.Send(req.Client, r)
		return
	}
	slot := n.next
	n.next++
	n.waiting[slot] = req.Client
	n.propose(env, slot, *req)
}

// propose runs phase 2 for a slot.
func (n *Node) propose(env *sim.Env, slot int64, v protocols.Request) {
	n.proposals[slot] = v
	n.sent[slot] = env.Now()
	n.acks[slot] = map[sim.NodeID]bool{}
	for _, to := range env.Nodes() {
		env.Send(to, &multipaxoslab.Accept{Ballot: n.ballot, Index: slot, Value: v, Commit: n.commit})
	}
}

func (n *Node) onPrepare(env *sim.Env, from sim.NodeID, m *multipaxoslab.Prepare) {
	if m.Ballot.Less(n.promised) {
		env.Send(from, &multipaxoslab.Promise{Ballot: m.Ballot})
		return
	}
	n.promise(env, m.Ballot)
	if from != n.id {
		n.resetTimer(env)
	}
	p := &multipaxoslab.Promise{Ballot: m.Ballot, OK: true, Accepted: map[int64]multipaxoslab.Slot{}}
	for i, s := range n.accepted {
		if i >= m.From {
			p.Accepted[i] = s
		}
	}
	env.Send(from, p)
}

func (n *Node) onPromise(env *sim.Env, from sim.NodeID, m *multipaxoslab.Promise) {
	if n.leading || m.Ballot != n.ballot || !m.OK || n.promises == nil {
		return
	}
	n.promises[from] = m
	if len(n.promises) <= len(env.Nodes())/2 {
		return
	}
	// Phase 1 done: for every reported slot, the value of the highest
	// ballot (promises read in node order: map order must not leak;
	// FirstReported keeps the first node's).
	ids := make([]sim.NodeID, 0, len(n.promises))
	for id := range n.promises {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	best := map[int64]multipaxoslab.Slot{}
	top := n.commit
	for _, id := range ids {
		for i, s := range n.promises[id].Accepted {
			if i <= n.commit {
				continue
			}
			b, seen := best[i]
			if !seen || (b.Ballot.Less(s.Ballot) && n.bug != FirstReported) {
				best[i] = s
			}
			top = max(top, i)
		}
	}
	n.leading, n.leader, n.promises = true, n.id, nil
	clear(n.waiting)
	clear(n.acks)
	clear(n.proposals)
	clear(n.sent)
	for i := n.commit + 1; i <= top; i++ {
		if s, ok := best[i]; ok {
			n.propose(env, i, s.Value)
		} else if n.bug != NoGapFill {
			n.propose(env, i, protocols.Request{Op: protocols.Op{Kind: protocols.OpNoop}})
		}
	}
	n.next = top + 1
	if n.bug == SlotReuse {
		n.next = n.commit + 1
	}
	if n.beat != 0 {
		env.CancelTimer(n.beat)
	}
	n.onHeartbeat(env)
}

func (n *Node) onAccept(env *sim.Env, from sim.NodeID, m *multipaxoslab.Accept) {
	if m.Ballot.Less(n.promised) && n.bug != AcceptBelowPromise {
		env.Send(from, &multipaxoslab.Accepted{Ballot: n.promised, Index: m.Index})
		return
	}
	n.promise(env, m.Ballot)
	n.accepted[m.Index] = multipaxoslab.Slot{Ballot: m.Ballot, Value: m.Value}
	env.Store(slotKey(m.Index), mustJSON(n.accepted[m.Index]))
	env.Send(from, &multipaxoslab.Accepted{Ballot: m.Ballot, Index: m.Index, OK: true})
	if from != n.id {
		n.follow(env, from, m.Ballot, m.Commit, false)
	}
}

func (n *Node) onAccepted(env *sim.Env, from sim.NodeID, m *multipaxoslab.Accepted) {
	if !n.leading {
		return
	}
	if n.ballot.Less(m.Ballot) {
		n.leading = false // refused: a higher ballot was promised
		return
	}
	if m.Ballot != n.ballot {
		return
	}
	if !m.OK {
		// A follower asks for the chosen slots from m.Index on.
		for i := m.Index; i <= n.commit && i < m.Index+resendMax; i++ {
			env.Send(from, &multipaxoslab.Accept{Ballot: n.ballot, Index: i, Value: n.chosen[i], Commit: n.commit})
		}
		return
	}
	acks, ok := n.acks[m.Index]
	if !ok {
		return
	}
	acks[from] = true
	if len(acks) <= len(env.Nodes())/2 {
		return
	}
	if _, done := n.chosen[m.Index]; !done {
		n.chosen[m.Index] = n.proposals[m.Index]
	}
	for {
		if _, ok := n.chosen[n.commit+1]; !ok {
			break
		}
		n.commit++
		delete(n.acks, n.commit)
		delete(n.proposals, n.commit)
		delete(n.sent, n.commit)
	}
	n.apply(env)
}

func (n *Node) onCommit(env *sim.Env, from sim.NodeID, m *multipaxoslab.Commit) {
	if m.Ballot.Less(n.promised) {
		return
	}
	n.promise(env, m.Ballot)
	n.follow(env, from, m.Ballot, m.Index, true)
}

// follow recognizes the leader of ballot b and learns the slots up to its
// commit index that were accepted under b. On a heartbeat (ask) it asks
// for the first missing: asking on every Accept would answer each of the
// leader's resends with a request for more.
func (n *Node) follow(env *sim.Env, leader sim.NodeID, b Ballot, commit int64, ask bool) {
	n.leader = leader
	n.resetTimer(env)
	for n.commit < commit {
		s, ok := n.accepted[n.commit+1]
		if !ok || s.Ballot != b {
			if ask {
				env.Send(leader, &multipaxoslab.Accepted{Ballot: b, Index: n.commit + 1})
			}
			break
		}
		n.commit++
		n.chosen[n.commit] = s.Value
	}
	n.apply(env)
}

// apply applies chosen slots in order; the leader answers its clients.
func (n *Node) apply(env *sim.Env) {
	for n.applied < n.commit {
		n.applied++
		v := n.chosen[n.applied]
		if v.Op.Kind == protocols.OpNoop {
			continue
		}
		r := n.kv.Apply(&v)
		if c, ok := n.waiting[n.applied]; ok && n.leading {
			delete(n.waiting, n.applied)
			if c == v.Client {
				env.Send(c, r)
			}
		}
	}
}

// Inspect shows the node's state.
func (n *Node) Inspect() sim.View {
	role := "acceptor"
	if n.leading {
		role = "leader"
	}
	v := sim.View{Role: role, Term: n.ballot.Round, TermLabel: "ballot", Leader: n.leader,
		LogLen: n.next, Commit: n.commit, Applied: n.applied,
		Fields: []sim.Field{{Name: "promised", Value: n.promised.String()}, {Name: "accepted", Value: fmt.Sprint(len(n.accepted))}}}
	// The chosen slots (the last viewTail up to commit): the grader
	// checks that every node shows the same command in a slot.
	for i := max(1, n.commit-viewTail+1); i <= n.commit; i++ {
		c := n.chosen[i]
		v.Log = append(v.Log, sim.LogLine{Index: i, Command: c.Describe()})
	}
	return v
}

// viewTail bounds the chosen slots a view shows.
const viewTail = 32
