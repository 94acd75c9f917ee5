package explore

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/synod-dev/synod/sim"
)

// child is a state reached from a frontier state by one branch. The
// frontier keeps states as their choices from the root, not as runs: a run
// is tens of kilobytes, a path a few hundred bytes, and rebuilding a run
// from its path costs about one more copy per expanded state.
type child struct {
	s       *sim.Sim // kept only when the child is a counterexample or goal
	choices []sim.Choice
	hash    uint64
	found   string
	prune   bool
	dup     bool // its state was seen at an earlier level
}

// rebuild makes the run a path leads to from the root.
func (e *explorer) rebuild(root *sim.Sim, path []sim.Choice) (*sim.Sim, error) {
	var s *sim.Sim
	if e.opts.Fresh != nil {
		var err error
		if s, err = e.opts.Fresh(); err != nil {
			return nil, err
		}
		Prepare(s)
	} else {
		s = root.Clone()
	}
	for _, c := range path {
		if err := s.Apply(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// expand computes the children of s not already in seen (which must not
// change while expand runs), in branch order. It consumes s.
func (e *explorer) expand(root, s *sim.Sim, seen map[uint64]struct{}, buf []byte, bs []branch) ([]child, []byte, []branch) {
	bs = branches(s, &e.opts, bs)
	out := make([]child, 0, len(bs))
	path := append([]sim.Choice(nil), s.Choices()...)
	for i := range bs {
		c := s
		if i < len(bs)-1 {
			if e.opts.Fresh != nil {
				var err error
				if c, err = e.rebuild(root, path); err != nil {
					panic(fmt.Sprintf("explore: a path from the root does not replay: %v", err))
				}
			} else {
				c = s.Clone()
			}
		}
		if bs[i].take(c) != nil {
			continue
		}
		var h uint64
		h, buf = Hash(c, buf)
		if _, ok := seen[h]; ok {
			out = append(out, child{hash: h, dup: true}) // counted as a transition only
			continue
		}
		ch := child{hash: h, found: e.classify(c)}
		if ch.found != FoundNothing {
			ch.s = c
		} else if e.opts.Prune != nil {
			ch.prune = e.opts.Prune(c)
		}
		if !ch.prune {
			ch.choices = append([]sim.Choice(nil), c.Choices()...)
		}
		out = append(out, ch)
	}
	return out, buf, bs
}

// bfs is level-synchronous: a level's states are expanded in parallel, and
// their children merged in (parent, branch) order, so the states kept, the
// counts and the counterexample do not depend on the number of workers.
func (e *explorer) bfs(root *sim.Sim) *Result {
	h, _ := Hash(root, nil)
	seen := map[uint64]struct{}{h: {}}
	e.states = 1
	frontier := [][]sim.Choice{nil}
	for depth := 0; len(frontier) > 0; depth++ {
		e.report(len(frontier), depth, true)
		if depth >= e.opts.DepthMax {
			return &Result{Depth: depth, Bound: BoundDepth}
		}
		if b := e.overBound(); b != "" {
			return &Result{Depth: depth, Bound: b}
		}
		kids, b := e.expandLevel(root, frontier, seen)
		if b != "" {
			return &Result{Depth: depth, Bound: b}
		}
		frontier = frontier[:0:0]
		for _, cs := range kids {
			for _, c := range cs {
				e.transitions++
				if c.dup {
					continue
				}
				if _, ok := seen[c.hash]; ok {
					continue
				}
				seen[c.hash] = struct{}{}
				e.states++
				if c.found != FoundNothing {
					return e.found(c.s, c.found)
				}
				if e.opts.StatesMax > 0 && e.states >= e.opts.StatesMax {
					return &Result{Depth: depth + 1, Bound: BoundStates}
				}
				if !c.prune {
					frontier = append(frontier, c.choices)
				}
				e.report(len(frontier), depth+1, false)
			}
		}
	}
	return &Result{Depth: e.opts.DepthMax}
}

// expandLevel expands every frontier state. It gives up (naming the bound)
// when the wall-time or memory bound is hit during the level.
func (e *explorer) expandLevel(root *sim.Sim, frontier [][]sim.Choice, seen map[uint64]struct{}) ([][]child, string) {
	kids := make([][]child, len(frontier))
	var stop atomic.Value
	workers := min(e.opts.Workers, len(frontier))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		e.spawn(func() {
			defer wg.Done()
			var buf []byte
			var bs []branch
			for {
				i := int(next.Add(1) - 1)
				if i >= len(frontier) || stop.Load() != nil {
					return
				}
				if i%256 == 255 {
					if b := e.overBound(); b != "" {
						stop.Store(b)
						return
					}
				}
				s, err := e.rebuild(root, frontier[i])
				if err != nil {
					panic(fmt.Sprintf("explore: a path from the root does not replay: %v", err))
				}
				kids[i], buf, bs = e.expand(root, s, seen, buf, bs)
				frontier[i] = nil // let the path go
			}
		})
	}
	wg.Wait()
	if b, ok := stop.Load().(string); ok {
		return nil, b
	}
	return kids, ""
}

// dfs searches depth-first, one goroutine (its order would otherwise
// depend on scheduling). A state is expanded again only when it is reached
// at a smaller depth than before, so the depth bound stays exact.
func (e *explorer) dfs(root *sim.Sim) *Result {
	type frame struct {
		s     *sim.Sim
		depth int
	}
	h, buf := Hash(root, nil)
	seen := map[uint64]int{h: 0}
	e.states = 1
	stack := []frame{{root, 0}}
	var bs []branch
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
		bs = branches(f.s, &e.opts, bs)
		// Push in reverse so the first branch is explored first.
		for i := len(bs) - 1; i >= 0; i-- {
			c := f.s.Clone()
			if bs[i].take(c) != nil {
				continue
			}
			e.transitions++
			var hc uint64
			hc, buf = Hash(c, buf)
			if d, ok := seen[hc]; ok && d <= f.depth+1 {
				continue
			} else if !ok {
				e.states++
			}
			seen[hc] = f.depth + 1
			if what := e.classify(c); what != FoundNothing {
				return e.found(c, what)
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
		e.spawn(func() {
			defer wg.Done()
			var bs []branch
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || i > best.Load() {
					return
				}
				if stop.Load() != nil {
					return
				}
				results[i], steps[i], bs = e.walk(root, int(i), bs)
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
func (e *explorer) walk(root *sim.Sim, i int, bs []branch) (*Result, int64, []branch) {
	rng := sim.NewRand(e.opts.Seed, "walk/"+itoa(i))
	s := root.Clone()
	var steps int64
	for depth := 0; depth < e.opts.DepthMax; depth++ {
		bs = branches(s, &e.opts, bs)
		if len(bs) == 0 {
			break
		}
		b := bs[rng.IntN(len(bs))]
		if b.take(s) != nil {
			// A void branch changes nothing but the queue; go on.
			continue
		}
		steps++
		if what := e.classify(s); what != FoundNothing {
			return e.found(s, what), steps, bs
		}
		if e.opts.Prune != nil && e.opts.Prune(s) {
			break
		}
	}
	return nil, steps, bs
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
