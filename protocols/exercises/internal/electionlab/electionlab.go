// Package electionlab is a solution of the raft-election exercise written
// on the skeleton's messages and options as a student would write it, and
// the mistakes students make in it, each switched on by name. The grader's
// corpus test (protocols/exercises/corpus_test.go) grades the correct
// solution and every mistake, and requires each mistake to lose the points
// of the tests that name what it breaks.
//
// Each Bug is a small, local change of the correct code, marked where it
// applies: read the correct path first, then the branch.
package electionlab

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	raftlab "github.com/synod-dev/synod/protocols/exercises/skeletons/raft"
	"github.com/synod-dev/synod/sim"
)

// Bug names a deliberate mistake; "" is the correct solution.
type Bug string

// The mistakes.
const (
	// NoResetOnGrant: the election timer is not reset when granting a vote.
	NoResetOnGrant Bug = "no-reset-on-grant"
	// StaleVoteReplies: granted votes are counted whatever their term, so
	// a candidate wins a later term with votes given for an earlier one.
	StaleVoteReplies Bug = "stale-vote-replies"
	// IgnoreReplyTerm: a leader ignores a higher term in AppendEntries
	// replies.
	IgnoreReplyTerm Bug = "ignore-reply-term"
	// CandidateNoRearm: a candidate does not re-arm its election timer.
	CandidateNoRearm Bug = "candidate-no-rearm"
	// CandidateIgnoresLeader: a candidate ignores AppendEntries from the
	// leader of its own term.
	CandidateIgnoresLeader Bug = "candidate-ignores-leader"
	// AcceptStaleAppend: a follower accepts AppendEntries of a stale term.
	AcceptStaleAppend Bug = "accept-stale-append"
	// DoubleVote: a node votes for every candidate of a term.
	DoubleVote Bug = "double-vote"
	// NoHeartbeats: a leader is elected but never sends AppendEntries.
	NoHeartbeats Bug = "no-heartbeats"
	// NoAppendHandling: AppendEntries are ignored.
	NoAppendHandling Bug = "no-append-handling"
	// LoopAfterTerm3: an infinite loop once the term exceeds 3.
	LoopAfterTerm3 Bug = "loop-after-term-3"
	// ZeroDelayHeartbeat: the heartbeat timer is re-armed with zero delay.
	ZeroDelayHeartbeat Bug = "zero-delay-heartbeat"
)

// Bugs lists the mistakes in the order the docs' table shows them.
var Bugs = []Bug{NoResetOnGrant, StaleVoteReplies, IgnoreReplyTerm, CandidateNoRearm, CandidateIgnoresLeader,
	AcceptStaleAppend, DoubleVote, NoHeartbeats, NoAppendHandling, LoopAfterTerm3, ZeroDelayHeartbeat}

// Spec returns the solution with the given mistake ("" for none), named
// "electionlab" or "electionlab-BUG" (each its own protocol).
func Spec(bug Bug) *protocols.Spec {
	base := raftlab.Spec()
	name := "electionlab"
	if bug != "" {
		name += "-" + string(bug)
	}
	return &protocols.Spec{
		Name:        name,
		Description: "a raft-election solution (corpus: " + string(bug) + ")",
		Options:     base.Options,
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := c.Options.(*raftlab.Options)
			if o.HeartbeatInterval <= 0 || o.HeartbeatInterval >= o.ElectionTimeoutMin || o.ElectionTimeoutMax < o.ElectionTimeoutMin {
				return nil, fmt.Errorf("options: heartbeat %v, election timeout [%v, %v]", o.HeartbeatInterval, o.ElectionTimeoutMin, o.ElectionTimeoutMax)
			}
			return func(id sim.NodeID) protocols.Node { return &Node{opts: o, id: id, bug: bug} }, nil
		},
		Messages:     base.Messages,
		Linearizable: true,
	}
}

// Node is one server: election and heartbeats only (no log).
type Node struct {
	opts *raftlab.Options
	id   sim.NodeID
	bug  Bug

	term     int64
	votedFor sim.NodeID
	role     string
	leader   sim.NodeID
	votes    map[sim.NodeID]bool
	election sim.TimerID
}

// Start becomes a follower with an election timer.
func (n *Node) Start(env *sim.Env) {
	n.role = raftlab.Follower
	n.resetElectionTimer(env)
}

