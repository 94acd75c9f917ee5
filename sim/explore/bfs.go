package explore

import (
	"fmt"
	"math/bits"
	"slices"
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
// It is 16 bytes: a level's kids are the search's largest transient
// memory.
type kid struct {
	hash   uint64
	parent int32
	branch uint16
	flags  uint8
}

const (
	// kidPanic: the step panicked: the state is kept even if seen.
	kidPanic uint8 = 1 << iota
	// kidFound: taken for real and found a violation, a panic or the
	// goal (its run is in chunk.runs).
	kidFound
	// kidPredicted: its fingerprint came from the step cache, and it is
	// not checked yet.
	kidPredicted
	// kidClaimed: a kid of the last level, not taken because a kid
	// earlier in the frontier's order claimed its state (claims). It is
	// also kidPredicted: unchecked if it is the first of its state.
	kidClaimed
	// kidQuiet: a kid of the last level checked without being made: the
	// step to it is quiet (quiet.go).
	kidQuiet
)

func (k kid) is(flag uint8) bool { return k.flags&flag != 0 }

// chunk is what a worker made of a run of consecutive frontier entries.
type chunk struct {
	kids        []kid
	transitions int64
	// found is the first state of the chunk that is a violation, a panic
	// or a goal (its run, what it is, its index in the frontier).
	found      *sim.Sim
	foundWhat  string
	steps      []newStep // steps taken for real, for the step cache
	arena      []uint64
	runs       map[int]*sim.Sim // by index in kids, for found kids
	quiet      []uint64         // quiet steps seen (quiet.go)
	mismatches int64            // cached steps that, taken for real, ended elsewhere
	poison     []uint64         // their keys
	corrected  []uint64         // the fingerprints of the states they really reached
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
// seen, the step cache and a few runs per worker.
//
// A state is checked (invariants, goal, prune) when it is rebuilt to be
// expanded, not when it is found: most children's fingerprints come from
// the step cache (steps.go) without a run. The first state of a level, in
// frontier order, that is a violation, a panic or a goal is reported; the
// frontier's order is the merge's, so it is the one found first.
func (e *explorer) bfs(root *sim.Sim) *Result {
	h := e.fingerprint(root, &scratch{})
	seen := newFPSet()
	seen.add(h)
	e.states = 1
	levels := [][]entry{{{parent: -1}}}
	hashes := []uint64{h} // the fingerprints of the last level's states
	e.exact = exactProcesses(root)
	e.verdicts = newVerdicts(root, &e.opts)
	var done []bool // by entry of the last level: checked when taken (claims)
	for depth := 0; len(levels[depth]) > 0; depth++ {
		e.report(len(levels[depth]), depth, true)
		if b := e.overBound(); b != "" {
			return &Result{Depth: depth, Bound: b}
		}
		// At the depth bound the level's states are checked, not expanded.
		last := depth >= e.opts.DepthMax
		// The level above the bound checks its children as it makes
		// them, so that the last level is not made twice.
		var cl *claims
		if depth+1 == e.opts.DepthMax && !e.opts.NoStepCache {
			cl = &claims{}
		}
		chunks, r, b := e.expandLevel(root, levels, hashes, seen, last, cl, done)
		if r != nil {
			return r
		}
		if b != "" {
			return &Result{Depth: depth, Bound: b}
		}
		if last {
			return &Result{Depth: depth, Bound: BoundDepth}
		}
		// The claims are done with: their memory is free for the merge.
		lastLevel := cl != nil
		cl = nil
		// Which kids are new is settled first, in parallel; the rest of
		// the merge reads it in the frontier's order.
		keep, nk := e.newKids(chunks, seen)
		kept := nk.kept
		// The last level, made and checked by claims, is kept only if a
		// pass over it is to come: a state left unchecked, found, or the
		// state bound hit. Else the merge only counts it.
		build := !lastLevel || nk.uncheckedOrFound || e.opts.StatesMax > 0 && e.states+int64(kept) >= e.opts.StatesMax
		var next []entry
		if build {
			next = make([]entry, 0, kept)
			hashes = slices.Grow(hashes[:0], kept)
			if lastLevel {
				done = slices.Grow(done, kept)
			}
		}
		n := 0 // the states of next (not built: counted)
		full := false
		unchecked := false // a state of next is not checked yet
		g := 0             // the index of the chunk's first kid among the level's
	merge:
		for ci := range chunks {
			ch := &chunks[ci]
			e.transitions += ch.transitions
			e.mismatches += ch.mismatches
			base := g
			g += len(ch.kids)
			if !build {
				continue // its kids are counted by newKids
			}
			for ki, k := range ch.kids {
				if x := base + ki; keep[x>>6]>>(x&63)&1 == 0 {
					continue
				}
				e.states++
				n++
				unchecked = unchecked || k.is(kidPredicted)
				if k.is(kidQuiet) {
					e.quiet++
				}
				next = append(next, entry{parent: k.parent, branch: k.branch})
				hashes = append(hashes, k.hash)
				if lastLevel {
					done = append(done, !k.is(kidPredicted))
				}
				if k.is(kidFound) {
					if !unchecked {
						run := ch.runs[ki]
						return e.found(run, e.classify(run), depth+1)
					}
					// States before it were not checked: check them in
					// order (the first found is reported).
					levels = append(levels, next)
					if done != nil {
						done[len(done)-1] = false // found again
					}
					_, r, b := e.expandLevel(root, levels, hashes, seen, true, nil, done)
					if r == nil {
						if b == "" {
							panic("explore: a state found when taken is not found when rebuilt")
						}
						return &Result{Depth: depth + 1, Bound: b}
					}
					return r
				}
				if e.opts.StatesMax > 0 && e.states >= e.opts.StatesMax {
					full = true
					break merge
				}
				e.report(n, depth+1, false)
			}
		}
		if !build {
			e.states += int64(kept)
			e.quiet += int64(nk.quiet)
			n = kept
		}
		for ci := range chunks {
			e.mismatches += e.steps.add(&chunks[ci])
			e.verdicts.add(chunks[ci].quiet)
		}
		for ci := range chunks {
			e.steps.poison(chunks[ci].poison)
		}
		if e.opts.Strict && e.mismatches > 0 {
			return &Result{Depth: depth + 1} // Run reports it
		}
		levels = append(levels, next)
		levels[depth] = levels[depth][:len(levels[depth]):len(levels[depth])]
		if depth+1 == e.opts.DepthMax && !unchecked && !full {
			// Every state of the last level was checked when it was
			// taken (claims).
			e.report(n, depth+1, true)
			return &Result{Depth: depth + 1, Bound: BoundDepth}
		}
		if full {
			// The states counted are checked before the search stops.
			if _, r, _ := e.expandLevel(root, levels, hashes, seen, true, nil, done); r != nil {
				return r
			}
			return &Result{Depth: depth + 1, Bound: BoundStates}
		}
	}
	return &Result{Depth: e.opts.DepthMax}
}

// newKids adds to seen the fingerprints of a level's kids and the
// chunks' corrected ones (chunk by chunk, its corrected ones before its
// kids: the frontier's order), and returns a bitmap, by kid in that order
// across the chunks, of the kids to keep: those whose fingerprint was new
// when added, and those that panicked (reported even when seen); and
// what they are (newKidCounts).
//
// Workers split the fingerprint set's shards among them, each taking
// every kid in order and adding those of its shards only: within a shard
// the fingerprints come in the frontier's order, so a kid is new exactly
// when it is the first of its state, whatever the number of workers.
// The fingerprints of kids past where the merge stops (a state found, the
// state bound) are added too: the search then only checks states already
// counted, and does not read seen again.
func (e *explorer) newKids(chunks []chunk, seen *fpSet) (keep []uint64, nk newKidCounts) {
	n := 0
	for ci := range chunks {
		n += len(chunks[ci].kids)
	}
	words := (n + 63) / 64
	workers := max(1, min(e.opts.Workers, fpShards, n/mergeWorkerKidsMin))
	maps := make([][]uint64, workers) // by worker: the kids it keeps
	counts := make([]newKidCounts, workers)
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*fpShards/workers, (w+1)*fpShards/workers
		mine := make([]uint64, words)
		maps[w] = mine
		wg.Add(1)
		e.spawn(func() {
			defer wg.Done()
			var c newKidCounts
			defer func() { counts[w] = c }()
			x := 0
			for ci := range chunks {
				ch := &chunks[ci]
				for _, h := range ch.corrected {
					if sh := fpShardOf(h); lo <= sh && sh < hi {
						seen.add(h)
					}
				}
				for _, k := range ch.kids {
					if sh := fpShardOf(k.hash); lo <= sh && sh < hi {
						if seen.add(k.hash) || k.is(kidPanic) {
							mine[x>>6] |= 1 << (x & 63)
							c.kept++
							if k.is(kidQuiet) {
								c.quiet++
							}
							c.uncheckedOrFound = c.uncheckedOrFound || k.flags&(kidPredicted|kidFound) != 0
						}
					}
					x++
				}
			}
		})
	}
	wg.Wait()
	keep = maps[0]
	for _, m := range maps[1:] {
		for i, b := range m {
			if keep[i]&b != 0 {
				panic(fmt.Sprintf("explore: two merge workers kept kid %d (bits %#x)", i*64+bits.TrailingZeros64(keep[i]&b), keep[i]&b))
			}
			keep[i] |= b
		}
	}
	kept := 0
	for _, b := range keep {
		kept += bits.OnesCount64(b)
	}
	for _, c := range counts {
		nk.kept += c.kept
		nk.quiet += c.quiet
		nk.uncheckedOrFound = nk.uncheckedOrFound || c.uncheckedOrFound
	}
	if nk.kept != kept {
		panic(fmt.Sprintf("explore: the merge workers counted %d kids kept, their bitmaps %d", nk.kept, kept))
	}
	return keep, nk
}

// newKidCounts says what the kids a merge keeps are.
type newKidCounts struct {
	kept  int
	quiet int // checked by quiet steps (kidQuiet)
	// uncheckedOrFound: one of them is not checked yet (kidPredicted) or
	// was found (kidFound).
	uncheckedOrFound bool
}

// mergeWorkerKidsMin: a merge worker for every so many kids at least (a
// small level is merged by one: each worker reads every kid). Tests lower
// it so that small searches merge in parallel.
var mergeWorkerKidsMin = 1 << 14

// expandLevel checks the last level's states and expands those that are
// neither found nor pruned (none when checkOnly), in chunks, in parallel.
// It returns the result when a state is found, and gives up (naming the
// bound) when the wall-time or memory bound is hit.
//
// cl, when not nil, says that the children are the last level's: each is
// checked when it is made, by the first entry (in the frontier's order)
// that claims it. checked, when not nil, says by entry which states of the
// level were checked so (they are skipped).
func (e *explorer) expandLevel(root *sim.Sim, levels [][]entry, hashes []uint64, seen *fpSet, checkOnly bool, cl *claims, checked []bool) ([]chunk, *Result, string) {
	depth := len(levels) - 1
	frontier := levels[depth]
	chunks := make([]chunk, (len(frontier)+chunkSize-1)/chunkSize)
	var stop atomic.Value
	var next atomic.Int64
	var firstFound atomic.Int64 // the lowest chunk that found a state
	firstFound.Store(int64(len(chunks)))
	var done, moves atomic.Int64 // frontier states expanded, branches taken
	var wg sync.WaitGroup
	// Each worker starts from a fork of its own: forks made here, before
	// the workers start, so that they never touch one run at once.
	workers := min(e.opts.Workers, len(chunks))
	if cl != nil {
		cl.locking = workers > 1
	}
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
				if c >= len(chunks) || stop.Load() != nil || int64(c) > firstFound.Load() {
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
					if checked != nil && checked[i] {
						continue
					}
					s := r.state(depth, int32(i))
					// A state to be expanded has its branches and parts
					// listed once, and its fingerprint made of them.
					ready := !e.opts.NoStepCache && !(checkOnly && depth > 0) && s.Stopped() == ""
					var h uint64
					if ready {
						r.list(s)
						h = e.listedFingerprint(s, &r.w)
					} else {
						h = e.fingerprint(s, &r.w)
					}
					if h != hashes[i] {
						// A cached step that ended elsewhere (steps.go).
						ch.mismatches++
						ch.corrected = append(ch.corrected, h)
						ch.poison = append(ch.poison, r.stepKey(depth, int32(i)))
						if ready { // stepKey used the scratch for the parent
							r.list(s)
						}
					}
					if depth > 0 {
						if what := e.classify(s); what != FoundNothing {
							ch.found, ch.foundWhat = s.Fork(), what
							for {
								f := firstFound.Load()
								if int64(c) >= f || firstFound.CompareAndSwap(f, int64(c)) {
									break
								}
							}
							break
						}
						if checkOnly || e.opts.Prune != nil && e.opts.Prune(s) {
							continue
						}
					}
					e.expand(s, h, int32(i), seen, ch, &r.w, ready, cl)
				}
				d, m := done.Add(int64(hi-lo)), moves.Add(ch.transitions)
				if e.opts.Progress != nil {
					e.send(Progress{States: e.states, Transitions: e.transitions + m, Frontier: len(frontier),
						Depth: depth, Expanded: int(d)})
				}
			}
		})
	}
	wg.Wait()
	if f := firstFound.Load(); f < int64(len(chunks)) {
		// Every chunk before it was done: workers take chunks in order,
		// and stop only past a chunk that found something.
		ch := &chunks[f]
		for ci := range chunks[:f+1] {
			e.transitions += chunks[ci].transitions
			e.mismatches += chunks[ci].mismatches
		}
		return nil, e.found(ch.found, ch.foundWhat, depth), ""
	}
	if b, ok := stop.Load().(string); ok {
		return nil, nil, b
	}
	return chunks, nil, ""
}

