package etcdraft

import (
	"fmt"

	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/sim"
)

// Invariant checkers over the true state of a run: live nodes' etcd state
// and every node's stable storage, crashed nodes' included. They keep what
// they learned over the whole run, so "at most one leader per term" means
// over all time, not at one instant. Each is incremental, as synod Raft's
// (raft/checkers.go): after an event it looks only at the node the event
// went to (every node after events it did not see), and there only at
// what changed since it last looked, so that an event that changed
// nothing a checker reads costs it a comparison.
const (
	NameElectionSafety     = "election-safety"
	NameLogMatching        = "log-matching"
	NameStateMachineSafety = "state-machine-safety"
	NameLeaderCompleteness = "leader-completeness"
)

// NewCheckers returns fresh checkers of the four Raft safety properties.
// They share one look at the nodes per event (look), and State Machine
// Safety and Leader Completeness share one record of what the nodes
// applied, so that the nodes are found once per event, not four times,
// and the applied entries read once, not twice.
func NewCheckers() []sim.Checker {
	lk, applied := newLook(4), newAppliedLog()
	return []sim.Checker{
		&ElectionSafety{lk: lk, leaders: map[uint64]sim.NodeID{}},
		&LogMatching{lk: lk},
		&StateMachineSafety{lk: lk, applied: applied},
		&LeaderCompleteness{lk: lk, applied: applied},
	}
}

// scope finds the nodes an event may have changed. A node's state (its
// etcd state, the adapter's fields the checkers read, its stable storage)
// changes only while it handles an event sent to it: a crash takes the
// node away (the checkers keep what they learned), a restart starts it
// with an event of its own. So after an event at node n, when the checker
// also saw the event before, only n can have changed; after a fault or an
// event at a client, no node did. Any other check (the first, one after
// events the checker did not see, as when the run checks every k events or
// a checkpoint is restored, or a check with no event, Sim.Check) looks at
// every node.
type scope struct {
	last    int64 // the run's Index at the last check
	started bool
	one     [1]sim.NodeID
}

func (sc *scope) nodes(s *sim.Sim, ev *sim.Event) []sim.NodeID {
	idx := s.Index()
	contiguous := sc.started && idx == sc.last+1 && ev != nil
	sc.last, sc.started = idx, true
	switch {
	case contiguous && ev.To > 0 && ev.Kind != sim.KindFault:
		sc.one[0] = ev.To
		return sc.one[:]
	case contiguous && (ev.Kind == sim.KindFault || ev.To < 0):
		return nil
	}
	return s.Nodes()
}

// nodeOf returns the live etcd-raft node with the given id, or nil.
func nodeOf(s *sim.Sim, id sim.NodeID) *Node {
	n, _ := s.Process(id).(*Node)
	if n == nil || n.rn == nil {
		return nil
	}
	return n
}

// look is the nodes an event may have changed (scope), each with its live
// etcd-raft node, found once per check for the checkers that share it:
// finding a node costs loads of memory the event's handler has left cold,
// and the four checkers each finding it were a third of their time. The
// first of them to run after an event looks; the others, run in the same
// check, take what it found. A look is taken at most users times, and only
// at the run's Index and LastCheckIndex it was made at (both move with
// every event and every check), so that no later check, in this run or in
// a fork or restored checkpoint that copied the checkers, reuses it. A
// check with no event (a test calling Check directly) always looks again.
type look struct {
	sc        scope
	users     int   // the checkers sharing the look
	left      int   // how many of them have yet to take the current one
	index     int64 // the run's Index when the current one was made
	lastCheck int64 // and its LastCheckIndex
	found     lookFound
	cpt       compacted
	// node holds, by id, the live etcd-raft node last found (nil: down).
	// It is written only when it changes (a crash, a restart): a pointer
	// written after every event costs a write barrier while the garbage
	// collector runs.
	node [sim.MaxNodes + 1]*Node
}

// lookFound is which nodes the current look found. foundNone and
// foundOne are the number of ids the look's scope.one holds.
type lookFound uint8

const (
	foundNone lookFound = iota // after a fault, or an event at a client
	foundOne                   // the node the event went to (scope.one)
	foundAll                   // every node
)

func newLook(users int) *look { return &look{users: users} }

