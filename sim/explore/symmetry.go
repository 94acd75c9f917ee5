package explore

import (
	"fmt"
	"slices"
	"sync"

	"github.com/synod-dev/synod/sim"
)

// Symmetry reduction (Options.Symmetry). When a protocol's nodes are
// interchangeable (sim.SymmetricProcess), a state and the same state with
// its node ids renamed by a permutation behave alike up to the renaming,
// and the invariants judge them alike: the search keeps one state of each
// class. The group is the permutations that keep every node in its class
// (sim.SymmetryClasser; all of them when every node is interchangeable):
// 2PC's participants are interchangeable, its coordinator is fixed. A
// state's canonical fingerprint is the least, over the permutations of
// the group that order the nodes of each class by their keys (below), of the
// fingerprint the renamed state would have: each process's part placed at
// its renamed position, each pending event's part with sender, receiver
// and content renamed. The states the
// search keeps are real runs (the first of each class it finds), so a
// counterexample replays as it is.
//
// A part's renamings depend only on the part (the process's or event's
// encoding), so they are computed once per distinct part, from a real run,
// and kept in a table by the part's plain fingerprint: the step cache's
// predictions (made of parts, without a run) are canonicalised from it.
// Every part the cache predicts was in a run that was fingerprinted when
// its step was recorded, so the table has it.

type symmetry struct {
	perms []sim.Permutation
	// pos[q][k] is the index that process k takes under perms[q].
	pos [][]int
	// pairs are the pairs of process indexes of nodes of one class (the
	// processes a permutation may swap), each once: at most 10
	// (SymmetryNodesMax).
	pairs [][2]int
	// before[q] has bit t set when perms[q] places the first process of
	// pairs[t] before the second.
	before []uint16
	procs  partTable // a process's part -> its part under each permutation
	events partTable // a pending event's part -> the same
}

// symScratch is a worker's memory for canonical fingerprints.
type symScratch struct {
	buf        []byte
	procs, fps []uint64
	pend       []*sim.Event
	placed     []uint64
	sums       []uint64 // by permutation: a pending share
	rowsP      [][]uint64
	rowsE      [][]uint64
	sub, plus  [][]uint64 // a child's pending parts gone and new (their renamings)
	parent     symParent
	// procs and events' rows this worker has looked up: the tables are
	// read without a lock (there are a few thousand parts).
	localP, localE *table[[]uint64]
}

// symParent is the renamings of the parts of the state being expanded
// (w.parts), made once for all its children: a child differs from its
// parent in one process and a few pending events, so its renamed parts
// under each permutation are its parent's with those few changed.
type symParent struct {
	of     *sim.Sim
	gen    uint64     // w.parts.gen they were made for
	procs  [][]uint64 // by process: its part's renamings (in flat)
	flat   []uint64
	events [][]uint64 // by pending event (w.fps): the same
	sums   []uint64   // by permutation: the renamed pending share
	fp     uint64     // the canonical fingerprint
}

func newSymmetry(root *sim.Sim) (*symmetry, error) {
	if err := root.Symmetry(); err != nil {
		return nil, err
	}
	n := root.Config().Nodes
	// The group: the permutations that keep every node in its class
	// (all of them for a protocol whose nodes are all interchangeable).
	classes := root.SymmetryClasses()
	y := &symmetry{perms: root.SymmetryGroup()}
	if !y.perms[0].Identity() {
		panic("explore: the first permutation is not the identity")
	}
	nprocs := len(root.AppendProcessFingerprints(nil))
	for _, p := range y.perms {
		pos := make([]int, nprocs)
		for k := range pos {
			pos[k] = k // clients stay
		}
		for id := sim.NodeID(1); int(id) <= n; id++ {
			k, to := root.ProcessIndex(id), root.ProcessIndex(p.Of(id))
			if k < 0 || to < 0 {
				panic(fmt.Sprintf("explore: symmetry: node %v or %v has no process index", id, p.Of(id)))
			}
			pos[k] = to
		}
		y.pos = append(y.pos, pos)
	}
	for a := sim.NodeID(1); int(a) <= n; a++ {
		for b := a + 1; int(b) <= n; b++ {
			if classes[a-1] != classes[b-1] {
				continue // no permutation of the group swaps them: their order is fixed
			}
			y.pairs = append(y.pairs, [2]int{root.ProcessIndex(a), root.ProcessIndex(b)})
		}
	}
	if len(y.pairs) > 16 {
		panic(fmt.Sprintf("explore: symmetry: %d pairs of nodes; at most 16 fit", len(y.pairs)))
	}
	for _, pos := range y.pos {
		var bits uint16
		for t, pr := range y.pairs {
			if pos[pr[0]] < pos[pr[1]] {
				bits |= 1 << t
			}
		}
		y.before = append(y.before, bits)
	}
	return y, nil
}

