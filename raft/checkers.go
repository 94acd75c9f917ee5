package raft

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Checkers returns the invariant checkers of Figure 3 of the Raft paper,
// run after every event over the true state of the nodes, then the
// liveness checkers of liveness.go. They are incremental: each looks only
// at the node the event touched (all nodes when events were skipped), and
// at what changed since it last looked. Crashed nodes' stable storage is
// covered through the restarted node, which is checked in full against
// everything seen before.
func Checkers(c protocols.Cluster) []sim.Checker {
	opts, _ := c.Options.(*Options)
	if opts == nil {
		opts = DefaultOptions()
	}
	return append([]sim.Checker{
		&electionSafety{leaders: map[int64]sim.NodeID{}},
		&leaderAppendOnly{},
		&logMatching{},
		&leaderCompleteness{verified: map[int64]bool{}},
		&stateMachineSafety{},
		&persistence{},
	}, livenessCheckers(opts)...)
}

// scope finds the nodes an event may have changed.
type scope struct {
	last int64
	arr  [8]sim.NodeID // holds the answer for small clusters
	buf  []sim.NodeID  // for larger ones
}

func (sc *scope) nodes(s *sim.Sim, ev *sim.Event) []sim.NodeID {
	idx := s.Index()
	contiguous := idx == sc.last+1
	sc.last = idx
	switch {
	case contiguous && ev.To > 0 && ev.Kind != sim.KindFault:
		sc.arr[0] = ev.To
		return sc.arr[:1]
	case contiguous && (ev.Kind == sim.KindFault || ev.To < 0):
		return nil // a fault is checked with the event after it; a client is no node
	case len(s.Nodes()) <= len(sc.arr):
		return sc.arr[:copy(sc.arr[:], s.Nodes())]
	}
	sc.buf = append(sc.buf[:0], s.Nodes()...)
	return sc.buf
}

func node(s *sim.Sim, id sim.NodeID) *Node {
	n, _ := s.Process(id).(*Node)
	return n
}

// compacted tracks, per node, the snapshot index the node was last seen
// with, so that the log checkers forget what every node has compacted: no
// log holds an entry at or below the least of these indexes, now or ever
// after. A snapshot index never decreases (a node installs only snapshots
// past its commit index), and a node that restarts restores its stored
// snapshot, which the persistence checker holds equal to the one it had.
// A node never seen (a spare not started yet) counts as 0: nothing is
// forgotten while it may still join with an empty log.
type compacted struct {
	snap [sim.MaxNodes + 1]int64
	// forgot is the floor at the last pruning.
	forgot int64
	// floor is the least snapshot index, computed again only when one
	// changed (stale): due runs after every event, a snapshot is rare.
	floor int64
	stale bool
}

// compactPruneMin is how far the floor moves before a checker prunes, so
// that pruning (a pass over what the checker keeps) is paid once per this
// many compacted entries.
const compactPruneMin = 256

// saw records the node's snapshot index.
func (c *compacted) saw(id sim.NodeID, n *Node) {
	if c.snap[id] != n.log.snapIndex {
		c.snap[id], c.stale = n.log.snapIndex, true
	}
}

// due returns the floor, and whether it moved by compactPruneMin since
// the last pruning (which the caller then does).
func (c *compacted) due(s *sim.Sim) (int64, bool) {
	if c.stale {
		c.floor, c.stale = -1, false
		for _, id := range s.Nodes() {
			if c.floor < 0 || c.snap[id] < c.floor {
				c.floor = c.snap[id]
			}
		}
	}
	floor := c.floor
	if floor < c.forgot+compactPruneMin {
		return floor, false
	}
	c.forgot = floor
	return floor, true
}

// electionSafety: at most one leader per term, over the whole run (§5.2).
// It is shared by a run's forks (sim.CheckerSharer) and never changed:
// a check that finds a leader of a new term returns a copy that knows it.
type electionSafety struct {
	leaders map[int64]sim.NodeID
	// started: it has checked every node once (a checker added to a run
	// that has begun has not seen the events before).
	started bool
}

func (*electionSafety) Name() string { return "raft.ElectionSafety" }