// take returns the nodes the event may have changed; lk.node has the live
// node of each. Here the checkers after the first in a check get the look
// the first made; the looking itself is a function of its own (again).
// Between two events etcd's code evicts the checkers' code from the
// instruction cache, and loading it again costs about as much as running
// it (under callgrind the checkers missed the instruction cache 28 times
// per event, once per 35 instructions), so the path every checker takes
// after every event is kept short, and the rest out of its way.
func (lk *look) take(s *sim.Sim, ev *sim.Event) []sim.NodeID {
	if ev != nil && lk.left > 0 && s.Index() == lk.index && s.LastCheckIndex() == lk.lastCheck && lk.found != foundAll {
		lk.left--
		return lk.sc.one[:lk.found] // foundNone: none, foundOne: the event's node
	}
	return lk.again(s, ev)
}

// again is take when it has no look at hand at the event's node alone:
// it looks, or hands on a look at every node made in the same check.
func (lk *look) again(s *sim.Sim, ev *sim.Event) []sim.NodeID {
	idx, last := s.Index(), s.LastCheckIndex()
	if ev != nil && lk.left > 0 && idx == lk.index && last == lk.lastCheck {
		lk.left--
		return s.Nodes() // foundAll: the others are taken by take
	}
	lk.index, lk.lastCheck, lk.left = idx, last, 0
	if ev != nil {
		lk.left = lk.users - 1
	}
	ids := lk.sc.nodes(s, ev)
	switch {
	case len(ids) == 0:
		lk.found = foundNone
	case &ids[0] == &lk.sc.one[0]: // scope's own array: the event's node
		lk.found = foundOne
	default:
		lk.found = foundAll
	}
	for _, id := range ids {
		n := nodeOf(s, id)
		if lk.node[id] != n {
			lk.node[id] = n
		}
		if n != nil {
			lk.cpt.saw(id, n.snapIndex)
		}
	}
	return ids
}

// compacted tracks, per node, the snapshot index the node was last seen
// with, so that the checkers forget what every node has compacted: no
// node writes, applies or reads an entry at or below its snapshot index,
// so no check ever needs one at or below the least of them (the floor),
// now or later. A node's snapshot index never decreases: it installs only
// snapshots ahead of its log, compacts only what it applied, and a
// restart recovers the stored snapshot. A node never seen (not started
// yet, or a checker's first look has not reached it) counts as 0, so
// nothing is forgotten while it may still join with an empty log.
type compacted struct {
	// floor is the least snapshot index, computed again only when one
	// changed (stale): the checkers ask after every event, a snapshot is
	// rare.
	floor uint64
	stale bool
	snap  [sim.MaxNodes + 1]uint64
}

func (c *compacted) saw(id sim.NodeID, snapIndex uint64) {
	if c.snap[id] != snapIndex {
		c.snap[id], c.stale = snapIndex, true
	}
}

// least returns the floor.
func (c *compacted) least(s *sim.Sim) uint64 {
	if c.stale {
		c.again(s)
	}
	return c.floor
}

// again computes the floor (out of least, which runs after every event,
// to keep its code short: see look.take).
//
//go:noinline
func (c *compacted) again(s *sim.Sim) {
	c.stale = false
	c.floor = c.snap[s.Nodes()[0]]
	for _, id := range s.Nodes() {
		c.floor = min(c.floor, c.snap[id])
	}
}

// records holds a checker's records by log index, from base on, in
// chunks of recordsChunk: growing never copies what is there (a slice
// that doubled was a tenth of the checkers' time), and forgetting what
// every node compacted drops whole chunks. The checkers keep the records
// from the floor's chunk on: their memory is bounded by the longest log
// a node stores, plus a chunk.
type records[T any] struct {
	base   uint64 // the index of chunks[0][0], a multiple of recordsChunk
	chunks [][]T
}

// recordsChunk is the number of records in a chunk.
const recordsChunk = 256

// end is one past the last index with room.
func (r *records[T]) end() uint64 { return r.base + uint64(len(r.chunks))*recordsChunk }

// at returns the record at index (at least base), making room up to it.
func (r *records[T]) at(index uint64) *T {
	if index < r.base {
		panic(fmt.Sprintf("record %d asked for below the first kept, %d", index, r.base))
	}
	k := (index - r.base) / recordsChunk
	for uint64(len(r.chunks)) <= k {
		r.chunks = append(r.chunks, make([]T, recordsChunk))
	}
	return &r.chunks[k][(index-r.base)%recordsChunk]
}

