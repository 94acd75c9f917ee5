package raft

import (
	"fmt"
	"slices"

	"github.com/synod-dev/synod/sim"
)

// maybeSnapshot is the automatic mode: once SnapshotEntries applied
// entries follow the last snapshot, the state machine's Snapshot is taken
// at the applied index (§7).
func (n *Node) maybeSnapshot(env *sim.Env) {
	if n.opts.SnapshotEntries == 0 || n.applied-n.log.snapIndex < int64(n.opts.SnapshotEntries) {
		return
	}
	n.compact(env, n.applied, n.sm.Snapshot())
}

// compact makes data, the state machine's bytes after entry i, the
// node's snapshot (§7): with the configuration and the digest at i it
// replaces the entries up to i, on stable storage too. A snapshot at or
// below the current one (an InstallSnapshot got there first) is dropped.
func (n *Node) compact(env *sim.Env, i int64, data []byte) {
	if i > n.applied {
		panic(fmt.Sprintf("%v: snapshot at %d beyond applied %d", n.id, i, n.applied))
	}
	old := n.log.snapIndex
	if i <= old {
		return
	}
	n.snapConfig = n.configAt(i)
	n.snapDigest = n.digestAt(i)
	n.snapData = data
	n.log.compact(i, n.log.mustTerm(i))
	n.digests = append(n.digests[:0:0], n.digests[i-old:]...)
	n.persistSnapshot(env)
	n.deleteEntries(env, old+1, i)
	if env.Tracing() {
		env.Logf("snapshot at %d (%d bytes), log now (%d, %d]", i, len(n.snapData), n.log.snapIndex, n.log.last())
	}
}

// handleSnapshot installs a leader's snapshot (§7): a suffix of the log
// that follows the snapshot's last entry is kept, anything else goes.
func (n *Node) handleSnapshot(env *sim.Env, from sim.NodeID, m *InstallSnapshot) {
	r := &AppendEntriesReply{Term: n.term, Round: m.Round}
	if m.Index <= n.commit {
		r.Success, r.Match = true, n.commit
		env.Send(from, r)
		return
	}
	old, oldLast := n.log.snapIndex, n.log.last()
	if t, ok := n.log.term(m.Index); ok && t == m.LastTerm {
		n.log.compact(m.Index, m.LastTerm)
		n.deleteEntries(env, old+1, m.Index)
	} else {
		n.log = raftLog{snapIndex: m.Index, snapTerm: m.LastTerm, gen: n.log.gen + 1}
		n.deleteEntries(env, old+1, oldLast)
	}
	if n.smShared {
		n.sm, n.smShared = n.newSM(), false // Restore replaces it all: no copy
	}
	if err := n.sm.Restore(m.Index, m.LastTerm, m.Data); err != nil {
		panic(fmt.Sprintf("%v: snapshot from %v: %v", n.id, from, err))
	}
	n.snapData, n.snapConfig, n.snapDigest = m.Data, m.Config, m.Digest
	n.snapshotsInstalled++
	n.commit, n.applied = m.Index, m.Index
	n.digests = n.digests[:0:0] // a clone may share the old array (CloneProcess)
	n.persistSnapshot(env)
	n.reloadConfig()
	if env.Tracing() {
		env.Logf("installed snapshot at %d/%d from %v", m.Index, m.LastTerm, from)
	}
	r.Success, r.Match = true, m.Index
	env.Send(from, r)
}

// setConfig puts a configuration in force and recomputes the peers a
// leader replicates to: the members, and the server just removed so that
// it learns of its removal.
func (n *Node) setConfig(c *Config, index int64) {
	n.config, n.configIndex = c, index
	n.peers = n.peers[:0:0] // a clone may share the old array (CloneProcess)
	for _, m := range c.Members {
		if m != n.id {
			n.peers = append(n.peers, m)
		}
	}
	if c.Removed != 0 && c.Removed != n.id && !c.Has(c.Removed) {
		n.peers = append(n.peers, c.Removed)
	}
}

// reloadConfig finds the latest configuration in the log, or the
// snapshot's, after a restart or a truncation.
func (n *Node) reloadConfig() {
	for i := n.log.last(); i > n.log.snapIndex; i-- {
		if e := n.log.at(i); e.Kind == EntryConfig {
			n.setConfig(e.Config, i)
			return
		}
	}
	n.setConfig(n.snapConfig, n.log.snapIndex)
}

// configAt returns the configuration in force at index i.
func (n *Node) configAt(i int64) *Config {
	for ; i > n.log.snapIndex; i-- {
		if e := n.log.at(i); e.Kind == EntryConfig {
			return e.Config
		}
	}
	return n.snapConfig
}

// maybeChangeConfig proposes the next change of Options.Membership once
// its time has come, the previous one has committed and the leader has
// committed an entry of its own term (thesis §4.1, and the fix of the
// single-server change bug in the raft-dev post of 2015).
func (n *Node) maybeChangeConfig(env *sim.Env) {
	v := n.config.Version
	if v >= len(n.opts.Membership) || n.configIndex > n.commit || !n.config.Has(n.id) {
		return
	}
	if t, _ := n.log.term(n.commit); t != n.term {
		return
	}
	ch := n.opts.Membership[v]
	if env.Now() < ch.At {
		return
	}
	members := slices.Clone(n.config.Members)
	if ch.Add != 0 {
		members = insertSorted(members, ch.Add)
	} else {
		members = slices.DeleteFunc(members, func(id sim.NodeID) bool { return id == ch.Remove })
	}
	n.propose(env, Entry{Term: n.term, Kind: EntryConfig, Config: &Config{Members: members, Version: v + 1, Removed: ch.Remove}})
}
