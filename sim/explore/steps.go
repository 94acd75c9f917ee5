package explore

import (
	"slices"

	"github.com/synod-dev/synod/sim"
)

// The step cache. A process is a pure state machine, and a state's
// fingerprint is made of parts: one per process and one per pending event.
// When an event reaches a process, only that process's part changes, and
// the pending events change by what the handler sent, set and canceled.
// If the encoding is exact (two processes with one encoding behave alike),
// that change depends only on the process's part, the event's part and the
// parts of the process's own pending timers (which a handler may replace
// or cancel): a local step. Most branches of a search are local steps
// already taken elsewhere, by the same process in the same state, in
// another interleaving. The cache remembers each local step it has seen
// taken for real, so that the fingerprint of such a branch's state is put
// together from its parent's parts and the cached change, without copying
// the run or running the handler. When that state is new, its run is made
// when the next level rebuilds it, and it is checked then.
//
// The cache a level reads is frozen while the level is expanded: the steps
// taken during a level are added, in the order of the frontier, when it
// ends. What a search does therefore does not depend on the number of
// workers, even for a protocol whose encoding is not exact. Such an
// encoding is caught three ways: every new state is rebuilt for real and
// its fingerprint compared with the predicted one; one use of a cached
// step in sixteen (chosen by the step's key and the state's fingerprint,
// so the same ones on every run) is also taken for real; and two workers
// that took one step to different ends are noticed when the level's steps
// are merged. A step that ends elsewhere than the cache says is poisoned
// (taken for real from then on) and counted (Result.StepMismatches).

// step is a cached local step: the process's part after it, and where its
// removed and added pending events' parts are in the cache's arena.
type step struct {
	proc       uint64
	off        uint32
	nrem, nadd uint16
}

// newStep is a step a worker took during a level, to be cached when the
// level ends. Its parts are in the chunk's arena.
type newStep struct {
	key uint64
	step
}

// stepCache maps step keys to steps. It is read by every worker of a
// level and changed only between levels.
type stepCache struct {
	steps *table[step]
	arena []uint64
}

func (c *stepCache) get(key uint64) (step, bool) {
	if c.steps == nil {
		return step{}, false
	}
	return c.steps.get(key)
}

// stepsMax bounds the cache (about 40 bytes a step, with its parts); once
// full it keeps the steps it has, and the search goes on taking the others
// for real.
const stepsMax = 1 << 22

// stepPartsMax bounds the events one step may add or remove for it to be
// cached.
const stepPartsMax = 1 << 10

// poisonedStep marks a key whose step was seen to end in different states:
// it is always taken for real.
const poisonedStep = 0xffff

func (st step) poisoned() bool { return st.nrem == poisonedStep }

// add caches the steps a chunk took for real. It returns how many of them
// ended elsewhere than a step of the same key taken before: a sign that
// the encoding is inexact (the key is poisoned).
func (c *stepCache) add(ch *chunk) (conflicts int64) {
	if c.steps == nil {
		c.steps = newTable[step]()
	}
	for _, ns := range ch.steps {
		if old, ok := c.steps.get(ns.key); ok {
			if !old.poisoned() && !c.same(old, ns.step, ch.arena) {
				c.steps.put(ns.key, step{nrem: poisonedStep})
				conflicts++
			}
			continue
		}
		if c.steps.len() >= stepsMax {
			continue // full: keeps comparing, adds nothing
		}
		st := ns.step
		st.off = uint32(len(c.arena))
		c.arena = append(c.arena, ch.arena[ns.off:ns.off+uint32(ns.nrem)+uint32(ns.nadd)]...)
		c.steps.put(ns.key, st)
	}
	return conflicts
}

// same reports whether a cached step and a step of the chunk end alike.
func (c *stepCache) same(a, b step, arena []uint64) bool {
	return a.proc == b.proc && a.nrem == b.nrem && a.nadd == b.nadd &&
		slices.Equal(c.arena[a.off:a.off+uint32(a.nrem)+uint32(a.nadd)], arena[b.off:b.off+uint32(b.nrem)+uint32(b.nadd)])
}

