package raft

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// handleRequest takes a client's request. Only the leader accepts one
// (§8); others point the client at the leader they know.
func (n *Node) handleRequest(env *sim.Env, req *protocols.Request) {
	if n.role != Leader || !n.config.Has(n.id) {
		hint := n.leader
		if hint == n.id {
			hint = 0
		}
		env.Send(req.Client, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: hint})
		return
	}
	if ss, ok := n.sm.(Sessions); ok {
		if resp, dup := ss.Duplicate(req); dup {
			if !n.bug(BugDropDuplicates) { // the mistake: a duplicate is dropped unanswered
				env.Send(req.Client, resp) // applied before: answer from the table (§8)
			}
			return
		}
	}
	if req.Op.Kind == protocols.OpGet && n.opts.Reads != ReadsLog && n.read(env, req) {
		return
	}
	if n.proposed[req.Client] >= req.Seq {
		return // a retry of an entry already in this term's log: answered when applied
	}
	if n.proposed == nil {
		n.proposed = map[sim.NodeID]int64{}
	}
	n.proposed[req.Client] = req.Seq
	n.propose(env, Entry{Term: n.term, Req: *req})
}

// propose appends an entry to the leader's log, persists it, and sends it
// to the followers (§5.3); it returns the entry's index.
func (n *Node) propose(env *sim.Env, e Entry) int64 {
	if n.role != Leader || e.Term != n.term {
		panic(fmt.Sprintf("%v: proposing an entry of term %d as %v of term %d", n.id, e.Term, n.role, n.term))
	}
	n.log.append(&e)
	i := n.log.last()
	n.persistEntries(env, i, i)
	if e.Kind == EntryConfig {
		n.setConfig(e.Config, i)
		if env.Tracing() {
			env.Logf("configuration %v at %d", e.Config, i)
		}
	}
	n.prs[n.id].match = i
	n.prs[n.id].next = i + 1
	n.maybeCommit(env)
	for _, p := range n.peers {
		n.maybeSendAppend(env, p)
	}
	return i
}

// window is how many entries may be in flight to one follower.
func (n *Node) window() int64 {
	return int64(n.opts.InflightMessagesMax) * int64(n.opts.EntriesPerMessageMax)
}

// maybeSendAppend sends the follower what it lacks, if its state allows a
// message now; it reports whether it sent one.
func (n *Node) maybeSendAppend(env *sim.Env, p sim.NodeID) bool {
	pr := &n.prs[p]
	switch {
	case pr.probeSent:
		return false // probing: wait for the answer or the next heartbeat
	case pr.next <= n.log.snapIndex:
		n.sendSnapshot(env, p, pr)
		return true
	case pr.next > n.log.last():
		return false
	case pr.replicate && pr.next-1-pr.match >= n.window():
		return false
	}
	n.sendAppend(env, p, pr)
	return true
}

// sendAppend sends entries from pr.next on (possibly none), at most
// EntriesPerMessageMax of them.
func (n *Node) sendAppend(env *sim.Env, p sim.NodeID, pr *progress) {
	prev := pr.next - 1
	hi := min(n.log.last(), prev+int64(n.opts.EntriesPerMessageMax))
	m := &AppendEntries{Term: n.term, Leader: n.id, PrevIndex: prev, PrevTerm: n.log.mustTerm(prev), Commit: n.commit, Round: n.round}
	if hi > prev {
		m.Entries = n.log.slice(prev+1, hi+1)
	}
	env.Send(p, m)
	if pr.replicate {
		pr.next = hi + 1
	} else {
		pr.probeSent = true
	}
}

// sendHeartbeat sends an empty AppendEntries that the follower can accept
// whatever else is in flight: it claims only what the follower has acked.
func (n *Node) sendHeartbeat(env *sim.Env, p sim.NodeID, pr *progress) {
	if pr.match < n.log.snapIndex {
		// What the follower acked is compacted away: it needs the snapshot.
		pr.next, pr.replicate, pr.probeSent = pr.match+1, false, false
		n.maybeSendAppend(env, p)
		return
	}
	env.Send(p, &AppendEntries{Term: n.term, Leader: n.id, PrevIndex: pr.match, PrevTerm: n.log.mustTerm(pr.match), Commit: n.commit, Round: n.round})
}

// sendSnapshot sends the leader's snapshot to a follower that needs
// entries the leader has compacted (§7).
func (n *Node) sendSnapshot(env *sim.Env, p sim.NodeID, pr *progress) {
	env.Send(p, &InstallSnapshot{Term: n.term, Leader: n.id, Index: n.log.snapIndex, LastTerm: n.log.snapTerm,
		Config: n.snapConfig, Digest: n.snapDigest, Data: n.snapData, Round: n.round})
	pr.replicate, pr.probeSent = false, true
}