// A part's row holds its renamings, by permutation, and then its key:
// the least of them. The key does not depend on which node the part is
// at: the renamings of node π(i)'s part in the state renamed by π are
// those of node i's part in the original, in another order. Only the
// permutations that place the nodes in the order of their keys are tried
// (ties in any order): for a state S and its renaming T = π(S), the
// permutations q tried on T are exactly the q∘π⁻¹ for the q tried on S,
// so the renamed states tried are the same and so is the least
// fingerprint. (π and q are of the group, which is closed under
// composition and inverse, so q∘π⁻¹ is too; only nodes of one class are
// ordered, and sorting each class by key is itself of the group, so some
// permutation is always tried.) Most states have nodes with distinct keys: one
// permutation is tried, not n!.

// symmetryKeyMistake, set by a test, keys a row by its plain part (the
// identity's renaming), which names the node the part is at: the mistake
// TestSymmetryKeyMistakeCaught exists to catch.
var symmetryKeyMistake = false

// keyOf returns the key of a row.
func keyOf(row []uint64) uint64 { return row[len(row)-1] }

// newRow returns a row with its renamings filled by at and its key set.
func (y *symmetry) newRow(at func(q int) uint64) []uint64 {
	row := make([]uint64, len(y.perms)+1)
	key := ^uint64(0)
	for q := range y.perms {
		row[q] = at(q)
		key = min(key, row[q])
	}
	if symmetryKeyMistake {
		key = row[0]
	}
	row[len(y.perms)] = key
	return row
}

// procRow returns the row of process k's part h in the run s, computing
// it on first sight. It asserts that the identity's renaming is the part
// itself: a protocol whose permuted encoding differs from its plain one
// would make states that are one look like two.
func (y *symmetry) procRow(s *sim.Sim, k int, h uint64, ss *symScratch) []uint64 {
	if row, ok := ss.local(&ss.localP, h); ok {
		return row
	}
	row, ok := y.procs.get(h)
	if !ok {
		row = y.newRow(func(q int) uint64 {
			var fp uint64
			var err error
			fp, ss.buf, err = s.PermutedProcessFingerprint(k, y.perms[q], ss.buf)
			if err != nil {
				panic(fmt.Sprintf("explore: symmetry: %v", err))
			}
			return fp
		})
		if row[0] != h {
			panic(fmt.Sprintf("explore: symmetry: process %d's part is %#x, renamed by the identity %#x: AppendStatePermuted (or PermuteStored) disagrees with AppendState", k, h, row[0]))
		}
		y.procs.put(h, row)
	}
	ss.localP.put(h, row)
	return row
}

// eventRow is procRow for the pending event ev, whose part is h.
func (y *symmetry) eventRow(ev *sim.Event, h uint64, ss *symScratch) []uint64 {
	if row, ok := ss.local(&ss.localE, h); ok {
		return row
	}
	row, ok := y.events.get(h)
	if !ok {
		row = y.newRow(func(q int) uint64 {
			var fp uint64
			var err error
			fp, ss.buf, err = sim.PermutedEventFingerprint(ev, y.perms[q], ss.buf)
			if err != nil {
				panic(fmt.Sprintf("explore: symmetry: %v", err))
			}
			return fp
		})
		if row[0] != h {
			panic(fmt.Sprintf("explore: symmetry: event %v's part is %#x, renamed by the identity %#x: a message's AppendStatePermuted disagrees with its AppendState", sim.Describe(ev.Msg), h, row[0]))
		}
		y.events.put(h, row)
	}
	ss.localE.put(h, row)
	return row
}

