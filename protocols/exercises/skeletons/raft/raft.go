// Package raftlab is your Raft. The plumbing is done: options, messages,
// timers, the view the grader and the TUI read, and the dispatch of every
// event. The protocol is yours: look for TODO. Read README.md first.
//
// Rules of the simulator (docs/protocols.md): a node acts only through
// env (send, timers, storage), never starts goroutines, never reads the
// machine's clock, draws randomness only from env.Rand(), and never lets
// map iteration order change what it does. A crash throws the Node value
// away; Start must rebuild it from env.Load alone.
package raftlab

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Options are set from a scenario's `options:` mapping.
type Options struct {
	ElectionTimeoutMin sim.Time `yaml:"election_timeout_min" json:"election_timeout_min"`
	ElectionTimeoutMax sim.Time `yaml:"election_timeout_max" json:"election_timeout_max"`
	HeartbeatInterval  sim.Time `yaml:"heartbeat_interval" json:"heartbeat_interval"`
	// EntriesPerMessageMax bounds the entries one AppendEntries carries
	// (raft-replication): your leader must never send more. Some graded
	// scenarios set it to 1, so that a follower far behind is repaired
	// one entry at a time, as in the paper's figures.
	EntriesPerMessageMax int `yaml:"entries_per_message_max" json:"entries_per_message_max"`
	// SnapshotEntries compacts the log once this many applied entries
	// follow the last snapshot (raft-snapshots); zero: never.
	SnapshotEntries int `yaml:"snapshot_entries" json:"snapshot_entries"`
}

// Spec describes this protocol to synod. Register it in an init function
// if you want `synod run --protocol raftlab` in a binary that imports it.
func Spec() *protocols.Spec {
	return &protocols.Spec{
		Name:        "raftlab",
		Description: "a student's Raft",
		Options: func() any {
			return &Options{ElectionTimeoutMin: 150 * sim.Millisecond, ElectionTimeoutMax: 300 * sim.Millisecond, HeartbeatInterval: 50 * sim.Millisecond, EntriesPerMessageMax: 64}
		},
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := c.Options.(*Options)
			if o.ElectionTimeoutMin <= 0 || o.ElectionTimeoutMax < o.ElectionTimeoutMin {
				return nil, fmt.Errorf("options.election_timeout_max: %v < election_timeout_min %v", o.ElectionTimeoutMax, o.ElectionTimeoutMin)
			}
			if o.HeartbeatInterval <= 0 || o.HeartbeatInterval >= o.ElectionTimeoutMin {
				return nil, fmt.Errorf("options.heartbeat_interval: %v must be in (0, election_timeout_min)", o.HeartbeatInterval)
			}
			if o.EntriesPerMessageMax < 1 {
				return nil, fmt.Errorf("options.entries_per_message_max: %d must be at least 1", o.EntriesPerMessageMax)
			}
			return func(id sim.NodeID) protocols.Node { return &Node{opts: o, id: id} }, nil
		},
		Messages:     messages,
		Linearizable: true,
	}
}

// Roles. The grader reads them from Inspect: keep these names.
const (
	Follower  = "follower"
	Candidate = "candidate"
	Leader    = "leader"
)

// Node is one Raft server.
type Node struct {
	opts *Options
	id   sim.NodeID

	// Persistent state (Figure 2): save it with persist() before you
	// answer a message that depends on it.
	term     int64
	votedFor sim.NodeID
	log      []Entry // log[i] has index snapIndex+1+i

	// Snapshot (raft-snapshots): the log up to snapIndex is compacted.
	snapIndex, snapTerm int64

	// Volatile state.
	role     string
	leader   sim.NodeID
	commit   int64
	applied  int64
	kv       *protocols.KV
	votes    map[sim.NodeID]bool
	election sim.TimerID

	// Leader state: nextIndex and matchIndex per follower.
	next, match map[sim.NodeID]int64
	// waiting maps a log index to the client waiting for it.
	waiting map[int64]sim.NodeID
}

// Start runs at boot and after every restart: recover from storage, then
// become a follower.
func (n *Node) Start(env *sim.Env) {
	n.kv = protocols.NewKV()
	n.role = Follower
	n.restore(env)
	n.resetElectionTimer(env)
}

// Receive dispatches a message.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *protocols.Request:
		n.onRequest(env, m)
	case *RequestVote:
		n.onRequestVote(env, from, m)
	case *RequestVoteReply:
		n.onRequestVoteReply(env, from, m)
	case *AppendEntries:
		n.onAppendEntries(env, from, m)
	case *AppendEntriesReply:
		n.onAppendEntriesReply(env, from, m)
	case *InstallSnapshot:
		n.onInstallSnapshot(env, from, m)
	case *InstallSnapshotReply:
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

// resetElectionTimer (re)arms the randomized election timeout (§5.2).
func (n *Node) resetElectionTimer(env *sim.Env) {
	if n.election != 0 {
		env.CancelTimer(n.election)
	}
	n.election = env.SetTimer(env.Rand().Between(n.opts.ElectionTimeoutMin, n.opts.ElectionTimeoutMax), "election", 0)
}

// lastIndex and lastTerm describe the end of the log.
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

// --- raft-election -------------------------------------------------------

// onElectionTimeout starts an election (§5.2).
func (n *Node) onElectionTimeout(env *sim.Env) {
	// TODO(raft-election): become a candidate: increment the term, vote
	// for yourself, persist, send RequestVote to every other node in
	// env.Nodes(), and reset the election timer.
}

