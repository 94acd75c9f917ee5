package explore

import (
	"fmt"
	"sync"

	"github.com/synod-dev/synod/sim"
)

// Symmetry reduction (Options.Symmetry). When a protocol's nodes are
// interchangeable (sim.SymmetricProcess), a state and the same state with
// its node ids renamed by a permutation behave alike up to the renaming,
// and the invariants judge them alike: the search keeps one state of each
// class. A state's canonical fingerprint is the least, over every
// permutation of the nodes, of the fingerprint the renamed state would
// have: each process's part placed at its renamed position, each pending
// event's part with sender, receiver and content renamed. The states the
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
	pos    [][]int
	procs  partTable // a process's part -> its part under each permutation
	events partTable // a pending event's part -> the same
}

// symScratch is a worker's memory for canonical fingerprints.
type symScratch struct {
	buf          []byte
	procs, fps   []uint64
	pend         []*sim.Event
	list, placed []uint64
	rowsP, rowsE [][]uint64
}

func newSymmetry(root *sim.Sim) (*symmetry, error) {
	if err := root.Symmetry(); err != nil {
		return nil, err
	}
	n := root.Config().Nodes
	y := &symmetry{perms: sim.Permutations(n)}
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
	return y, nil
}

// register computes the renamings of the parts of s not yet in the
// tables. procs are s's process parts, pend and fps its pending events
// and their parts. It asserts that the identity's renaming is the part
// itself: a protocol whose permuted encoding differs from its plain one
// would make states that are one look like two.
func (y *symmetry) register(s *sim.Sim, procs []uint64, pend []*sim.Event, fps []uint64, ss *symScratch) {
	var err error
	for k, h := range procs {
		if _, ok := y.procs.get(h); ok {
			continue
		}
		row := make([]uint64, len(y.perms))
		for q, p := range y.perms {
			row[q], ss.buf, err = s.PermutedProcessFingerprint(k, p, ss.buf)
			if err != nil {
				panic(fmt.Sprintf("explore: symmetry: %v", err))
			}
		}
		if row[0] != h {
			panic(fmt.Sprintf("explore: symmetry: process %d's part is %#x, renamed by the identity %#x: AppendStatePermuted (or PermuteStored) disagrees with AppendState", k, h, row[0]))
		}
		y.procs.put(h, row)
	}
	for j, ev := range pend {
		h := fps[j]
		if _, ok := y.events.get(h); ok {
			continue
		}
		row := make([]uint64, len(y.perms))
		for q, p := range y.perms {
			row[q], ss.buf, err = sim.PermutedEventFingerprint(ev, p, ss.buf)
			if err != nil {
				panic(fmt.Sprintf("explore: symmetry: %v", err))
			}
		}
		if row[0] != h {
			panic(fmt.Sprintf("explore: symmetry: event %v's part is %#x, renamed by the identity %#x: a message's AppendStatePermuted disagrees with its AppendState", sim.Describe(ev.Msg), h, row[0]))
		}
		y.events.put(h, row)
	}
}