// forget drops the chunks that hold only indexes at or below floor.
func (r *records[T]) forget(floor uint64) {
	if r.base+recordsChunk-1 <= floor {
		r.drop(floor)
	}
}

// drop is forget when there is something to drop (out of forget, which
// runs after every event: see look.take).
//
//go:noinline
func (r *records[T]) drop(floor uint64) {
	for len(r.chunks) > 0 && r.base+recordsChunk-1 <= floor {
		r.chunks[0] = nil
		r.chunks = r.chunks[1:]
		r.base += recordsChunk
	}
	if len(r.chunks) == 0 && r.base+recordsChunk-1 <= floor {
		r.base = floor + 1 - (floor+1)%recordsChunk
	}
}

// ElectionSafety: at most one node is leader in any term (Raft §5.2).
type ElectionSafety struct {
	lk      *look
	leaders map[uint64]sim.NodeID
	// led is the term each node was last recorded leading, so that a
	// leader's every event does not look its term up.
	led [sim.MaxNodes + 1]uint64
}

// NewElectionSafety returns the Election Safety checker.
func NewElectionSafety() *ElectionSafety {
	return &ElectionSafety{lk: newLook(1), leaders: map[uint64]sim.NodeID{}}
}

// Name implements sim.Checker.
func (c *ElectionSafety) Name() string { return NameElectionSafety }

// Check implements sim.Checker.
func (c *ElectionSafety) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range c.lk.take(s, ev) {
		n := c.lk.node[id]
		if n == nil || n.state != raft.StateLeader || c.led[id] == n.term {
			continue
		}
		if err := c.leads(id, n.term); err != nil {
			return err
		}
	}
	return nil
}

// leads records id leading term, or reports another leader of it. (A
// function of its own, to keep Check's code short: see look.take.)
func (c *ElectionSafety) leads(id sim.NodeID, term uint64) error {
	if l, ok := c.leaders[term]; !ok {
		c.leaders[term] = id
	} else if l != id {
		return fmt.Errorf("%v and %v both led term %d", l, id, term)
	}
	c.led[id] = term
	return nil
}

// LogMatching: two logs with an entry of the same index and term hold the
// same entry there and agree on every entry before it (Raft §5.3). It is
// checked inductively over every entry ever written to any node's stable
// storage: an (index, term) pair always carries the same data and follows
// the same previous term. Since a term's leader writes one entry per index,
// agreement at (i, t) then implies agreement at i-1, and so on down.
//
// Entries are compared as stored (term, type, data): equal bytes are
// equal entries, so the entry a follower stores, the same as its leader's,
// costs one comparison of bytes and is decoded only when it differs.
type LogMatching struct {
	lk *look
	// seen holds, by index, the entries seen there (below its base:
	// compacted by every node, forgotten).
	seen  records[indexSeen]
	nodes [sim.MaxNodes + 1]lmNode
}

// indexSeen holds the entries seen at one index: almost always of one
// term (first), and of more only where a later leader overwrote an entry.
type indexSeen struct {
	first entrySeen // raw "": nothing seen yet
	more  []entrySeen
}

type entrySeen struct {
	// raw is the entry as first stored: term, type, data (never empty).
	// A string, not a slice, to keep an index's record in 64 bytes.
	raw      string
	term     uint64
	prevTerm uint64
	node     sim.NodeID
}

// lmNode is what the checker last read of a node: the node (a restart
// makes a new one), its write batch, and the last entry of that batch
// with its stored term, which the node's next batch follows if it
// appends after it (across a restart too: see carriesOn).
type lmNode struct {
	node           *Node
	gen            uint64
	last, lastTerm uint64 // last 0: not known
}

// NewLogMatching returns the Log Matching checker.
func NewLogMatching() *LogMatching {
	return &LogMatching{lk: newLook(1)}
}

// Name implements sim.Checker.
func (c *LogMatching) Name() string { return NameLogMatching }

// Check implements sim.Checker. A node's storage changes only while it
// runs; each write batch is checked once, and a node seen for the first
// time (or after a restart, or a skipped check) is checked in full.
func (c *LogMatching) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range c.lk.take(s, ev) {
		n := c.lk.node[id]
		if n == nil {
			continue
		}
		if t := &c.nodes[id]; t.node == n && t.gen == n.writeGen {
			continue // nothing written since the checker read n
		}
		if err := c.read(s, id, n); err != nil {
			return err
		}
	}
	c.seen.forget(c.lk.cpt.least(s))
	return nil
}