// onRequestVote decides whether to grant a vote (§5.2, §5.4.1).
func (n *Node) onRequestVote(env *sim.Env, from sim.NodeID, m *RequestVote) {
	// TODO(raft-election): step down on a higher term; grant at most one
	// vote per term, only to a candidate whose log is at least as
	// up-to-date as yours; persist before you reply; reset your election
	// timer when you grant.
}

// onRequestVoteReply counts votes.
func (n *Node) onRequestVoteReply(env *sim.Env, from sim.NodeID, m *RequestVoteReply) {
	// TODO(raft-election): step down on a higher term; with votes from a
	// majority of env.Nodes() become leader (set n.role, n.leader, next
	// and match) and start heartbeats at once.
}

// onHeartbeat sends AppendEntries to every follower and re-arms itself.
func (n *Node) onHeartbeat(env *sim.Env) {
	// TODO(raft-election): while leader, send AppendEntries to every other
	// node and env.SetTimer(n.opts.HeartbeatInterval, "heartbeat", 0).
	// TODO(raft-snapshots): send InstallSnapshot to a follower whose next
	// entry is compacted.
}

// --- raft-replication ----------------------------------------------------

// onRequest handles a client's request.
func (n *Node) onRequest(env *sim.Env, req *protocols.Request) {
	// TODO(raft-replication): a follower answers StatusNotLeader with a
	// Leader hint; a leader answers a duplicate at once (n.kv.Duplicate),
	// otherwise appends the request to its log, remembers who waits for
	// the index, and replicates (at most n.opts.EntriesPerMessageMax
	// entries in one AppendEntries). Answer when the entry is applied.
}

// onAppendEntries is the follower's side of replication (§5.3).
func (n *Node) onAppendEntries(env *sim.Env, from sim.NodeID, m *AppendEntries) {
	// TODO(raft-election): reject a stale term; otherwise recognize the
	// leader (n.leader = from, become follower) and reset the election
	// timer.
	// TODO(raft-replication): the consistency check on PrevLogIndex/Term,
	// delete conflicting entries and append the new ones, advance the
	// commit index to min(LeaderCommit, index of last new entry), apply.
}

// onAppendEntriesReply is the leader's side of replication.
func (n *Node) onAppendEntriesReply(env *sim.Env, from sim.NodeID, m *AppendEntriesReply) {
	// TODO(raft-election): step down on a higher term.
	// TODO(raft-replication): update next and match; on failure back up
	// and retry; advance the commit index to the highest index stored on
	// a majority whose entry is of the current term (§5.4.2), then apply.
}

// apply applies committed entries to the store and answers waiting
// clients.
func (n *Node) apply(env *sim.Env) {
	// TODO(raft-replication): for each index in (applied, commit]: apply
	// the entry's request with n.kv.Apply, and if a client waits for this
	// index on this leader, env.Send(client, response).
	// TODO(raft-snapshots): take a snapshot every SnapshotEntries entries.
}

// --- raft-persistence ----------------------------------------------------

// persist saves term, votedFor and the log. Use protocols.Encoder
// (Varint, Request, Bytes...) for a compact encoding, or encoding/json.
func (n *Node) persist(env *sim.Env) {
	// TODO(raft-persistence): env.Store the persistent state. Saving the
	// whole log each time is simple and fine here; storing each entry
	// under its own key is faster.
}

// restore rebuilds the persistent state after a restart.
func (n *Node) restore(env *sim.Env) {
	// TODO(raft-persistence): env.Load what persist saved.
	// TODO(raft-snapshots): and the snapshot: the store (protocols.DecodeKV),
	// snapIndex, snapTerm; applied and commit start at snapIndex.
}

// --- raft-snapshots ------------------------------------------------------

// onInstallSnapshot installs a leader's snapshot (Figure 13).
func (n *Node) onInstallSnapshot(env *sim.Env, from sim.NodeID, m *InstallSnapshot) {
	// TODO(raft-snapshots): reject a stale term; otherwise keep the log
	// after LastIncludedIndex if it matches, else drop it; load the store
	// from Data; persist; reply.
}

// onInstallSnapshotReply moves the follower's next index past the snapshot.
func (n *Node) onInstallSnapshotReply(env *sim.Env, from sim.NodeID, m *InstallSnapshotReply) {
	// TODO(raft-snapshots)
}

// viewTail is how many of the last log entries the view shows.
const viewTail = 16

// Inspect shows the node's state. The grader reads Role, Term, Leader,
// LogLen, Log (with Index and Term), Commit and Snapshot: keep them true
// (the strikes of leader-strikes watch Role, Term, LogLen and Commit).
func (n *Node) Inspect() sim.View {
	v := sim.View{Role: n.role, Term: n.term, TermLabel: "term", Leader: n.leader,
		LogLen: n.lastIndex(), Commit: n.commit, Applied: n.applied, Snapshot: n.snapIndex}
	// The view shows the log's tail: the grader builds views after every
	// event, so keep Inspect cheap.
	for i := max(0, len(n.log)-viewTail); i < len(n.log); i++ {
		v.Log = append(v.Log, sim.LogLine{Index: n.snapIndex + 1 + int64(i), Term: n.log[i].Term, Command: n.log[i].Command()})
	}
	v.Fields = []sim.Field{{Name: "voted_for", Value: n.votedFor.String()}}
	return v
}
