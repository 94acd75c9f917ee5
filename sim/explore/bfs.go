package explore

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/synod-dev/synod/sim"
)

// entry is a frontier state: the branch taken from its parent, the entry
// at index parent of the level above.
type entry struct {
	parent int32
	branch uint16
}

// kid is a child state found new by a worker (its fingerprint was not
// seen before the level began); the merge decides whether it is new.
type kid struct {
	hash   uint64
	parent int32
	branch uint16
	flags  uint8
}

const (
	kidPrune uint8 = 1 << iota // do not expand it
	kidFound                   // a violation, panic or goal: its run is in chunk.runs
	kidPanic                   // a panic: reported even if its fingerprint was seen
)

// chunk is what a worker made of a run of consecutive frontier entries.
type chunk struct {
	kids        []kid
	runs        map[int]*sim.Sim // by index in kids, for kidFound
	transitions int64
}

// chunkSize is how many frontier entries a worker takes at once: large
// enough that rebuilding the shared ancestors is paid once per chunk.
const chunkSize = 512

// bfs is level-synchronous: a level's states are expanded in parallel, and
// their children merged in (parent, branch) order, so the states kept, the
// counts and the counterexample do not depend on the number of workers.
//
// The frontier is a tree of branch indexes, 8 bytes a state, not a list
// of runs (several kilobytes each): a level's state is rebuilt from its
// parent's. Workers take the frontier in order and keep the chain of
// ancestors of the last state they rebuilt, so each state of the level
// above is rebuilt about once per chunk. Memory is then the fingerprints
// seen plus a few runs per worker.
func (e *explorer) bfs(root *sim.Sim) *Result {
	h, _ := root.Fingerprint(nil)
	seen := map[uint64]struct{}{h: {}}
	e.states = 1
	levels := [][]entry{{{parent: -1}}}
	for depth := 0; len(levels[depth]) > 0; depth++ {
		e.report(len(levels[depth]), depth, true)
		if depth >= e.opts.DepthMax {
			return &Result{Depth: depth, Bound: BoundDepth}
		}
		if b := e.overBound(); b != "" {
			return &Result{Depth: depth, Bound: b}
		}
		chunks, b := e.expandLevel(root, levels, seen)
		if b != "" {
			return &Result{Depth: depth, Bound: b}
		}
		var next []entry
		for _, ch := range chunks {
			e.transitions += ch.transitions
			for ki, k := range ch.kids {
				if _, ok := seen[k.hash]; ok && k.flags&kidPanic == 0 {
					continue
				}
				seen[k.hash] = struct{}{}
				e.states++
				if k.flags&kidFound != 0 {
					s := ch.runs[ki]
					return e.found(s, e.classify(s), depth+1)
				}
				if e.opts.StatesMax > 0 && e.states >= e.opts.StatesMax {
					return &Result{Depth: depth + 1, Bound: BoundStates}
				}
				if k.flags&kidPrune == 0 {
					next = append(next, entry{parent: k.parent, branch: k.branch})
				}
				e.report(len(next), depth+1, false)
			}
		}
		levels = append(levels, next)
		levels[depth] = levels[depth][:len(levels[depth]):len(levels[depth])]
	}
	return &Result{Depth: e.opts.DepthMax}
}

// expandLevel expands the last level's states in chunks, in parallel. It
// gives up (naming the bound) when the wall-time or memory bound is hit.
func (e *explorer) expandLevel(root *sim.Sim, levels [][]entry, seen map[uint64]struct{}) ([]chunk, string) {
	frontier := levels[len(levels)-1]
	chunks := make([]chunk, (len(frontier)+chunkSize-1)/chunkSize)
	var stop atomic.Value
	var next atomic.Int64
	var done, moves atomic.Int64 // frontier states expanded, branches taken
	var wg sync.WaitGroup
	// Each worker starts from a fork of its own: forks made here, before
	// the workers start, so that they never touch one run at once.
	workers := min(e.opts.Workers, len(chunks))
	roots := make([]*sim.Sim, workers)
	for w := range roots {
		roots[w] = root.Fork()
	}
	for wi := range workers {
		wg.Add(1)
		mine := roots[wi]
		e.spawn(func() {
			defer wg.Done()
			r := rebuilder{e: e, root: mine, levels: levels}
			for {
				c := int(next.Add(1) - 1)
				if c >= len(chunks) || stop.Load() != nil {
					return
				}
				if b := e.overBound(); b != "" {
					stop.Store(b)
					return
				}
				lo := c * chunkSize
				hi := min(lo+chunkSize, len(frontier))
				ch := &chunks[c]
				for i := lo; i < hi; i++ {
					e.expand(r.state(len(levels)-1, int32(i)), int32(i), seen, ch, &r.w)
				}
				d, m := done.Add(int64(hi-lo)), moves.Add(ch.transitions)
				if e.opts.Progress != nil {
					e.send(Progress{States: e.states, Transitions: e.transitions + m, Frontier: len(frontier),
						Depth: len(levels) - 1, Expanded: int(d)})
				}
			}
		})
	}
	wg.Wait()
	if b, ok := stop.Load().(string); ok {
		return nil, b
	}
	return chunks, ""
}