// read checks what node id (n) wrote since the checker last read it. (A
// function of its own, to keep Check's code short: see look.take.)
func (c *LogMatching) read(s *sim.Sim, id sim.NodeID, n *Node) error {
	t := &c.nodes[id]
	if carriesOn(t.node, t.gen, n) {
		t.node, t.gen = n, 0 // its writes are counted from 0
	}
	if t.node == n && t.gen == n.writeGen {
		return nil
	}
	lo, hi := n.writeLo, n.writeHi
	next := t.node == n && t.gen+1 == n.writeGen
	if !next {
		lo, hi = n.snapIndex+1, n.lastStored
	}
	// The batch is read in order, each entry's term serving as the
	// next one's previous term. The entry before the batch is the
	// last of the node's previous batch if the batch appends to it:
	// nothing else wrote to the storage since the checker read it.
	prev, prevOK := uint64(0), next && t.last > 0 && t.last+1 == lo
	if prevOK {
		prev = t.lastTerm
	}
	if lo < c.seen.base { // compacted by every node: never the case
		lo, prevOK = c.seen.base, false
	}
	if t.node != n { // (no pointer written after every batch: see look.node)
		t.node = n
	}
	t.gen, t.last, t.lastTerm = n.writeGen, 0, 0
	log := storedLog{s.Storage(id)}
	for i := lo; i <= hi; i++ {
		b, ok := log.raw(i)
		if !ok {
			prevOK = false
			continue // compacted since
		}
		if !prevOK {
			if prev, prevOK = log.term(i - 1); !prevOK {
				return fmt.Errorf("%v stores entry %d but neither entry %d nor a snapshot ending there", id, i, i-1)
			}
		}
		term, err := c.entry(id, i, b, prev)
		if err != nil {
			return err
		}
		prev = term
		if i == hi {
			t.last, t.lastTerm = hi, term
		}
	}
	return nil
}

// entry checks the stored entry b at index, after an entry of term prev,
// against the entry seen at that index and term, or records it; it
// returns b's term.
func (c *LogMatching) entry(id sim.NodeID, index uint64, b []byte, prev uint64) (uint64, error) {
	is := c.seen.at(index)
	if is.first.raw == string(b) {
		return is.first.term, is.first.follows(id, index, prev)
	}
	term, _, ok := parseEntry(b)
	if !ok {
		return 0, fmt.Errorf("%v stores entry %d as %d bytes that do not decode", id, index, len(b))
	}
	was := is.find(term)
	if was == nil {
		e := entrySeen{raw: string(b), term: term, prevTerm: prev, node: id}
		if is.first.raw == "" {
			is.first = e
		} else {
			is.more = append(is.more, e)
		}
		return term, nil
	}
	if was.raw != string(b) {
		now, then := describePair(b, []byte(was.raw))
		return 0, fmt.Errorf("entry %d/%d is %s on %v but %s on %v", index, term, now, id, then, was.node)
	}
	return term, was.follows(id, index, prev)
}

// find returns the entry seen of the given term, or nil.
func (is *indexSeen) find(term uint64) *entrySeen {
	if is.first.raw != "" && is.first.term == term {
		return &is.first
	}
	for k := range is.more {
		if is.more[k].term == term {
			return &is.more[k]
		}
	}
	return nil
}

// follows checks that the same entry on node id follows the same term.
func (e *entrySeen) follows(id sim.NodeID, index, prev uint64) error {
	if e.prevTerm != prev {
		return fmt.Errorf("entry %d/%d follows term %d on %v but term %d on %v", index, e.term, prev, id, e.prevTerm, e.node)
	}
	return nil
}

// carriesOn reports whether n, found where a checker last saw node old
// after old's write batch gen, starts from the stable storage old left
// and the checker has read all of it: old wrote nothing after the checker
// last looked, and n has written at most one batch (which the checker then
// reads). That is a restart, which reads the storage and writes nothing
// to it: a checker then needs to read only what the new incarnation
// writes, not its whole log again (restarts were two fifths of what the
// checkers read). It is also a checker copied with a run (a fork, a
// checkpoint) that meets the run's copy of the node it knew: then n is
// old at or after the same batch, and reading that batch again is
// harmless; any more batches, and the caller reads n's whole log. The
// adapter counts every batch it writes (Node.writeGen); a crash and a
// restart write nothing.
func carriesOn(old *Node, gen uint64, n *Node) bool {
	return old != nil && old != n && old.writeGen == gen && n.writeGen <= 1
}

