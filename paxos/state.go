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

// AppendState implements sim.StateAppender for the explorer.
func (n *Node) AppendState(b []byte) []byte {
	b = append(b, roleByte(n.role))
	b = appendBallot(b, n.promised)
	b = appendBallot(b, n.ballot)
	b = appendBallot(b, n.maxSeen)
	b = binary.AppendUvarint(b, uint64(n.promises))
	b = binary.AppendVarint(b, n.recovMax)
	b = binary.AppendVarint(b, n.nextSlot)
	b = binary.AppendVarint(b, n.hbGen) // the live heartbeat timer's argument
	b = binary.AppendUvarint(b, uint64(n.answered))
	b = binary.AppendVarint(b, int64(n.leader))
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
			b = appendBallot(b, sl.acc)
			b = appendRequest(b, &sl.accCmd)
		}
		b = appendBool(b, sl.chosen)
		if sl.chosen {
			b = appendRequest(b, &sl.cmd)
		}
		b = binary.AppendUvarint(b, uint64(sl.acks))
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
			b = appendBallot(b, r.ballot)
			b = appendRequest(b, &r.cmd)
			b = appendBool(b, r.decided)
		}
	} else {
		b = append(b, 0)
	}
	return b
}

// AppendState implements sim.StateAppender for the explorer: the three
// roles' state, and whether a retry or backoff timer is pending (its id
// says nothing more: a stale one is always canceled).
func (n *SingleNode) AppendState(b []byte) []byte {
	b = appendBallot(b, n.promised)
	b = appendBool(b, n.hasAcc)
	if n.hasAcc {
		b = appendBallot(b, n.acc)
		b = appendRequest(b, &n.accVal)
	}
	b = append(b, byte(n.phase))
	b = appendBallot(b, n.ballot)
	b = appendBallot(b, n.maxSeen)
	b = appendRequest(b, &n.own)
	b = appendRequest(b, &n.value)
	b = appendBallot(b, n.best)
	b = binary.AppendUvarint(b, uint64(n.promises))
	b = binary.AppendUvarint(b, uint64(n.accepts))
	b = appendBool(b, n.retryID != 0)
	b = binary.AppendUvarint(b, uint64(len(n.waiters)))
	for _, w := range n.waiters {
		b = binary.AppendVarint(b, int64(w.client))
		b = binary.AppendVarint(b, w.seq)
	}
	b = appendBool(b, n.decided)
	if n.decided {
		b = appendRequest(b, &n.chosen)
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

func appendBallot(b []byte, x Ballot) []byte {
	b = binary.AppendVarint(b, x.Round)
	return binary.AppendVarint(b, int64(x.Node))
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

func appendRequest(b []byte, r *protocols.Request) []byte {
	b = binary.AppendVarint(b, int64(r.Client))
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