// Receive dispatches a message.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *protocols.Request:
		env.Send(m.Client, &protocols.Response{Seq: m.Seq, Status: protocols.StatusNotLeader, Leader: n.leader})
	case *raftlab.RequestVote:
		n.onRequestVote(env, from, m)
	case *raftlab.RequestVoteReply:
		n.onRequestVoteReply(env, from, m)
	case *raftlab.AppendEntries:
		n.onAppendEntries(env, from, m)
	case *raftlab.AppendEntriesReply:
		n.onAppendEntriesReply(env, from, m)
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

func (n *Node) resetElectionTimer(env *sim.Env) {
	if n.election != 0 {
		env.CancelTimer(n.election)
	}
	n.election = env.SetTimer(env.Rand().Between(n.opts.ElectionTimeoutMin, n.opts.ElectionTimeoutMax), "election", 0)
}

// observe steps down to a follower of a higher term.
func (n *Node) observe(term int64) {
	if term > n.term {
		n.term, n.votedFor, n.role, n.leader = term, 0, raftlab.Follower, 0
	}
}

func (n *Node) onElectionTimeout(env *sim.Env) {
	if n.role == raftlab.Leader {
		return
	}
	n.term++
	n.role, n.votedFor, n.leader = raftlab.Candidate, n.id, 0
	n.votes = map[sim.NodeID]bool{n.id: true}
	if n.bug == LoopAfterTerm3 {
		for n.term > 3 {
			n.votes[n.id] = true
		}
	}
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, &raftlab.RequestVote{Term: n.term})
		}
	}
	if n.bug == CandidateNoRearm {
		n.election = 0 // the timer that fired was the last one
		return
	}
	n.resetElectionTimer(env)
}

func (n *Node) onRequestVote(env *sim.Env, from sim.NodeID, m *raftlab.RequestVote) {
	n.observe(m.Term)
	free := n.votedFor == 0 || n.votedFor == from
	if n.bug == DoubleVote {
		free = true
	}
	granted := m.Term == n.term && free
	if granted {
		n.votedFor = from
		if n.bug != NoResetOnGrant {
			n.resetElectionTimer(env)
		}
	}
	env.Send(from, &raftlab.RequestVoteReply{Term: n.term, Granted: granted})
}

func (n *Node) onRequestVoteReply(env *sim.Env, from sim.NodeID, m *raftlab.RequestVoteReply) {
	n.observe(m.Term)
	if n.role != raftlab.Candidate || !m.Granted {
		return
	}
	if m.Term != n.term && n.bug != StaleVoteReplies {
		return
	}
	n.votes[from] = true
	if len(n.votes) > len(env.Nodes())/2 {
		n.role, n.leader = raftlab.Leader, n.id
		n.onHeartbeat(env)
	}
}

func (n *Node) onHeartbeat(env *sim.Env) {
	if n.role != raftlab.Leader {
		return
	}
	if n.bug != NoHeartbeats {
		for _, to := range env.Nodes() {
			if to != n.id {
				env.Send(to, &raftlab.AppendEntries{Term: n.term})
			}
		}
	}
	every := n.opts.HeartbeatInterval
	if n.bug == ZeroDelayHeartbeat {
		every = 0
	}
	env.SetTimer(every, "heartbeat", 0)
}

func (n *Node) onAppendEntries(env *sim.Env, from sim.NodeID, m *raftlab.AppendEntries) {
	if n.bug == NoAppendHandling {
		return
	}
	n.observe(m.Term)
	if m.Term < n.term && n.bug != AcceptStaleAppend {
		env.Send(from, &raftlab.AppendEntriesReply{Term: n.term})
		return
	}
	if n.bug == CandidateIgnoresLeader && n.role == raftlab.Candidate {
		return
	}
	n.role, n.leader = raftlab.Follower, from
	n.resetElectionTimer(env)
	env.Send(from, &raftlab.AppendEntriesReply{Term: n.term, Success: true})
}

func (n *Node) onAppendEntriesReply(_ *sim.Env, _ sim.NodeID, m *raftlab.AppendEntriesReply) {
	if n.bug == IgnoreReplyTerm {
		return
	}
	n.observe(m.Term)
}

// Inspect shows what the grader reads.
func (n *Node) Inspect() sim.View {
	return sim.View{Role: n.role, Term: n.term, TermLabel: "term", Leader: n.leader,
		Fields: []sim.Field{{Name: "voted_for", Value: n.votedFor.String()}}}
}