// poison marks keys whose steps were seen to end elsewhere than cached.
func (c *stepCache) poison(keys []uint64) {
	for _, k := range keys {
		if k != 0 && c.steps != nil {
			c.steps.put(k, step{nrem: poisonedStep})
		}
	}
}

// exactProcesses says, by process index, which processes offer a state
// encoding (sim.StateAppender): only their steps are cached. A process
// fingerprinted by its Inspect view may depend on more than its view
// shows, and its steps would too often be wrong.
func exactProcesses(s *sim.Sim) []bool {
	ids := append([]sim.NodeID(nil), s.Nodes()...)
	for c := 1; c <= s.Config().Clients; c++ {
		ids = append(ids, sim.NodeID(-c))
	}
	exact := make([]bool, len(s.AppendProcessFingerprints(nil)))
	for _, id := range ids {
		if k := s.ProcessIndex(id); k >= 0 {
			_, exact[k] = s.Process(id).(sim.StateAppender)
		}
	}
	return exact
}

// key returns the step key of branch b (event j at process k).
func (p *parts) key(b *branch, k, j int, w *scratch) uint64 {
	key := stepKey(p.procs[k], w.fps[j], p.timers[k])
	if b.action == redeliver {
		key = mix(key + 1)
	}
	return key | 1 // never 0, which stepKey's callers use for "none"
}

// stepKey identifies a local step: the process's part, the event's part
// and the sum of the parts of the process's pending timers.
func stepKey(proc, event, timers uint64) uint64 {
	return mix(mix(proc^0x2545f4914f6cdd1d) ^ event + timers*0x9e3779b97f4a7c15)
}

func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// parts is a state's fingerprint parts, computed once for all its
// branches.
type parts struct {
	of     *sim.Sim // the state they are of
	gen    uint64   // counts loads: what is derived from the parts is of load gen
	procs  []uint64 // sim.Sim.AppendProcessFingerprints
	timers []uint64 // by process index: the sum of mix(part) of its pending timers
	// pendSum is the pending events' share of the fingerprint
	// (sim.Sim.PendingSum), sets whether they count as a set.
	pendSum uint64
	sets    bool
	procs2  []uint64 // scratch
	sorted  []uint64 // the pending events' parts, sorted (taken steps only)
	after   []uint64 // scratch: a child's pending parts, sorted
}

// load computes the parts of s, whose pending events (and their parts)
// are w.pend and w.fps.
func (p *parts) load(s *sim.Sim, w *scratch) {
	if w.pendOf != s {
		panic("explore: parts loaded from the pending events of another state")
	}
	p.of = s
	p.gen++
	p.procs = s.AppendProcessFingerprints(p.procs[:0])
	p.timers = slices.Grow(p.timers[:0], len(p.procs))[:len(p.procs)]
	clear(p.timers)
	for j := range w.pend {
		if w.pend[j].Kind == sim.KindTimer {
			if k := s.ProcessIndex(w.pend[j].To); k >= 0 {
				p.timers[k] += mix(w.fps[j])
			}
		}
	}
	p.sorted = p.sorted[:0]
	p.pendSum, p.sets = s.PendingSum(w.fps), s.FingerprintSets()
}

// localEvent reports whether the branch is an event reaching one process
// (a message, a client request or a timer) whose step can be cached, and
// the index of the process and of the event in w.pend.
func localEvent(s *sim.Sim, b *branch, w *scratch) (k, j int, ok bool) {
	if b.action != sim.ChoiceDeliver && b.action != redeliver {
		return 0, 0, false
	}
	j = int(b.pend)
	if j < 0 || j >= len(w.pend) || w.pend[j].ID != b.id {
		return 0, 0, false
	}
	switch w.pend[j].Kind {
	case sim.KindDeliver, sim.KindRequest, sim.KindTimer:
	default:
		return 0, 0, false
	}
	k = s.ProcessIndex(w.pend[j].To)
	return k, j, k >= 0
}

