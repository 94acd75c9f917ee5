// Package raft is synod's reference Raft: leader election, log replication,
// persistence, PreVote and CheckQuorum, ReadIndex and lease reads, log
// compaction with InstallSnapshot, and single-server membership changes,
// replicating the shared key-value state machine. It follows the extended
// Raft paper (Ongaro and Ousterhout, 2014) and Ongaro's thesis; docs/raft.md
// maps each section to the function that implements it.
//
// A Node is a pure state machine driven by the simulator. The shared term
// rules live in Step; the per-role behaviour in stepLeader, stepCandidate
// and stepFollower, installed by becomeLeader, becomeCandidate and
// becomeFollower, as in etcd raft.
package raft

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Role is a node's role.
type Role uint8

// The roles of a Raft node.
const (
	Follower Role = iota
	PreCandidate
	Candidate
	Leader
)

var roleNames = [...]string{"follower", "pre-candidate", "candidate", "leader"}

func (r Role) String() string { return roleNames[r] }

// RoleCommit reports the role and commit index Inspect would show, without
// building the view: the TUI's event log asks after every event.
func (n *Node) RoleCommit() (role string, commit int64) { return n.role.String(), n.commit }

// stepFunc handles a message after Step has applied the term rules. It is a
// method expression, not a closure, so that checkpoints copy it safely.
type stepFunc func(n *Node, env *sim.Env, from sim.NodeID, m sim.Message)

// Timer names.
const (
	timerElection  = "election"
	timerHeartbeat = "heartbeat"
)

// roundRing is how many heartbeat rounds' send times a leader remembers
// for leases.
const roundRing = 64

// Node is one Raft server.
type Node struct {
	opts    *Options
	members []sim.NodeID // the initial configuration
	id      sim.NodeID

	// Persistent state (Figure 2), on stable storage before any message
	// that depends on it leaves.
	term int64
	vote sim.NodeID
	log  raftLog

	// Volatile state. (role, smShared, heardAny and leader share one
	// word so that a Node is at most 512 bytes: a search allocates one
	// per step, and larger objects take a slower path in the allocator;
	// TestNodeSize.)
	role Role
	// smShared: sm belongs to the node this one was cloned from
	// (CloneProcess); it is copied before the first change.
	smShared bool
	// heardAny: heardLeader is set.
	heardAny bool
	leader   sim.NodeID
	step     stepFunc
	commit   int64
	applied  int64
	// sm is the replicated state machine (statemachine.go), made by newSM
	// at every start.
	sm    StateMachine
	newSM func() StateMachine
	// digests[k] is the running digest of every command applied up to
	// index log.snapIndex+1+k; the State Machine Safety checker compares
	// them across nodes. snapDigest is the digest at the snapshot.
	digests    []uint64
	snapDigest uint64
	snapData   []byte
	snapConfig *Config
	// config is the latest configuration in the log (or the snapshot's),
	// in force from the moment it is appended; configIndex is its entry.
	config      *Config
	configIndex int64
	peers       []sim.NodeID // whom a leader replicates to
	// ledTerm is the last term this node led; it answers the clients of
	// entries of that term when it applies them.
	ledTerm int64

	electionTimeout  sim.Time // the current randomized timeout
	electionDeadline sim.Time // on the local clock
	timerAt          sim.Time // when the pending election timer fires (local clock)
	heardLeader      sim.Time // local time of the last message from a leader
	// noVoteUntil: with leases, a restarted node may have promised a
	// leader not to vote for a while and forgotten it; it waits a minimum
	// election timeout before voting.
	noVoteUntil sim.Time

	// Candidate state: votes[id] is 1 granted, -1 refused, 0 unknown.
	votes []int8
	// Leader state.
	prs        []progress // indexed by node id
	round      int64
	roundSent  *[roundRing]sim.Time // lease reads only: when each round left
	readRound  int64                // the last round started for reads
	reads      []pendingRead
	proposed   map[sim.NodeID]int64
	leaseUntil sim.Time
	checkAt    sim.Time // when CheckQuorum next looks at activity

	enc protocols.Encoder

	// Counters for benchmarks, tests and views.
	elections          int64 // elections this incarnation started
	rejections         int64 // AppendEntries rejections received as leader
	snapshotsInstalled int64 // InstallSnapshot messages installed
	leaseReads         int64 // reads answered under the lease
}

