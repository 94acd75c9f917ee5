// Package raftloglab is a solution of the raft-replication,
// raft-persistence and raft-snapshots exercises written on the skeleton's
// messages and options as a student would write it (the whole of Figure 2
// and Figure 13), and the mistakes students make in it, each switched on
// by name. The grader's corpus test (protocols/exercises/corpus_test.go)
// grades the correct solution and every mistake on the suite of the
// exercise the mistake belongs to, and requires each to lose the points of
// the tests that name what it breaks.
//
// Each Bug is a small, local change of the correct code, marked where it
// applies (`if n.bug == ...`): read the correct path first, then the
// branch.
package raftloglab

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	raftlab "github.com/synod-dev/synod/protocols/exercises/skeletons/raft"
	"github.com/synod-dev/synod/sim"
)

// Bug names a deliberate mistake; "" is the correct solution.
type Bug string

// The mistakes of raft-replication.
const (
	// NoConsistencyCheck: a follower appends without checking that its
	// log holds PrevLogIndex with PrevLogTerm (§5.3).
	NoConsistencyCheck Bug = "no-consistency-check"
	// KeepConflicts: a follower appends only past its log's end, keeping
	// entries that conflict with the leader's (§5.3, Figure 2 step 3).
	KeepConflicts Bug = "keep-conflicts"
	// TruncateMatching: a follower truncates its log after PrevLogIndex on
	// every AppendEntries, so a stale (reordered or duplicated) one erases
	// entries it already acknowledged (Figure 2: truncate only on a
	// conflict).
	TruncateMatching Bug = "truncate-matching"
	// CommitOldTerms: a leader commits entries of earlier terms by
	// counting replicas (§5.4.2, Figure 8).
	CommitOldTerms Bug = "commit-old-terms"
	// MinorityCommit: a leader commits once half the nodes, itself
	// included, store an entry (on three nodes, itself alone).
	MinorityCommit Bug = "minority-commit"
	// ApplyOnAppend: a leader applies a command and answers its client as
	// soon as it appends it, before a majority stores it.
	ApplyOnAppend Bug = "apply-on-append"
	// FollowerCommitsLog: a follower commits its whole log, past the
	// leader's commit index.
	FollowerCommitsLog Bug = "follower-commits-log"
	// CommitPastNew: a follower advances its commit index to the leader's
	// without bounding it by the last entry the message verified, so it
	// commits stale entries of a deposed leader (Figure 2 step 5).
	CommitPastNew Bug = "commit-past-new"
	// OffByOneMatch: a leader records matchIndex one past what the
	// follower acknowledged.
	OffByOneMatch Bug = "off-by-one-match"
	// OffByOneSlice: a leader sends the entries after nextIndex instead of
	// from it, with PrevLogIndex nextIndex-1.
	OffByOneSlice Bug = "off-by-one-slice"
	// NoLogCheckVote: a node votes without comparing logs (the election
	// restriction, §5.4.1).
	NoLogCheckVote Bug = "no-log-check-vote"
	// EmptyHeartbeats: heartbeats never carry entries; a leader sends new
	// entries once, when a client's request arrives, and never again.
	EmptyHeartbeats Bug = "empty-heartbeats"
	// LeaderNoRearm: a leader whose election timer fires does not re-arm
	// it, so once deposed it never stands for election again (a mistake
	// the election suite misses: there a deposed leader has followers to
	// hear; under leader-strikes two of three nodes end up deposed).
	LeaderNoRearm Bug = "leader-no-rearm"
)

// The mistakes of raft-persistence.
const (
	// NoPersistVote: term and vote are not saved before a vote is granted
	// (only a candidate saves its own term).
	NoPersistVote Bug = "no-persist-vote"
	// NoPersistLog: a follower does not save the entries it appends
	// before acknowledging them (the leader saves its own).
	NoPersistLog Bug = "no-persist-log"
	// NothingPersisted: nothing is saved at all.
	NothingPersisted Bug = "nothing-persisted"
)