// predictStep returns the fingerprint of the state a cached step leads to
// from the state the parts are of.
func (p *parts) predictStep(st step, k int, arena []uint64, w *scratch) uint64 {
	p.procs2 = append(p.procs2[:0], p.procs...)
	p.procs2[k] = st.proc
	rem := arena[st.off : st.off+uint32(st.nrem)]
	add := arena[st.off+uint32(st.nrem) : st.off+uint32(st.nrem)+uint32(st.nadd)]
	return sim.CombineParts(p.procs2, childPendingSum(p.pendSum, p.sets, w.fps, rem, add))
}

// childPendingSum returns the pending share (sim.Sim.PendingSum) of the
// multiset fps less one copy of each part of rem (when one is left) and
// with add added, from sum, the share of fps, without building that
// multiset: a step removes and adds a few parts of many.
func childPendingSum(sum uint64, sets bool, fps, rem, add []uint64) uint64 {
	for i, r := range rem {
		left := copies(fps, r) - copies(rem[:i], r) // copies before this removal
		if left <= 0 {
			continue // none pending: nothing removed
		}
		if !sets || left == 1 {
			sum -= r
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
		sum += a
	}
	return sum
}

func copies(xs []uint64, x uint64) int {
	n := 0
	for _, y := range xs {
		if y == x {
			n++
		}
	}
	return n
}

// recordStep appends to ch the step that took s to c (branch event j at
// process k), when it is a local step: only process k changed, and the
// only pending events gone are the event itself and timers of process k.
// It returns c's fingerprint, made of the parts it listed, or 0 when it
// did not list them all.
func (p *parts) recordStep(s, c *sim.Sim, key uint64, k, j int, ch *chunk, w *scratch) uint64 {
	if c.Err() != nil || c.Stopped() != "" {
		return 0
	}
	p.procs2 = c.AppendProcessFingerprints(p.procs2[:0])
	if len(p.procs2) != len(p.procs) {
		return 0
	}
	for i := range p.procs {
		if i != k && p.procs2[i] != p.procs[i] {
			return 0
		}
	}
	if len(p.sorted) == 0 && len(w.fps) > 0 {
		p.sorted = append(p.sorted, w.fps...)
		slices.Sort(p.sorted)
	}
	p.after = c.AppendPendingFPs(p.after[:0])
	h := sim.CombineParts(p.procs2, c.PendingSum(p.after))
	slices.Sort(p.after)
	// The multiset differences: removed = before - after, added = after - before.
	off := uint32(len(ch.arena))
	var nrem, nadd int
	before, after := p.sorted, p.after
	for len(before) > 0 || len(after) > 0 {
		switch {
		case len(after) == 0 || len(before) > 0 && before[0] < after[0]:
			if !p.removable(s, before[0], k, j, w) {
				ch.arena = ch.arena[:off]
				return h
			}
			ch.arena = append(ch.arena, before[0])
			nrem++
			before = before[1:]
		case len(before) == 0 || after[0] < before[0]:
			after = after[1:]
		default:
			before, after = before[1:], after[1:]
		}
	}
	before, after = p.sorted, p.after
	for len(after) > 0 {
		switch {
		case len(before) == 0 || after[0] < before[0]:
			ch.arena = append(ch.arena, after[0])
			nadd++
			after = after[1:]
		case before[0] < after[0]:
			before = before[1:]
		default:
			before, after = before[1:], after[1:]
		}
	}
	if nrem >= stepPartsMax || nadd >= stepPartsMax {
		ch.arena = ch.arena[:off]
		return h
	}
	ch.steps = append(ch.steps, newStep{key: key, step: step{proc: p.procs2[k], off: off, nrem: uint16(nrem), nadd: uint16(nadd)}})
	return h
}

// removable reports whether a step may remove the pending event whose part
// is fp: the event the step handles, or a timer of its own process.
func (p *parts) removable(s *sim.Sim, fp uint64, k, j int, w *scratch) bool {
	if w.fps[j] == fp {
		return true
	}
	for i := range w.pend {
		if w.fps[i] == fp && w.pend[i].Kind == sim.KindTimer && s.ProcessIndex(w.pend[i].To) == k {
			return true
		}
	}
	return false
}
