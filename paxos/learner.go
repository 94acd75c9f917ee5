package paxos

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// learnCommit learns from a leader of ballot b that every slot up to
// commit is decided. A slot this node accepted in ballot b holds the
// leader's value for it, which is the decided one; any other slot is a gap
// the node fills by asking for the decisions.
func (n *Node) learnCommit(env *sim.Env, b Ballot, commit int64) {
	if commit <= n.commit {
		return
	}
	hi := commit
	if l := n.last(); hi > l {
		hi = l
	}
	for s := n.commit + 1; s <= hi; s++ {
		if sl := n.get(s); !sl.chosen && sl.hasAcc && sl.acc == b {
			n.learn(env, s, &sl.accCmd)
		}
	}
	n.advance(env)
	if n.commit < commit {
		n.catchUp(env, b.Node)
	}
}

// catchUp asks node `to` for the decisions this node misses, at most once
// per heartbeat heard (onHeartbeat clears catchSent).
func (n *Node) catchUp(env *sim.Env, to sim.NodeID) {
	if to == n.id || to == 0 || n.catchSent {
		return
	}
	n.catchSent = true
	env.Send(to, &CatchUp{From: n.commit + 1})
}

// learn records that slot s decided command c.
func (n *Node) learn(env *sim.Env, s int64, c *protocols.Request) {
	if s <= n.snap {
		return
	}
	sl := n.at(s)
	if sl.chosen {
		if sl.cmd != *c {
			panic(fmt.Sprintf("%v learned two values for slot %d: %s and %s", n.id, s, cmdString(&sl.cmd), cmdString(c)))
		}
		return
	}
	sl.chosen, sl.cmd = true, *c
	n.journal.add(changeLearned, s, c)
}

// advance moves the commit mark over decided slots and applies them in
// slot order.
func (n *Node) advance(env *sim.Env) {
	for {
		sl := n.get(n.commit + 1)
		if sl == nil || !sl.chosen {
			break
		}
		n.commit++
	}
	for n.applied < n.commit {
		n.applied++
		sl := n.get(n.applied)
		if sl == nil || !sl.chosen {
			panic(fmt.Sprintf("%v applies slot %d, not decided (commit %d, log from %d)", n.id, n.applied, n.commit, n.base))
		}
		resp := n.kv.Apply(&sl.cmd)
		n.journal.add(changeApplied, n.applied, &sl.cmd)
		if n.role == roleLeader && sl.cmd.Client.IsClient() {
			env.Send(sl.cmd.Client, resp)
		}
	}
	if n.cfg.SnapshotEvery > 0 && n.applied-n.snap >= n.cfg.SnapshotEvery {
		n.takeSnapshot(env)
	}
}

// snapshotBytes encodes the key-value state at the snapshot.
func (n *Node) snapshotBytes() []byte {
	return n.kv.Encode()
}

// takeSnapshot persists the key-value state at the applied slot and
// truncates the log below it: the acceptor forgets slots that are decided
// and folded into the snapshot, and answers for them with the snapshot.
func (n *Node) takeSnapshot(env *sim.Env) {
	n.storeSnapshot(env, n.applied, n.kv.Encode())
}

// storeSnapshot persists a snapshot up to slot idx and drops the log and
// the accepted records up to it.
func (n *Node) storeSnapshot(env *sim.Env, idx int64, data []byte) {
	var e protocols.Encoder
	e.Varint(idx)
	e.Bytes(data)
	env.Store(keySnap, e.B)
	for s := n.base; s <= idx && s <= n.last(); s++ {
		if sl := n.get(s); sl.hasAcc {
			env.Delete(sl.key)
		}
	}
	k := idx - n.base + 1
	if k > int64(len(n.log)) {
		k = int64(len(n.log))
	}
	// Move the live tail to the front of the same array: one copy of the
	// few slots above the snapshot, and the steady state allocates nothing.
	live := copy(n.log, n.log[k:])
	clear(n.log[live:])
	n.log = n.log[:live]
	n.snap, n.base = idx, idx+1
	if env.Tracing() {
		env.Logf("snapshot at slot %d", idx)
	}
}

// installSnapshot adopts another node's snapshot up to idx, when it is
// ahead of this node's decisions.
func (n *Node) installSnapshot(env *sim.Env, idx int64, data []byte) {
	if idx <= n.commit {
		return
	}
	kv, err := protocols.DecodeKV(data)
	if err != nil {
		panic(fmt.Sprintf("%v: installing snapshot %d: %v", n.id, idx, err))
	}
	n.kv = kv
	n.storeSnapshot(env, idx, data)
	n.commit, n.applied = idx, idx
	if n.nextSlot <= idx {
		n.nextSlot = idx + 1
	}
}

// onCatchUp answers a learner that misses decisions from m.From on.
func (n *Node) onCatchUp(env *sim.Env, from sim.NodeID, m *CatchUp) {
	if m.From > n.commit {
		if env.Tracing() {
			env.Logf("ignoring CatchUp from %v: slot %d is not decided here (chosen %d)", from, m.From, n.commit)
		}
		return
	}
	d := &Decisions{}
	start := m.From
	if start <= n.snap {
		d.Snap, d.Snapshot = n.snap, n.snapshotBytes()
		start = n.snap + 1
	}
	for s := start; s <= n.commit && len(d.Entries) < catchUpMax; s++ {
		sl := n.get(s)
		if !sl.chosen {
			panic(fmt.Sprintf("%v: slot %d below commit %d is not decided", n.id, s, n.commit))
		}
		d.Entries = append(d.Entries, Entry{Slot: s, Ballot: sl.acc, Cmd: sl.cmd, Decided: true})
	}
	env.Send(from, d)
}

// onDecisions learns decisions sent by a peer.
func (n *Node) onDecisions(env *sim.Env, m *Decisions) {
	if m.Snapshot != nil {
		n.installSnapshot(env, m.Snap, m.Snapshot)
	}
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Slot <= n.commit || !n.inRange(e.Slot) {
			continue
		}
		n.learn(env, e.Slot, &e.Cmd)
	}
	n.advance(env)
	if n.catchSent && len(m.Entries) == catchUpMax {
		// More to come: ask again at once.
		n.catchSent = false
		n.catchUp(env, n.leader)
	}
}
