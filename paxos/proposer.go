package paxos

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// startElection runs phase 1a for a fresh ballot above every ballot seen:
// one Prepare covers every slot above this node's chosen prefix.
func (n *Node) startElection(env *sim.Env) {
	if !n.cfg.proposes(n.id) {
		panic(fmt.Sprintf("%v starts an election but is not among options.proposers %v", n.id, n.cfg.Proposers))
	}
	n.stats.Elections++
	n.ballot = n.maxSeen.next(n.id)
	n.maxSeen = n.ballot
	n.role, n.step = roleCandidate, (*Node).stepCandidate
	n.leader = 0
	n.promises = 0
	n.recov = map[int64]recovered{}
	n.recovMax = n.commit
	if env.Tracing() {
		env.Logf("phase 1 for ballot %v from slot %d", n.ballot, n.commit+1)
	}
	// The proposer's own acceptor promises first, like any other.
	n.promise(env, n.ballot)
	n.onPromise(env, n.id, n.promiseFor(n.ballot, n.commit+1))
	if n.role != roleCandidate {
		return // a quorum of one
	}
	p := &Prepare{Ballot: n.ballot, From: n.commit + 1}
	for _, to := range n.peers {
		env.Send(to, p)
	}
	n.deadline = env.Now() + n.cfg.PhaseTimeout
	n.wake(env)
}

// stepCandidate handles answers to phase 1.
func (n *Node) stepCandidate(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *Promise:
		if m.Ballot != n.ballot {
			if env.Tracing() {
				env.Logf("ignoring Promise from %v: ballot %v, campaigning with %v", from, m.Ballot, n.ballot)
			}
			return
		}
		n.onPromise(env, from, m)
	case *Nack:
		// The ballot rule in Receive already handled a higher promise.
	}
}

// onPromise merges one acceptor's phase 1b report: per slot, the value of
// the highest accepted ballot (P2c), or the decided value.
func (n *Node) onPromise(env *sim.Env, from sim.NodeID, m *Promise) {
	if n.promises.has(from) {
		return
	}
	n.promises = n.promises.add(from)
	if m.Snapshot != nil {
		n.installSnapshot(env, m.Snap, m.Snapshot)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Slot <= n.commit {
			continue
		}
		r, ok := n.recov[e.Slot]
		switch {
		case r.decided:
		case !e.Decided && n.cfg.Bug == BugIgnoreAccepted:
			// The deliberate bug: the value an acceptor accepted is not
			// adopted (P2c broken), so the slot may get a second value.
		case !e.Decided && n.cfg.Bug == BugFirstAccepted && ok:
			// The mistake: the first reported value wins, not the highest ballot's.
		case e.Decided, !ok, r.ballot.Less(e.Ballot):
			n.recov[e.Slot] = recovered{ballot: e.Ballot, cmd: e.Cmd, decided: e.Decided}
		}
		if e.Slot > n.recovMax {
			n.recovMax = e.Slot
		}
	}
	if n.promises.reached(n.cfg.q1) {
		n.becomeLeader(env)
	}
}

// becomeLeader completes phase 1: every slot above the chosen prefix up to
// the highest slot any promise reported gets phase 2 in the new ballot,
// with the value phase 1 found for it or a no-op to fill the gap.
func (n *Node) becomeLeader(env *sim.Env) {
	n.role, n.step = roleLeader, (*Node).stepLeader
	n.leader = n.id
	n.answered = voters(0).add(n.id)
	// The election clock now times the quorum check (checkQuorum).
	n.deadline = env.Now() + n.cfg.ElectionTimeout
	n.wake(env)
	if env.Tracing() {
		env.Logf("leader with ballot %v: re-proposing slots %d..%d", n.ballot, n.commit+1, n.recovMax)
	}
	n.nextSlot = n.commit + 1
	if n.cfg.Bug == BugReuseSlots {
		n.recovMax = n.commit // the mistake: slots phase 1 found accepted are taken as free
	}
	for s := n.commit + 1; s <= n.recovMax; s++ {
		r, ok := n.recov[s]
		switch {
		case r.decided:
			n.learn(env, s, &r.cmd)
			n.proposeAt(env, s, &r.cmd)
		case ok:
			n.proposeAt(env, s, &r.cmd)
		default:
			nop := noopBy(n.id)
			n.proposeAt(env, s, &nop)
		}
	}
	n.recov = nil
	n.advance(env)
	// Announce the new ballot at once, so that followers stop their
	// election clocks and learn whom to send clients to.
	n.heartbeat(env)
	n.hbGen++
	env.SetTimer(n.cfg.Heartbeat, "heartbeat", n.hbGen)
}