// expand appends to ch the children of s (the frontier entry i) whose
// fingerprints are not in seen (which does not change while a level is
// expanded). A child's fingerprint comes from the step cache when the
// step is cached (no run is made), else from a fork of s (sim.Sim.Fork:
// copy on write) that takes the step; the step is then recorded for the
// cache.
//
// ready says that w already holds the branches and parts of s. cl, when
// not nil, says that the children are at the depth bound: a new child
// whose fingerprint is predicted is then made and checked now, unless an
// earlier entry claimed its state, so that the last level is never
// rebuilt.
func (e *explorer) expand(s *sim.Sim, fp uint64, i int32, seen *fpSet, ch *chunk, w *scratch, ready bool, cl *claims) {
	cache := !e.opts.NoStepCache
	if !ready {
		w.bs = branches(s, &e.opts, w.bs, w)
		if cache {
			w.parts.load(s, w)
		}
	}
	if len(w.bs) > 1<<16 {
		panic(fmt.Sprintf("explore: %d branches at one state; at most 65536", len(w.bs)))
	}
	if len(w.bs) > 0 && (w.pendOf != s || cache && w.parts.of != s) {
		panic("explore: expanding a state with the branches or parts of another")
	}
	// What s's checkers remember, for quiet steps (quiet.go).
	set, judged := uint64(0), false
	if cache && e.verdicts != nil {
		set, judged = e.verdicts.set(s, w)
	}
	for bi := range w.bs {
		b := &w.bs[bi]
		ch.transitions++
		// A drop or a duplication runs no handler: its state's
		// fingerprint is known without a run.
		pred, predicted := e.predict(s, b, w)
		if predicted {
			if seen.has(pred) {
				continue
			}
			// New: made now (no handler runs) and checked with the others.
			predicted = false
		}
		k, j, local := 0, 0, false
		var key uint64
		check := false
		if cache {
			k, j, local = localEvent(s, b, w)
			local = local && e.exact[k]
			if local {
				key = w.parts.key(b, k, j, w)
				if st, ok := e.steps.get(key); ok {
					if st.poisoned() {
						local = false // taken for real, not recorded
					} else {
						pred, predicted = e.predictStep(s, st, k, w), true
						// A spot check of the encoding, on one step in
						// sixteen, chosen by the step and the state.
						check = mix(key^fp)&15 == 0
					}
				}
			}
		}
		if predicted && !check {
			if e.opts.Strict && pred == fp && twinSampled(key, fp) {
				if c := w.child(s, b); c != nil {
					e.twinCheck(s, c, k, ch, w)
					w.done(c)
				}
			}
			if seen.has(pred) {
				continue
			}
			kd := kid{hash: pred, parent: i, branch: uint16(bi), flags: kidPredicted}
			if cl == nil {
				ch.kids = append(ch.kids, kd)
				continue
			}
			if judged && e.verdicts.has(quietKey(key, set)) {
				// Checked without being made (nor claimed): a quiet step.
				kd.flags = kidQuiet
				ch.kids = append(ch.kids, kd)
				continue
			}
			if !cl.claim(pred, int64(i)<<16|int64(bi)) {
				kd.flags |= kidClaimed
				ch.kids = append(ch.kids, kd)
				continue
			}
			kd.flags = 0
			// The last level: made and checked now, by its predicted
			// fingerprint (spot checks aside, the last level's cached
			// steps are not checked against a real one).
			c := w.child(s, b)
			if c == nil {
				ch.transitions--
				continue
			}
			e.checkKid(c, kd, ch, w) // its verdict would be of no use: the last level
			continue
		}
		c := w.child(s, b)
		if c == nil {
			ch.transitions--
			continue
		}
		var h uint64
		if local && !predicted {
			h = w.parts.recordStep(s, c, key, k, j, ch, w) // 0: not listed
		}
		if h == 0 || e.sym != nil {
			h = e.fingerprint(c, w)
		}
		if check && h != pred {
			ch.mismatches++
			ch.poison = append(ch.poison, key)
			check = false // its verdict is not compared
		}
		if e.opts.Strict && local && h == fp && twinSampled(key, fp) {
			e.twinCheck(s, c, k, ch, w)
		}
		old := seen.has(h)
		panicked := c.Err() != nil
		if old && !panicked {
			w.done(c) // nothing refers to it: its memory makes the next fork
			continue  // (a panic is reported even when it changed nothing)
		}
		// The run is at hand: check it now, so that a counterexample
		// among steps taken for real is reported without rebuilding the
		// next level.
		quiet := e.checkKid(c, kid{hash: h, parent: i, branch: uint16(bi)}, ch, w)
		if !local || !judged {
			continue
		}
		qk := quietKey(key, set)
		switch {
		case quiet && cl == nil: // (at the bound it would be of no use)
			ch.quiet = append(ch.quiet, qk)
		case !quiet && check && e.verdicts.has(qk):
			// A spot check of a quiet step that was not.
			ch.mismatches++
			ch.poison = append(ch.poison, key)
		}
	}
}