func (c *electionSafety) Check(s *sim.Sim, ev *sim.Event) error {
	next, err := c.CheckShared(s, ev)
	if next != nil {
		*c = *next.(*electionSafety)
	}
	return err
}

// AppendCheckerState makes it a sim.CheckerLocal (after an event at a
// node it looks at that node only): whether it started, and the leaders
// it saw, by term.
func (c *electionSafety) AppendCheckerState(dst []byte) []byte {
	if c.started {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	var arr [16]int64
	terms := arr[:0]
	for t := range c.leaders {
		terms = append(terms, t)
	}
	slices.Sort(terms)
	for _, t := range terms {
		dst = binary.AppendVarint(dst, t)
		dst = binary.AppendVarint(dst, int64(c.leaders[t]))
	}
	return dst
}

func (c *electionSafety) CheckShared(s *sim.Sim, ev *sim.Event) (sim.Checker, error) {
	var next *electionSafety
	cur := c
	if !c.started {
		next = &electionSafety{leaders: maps.Clone(c.leaders), started: true}
		cur = next
	}
	var arr [8]sim.NodeID
	for _, id := range changedNodes(s, ev, c.started, &arr) {
		n := node(s, id)
		if n == nil || n.role != Leader {
			continue
		}
		l, ok := cur.leaders[n.term]
		if ok && l != id {
			return nil, fmt.Errorf("two leaders in term %d: %v and %v", n.term, l, id)
		}
		if !ok {
			if next == nil {
				next = &electionSafety{leaders: maps.Clone(c.leaders), started: true}
				cur = next
			}
			next.leaders[n.term] = id
		}
	}
	if next == nil {
		return nil, nil
	}
	return next, nil
}

// changedNodes is scope.nodes for a checker that keeps no count of the
// events it saw (sim.CheckerSharer): the run's LastCheckIndex says whether
// it saw the one before this. started false means it saw none.
func changedNodes(s *sim.Sim, ev *sim.Event, started bool, arr *[8]sim.NodeID) []sim.NodeID {
	contiguous := started && s.LastCheckIndex() == s.Index()-1
	switch {
	case contiguous && ev.To > 0 && ev.Kind != sim.KindFault:
		arr[0] = ev.To
		return arr[:1]
	case contiguous && ev.Kind == sim.KindFault:
		return nil
	}
	return append(arr[:0], s.Nodes()...)
}

// leaderAppendOnly: a leader never overwrites or deletes entries in its
// log; it only appends (§5.3).
type leaderAppendOnly struct {
	sc   scope
	seen [sim.MaxNodes + 1]leaderSeen
}

type leaderSeen struct {
	n              *Node
	term           int64
	last, lastTerm int64
}

func (*leaderAppendOnly) Name() string { return "raft.LeaderAppendOnly" }

func (c *leaderAppendOnly) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range c.sc.nodes(s, ev) {
		n := node(s, id)
		r := &c.seen[id]
		if n == nil || n.role != Leader {
			*r = leaderSeen{}
			continue
		}
		if r.n == n && r.term == n.term {
			if n.log.last() < r.last {
				return fmt.Errorf("leader %v of term %d shrank its log from %d to %d", id, n.term, r.last, n.log.last())
			}
			if t, ok := n.log.term(r.last); ok && t != r.lastTerm {
				return fmt.Errorf("leader %v of term %d changed entry %d from term %d to %d", id, n.term, r.last, r.lastTerm, t)
			}
		}
		*r = leaderSeen{n: n, term: n.term, last: n.log.last(), lastTerm: n.log.lastTerm()}
	}
	return nil
}

// logMatching: if two logs hold an entry with the same index and term, the
// logs are identical up to it (§5.3). Checked inductively: every (index,
// term) pair ever seen has one command and one previous term, everywhere.
type logMatching struct {
	sc scope
	// seen holds, by index from base on, the entries seen there, one per
	// term (the ones below base were compacted by every node).
	seen  []indexSeen
	base  int64
	nodes [sim.MaxNodes + 1]logSeen
	cpt   compacted
}

// indexSeen holds the entries seen at one index: almost always of one
// term (first), and of more only where a later leader overwrote an entry.
// A more slice is never changed in place, so that copies of the checker
// (CloneChecker) may share it.
type indexSeen struct {
	first entrySeen // term 0: nothing seen yet
	more  []entrySeen
}