// expand appends to ch the children of s (the frontier entry i) whose
// fingerprints are not in seen (which does not change while a level is
// expanded). Each child is a fork of s (sim.Sim.Fork: copy on write),
// checked only if its state is new.
func (e *explorer) expand(s *sim.Sim, i int32, seen map[uint64]struct{}, ch *chunk, w *scratch) {
	w.bs = branches(s, &e.opts, w.bs, w)
	for bi := range w.bs {
		ch.transitions++
		// A drop or a duplication runs no handler: its state's
		// fingerprint is known before the run is copied, and a state seen
		// before costs no copy.
		pred, predicted := e.predict(s, &w.bs[bi], w)
		if _, ok := seen[pred]; ok && predicted {
			continue
		}
		c := w.fork(s)
		if w.bs[bi].take(c) != nil {
			ch.transitions--
			w.done(c)
			continue
		}
		var h uint64
		h, w.buf = c.Fingerprint(w.buf)
		if predicted && h != pred {
			panic(fmt.Sprintf("explore: %s of event %d predicted fingerprint %x, got %x", w.bs[bi].action, w.bs[bi].id, pred, h))
		}
		if _, ok := seen[h]; ok && c.Err() == nil {
			w.done(c) // nothing refers to it: its memory makes the next fork
			continue  // (a panic is reported even when it changed nothing)
		}
		k := kid{hash: h, parent: i, branch: uint16(bi)}
		if what := e.classify(c); what != FoundNothing {
			k.flags |= kidFound
			if what == FoundPanic {
				k.flags |= kidPanic
			}
			if ch.runs == nil {
				ch.runs = map[int]*sim.Sim{}
			}
			ch.runs[len(ch.kids)] = c
		} else {
			if e.opts.Prune != nil && e.opts.Prune(c) {
				k.flags |= kidPrune
			}
			w.done(c) // the frontier keeps the branch, not the run
		}
		ch.kids = append(ch.kids, k)
	}
	if len(w.bs) > 1<<16 {
		panic(fmt.Sprintf("explore: %d branches at one state; at most 65536", len(w.bs)))
	}
}

// predict returns the fingerprint a drop or duplication branch leads to.
func (e *explorer) predict(s *sim.Sim, b *branch, w *scratch) (uint64, bool) {
	if b.action != sim.ChoiceDrop && b.action != sim.ChoiceDuplicate {
		return 0, false
	}
	fp, ok, buf := s.FingerprintAfter(b.id, b.action == sim.ChoiceDuplicate, w.buf)
	w.buf = buf
	return fp, ok
}

// rebuilder makes frontier states from the root by their branch indexes,
// keeping the chain of ancestors of the last state it made.
type rebuilder struct {
	e      *explorer
	root   *sim.Sim
	levels [][]entry
	chain  []ancestor // chain[d] is the state at depth d on the last path
	w      scratch
}

type ancestor struct {
	idx int32
	s   *sim.Sim
	bs  []branch // its branches, computed when first needed
}

// state returns the run of entry i of level d. The caller must not change
// it (fork it first) nor keep it past the next call.
func (r *rebuilder) state(d int, i int32) *sim.Sim {
	// The path from the root, as entry indexes per level.
	path := make([]int32, d+1)
	for l, j := d, i; l >= 0; l-- {
		if j < 0 || int(j) >= len(r.levels[l]) {
			panic(fmt.Sprintf("explore: level %d has no entry %d (the frontier tree is broken)", l, j))
		}
		path[l] = j
		j = r.levels[l][j].parent
	}
	if path[0] != 0 {
		panic("explore: a path does not start at the root")
	}
	if len(r.chain) == 0 {
		r.chain = append(r.chain, ancestor{idx: 0, s: r.root})
	}
	if d == 0 {
		return r.chain[0].s
	}
	keep := 1
	for keep < len(r.chain) && keep <= d && r.chain[keep].idx == path[keep] {
		keep++
	}
	for _, a := range r.chain[keep:] {
		r.w.done(a.s)
	}
	r.chain = r.chain[:keep]
	for l := keep; l <= d; l++ {
		a := &r.chain[l-1]
		if a.bs == nil {
			a.bs = append([]branch(nil), branches(a.s, &r.e.opts, nil, &r.w)...)
		}
		c := r.w.fork(a.s)
		bi := int(r.levels[l][path[l]].branch)
		if bi >= len(a.bs) {
			panic(fmt.Sprintf("explore: rebuilding level %d entry %d: branch %d of %d", l, path[l], bi, len(a.bs)))
		}
		b := a.bs[bi]
		if err := b.take(c); err != nil {
			panic(fmt.Sprintf("explore: rebuilding level %d entry %d: branch %d does not replay: %v", l, path[l], r.levels[l][path[l]].branch, err))
		}
		c.RunDeferredChecks() // as when the state was first made
		r.chain = append(r.chain, ancestor{idx: path[l], s: c})
	}
	return r.chain[d].s
}