// The mistakes of raft-snapshots.
const (
	// SnapshotLosesTerm: a snapshot records its last included index but
	// not its term (0 instead).
	SnapshotLosesTerm Bug = "snapshot-loses-term"
	// SnapshotLosesIndex: a restarted node reads its snapshot's store and
	// term but not its last included index (0 instead).
	SnapshotLosesIndex Bug = "snapshot-loses-index"
	// ForgetSnapshot: a restarted node does not read its snapshot at all.
	ForgetSnapshot Bug = "forget-snapshot"
	// InstallIgnoresData: a follower installing a snapshot moves its
	// indexes but keeps its own store instead of the snapshot's.
	InstallIgnoresData Bug = "install-ignores-data"
	// NoInstallSnapshot: a leader never sends InstallSnapshot; a follower
	// behind the snapshot never catches up.
	NoInstallSnapshot Bug = "no-install-snapshot"
)

// Spec returns the solution with the given mistake ("" for none), named
// "raftloglab" or "raftloglab-BUG" (each its own protocol).
func Spec(bug Bug) *protocols.Spec {
	base := raftlab.Spec()
	name := "raftloglab"
	if bug != "" {
		name += "-" + string(bug)
	}
	return &protocols.Spec{
		Name:        name,
		Description: "a Raft solution of the replication, persistence and snapshot exercises (corpus: " + string(bug) + ")",
		Options:     base.Options,
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := c.Options.(*raftlab.Options)
			if o.HeartbeatInterval <= 0 || o.HeartbeatInterval >= o.ElectionTimeoutMin || o.ElectionTimeoutMax < o.ElectionTimeoutMin {
				return nil, fmt.Errorf("options: heartbeat %v, election timeout [%v, %v]", o.HeartbeatInterval, o.ElectionTimeoutMin, o.ElectionTimeoutMax)
			}
			if o.EntriesPerMessageMax < 1 {
				return nil, fmt.Errorf("options.entries_per_message_max: %d must be at least 1", o.EntriesPerMessageMax)
			}
			return func(id sim.NodeID) protocols.Node { return &Node{opts: o, id: id, bug: bug} }, nil
		},
		Messages:     base.Messages,
		Linearizable: true,
	}
}

// Node is one Raft server.
type Node struct {
	opts *raftlab.Options
	id   sim.NodeID
	bug  Bug

	// Persistent state (storage.go).
	term     int64
	votedFor sim.NodeID
	log      []raftlab.Entry // log[i] has index snapIndex+1+i
	// snapIndex and snapTerm are the last entry the snapshot covers;
	// snapData is the store at snapIndex.
	snapIndex, snapTerm int64
	snapData            []byte
	// stored is the last index saved under its own key.
	stored int64

	role      string
	leader    sim.NodeID
	commit    int64
	applied   int64
	kv        *protocols.KV
	votes     map[sim.NodeID]bool
	election  sim.TimerID
	heartbeat sim.TimerID
	next      map[sim.NodeID]int64
	match     map[sim.NodeID]int64
	// forRequest is set while the entries of a client's request are
	// broadcast (EmptyHeartbeats sends entries then only).
	forRequest bool
}

// Start recovers from storage and becomes a follower.
func (n *Node) Start(env *sim.Env) {
	n.kv = protocols.NewKV()
	n.role = raftlab.Follower
	n.restore(env)
	n.resetElectionTimer(env)
}

// Receive dispatches a message.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *protocols.Request:
		n.onRequest(env, m)
	case *raftlab.RequestVote:
		n.onRequestVote(env, from, m)
	case *raftlab.RequestVoteReply:
		n.onRequestVoteReply(env, from, m)
	case *raftlab.AppendEntries:
		n.onAppendEntries(env, from, m)
	case *raftlab.AppendEntriesReply:
		n.onAppendEntriesReply(env, from, m)
	case *raftlab.InstallSnapshot:
		n.onInstallSnapshot(env, from, m)
	case *raftlab.InstallSnapshotReply:
		n.onInstallSnapshotReply(env, from, m)
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

func (n *Node) lastIndex() int64 { return n.snapIndex + int64(len(n.log)) }

func (n *Node) lastTerm() int64 {
	if len(n.log) == 0 {
		return n.snapTerm
	}
	return n.log[len(n.log)-1].Term
}

// termAt returns the term of the entry at index i (the snapshot's term at
// snapIndex), and false if the log does not hold it.
func (n *Node) termAt(i int64) (int64, bool) {
	switch {
	case i == n.snapIndex:
		return n.snapTerm, true
	case i < n.snapIndex || i > n.lastIndex():
		return 0, false
	}
	return n.log[i-n.snapIndex-1].Term, true
}