type entrySeen struct {
	term     int64
	prevTerm int64 // -1: unknown (the entry followed a snapshot)
	cmd      uint64
	node     sim.NodeID
	// entry is the entry first seen: a log holding the same one (its
	// leader's, which followers share: raftLog) holds the same command,
	// and the command's digest is not computed again.
	entry *Entry
}

type logSeen struct {
	n       *Node
	gen     uint64
	checked int64
}

func (*logMatching) Name() string { return "raft.LogMatching" }

// at returns the entries seen at index i, making room up to it.
func (c *logMatching) at(i int64) *indexSeen {
	for c.base+int64(len(c.seen)) <= i {
		c.seen = append(c.seen, indexSeen{})
	}
	return &c.seen[i-c.base]
}

// see records cur at is (entry e, of term cur.term, at index i), or checks
// it against what was seen there before. cur.cmd is filled here, when
// needed.
func (c *logMatching) see(is *indexSeen, i int64, e *Entry, cur entrySeen) error {
	old := &is.first
	switch {
	case is.first.term == 0:
		cur.cmd = digest(0, i, e)
		is.first = cur
		return nil
	case is.first.term != cur.term:
		k := slices.IndexFunc(is.more, func(s entrySeen) bool { return s.term == cur.term })
		if k < 0 {
			cur.cmd = digest(0, i, e)
			is.more = append(slices.Clip(is.more), cur) // a copy: see indexSeen
			return nil
		}
		is.more = slices.Clone(is.more) // it may change below
		old = &is.more[k]
	}
	if old.entry != e && old.cmd != digest(0, i, e) {
		return fmt.Errorf("entry %d of term %d differs: %v has %s, %v had another command", i, e.Term, cur.node, e.Command(), old.node)
	}
	if old.prevTerm >= 0 && cur.prevTerm >= 0 && old.prevTerm != cur.prevTerm {
		return fmt.Errorf("entry %d of term %d follows term %d on %v but term %d on %v", i, e.Term, cur.prevTerm, cur.node, old.prevTerm, old.node)
	}
	if old.prevTerm < 0 && cur.prevTerm >= 0 {
		old.prevTerm = cur.prevTerm
	}
	return nil
}

func (c *logMatching) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range c.sc.nodes(s, ev) {
		n := node(s, id)
		if n == nil {
			continue
		}
		r := &c.nodes[id]
		from := r.checked + 1
		if r.n != n || r.gen != n.log.gen {
			from = n.log.snapIndex + 1
		}
		// (Below the floor is not known any more: see leaderCompleteness.)
		from = max(from, n.log.snapIndex+1, c.base)
		for i := from; i <= n.log.last(); i++ {
			e := n.log.at(i)
			prev, ok := n.log.term(i - 1)
			if !ok {
				prev = -1
			}
			cur := entrySeen{term: e.Term, prevTerm: prev, node: id, entry: e}
			if err := c.see(c.at(i), i, e, cur); err != nil {
				return err
			}
		}
		*r = logSeen{n: n, gen: n.log.gen, checked: n.log.last()}
		c.cpt.saw(id, n)
	}
	if floor, ok := c.cpt.due(s); ok && floor+1 > c.base {
		// Entries at or below the floor are in no log, now or later.
		if drop := floor + 1 - c.base; drop < int64(len(c.seen)) {
			c.seen = c.seen[drop:]
		} else {
			c.seen = nil
		}
		c.base = floor + 1
	}
	return nil
}

// leaderCompleteness: an entry committed in a term is in the log of every
// leader of a later term (§5.4). Committed entries are learnt from the
// nodes' commit indexes, with the term of the node that first reported
// the commit: the entry was committed in that term or an earlier one (a
// node learns of a commit only from a leader of its current term). Every
// new leader is checked against all of them, and every live leader against
// each newly committed entry.
type leaderCompleteness struct {
	sc scope
	// committed holds the entries from index base on (the ones below
	// were compacted by every node); term 0: unknown (compacted).
	committed []committedEntry
	base      int64
	verified  map[int64]bool
	nodes     [sim.MaxNodes + 1]logSeen
	cpt       compacted
}