// propose runs phase 2 for a client's command in the next free slot.
func (n *Node) propose(env *sim.Env, req *protocols.Request) {
	n.stats.Proposed++
	n.proposeAt(env, n.nextSlot, req)
}

// proposeAt runs phase 2a for slot s: the leader's own acceptor accepts
// first, then every peer is asked.
func (n *Node) proposeAt(env *sim.Env, s int64, c *protocols.Request) {
	if n.role != roleLeader || n.promised != n.ballot {
		panic(fmt.Sprintf("%v proposes slot %d as %s with ballot %v, promised %v", n.id, s, n.role, n.ballot, n.promised))
	}
	if s >= n.nextSlot {
		n.nextSlot = s + 1
	}
	n.accept(env, s, n.ballot, c)
	sl := n.at(s)
	sl.acks = voters(0).add(n.id)
	sl.fresh = true
	m := &Accept{Ballot: n.ballot, Slot: s, Cmd: *c, Commit: n.commit}
	for _, to := range n.peers {
		env.Send(to, m)
	}
	n.maybeChosen(env, s, sl)
}

// maybeChosen learns slot s when a phase 2 quorum accepted it.
func (n *Node) maybeChosen(env *sim.Env, s int64, sl *slot) {
	if sl.chosen || !sl.acks.reached(n.cfg.q2) {
		return
	}
	n.learn(env, s, &sl.accCmd)
	n.advance(env)
}

// stepLeader handles answers to phase 2.
func (n *Node) stepLeader(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *Accepted:
		if m.Ballot != n.ballot {
			if env.Tracing() {
				env.Logf("ignoring Accepted from %v: ballot %v, leading with %v", from, m.Ballot, n.ballot)
			}
			return
		}
		sl := n.get(m.Slot)
		if sl == nil || sl.chosen || sl.acc != n.ballot {
			return
		}
		n.answered = n.answered.add(from)
		sl.acks = sl.acks.add(from)
		n.maybeChosen(env, m.Slot, sl)
	case *HeartbeatAck:
		if m.Ballot == n.ballot {
			n.answered = n.answered.add(from)
		}
	case *Promise, *Nack:
		// Late phase 1 answers, or refusals of a lower ballot.
	}
}

// heartbeat tells followers the leader lives and what is chosen, and
// retransmits accepts that found no quorum yet and were not sent since the
// last heartbeat.
func (n *Node) heartbeat(env *sim.Env) {
	hb := &Heartbeat{Ballot: n.ballot, Commit: n.commit}
	for _, to := range n.peers {
		env.Send(to, hb)
	}
	resent := 0
	for s := n.commit + 1; s < n.nextSlot && resent < resendMax; s++ {
		sl := n.get(s)
		if sl == nil || sl.chosen || sl.acc != n.ballot {
			continue
		}
		if sl.fresh {
			sl.fresh = false // sent less than an interval ago: next time
			continue
		}
		resent++
		m := &Accept{Ballot: n.ballot, Slot: s, Cmd: sl.accCmd, Commit: n.commit}
		for _, to := range n.peers {
			if !sl.acks.has(to) {
				env.Send(to, m)
			}
		}
	}
}

// checkQuorum runs every election time-out of a leadership (its election
// clock): a leader that did not hear from a phase 2 quorum (itself
// included) since the last check steps down, since it could not decide
// anything, and its clients should look elsewhere (etcd raft's
// CheckQuorum). It counts who answered rather than comparing times, so
// what it does follows from the node's state alone, as the model
// checker's state encoding needs (AppendState).
func (n *Node) checkQuorum(env *sim.Env) {
	if !n.answered.reached(n.cfg.q2) {
		if env.Tracing() {
			env.Logf("stepping down: no phase 2 quorum answered ballot %v for %v", n.ballot, n.cfg.ElectionTimeout)
		}
		n.becomeFollower(env, 0)
		return
	}
	n.answered = voters(0).add(n.id)
	n.deadline = env.Now() + n.cfg.ElectionTimeout
	n.wake(env)
}
