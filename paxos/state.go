package paxos

import (
	"encoding/binary"
	"slices"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// The model checker's state encodings (sim.StateAppender). Two nodes that
// append the same bytes must behave the same from then on, whatever the
// clock says: times are left out, and no decision of either protocol
// compares them. A timer that fires early only re-arms, and the explorer
// fires it again until it acts (sim/explore: fire), so whether the
// election clock (a leader's quorum check) is due follows from the state
// too. What they leave out: the clock (deadline, wake time, election
// time-out drawn from the random stream), timer ids (a node has at most
// one wake timer pending, and wakeID says only whether it has one), the
// journal and counters kept for checkers and views, and what follows from
// the rest (peers, slot keys, the key-value state: the snapshot in stable
// storage plus the applied slots).

// AppendState implements sim.StateAppender for the explorer. It is the
// identity's case of the permuted encoding (symmetry.go), so that the two
// cannot drift apart.
func (n *Node) AppendState(b []byte) []byte { return n.appendState(b, sim.Permutation{}) }

// appendState appends the node's state with every node id x in it
// written as p.Of(x): ballots, the sets of acceptors that answered, the
// leader believed in, and the no-ops a leader names itself in.
func (n *Node) appendState(b []byte, p sim.Permutation) []byte {
	b = append(b, roleByte(n.role))
	b = appendBallot(b, n.promised, p)
	b = appendBallot(b, n.ballot, p)
	b = appendBallot(b, n.maxSeen, p)
	b = binary.AppendUvarint(b, uint64(permutedVoters(n.promises, p)))
	b = binary.AppendVarint(b, n.recovMax)
	b = binary.AppendVarint(b, n.nextSlot)
	b = binary.AppendVarint(b, n.hbGen) // the live heartbeat timer's argument
	b = binary.AppendUvarint(b, uint64(permutedVoters(n.answered, p)))
	b = binary.AppendVarint(b, int64(p.Of(n.leader)))
	b = appendBool(b, n.wakeID != 0)
	b = appendBool(b, n.catchSent)
	b = binary.AppendVarint(b, n.base)
	b = binary.AppendVarint(b, n.commit)
	b = binary.AppendVarint(b, n.applied)
	b = binary.AppendVarint(b, n.snap)
	b = binary.AppendUvarint(b, uint64(len(n.log)))
	for i := range n.log {
		sl := &n.log[i]
		b = appendBool(b, sl.hasAcc)
		if sl.hasAcc {
			b = appendBallot(b, sl.acc, p)
			b = appendRequest(b, &sl.accCmd, p)
		}
		b = appendBool(b, sl.chosen)
		if sl.chosen {
			b = appendRequest(b, &sl.cmd, p)
		}
		b = binary.AppendUvarint(b, uint64(permutedVoters(sl.acks, p)))
		b = appendBool(b, sl.fresh)
	}
	if n.recov != nil {
		slots := make([]int64, 0, len(n.recov))
		for s := range n.recov {
			slots = append(slots, s)
		}
		slices.Sort(slots)
		b = binary.AppendUvarint(b, uint64(len(slots))+1)
		for _, s := range slots {
			r := n.recov[s]
			b = binary.AppendVarint(b, s)
			b = appendBallot(b, r.ballot, p)
			b = appendRequest(b, &r.cmd, p)
			b = appendBool(b, r.decided)
		}
	} else {
		b = append(b, 0)
	}
	return b
}

// AppendState implements sim.StateAppender for the explorer: the three
// roles' state, and whether a retry or backoff timer is pending (its id
// says nothing more: a stale one is always canceled). It is the
// identity's case of the permuted encoding (symmetry.go).
func (n *SingleNode) AppendState(b []byte) []byte { return n.appendState(b, sim.Permutation{}) }

// appendState appends the node's state with every node id x in it
// written as p.Of(x): ballots and the sets of acceptors that answered.
// (Clients are no nodes: the waiters and the commands stay.)
func (n *SingleNode) appendState(b []byte, p sim.Permutation) []byte {
	b = appendBallot(b, n.promised, p)
	b = appendBool(b, n.hasAcc)
	if n.hasAcc {
		b = appendBallot(b, n.acc, p)
		b = appendRequest(b, &n.accVal, p)
	}
	b = append(b, byte(n.phase))
	b = appendBallot(b, n.ballot, p)
	b = appendBallot(b, n.maxSeen, p)
	b = appendRequest(b, &n.own, p)
	b = appendRequest(b, &n.value, p)
	b = appendBallot(b, n.best, p)
	b = binary.AppendUvarint(b, uint64(permutedVoters(n.promises, p)))
	b = binary.AppendUvarint(b, uint64(permutedVoters(n.accepts, p)))
	b = appendBool(b, n.retryID != 0)
	b = binary.AppendUvarint(b, uint64(len(n.waiters)))
	for _, w := range n.waiters {
		b = binary.AppendVarint(b, int64(w.client))
		b = binary.AppendVarint(b, w.seq)
	}
	b = appendBool(b, n.decided)
	if n.decided {
		b = appendRequest(b, &n.chosen, p)
	}
	return b
}

func roleByte(role string) byte {
	switch role {
	case roleFollower:
		return 1
	case roleCandidate:
		return 2
	case roleLeader:
		return 3
	}
	return 0
}

// appendBallot appends x with its proposer renamed by p.
func appendBallot(b []byte, x Ballot, p sim.Permutation) []byte {
	b = binary.AppendVarint(b, x.Round)
	return binary.AppendVarint(b, int64(p.Of(x.Node)))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendRequest appends r with its client renamed by p: p leaves clients
// alone, and renames the leader a gap-filling no-op names (noopBy).
func appendRequest(b []byte, r *protocols.Request, p sim.Permutation) []byte {
	b = binary.AppendVarint(b, int64(p.Of(r.Client)))
	b = binary.AppendVarint(b, r.Seq)
	b = appendString(b, string(r.Op.Kind))
	b = appendString(b, r.Op.Key)
	b = appendString(b, r.Op.Value)
	return appendString(b, r.Op.Expect)
}

var (
	_ sim.StateAppender = (*Node)(nil)
	_ sim.StateAppender = (*SingleNode)(nil)
)