// progress is the leader's view of one follower (§5.3 nextIndex and
// matchIndex, and etcd's probe / replicate states).
type progress struct {
	next, match int64
	// replicate: the follower's log is known to match, so the leader sends
	// entries optimistically (pipelined, up to the inflight bound); else it
	// probes, one message per response or heartbeat.
	replicate bool
	// probeSent: in probe state a message is out and unanswered.
	probeSent bool
	// active: a reply arrived since the last CheckQuorum check.
	active   bool
	ackRound int64
	// matchAtTick is match at the last heartbeat tick, to notice a stall.
	matchAtTick int64
	// resentFrom is where the leader last resent from after a rejection
	// caused by reordering, so that it resends once per gap.
	resentFrom int64
	// rejections counts the AppendEntries this follower rejected, and
	// conflicts those that named a conflicting term.
	rejections, conflicts int64
}

// pendingRead is a ReadIndex read waiting for its heartbeat round and for
// the state machine to reach its index.
type pendingRead struct {
	req   protocols.Request
	index int64
	round int64
}

// New returns a node for the given options and initial members,
// replicating the key-value store.
func New(opts *Options, members []sim.NodeID) *Node {
	return NewWithStateMachine(opts, members, NewKVStateMachine)
}

// NewWithStateMachine returns a node replicating the state machines newSM
// makes: one at every (re)start, restored from the stored snapshot.
func NewWithStateMachine(opts *Options, members []sim.NodeID, newSM func() StateMachine) *Node {
	return &Node{opts: opts, members: members, newSM: newSM}
}

// Start recovers from stable storage and starts as a follower (§5.2).
func (n *Node) Start(env *sim.Env) {
	n.id = env.ID()
	nodes := len(env.Nodes())
	n.votes = make([]int8, nodes+1)
	n.prs = make([]progress, nodes+1)
	n.restore(env)
	if n.opts.Reads == ReadsLease {
		n.noVoteUntil = env.Now() + n.opts.ElectionTimeoutMin
	}
	n.becomeFollower(env, n.term, 0)
	n.armElection(env)
	if env.Tracing() {
		env.Logf("start: term %d vote %v log (%d, %d] config %v", n.term, n.vote, n.log.snapIndex, n.log.last(), n.config)
	}
}

// Receive handles a message from a peer or a client.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	if req, ok := msg.(*protocols.Request); ok {
		n.handleRequest(env, req)
		return
	}
	n.Step(env, from, msg)
}

// Timer handles the election and heartbeat timers.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	switch t.Name {
	case timerElection:
		n.tickElection(env)
	case timerHeartbeat:
		if n.role != Leader || t.Arg != n.term {
			return // a timer of an earlier leadership
		}
		n.heartbeat(env)
		env.SetTimer(n.opts.heartbeat(), timerHeartbeat, n.term)
	default:
		panic(fmt.Sprintf("%v: unknown timer %q", n.id, t.Name))
	}
}

// tickElection runs when the one election timer fires. The timer is lazy:
// hearing from the leader moves electionDeadline without touching the
// event queue, and the timer re-arms itself for what remains.
//
// It decides as of when it was due (timerAt), not when it fired: the same
// in a simulation, where a timer fires on time, but a model checker may
// fire it late, after other events, and what it does then should not
// depend on how late. A late timer that finds the deadline passed since
// it was due re-arms for now. (The explorer fires a timer that only
// re-armed again, so the state encoding need not say which it will do:
// AppendState.)
func (n *Node) tickElection(env *sim.Env) {
	now := env.Now()
	due := min(now, n.timerAt)
	if n.role == Leader {
		if due >= n.checkAt {
			n.checkQuorum(env)
			n.checkAt = now + n.opts.ElectionTimeoutMin
		}
		n.setElectionTimer(env, max(n.checkAt-now, 0))
		return
	}
	if due < n.electionDeadline {
		n.setElectionTimer(env, max(n.electionDeadline-now, 0))
		return
	}
	if !n.config.Has(n.id) {
		// Spares and removed servers do not stand for election.
		n.resetElectionTimer(env)
	} else if n.opts.PreVote {
		n.becomePreCandidate(env)
	} else {
		n.becomeCandidate(env)
	}
	n.armElection(env)
}

// armElection sets the election timer for the current role's next check.
func (n *Node) armElection(env *sim.Env) {
	at := n.electionDeadline
	if n.role == Leader {
		at = n.checkAt
	}
	n.setElectionTimer(env, max(at-env.Now(), 0))
}

// setElectionTimer sets the one election timer and remembers when it will
// fire (tickElection decides as of then).
func (n *Node) setElectionTimer(env *sim.Env, d sim.Time) {
	env.SetTimer(d, timerElection, 0)
	n.timerAt = env.Now() + d
}