// entry returns the entry at index i, which the log must hold.
func (n *Node) entry(i int64) *raftlab.Entry {
	if i <= n.snapIndex || i > n.lastIndex() {
		panic(fmt.Sprintf("raftloglab: %v reads entry %d outside its log (%d, %d]", n.id, i, n.snapIndex, n.lastIndex()))
	}
	return &n.log[i-n.snapIndex-1]
}

// observe adopts a higher term as a follower (§5.1), saved before the
// node answers anything.
func (n *Node) observe(env *sim.Env, term int64) {
	if term <= n.term {
		return
	}
	n.term, n.votedFor, n.role, n.leader = term, 0, raftlab.Follower, 0
	if n.bug != NoPersistVote {
		n.saveMeta(env)
	}
}

// --- election (§5.2, §5.4.1) --------------------------------------------

func (n *Node) onElectionTimeout(env *sim.Env) {
	if n.role == raftlab.Leader {
		if n.bug == LeaderNoRearm {
			n.election = 0 // the timer that fired was the last one
			return
		}
		n.resetElectionTimer(env)
		return
	}
	n.term++
	n.role, n.votedFor, n.leader = raftlab.Candidate, n.id, 0
	n.votes = map[sim.NodeID]bool{n.id: true}
	n.saveMeta(env)
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, &raftlab.RequestVote{Term: n.term, LastLogIndex: n.lastIndex(), LastLogTerm: n.lastTerm()})
		}
	}
	n.resetElectionTimer(env)
}

func (n *Node) onRequestVote(env *sim.Env, from sim.NodeID, m *raftlab.RequestVote) {
	n.observe(env, m.Term)
	upToDate := m.LastLogTerm > n.lastTerm() || (m.LastLogTerm == n.lastTerm() && m.LastLogIndex >= n.lastIndex())
	if n.bug == NoLogCheckVote {
		upToDate = true
	}
	granted := m.Term == n.term && (n.votedFor == 0 || n.votedFor == from) && upToDate
	if granted {
		n.votedFor = from
		if n.bug != NoPersistVote {
			n.saveMeta(env)
		}
		n.resetElectionTimer(env)
	}
	env.Send(from, &raftlab.RequestVoteReply{Term: n.term, Granted: granted})
}

func (n *Node) onRequestVoteReply(env *sim.Env, from sim.NodeID, m *raftlab.RequestVoteReply) {
	n.observe(env, m.Term)
	if n.role != raftlab.Candidate || m.Term != n.term || !m.Granted {
		return
	}
	n.votes[from] = true
	if len(n.votes) <= len(env.Nodes())/2 {
		return
	}
	n.role, n.leader = raftlab.Leader, n.id
	n.next, n.match = map[sim.NodeID]int64{}, map[sim.NodeID]int64{}
	for _, p := range env.Nodes() {
		n.next[p] = n.lastIndex() + 1
	}
	// §8: a no-op of the new term, so that the entries of earlier terms
	// commit with it.
	n.appendEntry(env, raftlab.Entry{Term: n.term, Noop: true})
	if n.heartbeat != 0 {
		env.CancelTimer(n.heartbeat)
	}
	n.onHeartbeat(env)
}

func (n *Node) onHeartbeat(env *sim.Env) {
	n.heartbeat = 0
	if n.role != raftlab.Leader {
		return
	}
	n.broadcast(env)
	n.heartbeat = env.SetTimer(n.opts.HeartbeatInterval, "heartbeat", 0)
}

func (n *Node) broadcast(env *sim.Env) {
	for _, to := range env.Nodes() {
		if to != n.id {
			n.sendAppend(env, to)
		}
	}
}

// viewTail is how many of the last log entries the view shows.
const viewTail = 16

// Inspect shows what the grader reads.
func (n *Node) Inspect() sim.View {
	v := sim.View{Role: n.role, Term: n.term, TermLabel: "term", Leader: n.leader,
		LogLen: n.lastIndex(), Commit: n.commit, Applied: n.applied, Snapshot: n.snapIndex}
	for i := max(0, len(n.log)-viewTail); i < len(n.log); i++ {
		v.Log = append(v.Log, sim.LogLine{Index: n.snapIndex + 1 + int64(i), Term: n.log[i].Term, Command: n.log[i].Command()})
	}
	v.Fields = []sim.Field{{Name: "voted_for", Value: n.votedFor.String()}}
	return v
}
