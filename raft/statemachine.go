package raft

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// StateMachine is the service a Raft node replicates: the key-value store
// by default (KVStateMachine), or any other deterministic state. Raft calls
// it synchronously, from inside the node's event handlers, so the calls
// ARE the apply stream: no channel, no goroutine, and nothing a snapshot
// compacts in the same event is lost. (hashicorp/raft's FSM and MIT
// 6.5840's ApplyCh are the models; go.etcd.io/raft's
// Storage.CreateSnapshot/Compact the model of service snapshots.)
//
// Its contract:
//   - Deterministic: the same calls give the same state, results and
//     snapshot bytes (no clock, no randomness, no map order in the bytes).
//   - Apply gets every committed entry once, in log order, without gaps:
//     its index is the previous call's plus one, or the last Restore's
//     plus one, or 1 on a state machine fresh from its constructor. No-op
//     entries (a new leader's, §8) and configuration entries come too,
//     marked by e.Kind, so that indexes count every entry; e.Term is the
//     entry's term. e is shared with the log: read it, never change it.
//   - Restore replaces the whole state with a snapshot's bytes, taken at
//     index (of term): its own, after a restart, or the leader's, carried
//     by InstallSnapshot to a follower that fell behind (§7). Apply then
//     resumes at index+1.
//   - A node makes its state machine afresh at every (re)start: applied
//     state is volatile (Figure 2). After a restart Restore gets the
//     stored snapshot, if there is one, and the committed entries after it
//     are applied again.
type StateMachine interface {
	// Apply applies the committed entry at index and says what to answer
	// and whether to snapshot (ApplyResult).
	Apply(index int64, e *Entry) ApplyResult
	// Snapshot returns the state after the last entry applied, as bytes
	// Restore takes. Raft calls it only in the automatic mode
	// (Options.SnapshotEntries).
	Snapshot() []byte
	// Restore replaces the state with a snapshot taken at index/term. An
	// error means the bytes are corrupt: the node stops with it.
	Restore(index, term int64, data []byte) error
}

// ApplyResult is what a state machine returns for one entry.
type ApplyResult struct {
	// Response goes to the command's client if this node accepted the
	// command as leader (nil: no answer). Only commands have clients. The
	// node sends a copy, so a state machine may return the same Response,
	// refilled, from every Apply.
	Response *protocols.Response
	// Snapshot, when not nil, is the state after this entry, in the
	// service's own bytes: a service-driven snapshot. Raft compacts its
	// log up to this entry once the entries of the event are applied,
	// keeps the bytes as its snapshot on stable storage and sends them in
	// InstallSnapshot; the service gets them back through Restore.
	Snapshot []byte
}

// A state machine may also implement these; Raft asks for them where it
// uses them.
type (
	// Sessions answers a client's retry of a request it already applied,
	// from its session table, without a new log entry (§8). Without it a
	// retry becomes a new entry and Apply must recognise it.
	Sessions interface {
		Duplicate(req *protocols.Request) (resp *protocols.Response, applied bool)
	}
	// Reader answers a get from the applied state, which the ReadIndex and
	// lease read modes need (thesis §6.4). Without it every read goes
	// through the log, whatever Options.Reads says.
	Reader interface {
		Read(req *protocols.Request) *protocols.Response
	}
	// Cloner copies the state machine for the model checker and forked
	// runs (CloneProcess). Without it a copy is made by Restore of a
	// Snapshot into a fresh one: a snapshot per copy, and exact only if
	// the bytes hold everything that decides what the machine does next.
	Cloner interface {
		Clone() StateMachine
	}
)

// KVStateMachine is the shared key-value store (with its session table)
// as a StateMachine: what a node replicates unless told otherwise.
type KVStateMachine struct {
	KV *protocols.KV
	// resp is the response Apply returns, filled anew by each Apply: the
	// node copies it before sending it (see ApplyResult), and only a
	// leader sends one.
	resp protocols.Response
}

// NewKVStateMachine returns an empty key-value store.
func NewKVStateMachine() StateMachine { return &KVStateMachine{KV: protocols.NewKV()} }

// Apply applies a command to the store; other entries change nothing.
func (m *KVStateMachine) Apply(_ int64, e *Entry) ApplyResult {
	if e.Kind != EntryCommand {
		return ApplyResult{}
	}
	m.KV.ApplyTo(&m.resp, &e.Req)
	return ApplyResult{Response: &m.resp}
}

// Snapshot encodes the store and its session table.
func (m *KVStateMachine) Snapshot() []byte { return m.KV.Encode() }

// Restore decodes a store encoded by Snapshot.
func (m *KVStateMachine) Restore(_, _ int64, data []byte) error {
	kv, err := protocols.DecodeKV(data)
	if err != nil {
		return err
	}
	m.KV = kv
	return nil
}

// Duplicate implements Sessions.
func (m *KVStateMachine) Duplicate(req *protocols.Request) (*protocols.Response, bool) {
	return m.KV.Duplicate(req)
}

// Read implements Reader.
func (m *KVStateMachine) Read(req *protocols.Request) *protocols.Response { return readKV(m.KV, req) }

// Clone implements Cloner.
func (m *KVStateMachine) Clone() StateMachine { return &KVStateMachine{KV: m.KV.Clone()} }

// StateMachine returns the node's state machine as of the last event
// (nil before Start), for tests, views and a service hosting the node, to
// read: only Raft's calls may change it (a forked run may share it).
func (n *Node) StateMachine() StateMachine { return n.sm }

// Propose appends a command to the log if this node leads, and returns the
// index and term the command will have if it commits (6.5840's Start,
// §5.3). It does not wait: the command reaches Apply at that index once
// committed, or never if a new leader overwrites it (then another entry,
// of a later term, is applied at that index). isLeader false: this node
// does not lead (or was removed from the configuration) and nothing was
// proposed; term is its current term. A client's request reaches the log
// the same way.
func (n *Node) Propose(env *sim.Env, cmd protocols.Request) (index, term int64, isLeader bool) {
	if n.role != Leader || !n.config.Has(n.id) {
		return 0, n.term, false
	}
	term = n.term
	return n.propose(env, Entry{Term: term, Req: cmd}), term, true
}

// ensureOwnStateMachine copies the state machine this node shares with
// the node it was cloned from (CloneProcess), before it changes.
func (n *Node) ensureOwnStateMachine() {
	if !n.smShared {
		return
	}
	n.smShared = false
	if c, ok := n.sm.(Cloner); ok {
		n.sm = c.Clone()
		return
	}
	term, _ := n.log.term(n.applied)
	n.sm = n.restoredStateMachine(n.applied, term, n.sm.Snapshot())
}

// restoredStateMachine makes a fresh state machine and restores a
// snapshot into it; corrupt bytes stop the node.
func (n *Node) restoredStateMachine(index, term int64, data []byte) StateMachine {
	sm := n.newSM()
	if err := sm.Restore(index, term, data); err != nil {
		panic(fmt.Sprintf("%v: restoring the snapshot at %d/%d into %T: %v", n.id, index, term, sm, err))
	}
	return sm
}

// startStateMachine makes the state machine of a (re)started node, with
// the stored snapshot restored into it (snapIndex 0: none).
func (n *Node) startStateMachine() {
	n.sm, n.smShared = n.newSM(), false
	if n.log.snapIndex == 0 || n.opts.unsafeService == serviceBugSkipRestore {
		return // the mistake (tests only): the stored snapshot is not restored
	}
	n.sm = n.restoredStateMachine(n.log.snapIndex, n.log.snapTerm, n.snapData)
}