// local looks h up in one of the worker's tables of rows.
func (ss *symScratch) local(t **table[[]uint64], h uint64) ([]uint64, bool) {
	if *t == nil {
		*t = newTable[[]uint64]()
	}
	return (*t).get(h)
}

// registered returns the row of a part the step cache predicts. Every
// such part was in a run that was fingerprinted when its step was
// recorded, so the table has it.
func registered(t *partTable, local **table[[]uint64], h uint64, what string) []uint64 {
	if *local == nil {
		*local = newTable[[]uint64]()
	}
	if row, ok := (*local).get(h); ok {
		return row
	}
	row, ok := t.get(h)
	if !ok {
		panic(fmt.Sprintf("explore: symmetry: %s part %#x was never registered", what, h))
	}
	(*local).put(h, row)
	return row
}

// rows puts in ss.rowsP and ss.rowsE the renamings of the process parts
// procs and of the pending events pend (whose parts are fps) of s.
func (y *symmetry) rows(s *sim.Sim, procs []uint64, pend []*sim.Event, fps []uint64, ss *symScratch) {
	ss.rowsP = ss.rowsP[:0]
	for k, h := range procs {
		ss.rowsP = append(ss.rowsP, y.procRow(s, k, h, ss))
	}
	ss.rowsE = ss.rowsE[:0]
	for j, ev := range pend {
		ss.rowsE = append(ss.rowsE, y.eventRow(ev, fps[j], ss))
	}
}

// pendingSums puts in sums, by permutation, the renamed pending share of
// the events whose parts are fps and renamings rowsE: their sum, or with
// sets the sum of the distinct ones. A renaming is one-to-one, so the
// parts that are copies of one another are the same under every
// permutation: which count is decided once, on the plain parts.
func (y *symmetry) pendingSums(sums []uint64, fps []uint64, rowsE [][]uint64, sets bool) []uint64 {
	sums = append(sums[:0], make([]uint64, len(y.perms))...)
	for j, row := range rowsE {
		if sets && slices.Contains(fps[:j], fps[j]) {
			continue
		}
		for q, x := range row[:len(y.perms)] {
			sums[q] += x
		}
	}
	return sums
}

// canonical returns the least fingerprint, over the permutations that
// place the nodes in the order of their keys, of the state whose process
// parts' rows are rowsP, except process k's (when k >= 0), which is rowK,
// and whose renamed pending share is sums[q] less each sub's and plus each
// plus's.
func (y *symmetry) canonical(rowsP [][]uint64, k int, rowK []uint64, sums []uint64, sub, plus [][]uint64, ss *symScratch) uint64 {
	if len(ss.placed) != len(rowsP) {
		ss.placed = make([]uint64, len(rowsP))
	}
	placed := ss.placed
	// The order of the keys, pair by pair: care has bit t set when the
	// keys of pairs[t] differ, want when the first is the smaller.
	var care, want uint16
	for t, pr := range y.pairs {
		ka, kb := keyOf(rowsP[pr[0]]), keyOf(rowsP[pr[1]])
		if pr[0] == k {
			ka = keyOf(rowK)
		}
		if pr[1] == k {
			kb = keyOf(rowK)
		}
		if ka != kb {
			care |= 1 << t
			if ka < kb {
				want |= 1 << t
			}
		}
	}
	best, tried := ^uint64(0), 0
	for q, pos := range y.pos {
		if (y.before[q]^want)&care != 0 {
			continue // places two nodes against the order of their keys
		}
		tried++
		for i, row := range rowsP {
			placed[pos[i]] = row[q]
		}
		if k >= 0 {
			placed[pos[k]] = rowK[q]
		}
		sum := sums[q]
		for _, row := range sub {
			sum -= row[q]
		}
		for _, row := range plus {
			sum += row[q]
		}
		if fp := sim.CombineParts(placed, sum); fp < best {
			best = fp
		}
	}
	if tried == 0 {
		panic(fmt.Sprintf("explore: symmetry: no permutation orders the nodes by their keys (%d pairs)", len(y.pairs)))
	}
	return best
}

