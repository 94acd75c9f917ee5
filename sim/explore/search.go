package explore

import (
	"sync"
	"sync/atomic"

	"github.com/synod-dev/synod/sim"
)

// scratch is one worker's reusable buffers.
type scratch struct {
	buf  []byte
	bs   []branch
	pend []*sim.Event // into the queue of pendOf (sim.Sim.AppendPendingRefs)
	fps  []uint64
	// pendOf is the state whose pending events pend and fps list.
	pendOf *sim.Sim
	// parts are the fingerprint parts of the state being expanded, for
	// the step cache.
	parts parts
	// spares are forks the worker is done with, whose memory makes its
	// next forks (sim.Sim.ForkInto).
	spares []*sim.Sim
	sym    symScratch // canonical fingerprints (symmetry.go)
}

// fork forks s into a spare, if there is one.
func (w *scratch) fork(s *sim.Sim) *sim.Sim {
	var old *sim.Sim
	if n := len(w.spares); n > 0 {
		old = w.spares[n-1]
		w.spares = w.spares[:n-1]
	}
	return s.ForkInto(old)
}

// child forks s and takes branch b in the fork; nil (the fork given
// back) when the branch is void.
func (w *scratch) child(s *sim.Sim, b *branch) *sim.Sim {
	c := w.fork(s)
	if b.take(c) != nil {
		w.done(c)
		return nil
	}
	return c
}

// done gives back a fork nothing refers to any more.
func (w *scratch) done(s *sim.Sim) {
	if len(w.spares) < 16 {
		w.spares = append(w.spares, s)
	}
}

// dfs searches depth-first, one goroutine (its order would otherwise
// depend on scheduling). A state is expanded again only when it is reached
// at a smaller depth than before, so the depth bound stays exact.
func (e *explorer) dfs(root *sim.Sim) *Result {
	type frame struct {
		s     *sim.Sim
		depth int
	}
	var w scratch
	seen := map[uint64]int{e.fingerprint(root, &w): 0}
	e.states = 1
	stack := []frame{{root.Fork(), 0}}
	bound := ""
	deepest := 0
	var pops int64
	for len(stack) > 0 {
		pops++
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		deepest = max(deepest, f.depth)
		if f.depth >= e.opts.DepthMax {
			bound = BoundDepth
			continue
		}
		if pops%1024 == 0 {
			if b := e.overBound(); b != "" {
				return &Result{Depth: deepest, Bound: b}
			}
		}
		bs := branches(f.s, &e.opts, w.bs, &w)
		w.bs = bs
		// Push in reverse so the first branch is explored first.
		for i := len(bs) - 1; i >= 0; i-- {
			c := f.s
			if i > 0 {
				c = f.s.Fork()
			}
			if bs[i].take(c) != nil {
				continue
			}
			e.transitions++
			hc := e.fingerprint(c, &w)
			if d, ok := seen[hc]; ok && d <= f.depth+1 && c.Err() == nil {
				continue
			} else if !ok {
				e.states++
			}
			seen[hc] = f.depth + 1
			if what := e.classify(c); what != FoundNothing {
				return e.found(c, what, f.depth+1)
			}
			if e.opts.StatesMax > 0 && e.states >= e.opts.StatesMax {
				return &Result{Depth: max(deepest, f.depth+1), Bound: BoundStates}
			}
			if e.opts.Prune == nil || !e.opts.Prune(c) {
				stack = append(stack, frame{c, f.depth + 1})
			}
		}
		e.report(len(stack), deepest, false)
	}
	return &Result{Depth: deepest, Bound: bound}
}

// walks runs Walks seeded random walks of at most DepthMax choices each.
// Workers take walks in index order; the result is the lowest-numbered
// walk that found something, whatever the number of workers.
func (e *explorer) walks(root *sim.Sim) *Result {
	n := e.opts.Walks
	results := make([]*Result, n)
	steps := make([]int64, n)
	var best atomic.Int64
	best.Store(int64(n))
	var next atomic.Int64
	var stop atomic.Value // bound name
	var wg sync.WaitGroup
	for range min(e.opts.Workers, n) {
		wg.Add(1)
		mine := root.Fork() // each worker forks a run of its own
		e.spawn(func() {
			defer wg.Done()
			var w scratch
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || i > best.Load() {
					return
				}
				if stop.Load() != nil {
					return
				}
				results[i], steps[i] = e.walk(mine, int(i), &w)
				if results[i] != nil {
					for {
						b := best.Load()
						if i >= b || best.CompareAndSwap(b, i) {
							break
						}
					}
				}
				if i%64 == 63 {
					if b := e.overBound(); b != "" {
						stop.Store(b)
					}
				}
			}
		})
	}
	wg.Wait()
	for i := range n {
		e.states += steps[i]
		e.transitions += steps[i]
		if results[i] != nil {
			r := results[i]
			r.Walk, r.Walks = i, n
			return r
		}
	}
	r := &Result{Depth: e.opts.DepthMax, Walks: n}
	if b, ok := stop.Load().(string); ok {
		r.Bound = b
	}
	return r
}

// walk is one random walk, seeded from (Seed, i).
func (e *explorer) walk(root *sim.Sim, i int, w *scratch) (*Result, int64) {
	if e.opts.Mode == PCT {
		return e.pctWalk(root, i, w)
	}
	rng := sim.NewRand(e.opts.Seed, "walk/"+itoa(i))
	s := root.Fork()
	s.DeferChecks(false)
	var steps int64
	for depth := 0; depth < e.opts.DepthMax; depth++ {
		w.bs = branches(s, &e.opts, w.bs, w)
		if len(w.bs) == 0 {
			break
		}
		b := w.bs[rng.IntN(len(w.bs))]
		if b.take(s) != nil {
			// A void branch changes nothing but the queue; go on.
			continue
		}
		steps++
		if what := e.classify(s); what != FoundNothing {
			return e.found(s, what, depth+1), steps
		}
		if e.opts.Prune != nil && e.opts.Prune(s) {
			break
		}
	}
	return nil, steps
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	return string(b[n:])
}

// spawn starts a worker through Options.Spawn, or runs it at once.
func (e *explorer) spawn(worker func()) {
	if e.opts.Spawn != nil {
		e.opts.Spawn(worker)
		return
	}
	worker()
}