// canonical returns the least fingerprint, over the permutations, of the
// state made of the process parts procs and pending parts pend (all
// registered).
func (y *symmetry) canonical(s *sim.Sim, procs, pend []uint64, ss *symScratch) uint64 {
	ss.rowsP = ss.rowsP[:0]
	for _, h := range procs {
		row, ok := y.procs.get(h)
		if !ok {
			panic(fmt.Sprintf("explore: symmetry: process part %#x was never registered", h))
		}
		ss.rowsP = append(ss.rowsP, row)
	}
	ss.rowsE = ss.rowsE[:0]
	for _, h := range pend {
		row, ok := y.events.get(h)
		if !ok {
			panic(fmt.Sprintf("explore: symmetry: event part %#x was never registered", h))
		}
		ss.rowsE = append(ss.rowsE, row)
	}
	if len(ss.placed) != len(procs) {
		ss.placed = make([]uint64, len(procs))
	}
	best := ^uint64(0)
	for q := range y.perms {
		pos := y.pos[q]
		for k, row := range ss.rowsP {
			ss.placed[pos[k]] = row[q]
		}
		ss.list = ss.list[:0]
		for _, row := range ss.rowsE {
			ss.list = append(ss.list, row[q])
		}
		if fp := sim.CombineParts(ss.placed, s.PendingSum(ss.list)); fp < best {
			best = fp
		}
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
	ss := &w.sym
	ss.procs = s.AppendProcessFingerprints(ss.procs[:0])
	ss.pend, ss.fps = s.AppendPendingRefs(ss.pend[:0], ss.fps[:0])
	e.sym.register(s, ss.procs, ss.pend, ss.fps, ss)
	h = e.sym.canonical(s, ss.procs, ss.fps, ss)
	ss.pend = ss.pend[:0] // they point into s's queue
	return h
}

// listedFingerprint is fingerprint for the state w's parts and pending
// events are of (parts.load).
func (e *explorer) listedFingerprint(s *sim.Sim, w *scratch) uint64 {
	if e.sym == nil {
		return s.CombineFingerprint(w.parts.procs, w.fps)
	}
	e.sym.register(s, w.parts.procs, w.pend, w.fps, &w.sym)
	return e.sym.canonical(s, w.parts.procs, w.fps, &w.sym)
}

// predictStep returns the fingerprint of the state the cached step st of
// process k leads to from the state w's parts are of.
func (e *explorer) predictStep(s *sim.Sim, st step, k int, w *scratch) uint64 {
	if e.sym == nil {
		return w.parts.predictStep(st, k, e.steps.arena, w)
	}
	ss := &w.sym
	ss.procs = append(ss.procs[:0], w.parts.procs...)
	ss.procs[k] = st.proc
	rem := e.steps.arena[st.off : st.off+uint32(st.nrem)]
	add := e.steps.arena[st.off+uint32(st.nrem) : st.off+uint32(st.nrem)+uint32(st.nadd)]
	ss.fps = append(ss.fps[:0], w.fps...)
	for _, r := range rem { // one copy each, when one is pending
		for i, f := range ss.fps {
			if f == r {
				ss.fps[i] = ss.fps[len(ss.fps)-1]
				ss.fps = ss.fps[:len(ss.fps)-1]
				break
			}
		}
	}
	ss.fps = append(ss.fps, add...)
	return e.sym.canonical(s, ss.procs, ss.fps, ss)
}

// predictAfterSym is predict (a drop or a duplication of the pending
// event j) under symmetry; ok is false when w's parts are not of s.
func (e *explorer) predictAfterSym(s *sim.Sim, b *branch, w *scratch) (uint64, bool) {
	j := int(b.pend)
	if w.parts.of != s || w.pendOf != s || s.FingerprintSets() || j < 0 || j >= len(w.fps) || w.pend[j].ID != b.id {
		return 0, false
	}
	e.sym.register(s, w.parts.procs, w.pend, w.fps, &w.sym)
	ss := &w.sym
	ss.fps = append(ss.fps[:0], w.fps...)
	if b.action == sim.ChoiceDuplicate {
		ss.fps = append(ss.fps, w.fps[j])
	} else {
		ss.fps[j] = ss.fps[len(ss.fps)-1]
		ss.fps = ss.fps[:len(ss.fps)-1]
	}
	return e.sym.canonical(s, w.parts.procs, ss.fps, ss), true
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
// Options.Symmetry gives the run s: the least over the permutations of its
// nodes of the renamed state's fingerprint (sim.Sim.PermutedFingerprint).
// Its error says why s's nodes are not interchangeable.
func CanonicalFingerprint(s *sim.Sim) (uint64, error) {
	y, err := newSymmetry(s)
	if err != nil {
		return 0, err
	}
	e := &explorer{sym: y}
	return e.fingerprint(s, &scratch{}), nil
}
