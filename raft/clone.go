package raft

import (
	"encoding/binary"
	"maps"
	"slices"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// CloneProcess implements sim.ProcessCloner: the explorer copies a node
// only when an event reaches it. Options, the initial members,
// configurations and snapshot data are never changed in place, so the copy
// shares them.
//
// A node that has been cloned is never changed again (the simulator clones
// it before any handler runs), so the copy also shares what the node only
// appends to or replaces whole: the log's entries, the digests and the
// peers, with their capacity clipped so that an append by the copy makes
// an array of its own (truncation, compaction and a new configuration
// always do). It shares the state machine until it applies a command. The
// votes are written in place only by a candidate and the progress only by
// a leader, each into an array made when the role begins: a copy in that
// role gets its own, the others share.
func (n *Node) CloneProcess() sim.Process { return n.CloneProcessInto(nil) }

// CloneProcessInto implements sim.ProcessRecycler: CloneProcess into the
// memory of spare, when it is a Node.
func (n *Node) CloneProcessInto(spare sim.Process) sim.Process {
	c, ok := spare.(*Node)
	if !ok || c == n {
		c = new(Node)
	}
	*c = *n
	c.log.entries = n.log.entries[:len(n.log.entries):len(n.log.entries)]
	c.smShared = true
	c.digests = n.digests[:len(n.digests):len(n.digests)]
	c.peers = n.peers[:len(n.peers):len(n.peers)]
	switch n.role {
	case Candidate, PreCandidate:
		c.votes = slices.Clone(n.votes)
	case Leader:
		c.prs = slices.Clone(n.prs)
	}
	c.reads = slices.Clone(n.reads)
	c.proposed = nil // made again on the first proposal (replication.go)
	if len(n.proposed) > 0 {
		c.proposed = maps.Clone(n.proposed)
	}
	if n.roundSent != nil {
		rs := *n.roundSent
		c.roundSent = &rs
	}
	c.enc = protocols.Encoder{}
	return c
}

// AppendState implements sim.StateAppender: the node's canonical state for
// the explorer's state hashing. It holds everything that decides what the
// node does next (Figure 2's state, the leader's per-follower progress, the
// candidate's votes, pending reads and proposals) and leaves out:
//   - times (election timeout, deadline and when the timer is due, when the
//     leader was last heard, lease and check-quorum deadlines) and the
//     random stream the timeouts are drawn from. A state's fingerprint has
//     no clock: whether the lazy election timer is due when it fires (or
//     only re-arms) depends on the simulated time of every step before,
//     at every node, and so cannot be encoded node by node. The explorer
//     fires a timer that only re-arms again, until it does something
//     (sim/explore: fire), so what firing the election timer does, an
//     election or a quorum check, follows from the encoded state alone.
//     With the default options no other decision reads the clock, and the
//     encoding is exact. CheckQuorum and lease reads are not: whether a
//     vote request falls inside a leader's lease (inLease) and whether a
//     lease still holds compare times, so a search with those options may
//     merge states that differ in them (the explorer reports a search in
//     which it sees that as not exhaustive);
//   - what follows from the log (the state machine, digests, configuration,
//     peers) and counters kept for views and benchmarks;
//   - the leader's record of which followers answered since the last
//     quorum check, unless CheckQuorum reads it;
//   - heartbeat round numbers unless reads use them (read_index, lease).
//     Messages never encode their round, so a search of read_index or
//     lease reads may merge two states that differ only in the rounds of
//     messages in flight.
//
// It reads the node and changes nothing, so several goroutines may encode
// one node at once.
func (n *Node) AppendState(b []byte) []byte { return n.AppendStatePermuted(b, sim.Permutation{}) }

// AppendStatePermuted implements sim.SymmetricProcess (symmetry.go): the
// encoding of AppendState with node ids renamed by p, and the per-node
// arrays (votes, progress) in the order of the renamed ids. The zero
// Permutation renames nothing: AppendState is this encoding.
func (n *Node) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	b = binary.AppendVarint(b, n.term)
	b = binary.AppendVarint(b, int64(permutedVote(n.vote, p)))
	b = append(b, byte(n.role))
	b = binary.AppendVarint(b, int64(p.Of(n.leader)))
	b = binary.AppendVarint(b, n.commit)
	b = binary.AppendVarint(b, n.applied)
	b = binary.AppendVarint(b, n.ledTerm)
	b = binary.AppendVarint(b, n.log.snapIndex)
	b = binary.AppendVarint(b, n.log.snapTerm)
	b = binary.AppendUvarint(b, n.snapDigest)
	b = binary.AppendUvarint(b, uint64(len(n.log.entries)))
	for i := range n.log.entries {
		b = appendEntry(b, n.log.entries[i], p)
	}
	b = appendBool(b, n.heardAny)
	rounds := n.opts.Reads != ReadsLog
	switch n.role {
	case Candidate, PreCandidate:
		for i := range n.votes { // by node id: at id i, the vote of the node renamed i
			b = append(b, byte(n.votes[p.Inverse(sim.NodeID(i))]))
		}
	case Leader:
		for i := range n.prs { // by node id, as the votes
			pr := &n.prs[p.Inverse(sim.NodeID(i))]
			b = binary.AppendVarint(b, pr.next)
			b = binary.AppendVarint(b, pr.match)
			b = appendBool(b, pr.replicate)
			b = appendBool(b, pr.probeSent)
			if n.opts.CheckQuorum {
				b = appendBool(b, pr.active)
			}
			b = binary.AppendVarint(b, pr.matchAtTick)
			b = binary.AppendVarint(b, pr.resentFrom)
			if rounds {
				b = binary.AppendVarint(b, pr.ackRound)
			}
		}
		if rounds {
			b = binary.AppendVarint(b, n.round)
			b = binary.AppendVarint(b, n.readRound)
		}
		b = binary.AppendUvarint(b, uint64(len(n.reads)))
		for i := range n.reads {
			r := &n.reads[i]
			b = appendRequest(b, &r.req)
			b = binary.AppendVarint(b, r.index)
			if rounds {
				b = binary.AppendVarint(b, r.round)
			}
		}
		ids := make([]sim.NodeID, 0, 8)
		for id := range n.proposed {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			b = binary.AppendVarint(b, int64(id))
			b = binary.AppendVarint(b, n.proposed[id])
		}
	}
	return b
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

// appendConfig appends a configuration with its node ids renamed by p
// (the members in the order of the renamed ids: symmetry.go).
func appendConfig(b []byte, c *Config, p sim.Permutation) []byte {
	if c == nil {
		return append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(c.Members))+1)
	for _, m := range permutedMembers(c.Members, p) {
		b = binary.AppendVarint(b, int64(m))
	}
	b = binary.AppendVarint(b, int64(c.Version))
	return binary.AppendVarint(b, int64(p.Of(c.Removed)))
}

