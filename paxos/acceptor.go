package paxos

import (
	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// onPrepare is the acceptor's phase 1b (Paxos Made Simple, P1a): it
// promises a ballot above any it promised, persists the promise, and only
// then answers with what it accepted from m.From on.
func (n *Node) onPrepare(env *sim.Env, from sim.NodeID, m *Prepare) {
	if m.Ballot.Less(n.promised) {
		env.Send(from, &Nack{Ballot: m.Ballot, Promised: n.promised})
		return
	}
	n.promise(env, m.Ballot)
	if n.role == roleFollower {
		// A proposer is campaigning: give it an election time-out to
		// finish before competing (like a Raft vote resetting the timer).
		// The leader followed so far can no longer decide through this
		// acceptor, so clients are not sent to it.
		n.deadline = env.Now() + n.timeout
		n.leader = 0
	}
	env.Send(from, n.promiseFor(m.Ballot, m.From))
}

// promise persists a promise of ballot b (no lower ballot will be
// accepted); promising the same ballot again writes nothing.
func (n *Node) promise(env *sim.Env, b Ballot) {
	if b == n.promised {
		return
	}
	if b.Less(n.promised) {
		panic("promise " + b.String() + " below promised " + n.promised.String() + " on " + n.id.String())
	}
	n.promised = b
	n.enc.B = n.enc.B[:0]
	encodeBallot(&n.enc, b)
	env.Store(keyPromised, n.enc.B)
}

// promiseFor builds the phase 1b answer: every slot from `from` on that
// this node accepted or knows decided, and the snapshot if `from` falls
// inside it.
func (n *Node) promiseFor(b Ballot, from int64) *Promise {
	p := &Promise{Ballot: b, From: from}
	if from <= n.snap {
		p.Snap = n.snap
		p.Snapshot = n.snapshotBytes()
		from = n.snap + 1
	}
	if from < n.base {
		from = n.base
	}
	for s := from; s <= n.last(); s++ {
		sl := n.get(s)
		switch {
		case sl.chosen:
			p.Entries = append(p.Entries, Entry{Slot: s, Ballot: sl.acc, Cmd: sl.cmd, Decided: true})
		case sl.hasAcc:
			p.Entries = append(p.Entries, Entry{Slot: s, Ballot: sl.acc, Cmd: sl.accCmd})
		}
	}
	return p
}

// onAccept is the acceptor's phase 2b (P1a again: accept unless a higher
// ballot was promised). The accepted value is persisted before the answer.
// The accept also carries the leader's chosen prefix for the learner.
func (n *Node) onAccept(env *sim.Env, from sim.NodeID, m *Accept) {
	below := m.Ballot.Less(n.promised)
	if below && n.cfg.Bug != BugAcceptBelowPromise { // the mistake: the promise is not checked
		env.Send(from, &Nack{Ballot: m.Ballot, Promised: n.promised})
		return
	}
	if !below {
		n.promise(env, m.Ballot)
	}
	n.heard(env, m.Ballot)
	switch {
	case m.Slot <= n.snap:
		// The slot is decided and folded into the snapshot; whatever this
		// ballot proposes for it is the decided value (Paxos's P2c), so the
		// acceptance is implied.
	case !n.inRange(m.Slot):
		if env.Tracing() {
			env.Logf("ignoring Accept: slot %d beyond log bound %d", m.Slot, n.base+logMax)
		}
		return
	default:
		n.accept(env, m.Slot, m.Ballot, &m.Cmd)
	}
	env.Send(from, &Accepted{Ballot: m.Ballot, Slot: m.Slot})
	n.learnCommit(env, m.Ballot, m.Commit)
}

// accept records and persists (ballot, command) for slot s.
func (n *Node) accept(env *sim.Env, s int64, b Ballot, c *protocols.Request) {
	sl := n.at(s)
	if sl.hasAcc && sl.acc == b {
		if sl.accCmd != *c {
			panic("two values in slot " + itoa(s) + " ballot " + b.String() + " on " + n.id.String())
		}
		return // a duplicate: already persisted
	}
	sl.acc, sl.accCmd, sl.hasAcc = b, *c, true
	n.enc.B = n.enc.B[:0]
	encodeAccepted(&n.enc, b, c)
	if sl.key == "" {
		sl.key = accKey(s)
	}
	env.Store(sl.key, n.enc.B)
	n.journal.addAccepted(s, b, c)
}

// onHeartbeat: a leader is alive; learn its chosen prefix. A stale leader
// is told of the higher promise so it steps down.
func (n *Node) onHeartbeat(env *sim.Env, from sim.NodeID, m *Heartbeat) {
	if m.Ballot.Less(n.promised) {
		env.Send(from, &Nack{Ballot: m.Ballot, Promised: n.promised})
		return
	}
	n.heard(env, m.Ballot)
	n.catchSent = false // a heartbeat interval: a missing decision may be asked again
	// Acks are immutable, so one serves every heartbeat of a ballot.
	if n.hbAck == nil || n.hbAck.Ballot != m.Ballot {
		n.hbAck = &HeartbeatAck{Ballot: m.Ballot}
	}
	env.Send(from, n.hbAck)
	n.learnCommit(env, m.Ballot, m.Commit)
}