// heartbeat runs every HeartbeatInterval on a leader: a new round, and a
// message to every follower: the next entries where the pipeline stalled
// or a probe went unanswered, an empty AppendEntries otherwise.
func (n *Node) heartbeat(env *sim.Env) {
	n.newRound(env)
	n.maybeChangeConfig(env)
	if n.role != Leader {
		return
	}
	last := n.log.last()
	for _, p := range n.peers {
		pr := &n.prs[p]
		if pr.replicate && pr.match < last && pr.match == pr.matchAtTick {
			// The follower's match did not move for a whole interval:
			// messages were lost. Resend from the last acknowledged entry.
			pr.next = pr.match + 1
			pr.resentFrom = 0
		}
		pr.matchAtTick = pr.match
		if pr.replicate && pr.match < n.log.snapIndex {
			pr.replicate = false
		}
		pr.probeSent = false
		if !n.maybeSendAppend(env, p) {
			if pr.replicate {
				n.sendHeartbeat(env, p, pr)
			} else {
				n.sendAppend(env, p, pr)
			}
		}
	}
	n.serveReads(env)
}

// handleAppend is the follower's side of AppendEntries (§5.3): the
// consistency check on PrevIndex/PrevTerm, removal of conflicting entries,
// appending what is new, and the commit index.
func (n *Node) handleAppend(env *sim.Env, from sim.NodeID, m *AppendEntries) {
	r := &AppendEntriesReply{Term: n.term, Round: m.Round}
	if m.PrevIndex < n.commit {
		// Everything up to our commit index is committed, hence in the
		// leader's log (Leader Completeness): say so, and let the leader
		// continue from there. This also covers a PrevIndex inside our
		// snapshot.
		r.Success, r.Match = true, n.commit
		env.Send(from, r)
		return
	}
	t, ok := n.log.term(m.PrevIndex)
	if !ok {
		r.Reject, r.ConflictIndex = m.PrevIndex, n.log.last()+1
		env.Send(from, r)
		return
	}
	if t != m.PrevTerm {
		r.Reject, r.ConflictTerm, r.ConflictIndex = m.PrevIndex, t, n.log.firstOfTerm(m.PrevIndex, t)
		env.Send(from, r)
		return
	}
	for k := range m.Entries {
		idx := m.PrevIndex + 1 + int64(k)
		if idx <= n.log.last() {
			if n.log.mustTerm(idx) == m.Entries[k].Term {
				continue // already there: a stale or duplicated message must not truncate
			}
			if n.bug(BugKeepConflicts) {
				continue // the mistake: the conflicting entry stays
			}
			if idx <= n.commit {
				panic(fmt.Sprintf("%v: entry %d conflicts with the leader's but is committed (commit %d)", n.id, idx, n.commit))
			}
			if env.Tracing() {
				env.Logf("conflict at %d: dropping entries %d..%d", idx, idx, n.log.last())
			}
			n.deleteEntries(env, idx, n.log.last())
			n.log.truncateAfter(idx - 1)
			if n.configIndex >= idx {
				n.reloadConfig()
			}
		}
		n.log.append(m.Entries[k:]...)
		n.persistEntries(env, idx, n.log.last())
		for j := len(m.Entries) - 1; j >= k; j-- {
			if m.Entries[j].Kind == EntryConfig {
				n.setConfig(m.Entries[j].Config, m.PrevIndex+1+int64(j))
				break
			}
		}
		break
	}
	match := m.PrevIndex + int64(len(m.Entries))
	if c := min(m.Commit, match); c > n.commit {
		n.commit = c
		n.apply(env)
	}
	r.Success, r.Match = true, match
	env.Send(from, r)
}