func appendEntry(b []byte, e *Entry, p sim.Permutation) []byte {
	b = binary.AppendVarint(b, e.Term)
	b = append(b, byte(e.Kind))
	switch e.Kind {
	case EntryConfig:
		b = appendConfig(b, e.Config, p)
	case EntryNoop:
	default:
		b = appendRequest(b, &e.Req)
	}
	return b
}

// AppendState implements sim.StateAppender for the explorer.
func (m *RequestVote) AppendState(b []byte) []byte {
	return m.AppendStatePermuted(b, sim.Permutation{})
}

// AppendStatePermuted implements sim.SymmetricMessage (symmetry.go).
func (m *RequestVote) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	b = binary.AppendVarint(b, m.Term)
	b = binary.AppendVarint(b, int64(p.Of(m.Candidate)))
	b = binary.AppendVarint(b, m.LastIndex)
	b = binary.AppendVarint(b, m.LastTerm)
	return appendBool(b, m.PreVote)
}

// AppendState implements sim.StateAppender for the explorer.
func (m *RequestVoteReply) AppendState(b []byte) []byte {
	b = binary.AppendVarint(b, m.Term)
	b = appendBool(b, m.Granted)
	return appendBool(b, m.PreVote)
}

// AppendState implements sim.StateAppender for the explorer.
func (m *AppendEntries) AppendState(b []byte) []byte {
	return m.AppendStatePermuted(b, sim.Permutation{})
}

// AppendStatePermuted implements sim.SymmetricMessage (symmetry.go).
func (m *AppendEntries) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	b = binary.AppendVarint(b, m.Term)
	b = binary.AppendVarint(b, int64(p.Of(m.Leader)))
	b = binary.AppendVarint(b, m.PrevIndex)
	b = binary.AppendVarint(b, m.PrevTerm)
	b = binary.AppendUvarint(b, uint64(len(m.Entries)))
	for i := range m.Entries {
		b = appendEntry(b, m.Entries[i], p)
	}
	return binary.AppendVarint(b, m.Commit)
}

// AppendState implements sim.StateAppender for the explorer.
func (m *AppendEntriesReply) AppendState(b []byte) []byte {
	b = binary.AppendVarint(b, m.Term)
	b = appendBool(b, m.Success)
	b = binary.AppendVarint(b, m.Match)
	b = binary.AppendVarint(b, m.Reject)
	b = binary.AppendVarint(b, m.ConflictTerm)
	return binary.AppendVarint(b, m.ConflictIndex)
}

// AppendState implements sim.StateAppender for the explorer.
func (m *InstallSnapshot) AppendState(b []byte) []byte {
	return m.AppendStatePermuted(b, sim.Permutation{})
}

// AppendStatePermuted implements sim.SymmetricMessage (symmetry.go).
func (m *InstallSnapshot) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	b = binary.AppendVarint(b, m.Term)
	b = binary.AppendVarint(b, int64(p.Of(m.Leader)))
	b = binary.AppendVarint(b, m.Index)
	b = binary.AppendVarint(b, m.LastTerm)
	b = appendConfig(b, m.Config, p)
	b = binary.AppendUvarint(b, m.Digest)
	b = binary.AppendUvarint(b, uint64(len(m.Data)))
	return append(b, m.Data...)
}

// CloneChecker implementations: the explorer copies a checker only when
// a new state is checked. Pointers to nodes are kept: a node a checker
// has seen is never changed again (the explorer copies it first).

func (c *leaderAppendOnly) CloneChecker() sim.Checker {
	cp := *c
	cp.sc = c.sc.clone()
	return &cp
}

func (c *logMatching) CloneChecker() sim.Checker {
	cp := *c
	cp.sc = c.sc.clone()
	cp.seen = slices.Clone(c.seen) // sharing each index's more slice (indexSeen)
	return &cp
}

func (c *leaderCompleteness) CloneChecker() sim.Checker {
	cp := *c
	cp.sc = c.sc.clone()
	cp.committed = slices.Clone(c.committed)
	cp.verified = maps.Clone(c.verified)
	return &cp
}

func (c *stateMachineSafety) CloneChecker() sim.Checker {
	cp := *c
	cp.sc = c.sc.clone()
	cp.digests = slices.Clone(c.digests)
	return &cp
}

func (c *persistence) CloneChecker() sim.Checker {
	cp := *c
	cp.sc = c.sc.clone()
	return &cp
}

func (sc scope) clone() scope { return scope{last: sc.last} }

// (electionSafety's leaders map is copied whole when it learns a leader
// of a new term: a few entries, one per term seen.)