// fingerprint returns the fingerprint of the run s: its canonical one
// under symmetry.
func (e *explorer) fingerprint(s *sim.Sim, w *scratch) uint64 {
	var h uint64
	if e.sym == nil {
		h, w.buf = s.Fingerprint(w.buf)
		return h
	}
	y, ss := e.sym, &w.sym
	ss.procs = s.AppendProcessFingerprints(ss.procs[:0])
	ss.rowsP = ss.rowsP[:0]
	for k, h := range ss.procs {
		ss.rowsP = append(ss.rowsP, y.procRow(s, k, h, ss))
	}
	// The pending events' parts, unsorted; their events only when a part
	// is new to this worker.
	ss.fps = s.AppendPendingFPs(ss.fps[:0])
	ss.rowsE = ss.rowsE[:0]
	for _, h := range ss.fps {
		row, ok := ss.local(&ss.localE, h)
		if !ok {
			break
		}
		ss.rowsE = append(ss.rowsE, row)
	}
	if len(ss.rowsE) < len(ss.fps) {
		ss.pend, ss.fps = s.AppendPendingRefs(ss.pend[:0], ss.fps[:0])
		ss.rowsE = ss.rowsE[:0]
		for j, ev := range ss.pend {
			ss.rowsE = append(ss.rowsE, y.eventRow(ev, ss.fps[j], ss))
		}
		ss.pend = ss.pend[:0] // they point into s's queue
	}
	ss.sums = y.pendingSums(ss.sums, ss.fps, ss.rowsE, s.FingerprintSets())
	return y.canonical(ss.rowsP, -1, nil, ss.sums, nil, nil, ss)
}

// parent returns the renamings of the parts of the state w's parts are of
// (s), made on the first call after they were loaded.
func (y *symmetry) parent(s *sim.Sim, w *scratch) *symParent {
	sp := &w.sym.parent
	if w.parts.of != s || w.pendOf != s {
		panic("explore: symmetry: the parts listed are not of the state expanded")
	}
	if sp.of == s && sp.gen == w.parts.gen {
		return sp
	}
	ss := &w.sym
	y.rows(s, w.parts.procs, w.pend, w.fps, ss)
	sp.of, sp.gen = s, w.parts.gen
	// The process rows are read for every child: copied side by side,
	// out of the tables' scattered memory.
	width := len(y.perms) + 1
	sp.flat = slices.Grow(sp.flat[:0], len(ss.rowsP)*width)[:len(ss.rowsP)*width]
	sp.procs = sp.procs[:0]
	for i, row := range ss.rowsP {
		r := sp.flat[i*width : (i+1)*width : (i+1)*width]
		copy(r, row)
		sp.procs = append(sp.procs, r)
	}
	sp.events = append(sp.events[:0], ss.rowsE...)
	sp.sums = y.pendingSums(sp.sums, w.fps, sp.events, s.FingerprintSets())
	sp.fp = y.canonical(sp.procs, -1, nil, sp.sums, nil, nil, ss)
	return sp
}

// listedFingerprint is fingerprint for the state w's parts and pending
// events are of (parts.load).
func (e *explorer) listedFingerprint(s *sim.Sim, w *scratch) uint64 {
	if e.sym == nil {
		return s.CombineFingerprint(w.parts.procs, w.fps)
	}
	return e.sym.parent(s, w).fp
}