// handleAppendReply is the leader's side: advance matchIndex and commit on
// success; on a rejection jump nextIndex back past the whole conflicting
// term (§5.3, the optimization at the end of the section).
func (n *Node) handleAppendReply(env *sim.Env, from sim.NodeID, m *AppendEntriesReply) {
	pr := &n.prs[from]
	pr.active = true
	if m.Round > pr.ackRound {
		pr.ackRound = m.Round
		n.serveReads(env)
		if n.role != Leader {
			return
		}
	}
	if m.Success {
		if m.Match > n.log.last() {
			panic(fmt.Sprintf("%v: %v acked match %d beyond leader's last %d in term %d", n.id, from, m.Match, n.log.last(), n.term))
		}
		pr.probeSent = false
		pr.replicate = true
		if m.Match > pr.match {
			pr.match = m.Match
			n.maybeCommit(env)
			if n.role != Leader {
				return
			}
		}
		if pr.next <= pr.match {
			pr.next = pr.match + 1
		}
		for n.maybeSendAppend(env, from) && pr.replicate {
		}
		return
	}
	if m.Reject <= pr.match {
		return // stale: that prefix is known to match
	}
	n.rejections++
	pr.rejections++
	if m.ConflictTerm == 0 && pr.replicate {
		// The follower's log ends before PrevIndex: with pipelining over a
		// network that reorders, a later message overtook an earlier one.
		// Resend from the follower's end once, and stay pipelined; if the
		// earlier message was lost, the heartbeat tick notices the stall.
		if m.ConflictIndex > pr.resentFrom && m.ConflictIndex < pr.next {
			pr.resentFrom = m.ConflictIndex
			pr.next = max(m.ConflictIndex, pr.match+1)
			for n.maybeSendAppend(env, from) && pr.replicate {
			}
		}
		return
	}
	next := m.ConflictIndex
	if m.ConflictTerm != 0 {
		pr.conflicts++
		if n.opts.SlowBackup {
			next = m.Reject
		} else if li := n.log.lastOfTerm(m.ConflictTerm); li != 0 {
			next = li + 1
		}
	}
	next = max(min(next, m.Reject), pr.match+1)
	if env.Tracing() {
		env.Logf("%v rejected prev %d: next %d -> %d", from, m.Reject, pr.next, next)
	}
	pr.next, pr.replicate, pr.probeSent = next, false, false
	n.maybeSendAppend(env, from)
}

// maybeCommit advances the commit index to the highest index a majority
// of the configuration stores, but only if that entry is of the current
// term (§5.4.2: counting replicas of older entries is what Figure 8 shows
// unsafe).
func (n *Node) maybeCommit(env *sim.Env) {
	var arr [sim.MaxNodes]int64 // on the stack
	s := arr[:0]
	for _, p := range n.config.Members {
		s = append(s, n.prs[p].match)
	}
	idx := quorumIndex(s)
	if n.bug(BugCommitMinority) && len(s) > 1 {
		idx = s[majority(len(s))-2] // the mistake: one acknowledgement short of a majority
	}
	if idx <= n.commit {
		return
	}
	term := n.log.mustTerm(idx)
	if n.bug(BugFigure8LastTerm) {
		term = n.log.lastTerm() // the mistake: the term of the wrong entry is checked
	}
	if term != n.term && !n.opts.commitsOldTerms() {
		return
	}
	n.commit = idx
	n.apply(env)
	if !n.config.Has(n.id) && n.commit >= n.configIndex && n.role == Leader {
		// A leader that removed itself steps down once the change commits
		// (thesis §4.2.2).
		if env.Tracing() {
			env.Logf("stepping down: removed from the configuration at %d", n.configIndex)
		}
		n.becomeFollower(env, n.term, 0)
	}
}

// apply applies committed entries in log order to the state machine
// (every entry: no-ops and configurations are marked, not skipped); the
// leader that accepted a request answers its client (§5.3, §8). A
// snapshot the service takes is compacted into once the entries are
// applied, and then the automatic one, if due.
func (n *Node) apply(env *sim.Env) {
	if n.commit > n.log.last() {
		panic(fmt.Sprintf("%v: commit %d beyond last %d", n.id, n.commit, n.log.last()))
	}
	upTo := n.commit
	if n.bug(BugApplyBeforeCommit) {
		upTo = n.log.last() // the mistake: what is merely appended is applied
	}
	var snapAt int64 // the last entry the service snapshotted at, and its bytes
	var snapData []byte
	for n.applied < upTo {
		i := n.applied + 1
		e := n.log.at(i)
		n.digests = append(n.digests, digest(n.digestAt(n.applied), i, e))
		n.applied = i
		n.ensureOwnStateMachine()
		res := n.sm.Apply(i, e)
		if res.Snapshot != nil {
			snapAt, snapData = i, res.Snapshot
		}
		// A command the service proposed itself (Propose) has no client.
		if e.Kind == EntryCommand && res.Response != nil && e.Term == n.ledTerm && e.Req.Client != 0 {
			resp := *res.Response // a copy: the state machine may reuse its own
			env.Send(e.Req.Client, &resp)
		}
	}
	if n.role == Leader {
		n.serveReads(env)
	}
	if snapAt > 0 {
		if n.opts.unsafeService == serviceBugCompactPastSnapshot {
			snapAt = n.applied // the mistake (tests only): the bytes of one index filed under a later one
		}
		n.compact(env, snapAt, snapData)
	}
	n.maybeSnapshot(env)
}

// digestAt returns the running digest of the applied commands up to i.
func (n *Node) digestAt(i int64) uint64 {
	if i == n.log.snapIndex {
		return n.snapDigest
	}
	k := i - n.log.snapIndex - 1
	if k < 0 || k >= int64(len(n.digests)) {
		panic(fmt.Sprintf("%v: no digest at %d (snapshot %d, applied %d)", n.id, i, n.log.snapIndex, n.applied))
	}
	return n.digests[k]
}
