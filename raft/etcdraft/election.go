package etcdraft

import (
	"fmt"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

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
//   - A leader's tick is etcd's tickHeartbeat (heartbeats, CheckQuorum
//     every ElectionTick), which uses no randomness, run by the adapter
//     (tickLeader says why not through RawNode.Tick).
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
	n.elapsed, n.heartbeatElapsed = 0, 0
	n.timeout = e + env.Rand().IntN(e)
}

// tick advances etcd's clock by one tick, starting an election when the
// adapter's randomized timeout expires.
func (n *Node) tick(env *sim.Env) {
	if n.opts.naive {
		n.rn.Tick()
		return
	}
	if n.state == raft.StateLeader {
		n.tickLeader(env)
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

// tickLeader is etcd's tickHeartbeat, step for step: CheckQuorum every
// ElectionTick ticks, a heartbeat round every HeartbeatTick ticks. The
// adapter runs it instead of RawNode.Tick because etcd keeps its tick
// function as a method value bound to the raft struct, and a method value
// survives the simulator's deep copy of a checkpoint still bound to the
// original: a restored or cloned run would tick the wrong node. The two
// steps are the local messages tickHeartbeat itself steps; RawNode.Step
// accepts local messages only from its local storage threads, so the
// adapter sends them as one. The leader's own electionElapsed then stays
// at zero instead of cycling below ElectionTick, which changes nothing:
// etcd reads it only to see whether it is below ElectionTick (the lease,
// always in force on a leader) and for leadership transfers, which synod
// does not use.
func (n *Node) tickLeader(env *sim.Env) {
	n.heartbeatElapsed++
	n.elapsed++
	if n.elapsed >= n.opts.ElectionTicks {
		n.elapsed = 0
		if n.opts.CheckQuorum {
			n.stepLocal(pb.MsgCheckQuorum)
			n.ready(env)
			if n.state != raft.StateLeader {
				return
			}
		}
	}
	if n.heartbeatElapsed >= n.opts.HeartbeatTicks {
		n.heartbeatElapsed = 0
		n.stepLocal(pb.MsgBeat)
	}
}

func (n *Node) stepLocal(t pb.MessageType) {
	if err := n.rn.Step(&pb.Message{Type: t.Enum(), From: proto.Uint64(raft.LocalAppendThread)}); err != nil {
		panic(fmt.Sprintf("%v: etcd refused local %v: %v", n.id, t, err))
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