// child returns the canonical fingerprint of the child of the state w's
// parts are of (s) whose process k's part has the renamings rowK (k < 0:
// no process changed) and whose pending events are its parent's less one
// copy of each of rem (when one is pending) and with add added: from the
// parent's renamings, with the pending share changed as
// childPendingSum changes it.
func (y *symmetry) child(s *sim.Sim, k int, rowK []uint64, rem, add []uint64, w *scratch) uint64 {
	sp := y.parent(s, w)
	ss := &w.sym
	sets, fps := w.parts.sets, w.fps
	ss.sub, ss.plus = ss.sub[:0], ss.plus[:0]
	for i, r := range rem {
		left := copies(fps, r) - copies(rem[:i], r) // copies before this removal
		if left <= 0 {
			continue // none pending: nothing removed
		}
		if !sets || left == 1 {
			ss.sub = append(ss.sub, sp.events[slices.Index(fps, r)])
		}
	}
	for i, a := range add {
		if sets {
			n := copies(fps, a)
			n += copies(add[:i], a) - min(copies(rem, a), n)
			if n > 0 {
				continue // already counted once
			}
		}
		if j := slices.Index(fps, a); j >= 0 {
			ss.plus = append(ss.plus, sp.events[j])
		} else {
			ss.plus = append(ss.plus, registered(&y.events, &ss.localE, a, "event"))
		}
	}
	return y.canonical(sp.procs, k, rowK, sp.sums, ss.sub, ss.plus, ss)
}

// predictStep returns the fingerprint of the state the cached step st of
// process k leads to from the state w's parts are of.
func (e *explorer) predictStep(s *sim.Sim, st step, k int, w *scratch) uint64 {
	if e.sym == nil {
		return w.parts.predictStep(st, k, e.steps.arena, w)
	}
	rem := e.steps.arena[st.off : st.off+uint32(st.nrem)]
	add := e.steps.arena[st.off+uint32(st.nrem) : st.off+uint32(st.nrem)+uint32(st.nadd)]
	return e.sym.child(s, k, registered(&e.sym.procs, &w.sym.localP, st.proc, "process"), rem, add, w)
}

// predictAfterSym is predict (a drop or a duplication of the pending
// event j) under symmetry; ok is false when w's parts are not of s.
func (e *explorer) predictAfterSym(s *sim.Sim, b *branch, w *scratch) (uint64, bool) {
	j := int(b.pend)
	if w.parts.of != s || w.pendOf != s || s.FingerprintSets() || j < 0 || j >= len(w.fps) || w.pend[j].ID != b.id {
		return 0, false
	}
	one := w.fps[j : j+1]
	if b.action == sim.ChoiceDuplicate {
		return e.sym.child(s, -1, nil, nil, one, w), true
	}
	return e.sym.child(s, -1, nil, one, nil, w), true
}

// partTable maps a part's fingerprint to its renamings, for every worker
// at once.
type partTable struct {
	shards [64]partShard
}

type partShard struct {
	mu sync.RWMutex
	m  map[uint64][]uint64
	_  [32]byte // a cache line each
}

func (t *partTable) get(h uint64) ([]uint64, bool) {
	sh := &t.shards[h>>58]
	sh.mu.RLock()
	row, ok := sh.m[h]
	sh.mu.RUnlock()
	return row, ok
}

func (t *partTable) put(h uint64, row []uint64) {
	sh := &t.shards[h>>58]
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[uint64][]uint64{}
	}
	sh.m[h] = row
	sh.mu.Unlock()
}

// CanonicalFingerprint returns the fingerprint a search with
// Options.Symmetry gives the run s: the least, over the permutations of
// the group (sim.Sim.SymmetryGroup) that order each class's nodes by their
// keys, of the renamed state's
// fingerprint (sim.Sim.PermutedFingerprint). A state and its renamings
// have the same.
// Its error says why s's nodes are not interchangeable.
func CanonicalFingerprint(s *sim.Sim) (uint64, error) {
	y, err := newSymmetry(s)
	if err != nil {
		return 0, err
	}
	e := &explorer{sym: y}
	return e.fingerprint(s, &scratch{}), nil
}