// checkKid checks the run c of a child and appends it to ch's kids. It
// reports whether c is quiet: nothing found.
func (e *explorer) checkKid(c *sim.Sim, kd kid, ch *chunk, w *scratch) (quiet bool) {
	if c.Err() != nil {
		kd.flags |= kidPanic
	}
	if what := e.classify(c); what != FoundNothing {
		kd.flags |= kidFound
		if ch.runs == nil {
			ch.runs = map[int]*sim.Sim{}
		}
		ch.runs[len(ch.kids)] = c
	} else {
		quiet = true
		w.done(c)
	}
	ch.kids = append(ch.kids, kd)
	return quiet
}

// claims says which entry of a level checks each state of the next (the
// last) level: the first, in the frontier's order, to make it. An entry
// checks a state unless an earlier one claimed it, so the first always
// checks it whatever the workers' timing; a later entry that claimed it
// first checks it too, and the merge keeps the first. With one worker no
// state is made twice.
type claims struct {
	shards [64]claimShard
	// locking: claims come from several workers (else no lock is taken).
	locking bool
}

type claimShard struct {
	mu  sync.Mutex
	pos *table[int64] // by fingerprint: the earliest claim's position
	_   [48]byte      // a cache line each
}

// claimsMax bounds the claims (16 bytes each, with the table's room up
// to 32): past it, new states are left unclaimed, and a pass over the
// last level checks them (skipping those checked when taken).
var claimsMax = 1 << 24