// describePair renders two stored entries that differ: their data, and
// their stored bytes when the data reads the same (the type differs).
func describePair(a, b []byte) (string, string) {
	_, da, _ := parseEntry(a)
	_, db, _ := parseEntry(b)
	sa, sb := describeData(da), describeData(db)
	if sa == sb {
		sa, sb = fmt.Sprintf("%s (stored as %x)", sa, a), fmt.Sprintf("%s (stored as %x)", sb, b)
	}
	return sa, sb
}

// appliedLog records, per index, the entry some node applied there: every
// such entry is committed. It follows each node's applied index and reads
// the entries from the node's stable storage, comparing them as stored
// (equal bytes are equal entries).
type appliedLog struct {
	ents records[appliedEntry] // by index (below its base: compacted by every node)
	// unreported is a disagreement found by an update whose caller does
	// not report it (Leader Completeness, if it runs first), kept for
	// State Machine Safety.
	unreported error
	// doneIndex and doneCheck are the run's Index and LastCheckIndex at
	// the last update after an event (done): its second reader in the
	// same check skips it.
	doneIndex, doneCheck int64
	done                 bool
	nodes                [sim.MaxNodes + 1]alNode
}

type appliedEntry struct {
	raw  string // the entry as stored (a copy); "": none known
	term uint64
	node sim.NodeID
	// committedBy bounds the term the entry was committed in: a node
	// learns of a commit from a leader of its own term or an earlier one,
	// so the entry was committed in a term no later than the term of any
	// node that has applied it.
	committedBy uint64
}

// alNode is what the checker knows of a node: the node (a restart makes a
// new one), the last index it read the node applying (cursor), the
// node's last write batch it saw (gen), and intact: every entry up to
// intact in the node's storage was read by the checker at its apply and
// has not been written since. A restart re-applies the log from the
// snapshot, reading the same storage: the entries up to intact are the
// ones the checker compared before, and are not read again.
type alNode struct {
	node                *Node
	cursor, gen, intact uint64
}

// wrote notes that n, the node t knows, wrote since the checker last
// looked: what it rewrote is no longer intact.
func (t *alNode) wrote(n *Node) {
	if t.gen+1 == n.writeGen && n.writeLo > 0 {
		t.intact = min(t.intact, n.writeLo-1)
	} else {
		t.intact = 0 // writes the checker did not see
	}
	t.gen = n.writeGen
}

func newAppliedLog() *appliedLog { return &appliedLog{} }

// update reads what the nodes the look found applied since the last call
// and reports the first disagreement. Its two readers call it after the
// same event: the second call returns at once (and would find each
// node's cursor at its applied index if it did not).
func (a *appliedLog) update(s *sim.Sim, ev *sim.Event, lk *look, ids []sim.NodeID) error {
	idx, last := s.Index(), s.LastCheckIndex()
	if ev != nil && a.done && idx == a.doneIndex && last == a.doneCheck {
		return nil
	}
	a.done = false
	for _, id := range ids {
		n := lk.node[id]
		if n == nil {
			continue
		}
		if t := &a.nodes[id]; t.node == n {
			if t.gen != n.writeGen {
				t.wrote(n)
			}
			if n.applied <= t.cursor {
				t.cursor = n.applied
				continue // nothing applied since the checker read n
			}
		}
		if err := a.read(s, id, n); err != nil {
			return err
		}
	}
	a.ents.forget(lk.cpt.least(s))
	a.done, a.doneIndex, a.doneCheck = ev != nil, idx, last
	return nil
}

