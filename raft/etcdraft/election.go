package etcdraft

import (
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/synod-dev/synod/sim"
)

// Determinism: who starts elections, and when.
//
// etcd's raft keeps two election counters: electionElapsed, the ticks since
// it last heard from a leader (or granted a vote, or changed term or role),
// and randomizedElectionTimeout, drawn in [ElectionTick, 2*ElectionTick)
// from a process-global crypto/rand source at every reset. A follower's
// Tick increments electionElapsed and campaigns once it reaches the random
// timeout. That draw is the one thing in etcd's raft a simulator cannot
// seed, and overriding a process-global source would couple runs that
// execute in parallel.
//
// So the adapter never lets etcd's own election trigger run:
//
//   - A leader gets RawNode.Tick, whose leader branch (heartbeats,
//     CheckQuorum every ElectionTick) uses no randomness.
//   - A follower, pre-candidate or candidate gets RawNode.TickQuiesced,
//     which increments electionElapsed and does nothing else. etcd's
//     lease (CheckQuorum: ignore votes while electionElapsed <
//     ElectionTick) therefore keeps etcd's exact semantics.
//   - The adapter mirrors electionElapsed in n.elapsed (reset at each point
//     where etcd resets it) and draws its own randomized timeout from the
//     node's seeded stream, ElectionTick + IntN(ElectionTick), whenever
//     etcd redraws (a change of term or role). When n.elapsed reaches it,
//     the adapter calls RawNode.Campaign, the same MsgHup that etcd's
//     tickElection steps.
//
// etcd still draws its crypto/rand timeout at every reset, but no code
// path reads it any more: behaviour is a function of the seed.

// resetElection mirrors etcd's reset(): a change of term or role restarts
// the election clock with a fresh random timeout.
func (n *Node) resetElection(env *sim.Env) {
	e := n.opts.ElectionTicks
	n.elapsed = 0
	n.timeout = e + env.Rand().IntN(e)
}

// tick advances etcd's clock by one tick, starting an election when the
// adapter's randomized timeout expires.
func (n *Node) tick(env *sim.Env) {
	if n.state == raft.StateLeader || n.opts.naive {
		n.rn.Tick()
		return
	}
	n.rn.TickQuiesced()
	n.elapsed++
	if n.elapsed < n.timeout {
		return
	}
	// etcd's tickElection: zero the clock, then MsgHup. etcd refuses the
	// campaign itself if the node may not campaign (not a voter, a snapshot
	// pending, configuration changes unapplied).
	n.elapsed = 0
	n.campaigns++
	if env.Tracing() {
		env.Logf("election timeout after %d ticks: campaigning (pre-vote %v)", n.timeout, n.opts.PreVote)
	}
	if err := n.rn.Campaign(); err != nil {
		env.Logf("campaign refused: %v", err)
	}
}

// heard mirrors etcd's stepFollower, which zeroes electionElapsed on every
// append, heartbeat or snapshot from the leader of its term. Such a message
// with a term at least ours makes this node a follower of its sender.
func (n *Node) heard(m *pb.Message) {
	switch m.GetType() {
	case pb.MsgApp, pb.MsgHeartbeat, pb.MsgSnap:
		if m.GetTerm() >= n.term {
			n.elapsed = 0
		}
	}
}

// sent mirrors etcd's vote grant, which zeroes electionElapsed.
func (n *Node) sent(m *pb.Message) {
	if m.GetType() == pb.MsgVoteResp && !m.GetReject() {
		n.elapsed = 0
	}
}