// claim reports whether the entry at pos (parent index << 16 | branch)
// is to make and check the state h.
func (c *claims) claim(h uint64, pos int64) bool {
	sh := &c.shards[h>>58]
	if c.locking {
		sh.mu.Lock()
		defer sh.mu.Unlock()
	}
	if sh.pos == nil {
		sh.pos = newTable[int64]()
	}
	old, ok := sh.pos.get(h)
	if ok && old < pos {
		return false
	}
	if !ok && sh.pos.len() >= claimsMax/len(c.shards) {
		return false // full: left to the pass over the last level
	}
	sh.pos.put(h, pos)
	return true
}

// predict returns the fingerprint a drop or duplication branch leads to.
func (e *explorer) predict(s *sim.Sim, b *branch, w *scratch) (uint64, bool) {
	if b.action != sim.ChoiceDrop && b.action != sim.ChoiceDuplicate {
		return 0, false
	}
	if e.sym != nil {
		return e.predictAfterSym(s, b, w)
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
	path   []int32
	bsPool [][]branch // bsPool[d]: memory for chain[d].bs
}

type ancestor struct {
	idx int32
	s   *sim.Sim
	bs  []branch // its branches, computed when first needed
}

// list puts the branches and fingerprint parts of s in the scratch.
func (r *rebuilder) list(s *sim.Sim) {
	r.w.bs = branches(s, &r.e.opts, r.w.bs, &r.w)
	r.w.parts.load(s, &r.w)
}

// stepKey returns the step cache's key of the step that made entry i of
// level d from its parent, as the parent's expansion computed it (the
// ancestors of the entry must be the ones the last call to state made).
func (r *rebuilder) stepKey(d int, i int32) uint64 {
	a := &r.chain[d-1]
	b := &a.bs[r.levels[d][i].branch]
	w := &r.w
	w.pend, w.fps = a.s.AppendPendingRefs(w.pend[:0], w.fps[:0])
	w.pendOf = a.s
	w.parts.load(a.s, w)
	k, j, ok := localEvent(a.s, b, w)
	if !ok {
		return 0
	}
	return w.parts.key(b, k, j, w)
}

// state returns the run of entry i of level d. The caller must not change
// it (fork it first) nor keep it past the next call.
func (r *rebuilder) state(d int, i int32) *sim.Sim {
	// The path from the root, as entry indexes per level.
	r.path = slices.Grow(r.path[:0], d+1)[:d+1]
	path := r.path
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
			for len(r.bsPool) < l {
				r.bsPool = append(r.bsPool, nil)
			}
			a.bs = branches(a.s, &r.e.opts, r.bsPool[l-1][:0], &r.w)
			r.bsPool[l-1] = a.bs
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

// Twin checks. A step that changes only what the encoding leaves out ends
// in a state with its parent's fingerprint (on the set network a delivered
// message stays in flight): the search drops it as seen, and never takes a
// step from it, so the step cache cannot see that it behaves otherwise
// than its parent. Such a child is a twin of its parent. On one such
// step in eight (chosen by the step and the state, so the same ones on
// every run), every local step of the same process is taken from both
// twins: an exact encoding makes them end in one state. Two ends are
// counted as a mismatch (Result.StepMismatches), like a cached step that
// ended elsewhere. They run in strict searches only (Options.Strict, the
// tests): on 3-node Raft to depth 10 they double the CPU time.
func twinSampled(key, fp uint64) bool { return mix(key^fp^0x51ed27a3b9f4c1d5)&7 == 0 }

// twinCheck takes each local step of process k from s and from its twin c
// (a child of s with s's fingerprint) and counts the steps that end apart.
// w must hold the branches and parts of s.
func (e *explorer) twinCheck(s, c *sim.Sim, k int, ch *chunk, w *scratch) {

	for bi := range w.bs {
		b := &w.bs[bi]
		k2, j2, local := localEvent(s, b, w)
		if !local || k2 != k {
			continue
		}
		x := w.child(s, b)
		if x == nil {
			continue
		}
		y := w.fork(c)
		if b.take(y) != nil {
			// The twin's step consumed the event (a timer that fired).
			w.done(y)
			w.done(x)
			continue
		}
		hx, hy := e.fingerprint(x, w), e.fingerprint(y, w)
		if hx != hy || (x.Err() == nil) != (y.Err() == nil) {
			ch.mismatches++
			ch.poison = append(ch.poison, w.parts.key(b, k2, j2, w))
		}
		w.done(x)
		w.done(y)
	}
}