// read reads what node id (n) applied since the checker last read it.
// (A function of its own, to keep update's code short: see look.take.)
func (a *appliedLog) read(s *sim.Sim, id sim.NodeID, n *Node) error {
	t := &a.nodes[id]
	if t.node != n {
		if !carriesOn(t.node, t.gen, n) {
			t.intact = 0
		}
		t.node, t.cursor, t.gen = n, n.startApplied, 0
	}
	if t.gen != n.writeGen {
		t.wrote(n)
	}
	if n.applied <= t.cursor {
		t.cursor = n.applied
		return nil
	}
	log := storedLog{s.Storage(id)}
	from := max(t.cursor+1, a.ents.base)
	// The entries up to the node's snapshot are never applied again;
	// past intact and the snapshot, the node's entries are read from
	// from on and make intact reach its applied index if they
	// follow it.
	if from <= max(t.intact, n.snapIndex)+1 {
		from = max(from, t.intact+1)
		t.intact = n.applied // read below, or before and unchanged
	}
	t.cursor = n.applied // a disagreement is reported once
	for i := from; i <= n.applied; i++ {
		b, ok := log.raw(i)
		if !ok {
			continue // covered by a snapshot
		}
		was := a.ents.at(i)
		if was.raw == "" {
			term, _, ok := parseEntry(b)
			if !ok {
				return fmt.Errorf("%v applied entry %d, stored as %d bytes that do not decode", id, i, len(b))
			}
			*was = appliedEntry{raw: string(b), term: term, node: id, committedBy: n.term}
			continue
		}
		was.committedBy = min(was.committedBy, n.term)
		if was.raw != string(b) {
			term, _, _ := parseEntry(b)
			now, then := describePair(b, []byte(was.raw))
			return fmt.Errorf("%v applied %s (term %d) at index %d, but %v applied %s (term %d)",
				id, now, term, i, was.node, then, was.term)
		}
	}
	return nil
}

// StateMachineSafety: no two nodes apply different commands at one index
// (Raft §5.4.3).
type StateMachineSafety struct {
	lk      *look
	applied *appliedLog
}

// NewStateMachineSafety returns the State Machine Safety checker.
func NewStateMachineSafety() *StateMachineSafety {
	return &StateMachineSafety{lk: newLook(1), applied: newAppliedLog()}
}

// Name implements sim.Checker.
func (c *StateMachineSafety) Name() string { return NameStateMachineSafety }

// Check implements sim.Checker.
func (c *StateMachineSafety) Check(s *sim.Sim, ev *sim.Event) error {
	err := c.applied.update(s, ev, c.lk, c.lk.take(s, ev))
	if err == nil {
		err = c.applied.unreported
	}
	c.applied.unreported = nil
	return err
}

// LeaderCompleteness: a leader's log holds every entry committed in an
// earlier term (Raft §5.4). Checked once per leader and term, when it
// takes office, against every entry any node has applied (and so
// committed) by then in a term known to be earlier than the leader's,
// reading the leader's stable storage. (A leader of an older term may take
// office late, when delayed votes arrive, after later terms committed
// entries it lacks: that is legal.)
type LeaderCompleteness struct {
	lk      *look
	applied *appliedLog
	checked [sim.MaxNodes + 1]uint64 // the term each node's leadership was last checked in
}

// NewLeaderCompleteness returns the Leader Completeness checker.
func NewLeaderCompleteness() *LeaderCompleteness {
	return &LeaderCompleteness{lk: newLook(1), applied: newAppliedLog()}
}

// Name implements sim.Checker.
func (c *LeaderCompleteness) Name() string { return NameLeaderCompleteness }

// Check implements sim.Checker.
func (c *LeaderCompleteness) Check(s *sim.Sim, ev *sim.Event) error {
	ids := c.lk.take(s, ev)
	a := c.applied
	if err := a.update(s, ev, c.lk, ids); err != nil && a.unreported == nil {
		a.unreported = err // State Machine Safety's to report
	}
	for _, id := range ids {
		n := c.lk.node[id]
		if n == nil || n.state != raft.StateLeader || c.checked[id] == n.term {
			continue
		}
		c.checked[id] = n.term
		if err := c.leads(s, id, n); err != nil {
			return err
		}
	}
	return nil
}

// leads checks node id (n), leader of a term it was not checked in. (A
// function of its own, to keep Check's code short: see look.take.)
func (c *LeaderCompleteness) leads(s *sim.Sim, id sim.NodeID, n *Node) error {
	a := c.applied
	log := storedLog{s.Storage(id)}
	for i := max(n.snapIndex+1, a.ents.base); i < a.ents.end(); i++ {
		e := a.ents.at(i)
		if e.raw == "" || e.committedBy >= n.term {
			continue
		}
		if b, ok := log.raw(i); !ok || string(b) != e.raw {
			_, data, _ := parseEntry([]byte(e.raw))
			return fmt.Errorf("%v leads term %d without committed entry %d/%d (%s, applied by %v)",
				id, n.term, i, e.term, describeData(data), e.node)
		}
	}
	return nil
}