// resetElectionTimer draws a new randomized timeout (§5.2) and moves the
// deadline.
func (n *Node) resetElectionTimer(env *sim.Env) {
	n.electionTimeout = env.Rand().Between(n.opts.ElectionTimeoutMin, n.opts.ElectionTimeoutMax)
	if n.bug(BugFixedElectionTimeout) { // the mistake: every node waits the same time
		n.electionTimeout = n.opts.ElectionTimeoutMin
	}
	n.electionDeadline = env.Now() + n.electionTimeout
}

// msgTerm returns the term a message carries.
func msgTerm(m sim.Message) int64 {
	switch m := m.(type) {
	case *AppendEntries:
		return m.Term
	case *AppendEntriesReply:
		return m.Term
	case *RequestVote:
		return m.Term
	case *RequestVoteReply:
		return m.Term
	case *InstallSnapshot:
		return m.Term
	}
	panic(fmt.Sprintf("raft: unexpected message %T", m))
}

// inLease reports whether this node heard from a leader within the minimum
// election timeout; with CheckQuorum (or leases) it then ignores vote
// requests, which keeps a partitioned or removed server from deposing a
// working leader (thesis §4.2.3, §9.6).
func (n *Node) inLease(env *sim.Env) bool {
	if !n.opts.CheckQuorum && n.opts.Reads != ReadsLease {
		return false
	}
	if n.role == Leader || env.Now() < n.noVoteUntil {
		return true
	}
	return n.leader != 0 && n.heardAny && env.Now()-n.heardLeader < n.opts.ElectionTimeoutMin
}

// Step applies the rules every role shares: a message from a higher term
// makes this node a follower of that term (§5.1), one from a lower term is
// answered with the current term so its sender steps down, and votes are
// decided here (§5.2, §5.4.1). What is left goes to the role's handler.
func (n *Node) Step(env *sim.Env, from sim.NodeID, m sim.Message) {
	term := msgTerm(m)
	switch {
	case term > n.term:
		switch m := m.(type) {
		case *RequestVote:
			if n.inLease(env) {
				if env.Tracing() {
					env.Logf("ignoring %s from %v: heard from leader %v within the election timeout", m.MessageType(), from, n.leader)
				}
				return
			}
			if m.PreVote {
				break // a pre-vote changes nothing
			}
			n.becomeFollower(env, term, 0)
		case *RequestVoteReply:
			if m.PreVote && m.Granted {
				break // carries the term we would campaign in
			}
			n.becomeFollower(env, term, 0)
		case *AppendEntries:
			n.becomeFollower(env, term, from)
		case *InstallSnapshot:
			n.becomeFollower(env, term, from)
		case *AppendEntriesReply:
			if n.role == Leader && n.bug(BugNoStepDown) {
				return // the mistake: a reply of a higher term does not depose the leader
			}
			n.becomeFollower(env, term, 0)
		default:
			n.becomeFollower(env, term, 0)
		}
	case term < n.term:
		if ae, ok := m.(*AppendEntries); ok && n.bug(BugStaleAppend) {
			n.handleAppend(env, from, ae) // the mistake: a deposed leader's entries are taken
			return
		}
		switch m := m.(type) {
		case *AppendEntries, *InstallSnapshot:
			env.Send(from, &AppendEntriesReply{Term: n.term})
		case *RequestVote:
			env.Send(from, &RequestVoteReply{Term: n.term, PreVote: m.PreVote})
		default:
			if env.Tracing() {
				env.Logf("ignoring %s from %v: term %d < %d", m.MessageType(), from, term, n.term)
			}
		}
		return
	}
	if rv, ok := m.(*RequestVote); ok {
		n.handleVote(env, from, rv)
		return
	}
	n.step(n, env, from, m)
}

