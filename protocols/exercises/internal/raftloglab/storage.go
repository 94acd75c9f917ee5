package raftloglab

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
	raftlab "github.com/synod-dev/synod/protocols/exercises/skeletons/raft"
	"github.com/synod-dev/synod/sim"
)

// Storage (§5.6, Figure 2 "persistent state"): "meta" holds the term and
// the vote, "e/<index>" each entry of the log, "snap" the snapshot. Every
// handler saves what it changed before its replies leave (the simulator
// holds the messages of a step that stored for the fsync delay).

type meta struct {
	Term int64      `json:"term"`
	Vote sim.NodeID `json:"vote"`
}

type snapshot struct {
	Index int64  `json:"index"`
	Term  int64  `json:"term"`
	Data  []byte `json:"data"`
}

func entryKey(i int64) string { return fmt.Sprintf("e/%016d", i) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("raftloglab: encode %T: %v", v, err))
	}
	return b
}

func (n *Node) saveMeta(env *sim.Env) {
	if n.bug == NothingPersisted {
		return
	}
	env.Store("meta", mustJSON(meta{Term: n.term, Vote: n.votedFor}))
}

// saveEntries saves the log from index from on, and deletes the saved
// entries past its end (a truncated conflict).
func (n *Node) saveEntries(env *sim.Env, from int64) {
	if n.bug == NothingPersisted {
		return
	}
	for i := max(from, n.snapIndex+1); i <= n.lastIndex(); i++ {
		env.Store(entryKey(i), mustJSON(n.entry(i)))
	}
	for i := n.lastIndex() + 1; i <= n.stored; i++ {
		env.Delete(entryKey(i))
	}
	n.stored = n.lastIndex()
}

// saveSnapshot saves the snapshot, then drops the entries it covers.
func (n *Node) saveSnapshot(env *sim.Env) {
	if n.bug == NothingPersisted {
		return
	}
	env.Store("snap", mustJSON(snapshot{Index: n.snapIndex, Term: n.snapTerm, Data: n.snapData}))
	for _, k := range env.Keys("e/") {
		if i, _ := strconv.ParseInt(strings.TrimPrefix(k, "e/"), 10, 64); i <= n.snapIndex {
			env.Delete(k)
		}
	}
	n.saveEntries(env, n.snapIndex+1)
}

// restore rebuilds the persistent state after a restart.
func (n *Node) restore(env *sim.Env) {
	if b, ok := env.Load("meta"); ok {
		var m meta
		if err := json.Unmarshal(b, &m); err != nil {
			panic(fmt.Sprintf("raftloglab: %v meta: %v", n.id, err))
		}
		n.term, n.votedFor = m.Term, m.Vote
	}
	if b, ok := env.Load("snap"); ok {
		var s snapshot
		if err := json.Unmarshal(b, &s); err != nil {
			panic(fmt.Sprintf("raftloglab: %v snapshot: %v", n.id, err))
		}
		n.snapIndex, n.snapTerm, n.snapData = s.Index, s.Term, s.Data
		if n.bug == SnapshotLosesIndex {
			n.snapIndex = 0
		}
		if n.bug != ForgetSnapshot {
			kv, err := protocols.DecodeKV(s.Data)
			if err != nil {
				panic(fmt.Sprintf("raftloglab: %v: %v", n.id, err))
			}
			n.kv = kv
		}
	}
	n.commit, n.applied = n.snapIndex, n.snapIndex
	// The entries are read in index order; a gap (entries a follower
	// never saved) ends the log.
	want, top := n.snapIndex+1, int64(0)
	for _, k := range env.Keys("e/") {
		i, err := strconv.ParseInt(strings.TrimPrefix(k, "e/"), 10, 64)
		if err != nil {
			panic(fmt.Sprintf("raftloglab: %v: bad key %q", n.id, k))
		}
		top = max(top, i)
		if n.bug == SnapshotLosesIndex {
			i = want // the entries numbered from 1, whatever their key
		}
		if i != want {
			if i < want {
				continue
			}
			break
		}
		b, _ := env.Load(k)
		var e raftlab.Entry
		if err := json.Unmarshal(b, &e); err != nil {
			panic(fmt.Sprintf("raftloglab: %v entry %d: %v", n.id, i, err))
		}
		n.log = append(n.log, e)
		want++
	}
	// Saved entries past a gap are deleted by the next save.
	n.stored = max(top, n.lastIndex())
}
