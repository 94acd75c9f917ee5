package raftloglab

import (
	"github.com/synod-dev/synod/protocols"
	raftlab "github.com/synod-dev/synod/protocols/exercises/skeletons/raft"
	"github.com/synod-dev/synod/sim"
)

// --- replication (§5.3, §5.4.2) -----------------------------------------

func (n *Node) onRequest(env *sim.Env, req *protocols.Request) {
	if n.role != raftlab.Leader {
		env.Send(req.Client, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: n.leader})
		return
	}
	if r, dup := n.kv.Duplicate(req); dup {
		env.Send(req.Client, r)
		return
	}
	n.appendEntry(env, raftlab.Entry{Term: n.term, Req: *req})
	if n.bug == ApplyOnAppend {
		n.commit = n.lastIndex()
		n.apply(env)
	}
	n.forRequest = true
	n.broadcast(env)
	n.forRequest = false
}

// appendEntry appends to the leader's own log and saves it.
func (n *Node) appendEntry(env *sim.Env, e raftlab.Entry) {
	n.log = append(n.log, e)
	n.saveEntries(env, n.lastIndex())
	n.match[n.id] = n.lastIndex()
	n.advanceCommit(env)
}

// sendAppend sends a follower the entries from its nextIndex, or the
// snapshot when they are compacted.
func (n *Node) sendAppend(env *sim.Env, to sim.NodeID) {
	next := n.next[to]
	if next <= n.snapIndex {
		if n.bug == NoInstallSnapshot {
			return
		}
		env.Send(to, &raftlab.InstallSnapshot{Term: n.term, LastIncludedIndex: n.snapIndex, LastIncludedTerm: n.snapTerm, Data: n.snapData})
		return
	}
	prev := next - 1
	prevTerm, _ := n.termAt(prev)
	m := &raftlab.AppendEntries{Term: n.term, PrevLogIndex: prev, PrevLogTerm: prevTerm, LeaderCommit: n.commit}
	from := next - n.snapIndex - 1
	if n.bug == OffByOneSlice {
		from++
	}
	to2 := min(int64(len(n.log)), from+int64(n.opts.EntriesPerMessageMax))
	if n.bug == EmptyHeartbeats {
		// Heartbeats and retries carry nothing; the broadcast of a new
		// request carries that one entry, sent once.
		if !n.forRequest {
			to2 = from
		} else if last := int64(len(n.log)); from < last-1 {
			from = last - 1
			m.PrevLogIndex = n.snapIndex + from
			m.PrevLogTerm, _ = n.termAt(m.PrevLogIndex)
		}
	}
	if from < to2 {
		m.Entries = append([]raftlab.Entry(nil), n.log[from:to2]...)
	}
	env.Send(to, m)
}

func (n *Node) onAppendEntries(env *sim.Env, from sim.NodeID, m *raftlab.AppendEntries) {
	n.observe(env, m.Term)
	if m.Term < n.term {
		env.Send(from, &raftlab.AppendEntriesReply{Term: n.term})
		return
	}
	n.role, n.leader = raftlab.Follower, from
	n.resetElectionTimer(env)
	prev, entries := m.PrevLogIndex, m.Entries
	if prev < n.snapIndex {
		// The snapshot covers the start: those entries are committed, and
		// match by the Log Matching Property.
		skip := min(n.snapIndex-prev, int64(len(entries)))
		prev, entries = prev+skip, entries[skip:]
		if prev < n.snapIndex {
			env.Send(from, &raftlab.AppendEntriesReply{Term: n.term, Success: true, Match: n.snapIndex})
			return
		}
	}
	if n.bug != NoConsistencyCheck {
		if prev > n.lastIndex() {
			env.Send(from, &raftlab.AppendEntriesReply{Term: n.term, Match: n.lastIndex()})
			return
		}
		if t, _ := n.termAt(prev); t != m.PrevLogTerm && prev > n.snapIndex {
			// Hint: retry from before the first entry of the conflicting
			// term.
			i := prev
			for i > n.snapIndex+1 && n.entry(i-1).Term == t {
				i--
			}
			env.Send(from, &raftlab.AppendEntriesReply{Term: n.term, Match: i - 1})
			return
		}
	} else if prev > n.lastIndex() {
		prev = n.lastIndex() // append at the end, whatever the leader meant
	}
	changed := int64(-1) // the first index changed, if any
	if n.bug == TruncateMatching && prev < n.lastIndex() {
		n.log, changed = n.log[:prev-n.snapIndex], prev+1
	}
	for i, e := range entries {
		idx := prev + 1 + int64(i)
		if idx <= n.lastIndex() {
			if n.entry(idx).Term == e.Term || n.bug == KeepConflicts {
				continue
			}
			n.log = n.log[:idx-n.snapIndex-1] // a conflict: drop it and all that follows
		}
		if changed < 0 {
			changed = idx
		}
		n.log = append(n.log, e)
	}
	if changed >= 0 && n.bug != NoPersistLog {
		n.saveEntries(env, changed)
	}
	lastNew := prev + int64(len(entries))
	switch {
	case n.bug == FollowerCommitsLog:
		n.commit = max(n.commit, n.lastIndex())
	case n.bug == CommitPastNew && m.LeaderCommit > n.commit:
		n.commit = min(m.LeaderCommit, n.lastIndex())
	case m.LeaderCommit > n.commit:
		n.commit = max(n.commit, min(m.LeaderCommit, lastNew))
	}
	n.apply(env)
	env.Send(from, &raftlab.AppendEntriesReply{Term: n.term, Success: true, Match: lastNew})
}