type committedEntry struct {
	term int64 // the entry's term
	by   int64 // the term of the first node seen committing it
}

func (*leaderCompleteness) Name() string { return "raft.LeaderCompleteness" }

// end is one past the last committed index known.
func (c *leaderCompleteness) end() int64 { return c.base + int64(len(c.committed)) }

// grow makes room for the committed entries up to index i.
func (c *leaderCompleteness) grow(i int64) {
	for c.end() <= i {
		c.committed = append(c.committed, committedEntry{})
	}
}

func (c *leaderCompleteness) Check(s *sim.Sim, ev *sim.Event) error {
	if c.end() == 0 {
		c.committed = append(c.committed, committedEntry{})
	}
	for _, id := range c.sc.nodes(s, ev) {
		n := node(s, id)
		if n == nil {
			continue
		}
		lo := c.end()
		r := &c.nodes[id]
		from := r.checked + 1
		if r.n != n || r.gen != n.log.gen {
			from = 1
		}
		*r = logSeen{n: n, gen: n.log.gen, checked: n.commit}
		c.cpt.saw(id, n)
		c.grow(n.commit)
		// A log never starts below the floor unless a node came back with
		// an older snapshot than it had, which the persistence checker
		// reports; what is below the floor is not known any more.
		for i := max(n.log.snapIndex+1, from, c.base); i <= n.commit; i++ {
			t := n.log.mustTerm(i)
			ce := &c.committed[i-c.base]
			switch {
			case ce.term == 0:
				*ce = committedEntry{term: t, by: n.term}
			case ce.term != t:
				return fmt.Errorf("%v committed term %d at %d, but term %d was committed there", id, t, i, ce.term)
			}
		}
		if n.role == Leader && !c.verified[n.term] {
			c.verified[n.term] = true
			if err := c.contains(id, n, 1); err != nil {
				return err
			}
		}
		if c.end() > lo {
			for _, l := range s.Nodes() {
				ln := node(s, l)
				if ln != nil && ln.role == Leader {
					if err := c.contains(l, ln, lo); err != nil {
						return err
					}
				}
			}
		}
	}
	if floor, ok := c.cpt.due(s); ok && floor+1 > c.base && floor+1 <= c.end() {
		// Entries at or below the floor are in no log, now or later.
		c.committed = c.committed[floor+1-c.base:]
		c.base = floor + 1
	}
	return nil
}

// contains checks that leader n holds the committed entries from lo on
// that were committed in terms before its own.
func (c *leaderCompleteness) contains(id sim.NodeID, n *Node, lo int64) error {
	for i := max(lo, n.log.snapIndex+1, c.base); i < c.end(); i++ {
		ce := c.committed[i-c.base]
		if ce.term == 0 || ce.by >= n.term {
			continue
		}
		if got, ok := n.log.term(i); !ok || got != ce.term {
			return fmt.Errorf("leader %v of term %d lacks entry %d of term %d committed by term %d (has term %d, last %d)", id, n.term, i, ce.term, ce.by, got, n.log.last())
		}
	}
	return nil
}

// stateMachineSafety: no two nodes apply different commands at one index
// (§5.4.3). Each node keeps a running digest of the commands it applied;
// digests at one index must agree across nodes and restarts.
type stateMachineSafety struct {
	sc scope
	// digests holds the digests from index base on (the ones below were
	// compacted by every node); 0: not seen yet.
	digests []uint64
	base    int64
	nodes   [sim.MaxNodes + 1]logSeen
	cpt     compacted
}

func (*stateMachineSafety) Name() string { return "raft.StateMachineSafety" }