// handleVote decides a vote or pre-vote (§5.2, §5.4.1): at most one vote
// per term, only for a log at least as up to date as ours. The vote is on
// stable storage before the reply leaves.
func (n *Node) handleVote(env *sim.Env, from sim.NodeID, m *RequestVote) {
	canVote := n.vote == from || (n.vote == 0 && n.leader == 0) || (m.PreVote && m.Term > n.term)
	// Bug vote-no-log-check: the classic mistake of voting for any candidate.
	if canVote && (n.log.upToDate(m.LastIndex, m.LastTerm) || n.bug(BugVoteNoLogCheck)) {
		if !m.PreVote {
			if m.Term != n.term {
				panic(fmt.Sprintf("%v: voting in term %d while in term %d", n.id, m.Term, n.term))
			}
			n.vote = from
			if !n.bug(BugVoteNotPersisted) { // the mistake: votedFor lives in memory only
				n.persistHardState(env)
			}
			n.resetElectionTimer(env)
		}
		if env.Tracing() {
			env.Logf("granting %s to %v in term %d", voteKind(m.PreVote), from, m.Term)
		}
		env.Send(from, &RequestVoteReply{Term: m.Term, Granted: true, PreVote: m.PreVote})
		return
	}
	if env.Tracing() {
		env.Logf("refusing %s to %v in term %d: voted for %v, leader %v, log %d/%d vs %d/%d",
			voteKind(m.PreVote), from, m.Term, n.vote, n.leader, n.log.last(), n.log.lastTerm(), m.LastIndex, m.LastTerm)
	}
	env.Send(from, &RequestVoteReply{Term: n.term, PreVote: m.PreVote})
}

func voteKind(pre bool) string {
	if pre {
		return "pre-vote"
	}
	return "vote"
}

// becomeFollower makes the node a follower in term; leader is whom it
// follows, if known.
func (n *Node) becomeFollower(env *sim.Env, term int64, leader sim.NodeID) {
	if term < n.term {
		panic(fmt.Sprintf("%v: becoming follower in term %d below current %d", n.id, term, n.term))
	}
	if term > n.term {
		n.term, n.vote = term, 0
		if !n.bug(BugTermNotPersisted) { // the mistake: currentTerm lives in memory only
			n.persistHardState(env)
		}
	}
	wasLeader := n.role == Leader
	if wasLeader {
		n.failReads(env)
	}
	n.role, n.step, n.leader = Follower, (*Node).stepFollower, leader
	// Figure 2: the election timer restarts only on hearing from the
	// current leader, on granting a vote and on starting an election, not
	// on merely seeing a higher term. Otherwise candidates whose logs are
	// too short to win keep resetting the timers of the nodes that could,
	// and no leader is ever elected. A former leader's deadline is stale.
	if wasLeader || n.electionDeadline == 0 {
		n.resetElectionTimer(env)
	}
	if env.Tracing() {
		env.Logf("follower in term %d (leader %v)", n.term, leader)
	}
}

// becomePreCandidate asks for pre-votes in the next term without
// changing its own term (thesis §9.6).
func (n *Node) becomePreCandidate(env *sim.Env) {
	n.role, n.step, n.leader = PreCandidate, (*Node).stepCandidate, 0
	n.resetElectionTimer(env)
	if env.Tracing() {
		env.Logf("pre-candidate for term %d", n.term+1)
	}
	n.campaign(env, true)
}

// becomeCandidate starts an election: a new term, a vote for itself, on
// stable storage before any RequestVote leaves (§5.2).
func (n *Node) becomeCandidate(env *sim.Env) {
	n.term++
	n.vote = n.id
	n.persistHardState(env)
	n.role, n.step, n.leader = Candidate, (*Node).stepCandidate, 0
	n.elections++
	n.resetElectionTimer(env)
	if env.Tracing() {
		env.Logf("candidate in term %d", n.term)
	}
	n.campaign(env, false)
}

// campaign sends (pre-)vote requests to every other member.
func (n *Node) campaign(env *sim.Env, pre bool) {
	n.votes = make([]int8, len(n.votes)) // a clone may share the old array (CloneProcess)
	n.votes[n.id] = 1
	if n.tallyVotes(env) {
		return
	}
	term := n.term
	if pre {
		term++
	}
	m := &RequestVote{Term: term, Candidate: n.id, LastIndex: n.log.last(), LastTerm: n.log.lastTerm(), PreVote: pre}
	for _, p := range n.config.Members {
		if p != n.id {
			env.Send(p, m)
		}
	}
}

// tallyVotes counts the votes and acts on a decided election; it reports
// whether the election is over.
func (n *Node) tallyVotes(env *sim.Env) bool {
	granted, refused := 0, 0
	for _, p := range n.config.Members {
		switch n.votes[p] {
		case 1:
			granted++
		case -1:
			refused++
		}
	}
	switch voteResult(granted, refused, len(n.config.Members)) {
	case voteWon:
		if n.role == PreCandidate {
			n.becomeCandidate(env)
		} else {
			n.becomeLeader(env)
		}
		return true
	case voteLost:
		n.becomeFollower(env, n.term, 0)
		return true
	}
	return false
}