func (n *Node) onAppendEntriesReply(env *sim.Env, from sim.NodeID, m *raftlab.AppendEntriesReply) {
	n.observe(env, m.Term)
	if n.role != raftlab.Leader || m.Term != n.term {
		return
	}
	if !m.Success {
		// Retry at once only when the hint moved nextIndex back: a
		// rejection that teaches nothing (a stale reply) waits for the
		// next heartbeat instead of starting a ping-pong.
		old := n.next[from]
		n.next[from] = max(n.match[from]+1, min(n.next[from]-1, m.Match+1))
		if n.next[from] < old {
			n.sendAppend(env, from)
		}
		return
	}
	match := m.Match
	if n.bug == OffByOneMatch {
		match++
	}
	if match > n.match[from] {
		n.match[from] = match
	}
	n.next[from] = max(n.next[from], n.match[from]+1)
	n.advanceCommit(env)
	if n.next[from] <= n.lastIndex() {
		n.sendAppend(env, from)
	}
}

// advanceCommit commits the highest index a majority stores, if its entry
// is of the leader's term (§5.4.2).
func (n *Node) advanceCommit(env *sim.Env) {
	if n.role != raftlab.Leader {
		return
	}
	for i := n.lastIndex(); i > n.commit && i > n.snapIndex; i-- {
		if n.entry(i).Term != n.term && n.bug != CommitOldTerms {
			break
		}
		count := 0
		for _, p := range env.Nodes() {
			if n.match[p] >= i {
				count++
			}
		}
		quorum := count > len(env.Nodes())/2
		if n.bug == MinorityCommit {
			quorum = count >= len(env.Nodes())/2
		}
		if quorum {
			n.commit = i
			n.apply(env)
			return
		}
	}
}

// apply applies committed entries in order; the leader answers the
// clients.
func (n *Node) apply(env *sim.Env) {
	n.commit = min(n.commit, n.lastIndex())
	for n.applied < n.commit {
		n.applied++
		e := n.entry(n.applied)
		if e.Noop {
			continue
		}
		r := n.kv.Apply(&e.Req)
		if n.role == raftlab.Leader {
			env.Send(e.Req.Client, r)
		}
	}
	if n.opts.SnapshotEntries > 0 && n.applied-n.snapIndex >= int64(n.opts.SnapshotEntries) {
		n.takeSnapshot(env)
	}
}

// --- snapshots (§7, Figure 13) ------------------------------------------

func (n *Node) onInstallSnapshot(env *sim.Env, from sim.NodeID, m *raftlab.InstallSnapshot) {
	n.observe(env, m.Term)
	if m.Term < n.term {
		env.Send(from, &raftlab.InstallSnapshotReply{Term: n.term})
		return
	}
	n.role, n.leader = raftlab.Follower, from
	n.resetElectionTimer(env)
	if m.LastIncludedIndex <= n.snapIndex || m.LastIncludedIndex <= n.applied {
		env.Send(from, &raftlab.InstallSnapshotReply{Term: n.term, Match: max(n.snapIndex, min(n.applied, m.LastIncludedIndex))})
		return
	}
	if t, ok := n.termAt(m.LastIncludedIndex); ok && t == m.LastIncludedTerm {
		n.log = append([]raftlab.Entry(nil), n.log[m.LastIncludedIndex-n.snapIndex:]...)
	} else {
		n.log = nil
	}
	if n.bug != InstallIgnoresData {
		kv, err := protocols.DecodeKV(m.Data)
		if err != nil {
			panic(err)
		}
		n.kv = kv
	}
	n.snapIndex, n.snapTerm, n.snapData = m.LastIncludedIndex, m.LastIncludedTerm, m.Data
	n.commit, n.applied = max(n.commit, n.snapIndex), n.snapIndex
	n.saveSnapshot(env)
	env.Send(from, &raftlab.InstallSnapshotReply{Term: n.term, Match: n.snapIndex})
}

func (n *Node) onInstallSnapshotReply(env *sim.Env, from sim.NodeID, m *raftlab.InstallSnapshotReply) {
	n.observe(env, m.Term)
	if n.role != raftlab.Leader || m.Term != n.term {
		return
	}
	if m.Match > n.match[from] {
		n.match[from] = m.Match
	}
	n.next[from] = max(n.next[from], n.match[from]+1)
	n.advanceCommit(env)
}

// takeSnapshot compacts the log up to the applied index.
func (n *Node) takeSnapshot(env *sim.Env) {
	t, _ := n.termAt(n.applied)
	if n.bug == SnapshotLosesTerm {
		t = 0
	}
	n.log = append([]raftlab.Entry(nil), n.log[n.applied-n.snapIndex:]...)
	n.snapIndex, n.snapTerm, n.snapData = n.applied, t, n.kv.Encode()
	n.saveSnapshot(env)
}