func (c *stateMachineSafety) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range c.sc.nodes(s, ev) {
		n := node(s, id)
		if n == nil {
			continue
		}
		r := &c.nodes[id]
		from := r.checked + 1
		if r.n != n {
			from = n.log.snapIndex
		}
		// (Below the floor is not known any more: see leaderCompleteness.)
		from = max(from, n.log.snapIndex, c.base)
		for c.base+int64(len(c.digests)) <= n.applied {
			c.digests = append(c.digests, 0)
		}
		for i := from; i <= n.applied; i++ {
			d := n.digestAt(i)
			switch p := &c.digests[i-c.base]; *p {
			case 0:
				*p = d
			case d:
			default:
				return fmt.Errorf("%v applied a different history up to index %d than another node did", id, i)
			}
		}
		*r = logSeen{n: n, checked: n.applied}
		c.cpt.saw(id, n)
	}
	// A node's digests start at its snapshot index, which it keeps.
	if floor, ok := c.cpt.due(s); ok && floor > c.base && floor <= c.base+int64(len(c.digests)) {
		c.digests = c.digests[floor-c.base:]
		c.base = floor
	}
	return nil
}

// persistence: after every step, a live node's stable storage holds its
// currentTerm, votedFor, snapshot index and log end, and exactly the log
// entries after its snapshot (Figure 2: persistent state is on stable
// storage before the node answers anything). A handler that forgets to
// persist, or to delete what it truncated, is caught at the end of the
// step.
//
// A step that changes neither the node's persistent state nor its store
// (most heartbeats and replies) has nothing new to check: the checker
// remembers, per node, what it last verified and the store's fingerprint,
// and reads the store only when one of them changed.
type persistence struct {
	sc       scope
	verified [sim.MaxNodes + 1]persistSeen
}

// persistSeen is what the persistence checker verified for a node.
type persistSeen struct {
	store          uint64 // the store's fingerprint
	term           int64
	vote           sim.NodeID
	snap           int64
	last, lastTerm int64
}

func (*persistence) Name() string { return "raft.Persistence" }

func (c *persistence) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range c.sc.nodes(s, ev) {
		n := node(s, id)
		if n == nil {
			continue
		}
		st := s.Storage(id)
		now := persistSeen{store: st.Fingerprint(), term: n.term, vote: n.vote, snap: n.log.snapIndex, last: n.log.last(), lastTerm: n.log.lastTerm()}
		if now == c.verified[id] {
			continue
		}
		if err := c.check(id, n, st); err != nil {
			return err
		}
		c.verified[id] = now
	}
	return nil
}

func (c *persistence) check(id sim.NodeID, n *Node, st *sim.Storage) error {
	keys := n.log.last() - n.log.snapIndex // the log's entries, one key each
	hard, ok := st.Peek(keyHardState)
	if ok {
		keys++
	}
	if n.term > 0 || n.vote != 0 {
		if !ok {
			return fmt.Errorf("%v is in term %d but stored no hard state", id, n.term)
		}
		d := protocols.Decoder{B: hard}
		term, vote := d.Varint(), sim.NodeID(d.Varint())
		if term != n.term || vote != n.vote {
			return fmt.Errorf("%v has term %d vote %v but stored term %d vote %v", id, n.term, n.vote, term, vote)
		}
	}
	snap, ok := st.Peek(keySnapshot)
	if ok {
		keys++
	}
	if n.log.snapIndex > 0 {
		d := protocols.Decoder{B: snap}
		if i := d.Varint(); i != n.log.snapIndex {
			return fmt.Errorf("%v has snapshot %d but stored snapshot %d", id, n.log.snapIndex, i)
		}
	}
	last := n.log.last()
	// Restart recovery reads entries from the snapshot on, up to the
	// first missing one: a stored entry the log does not hold (one left
	// behind by a truncation or a compaction) must not exist.
	if int64(st.Len()) != keys {
		return fmt.Errorf("%v's log holds entries %d..%d after snapshot %d, but its store holds %d keys, not %d", id, n.log.snapIndex+1, last, n.log.snapIndex, st.Len(), keys)
	}
	if st.HasAt(logPrefix, uint64(last+1)) {
		return fmt.Errorf("%v's log ends at %d but entry %d is stored", id, last, last+1)
	}
	if last > n.log.snapIndex {
		b, ok := st.PeekAt(logPrefix, uint64(last))
		if !ok {
			return fmt.Errorf("%v's last entry %d is not stored", id, last)
		}
		d := protocols.Decoder{B: b}
		if t := d.Varint(); t != n.log.lastTerm() {
			return fmt.Errorf("%v's last entry %d has term %d but term %d is stored", id, last, n.log.lastTerm(), t)
		}
	}
	return nil
}