// stepCandidate handles messages to a candidate or pre-candidate.
func (n *Node) stepCandidate(env *sim.Env, from sim.NodeID, m sim.Message) {
	switch m := m.(type) {
	case *RequestVoteReply:
		want := n.term
		if n.role == PreCandidate {
			want++
		}
		if m.PreVote != (n.role == PreCandidate) || (m.Granted && m.Term != want) {
			return // a reply to an earlier campaign
		}
		if m.Granted {
			if n.bug(BugDuplicateVotes) && n.votes[from] == 1 {
				from = n.silentVoter() // the mistake: counting replies, not voters
			}
			n.votes[from] = 1
		} else {
			n.votes[from] = -1
		}
		n.tallyVotes(env)
	case *AppendEntries:
		// A leader of our term exists (§5.2): follow it.
		n.becomeFollower(env, n.term, from)
		n.stepFollower(env, from, m)
	case *InstallSnapshot:
		n.becomeFollower(env, n.term, from)
		n.stepFollower(env, from, m)
	}
}

// silentVoter returns a member that has not answered the campaign (the
// duplicate-votes bug books a repeated grant to it), or the candidate.
func (n *Node) silentVoter() sim.NodeID {
	for _, p := range n.config.Members {
		if n.votes[p] == 0 {
			return p
		}
	}
	return n.id
}

// stepFollower handles messages to a follower.
func (n *Node) stepFollower(env *sim.Env, from sim.NodeID, m sim.Message) {
	switch m := m.(type) {
	case *AppendEntries:
		n.heardFrom(env, from)
		n.handleAppend(env, from, m)
	case *InstallSnapshot:
		n.heardFrom(env, from)
		n.handleSnapshot(env, from, m)
	}
}

// heardFrom records contact with the leader of the current term.
func (n *Node) heardFrom(env *sim.Env, from sim.NodeID) {
	if n.leader != 0 && n.leader != from {
		panic(fmt.Sprintf("%v: two leaders in term %d: %v and %v", n.id, n.term, n.leader, from))
	}
	n.leader = from
	n.heardLeader, n.heardAny = env.Now(), true
	n.electionDeadline = env.Now() + n.electionTimeout
}

// stepLeader handles messages to a leader.
func (n *Node) stepLeader(env *sim.Env, from sim.NodeID, m sim.Message) {
	switch m := m.(type) {
	case *AppendEntriesReply:
		n.handleAppendReply(env, from, m)
	case *AppendEntries:
		panic(fmt.Sprintf("%v: leader of term %d got AppendEntries from %v of the same term", n.id, n.term, from))
	}
}

// becomeLeader takes over after winning an election: every follower's
// nextIndex is just past the leader's log (§5.3), and a no-op entry of the
// new term lets the leader commit what earlier terms left (§8).
func (n *Node) becomeLeader(env *sim.Env) {
	if n.role != Candidate {
		panic(fmt.Sprintf("%v: becoming leader from %v", n.id, n.role))
	}
	n.role, n.step, n.leader, n.ledTerm = Leader, (*Node).stepLeader, n.id, n.term
	last := n.log.last()
	n.prs = make([]progress, len(n.prs)) // a clone may share the old array (CloneProcess)
	for i := range n.prs {
		n.prs[i] = progress{next: last + 1}
	}
	n.prs[n.id].match = last
	n.proposed = nil // made on the first proposal (replication.go)
	n.reads = n.reads[:0]
	n.readRound = 0
	n.leaseUntil = 0
	n.checkAt = env.Now() + n.opts.ElectionTimeoutMin
	if env.Tracing() {
		env.Logf("leader in term %d", n.term)
	}
	if n.opts.NoLeaderNoop {
		n.heartbeat(env) // Figure 2: upon election, empty AppendEntries to each server
	} else {
		n.propose(env, Entry{Term: n.term, Kind: EntryNoop})
	}
	env.SetTimer(n.opts.heartbeat(), timerHeartbeat, n.term)
}

// checkQuorum steps down a leader that has not heard from a quorum of
// its configuration since the last check (etcd's CheckQuorum).
func (n *Node) checkQuorum(env *sim.Env) {
	active := 0
	for _, p := range n.config.Members {
		if p == n.id || n.prs[p].active {
			active++
		}
		n.prs[p].active = false
	}
	if n.opts.CheckQuorum && active < majority(len(n.config.Members)) {
		if env.Tracing() {
			env.Logf("stepping down: only %d of %d members active", active, len(n.config.Members))
		}
		n.becomeFollower(env, n.term, 0)
	}
}
