package raft

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Liveness checkers. Safety checkers cannot see a leader that goes on
// claiming a term the cluster has left: the next message of the new term
// deposes it and no invariant breaks. These fail such runs through
// the same violation machinery as safety, so seed, replay and shrink work.

// settleTimeouts is the liveness bound after a heal, in maximum election
// timeouts: every crashed node restarts at the heal, so within one maximum
// election timeout some node campaigns; split votes, disruptive candidates
// with inflated terms and the loss that stays after the heal cost a few
// more rounds. The property tests use the same bound (leaderBound: 2.1s
// with the default 300ms; the worst seen over 3,000 seeds of each chaos
// variant was 1.43s).
const settleTimeouts = 7

// settleBound is the liveness bound after a heal for these options.
func (o *Options) settleBound() sim.Time { return settleTimeouts * o.ElectionTimeoutMax }

// livenessCheckers returns raft.StaleLeader and raft.Progress (elections
// settle and operations are answered after the heal).
func livenessCheckers(opts *Options) []sim.Checker {
	return []sim.Checker{staleLeader{}, protocols.NewProgressChecker("raft.Progress", opts.settleBound(), FollowedLeader)}
}

// FollowedLeader returns a live leader whose term a majority of its
// configuration shares while following it, or 0.
func FollowedLeader(s *sim.Sim) sim.NodeID {
	for _, id := range s.Nodes() {
		l := node(s, id)
		if l == nil || l.role != Leader {
			continue
		}
		k := 0
		for _, p := range s.Nodes() {
			if n := node(s, p); n != nil && n.term == l.term && n.leader == id {
				k++
			}
		}
		if k >= majority(len(l.config.Members)) {
			return id
		}
	}
	return 0
}

// staleLeader: a node that has just received a message of a term above its
// own does not still act as leader of its own term (§5.1: "if a server
// receives a request or response with term T > currentTerm, set
// currentTerm = T and convert to follower"). Vote requests are exempt:
// with CheckQuorum or leases a leader ignores them on purpose (thesis
// §4.2.3), and so are granted pre-vote replies, which carry the term the
// node would campaign in. It remembers nothing (a sim.CheckerSharer that
// never changes); it is not a sim.CheckerLocal, since whether a message
// was delivered or lost to a partition depends on the network too.
type staleLeader struct{}

func (staleLeader) Name() string { return "raft.StaleLeader" }

func (c staleLeader) Check(s *sim.Sim, ev *sim.Event) error {
	_, err := c.CheckShared(s, ev)
	return err
}

func (staleLeader) CheckShared(s *sim.Sim, ev *sim.Event) (sim.Checker, error) {
	if ev.Kind != sim.KindDeliver || ev.To <= 0 || s.Blocked(ev.From, ev.To) {
		return nil, nil // not a message to a node, or lost to a partition
	}
	switch m := ev.Msg.(type) {
	case *RequestVote:
		return nil, nil
	case *RequestVoteReply:
		if m.PreVote && m.Granted {
			return nil, nil
		}
	case *AppendEntries, *AppendEntriesReply, *InstallSnapshot:
	default:
		return nil, nil
	}
	n := node(s, ev.To)
	if n == nil || n.role != Leader {
		return nil, nil
	}
	if t := msgTerm(ev.Msg); t > n.term {
		return nil, fmt.Errorf("%v received %s of term %d from %v and still leads term %d", ev.To, ev.Msg.MessageType(), t, ev.From, n.term)
	}
	return nil, nil
}
