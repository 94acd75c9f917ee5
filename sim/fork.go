package sim

import (
	"fmt"
	"slices"
)

// ProcessCloner is implemented by processes that copy themselves. Fork
// uses it to copy a process only when a branch changes it; without it the
// process is deep-copied by reflection, which is correct but about a
// hundred times slower. The contract: a process value that has been
// cloned is never changed again (the simulator clones it before any
// handler of either side runs), so the copy may share with the original
// anything it never changes in place (options, immutable messages) and
// anything it replaces with a copy of its own before its first change
// (Raft shares its state machine until it applies a command).
type ProcessCloner interface {
	CloneProcess() Process
}

// ProcessRecycler is a ProcessCloner that can copy itself into the memory
// of a process of its kind that nothing refers to any more (one a model
// checker's discarded fork had copied for itself; see ForkInto), saving an
// allocation. spare may be of another kind: then it is a CloneProcess.
// What the copy shares with the original is as for CloneProcess; spare's
// own fields are all overwritten.
type ProcessRecycler interface {
	ProcessCloner
	CloneProcessInto(spare Process) Process
}

// CheckerCloner is implemented by checkers that copy themselves, for the
// same purpose. A checker's copy may keep pointers to processes the
// original saw (they are never changed once a branch has copied them).
type CheckerCloner interface {
	CloneChecker() Checker
}

// CheckerSharer is implemented by checkers that a run and its forks may
// share: CheckShared checks like Check without changing the checker, and
// when it has something new to remember (a leader of a new term) it
// returns a changed copy, which replaces the checker in this run only.
// A model checker then copies such a checker when it learns something,
// not at every step. It keeps no count of the events it saw: the run's
// LastCheckIndex says whether it saw the one before this.
type CheckerSharer interface {
	CheckShared(s *Sim, ev *Event) (next Checker, err error)
}

// CheckerLocal is a CheckerSharer that looks, after an event delivered to
// a process (a message, a client request or a timer), at that process
// only: what CheckShared returns then (the error, and whether it returns
// a changed copy) depends only on what the checker remembers, the event
// and that process's state after the event, provided the checker saw
// every event before it (LastCheckIndex is Index()-1). A model checker
// may then reuse the verdict of one such step for another that takes the
// same process, in the same state, through the same event, under a
// checker that remembers the same (see "Quiet steps" in docs/explore.md).
//
// AppendCheckerState appends a canonical encoding of what the checker
// remembers: two checkers of one type with equal encodings judge alike.
type CheckerLocal interface {
	CheckerSharer
	AppendCheckerState(dst []byte) []byte
}

// Fork returns an independent copy of the run for a model checker, cheaply:
// the copy shares with the original every process, stable storage, random
// stream, timer set, checker and the network, and whichever of the two
// changes one of them first copies it then (copy on write). Making a fork
// costs a copy of the event queue and of a few small structs; stepping a
// fork copies only the process the event goes to. The copy has no
// observers. Forks and the original may be used from different goroutines
// once made, but Fork itself must not race with a use of the original.
func (s *Sim) Fork() *Sim { return s.ForkInto(nil) }

// ForkInto is Fork reusing the memory of old, a fork of this run's size
// that its owner has finished with and that nothing else refers to (a
// search's branch that led to a state already seen). old may be nil.
//
// The processes and stores old had copied for itself, and never shared
// with a fork of its own, are reused too, by the new fork's first copies
// (ProcessRecycler). Nothing else can refer to them: a fork of old would
// have marked them shared, and the checkers old copied or replaced for
// itself, the only ones that may keep pointers to them, die with it.
func (s *Sim) ForkInto(old *Sim) *Sim {
	p := s.st
	var c *state
	var envs []Env
	var b *forkBlock
	var heap []qent
	var slab []Event
	var choices []Choice
	var free []int32
	var spareP [len(forkBlock{}.envs)]Process
	var spareS [len(forkBlock{}.envs)]*Storage
	if old != nil && old.blk != nil && old != s && len(old.st.procs) == len(p.procs) {
		b = old.blk
		if len(old.st.procs) <= len(spareP) {
			for i, oe := range old.st.procs {
				spareP[i], spareS[i] = oe.spareP, oe.spareS // unused ones
				if oe.cow&cowProcess == 0 && oe.p != nil {
					spareP[i] = oe.p
				}
				if oe.cow&cowStore == 0 && oe.store != nil && oe.store.blk != nil {
					spareS[i] = oe.store
				}
			}
		}
		heap, slab, free = old.st.q.heap[:0], old.st.q.slab[:0], old.st.q.free[:0]
		if old.st.ownChoices {
			choices = old.st.choices[:0]
		}
	}
	if len(p.procs) <= len(forkBlock{}.envs) {
		// Small runs (the usual subject of a search): one allocation.
		if b == nil {
			b = &forkBlock{}
		}
		c, envs = &b.st, b.envs[:len(p.procs)]
		c.procs = b.procs[:len(p.procs)]
	} else {
		c = &state{}
		envs = make([]Env, len(p.procs))
	}
	procs := c.procs
	*c = *p
	c.procs = procs
	c.fpScratch, c.checkerSpace = nil, nil
	if len(p.procs) <= len(forkBlock{}.envs) {
		// The checkers (still the parent's, until ownCheckers copies
		// them) are listed in the fork's own block: the parent's block
		// may be reused while the fork lives.
		c.fpScratch = b.fpBuf[:0]
		if len(p.checkers) <= len(b.checkers) {
			c.checkers = append(b.checkers[:0], p.checkers...)
			c.checkerSpace = b.checkers[:0]
		}
	}
	c.rec = nil
	c.recording = false
	// The copy's queue: when no pending event is void, the parent's
	// arrays are copied whole (a bulk copy is several times faster than
	// one event at a time). Else it is compacted: its slab holds only the
	// pending events that are not void (canceled timers and timers of an
	// earlier incarnation, which a search never pops), with room for a
	// few more. Dropping entries from a heap's array keeps it a heap only
	// if the order is rebuilt, so the kept entries are heapified.
	n := len(p.q.heap)
	void := false
	for _, qe := range p.q.heap {
		if ev := &p.q.slab[qe.slot]; ev.Kind == KindTimer && p.voidTimer(ev) {
			void = true
			break
		}
	}
	if !void {
		c.q = queue{heap: append(heap[:0], p.q.heap...), slab: append(slab[:0], p.q.slab...), free: append(free[:0], p.q.free...)}
	} else {
		if cap(heap) < n+1 || cap(slab) < n+1 {
			heap, slab = make([]qent, 0, n+4), make([]Event, 0, n+4)
		}
		if free == nil {
			free = make([]int32, 0, 4)
		}
		c.q = queue{heap: heap, slab: slab, free: free}
		for _, qe := range p.q.heap {
			ev := &p.q.slab[qe.slot]
			if ev.Kind == KindTimer && p.voidTimer(ev) {
				continue
			}
			qe.slot = int32(len(c.q.slab))
			c.q.slab = append(c.q.slab, *ev)
			c.q.heap = append(c.q.heap, qe)
		}
		for i := len(c.q.heap)/2 - 1; i >= 0; i-- {
			c.q.down(i)
		}
	}
	if len(c.q.heap)+len(c.q.free) != len(c.q.slab) || len(c.q.heap) > n {
		panic(fmt.Sprintf("sim: fork copied %d events into %d entries, %d free and %d slots", n, len(c.q.heap), len(c.q.free), len(c.q.slab)))
	}
	// The copy's choices are its own, with room for a search's next step
	// (a set-network delivery records two), so that recording them does
	// not copy the path again.
	if cap(choices) < len(p.choices)+2 {
		choices = make([]Choice, 0, len(p.choices)+4)
	}
	c.choices = append(choices, p.choices...)
	c.ownChoices = true
	c.violations = p.violations[:len(p.violations):len(p.violations)]
	if p.nemRng != nil {
		c.nemRng = p.nemRng.clone()
	}
	if p.strikeRng != nil {
		c.strikeRng = p.strikeRng.clone()
	}
	c.strikes = p.strikes.fork()
	// Flags are written only when they change, so that several goroutines
	// may fork one run that nothing else changes.
	if all := cowCanceled | cowNet | cowCheckers; p.cow&all != all {
		p.cow |= all
	}
	c.cow = p.cow
	if c.procs == nil {
		c.procs = make([]*Env, len(p.procs))
	}
	for i, pe := range p.procs {
		if all := cowProcess | cowTimers | cowStore | cowRand; pe.cow&all != all {
			pe.cow |= all
		}
		// The fork shares the store: neither side writes it again, so
		// turning its fingerprint on must not either (Storage.Fingerprint).
		// Written only when it changes, like the flags above.
		if ps := pe.store; ps != nil && !ps.frozen {
			ps.frozen = true
		}
		ce := &envs[i]
		*ce = *pe
		ce.st = c
		ce.spareP, ce.spareS = nil, nil
		if i < len(spareP) {
			ce.spareP, ce.spareS = spareP[i], spareS[i]
		}
		ce.held = pe.held[:len(pe.held):len(pe.held)]
		c.procs[i] = ce
	}
	if b != nil && len(p.procs) <= len(b.envs) {
		b.sim = Sim{st: c, blk: b}
		return &b.sim
	}
	return &Sim{st: c, blk: b}
}

// forkBlock holds a small fork's state and processes in one allocation.
type forkBlock struct {
	sim      Sim
	st       state
	envs     [4]Env
	procs    [4]*Env
	fpBuf    [256]byte
	checkers [8]Checker
}

// What a state or an Env shares with a fork and must copy before changing.
const (
	cowProcess uint8 = 1 << iota
	cowTimers
	cowStore
	cowRand
	cowCanceled
	cowNet
	cowCheckers
)

// own makes the Env's process its own before a handler changes it.
func (e *Env) ownProcess() {
	e.fpOK = false
	if e.cow&cowProcess == 0 {
		return
	}
	e.cow &^= cowProcess
	spare := e.spareP
	e.spareP = nil
	if e.p != nil {
		if r, ok := e.p.(ProcessRecycler); ok && spare != nil {
			e.p = r.CloneProcessInto(spare)
			return
		}
		e.p = cloneProcess(e.p)
	}
}

func cloneProcess(p Process) Process {
	if c, ok := p.(ProcessCloner); ok {
		return c.CloneProcess()
	}
	return deepCopyValue(p)
}

// deepCopyValue copies an interface value by reflection. It is a function
// of its own so that its argument, which escapes, is moved to the heap
// only when it is called.
func deepCopyValue[T any](v T) T { return *deepCopy(&v) }

func (e *Env) ownTimers() {
	if e.cow&cowTimers == 0 {
		return
	}
	e.cow &^= cowTimers
	e.timers = slices.Clone(e.timers)
}

func (e *Env) ownStore() {
	e.fpOK = false
	if e.cow&cowStore == 0 {
		if e.store != nil && e.store.frozen {
			// A fork shares it, maybe on another goroutine.
			panic(fmt.Sprintf("sim: %v writes a store a fork shares, without copying it", e.id))
		}
		return
	}
	e.cow &^= cowStore
	spare := e.spareS
	e.spareS = nil
	if e.store != nil {
		e.store = e.store.copyInto(spare)
	}
}

func (e *Env) ownRand() {
	if e.cow&cowRand == 0 {
		return
	}
	e.cow &^= cowRand
	e.rng = e.rng.clone()
}

func (st *state) ownCanceled() {
	if st.cow&cowCanceled == 0 {
		return
	}
	st.cow &^= cowCanceled
	st.canceled = slices.Clone(st.canceled)
}

// ownNet gives the run a network of its own if a fork shares it. The test
// is small enough to inline into a send; the copy is out of line.
func (st *state) ownNet() {
	if st.cow&cowNet != 0 {
		st.copyNet()
	}
}

func (st *state) copyNet() {
	st.cow &^= cowNet
	n := *st.net
	n.links = append([]Link(nil), n.links...)
	n.rng = make([]*Rand, len(st.net.rng))
	for i, r := range st.net.rng {
		if r != nil {
			n.rng[i] = r.clone()
		}
	}
	n.last = append([]Time(nil), n.last...)
	n.group = append([]int(nil), n.group...)
	n.cut = append([]bool(nil), n.cut...)
	st.net = &n
}

func (st *state) ownCheckers() {
	if st.cow&cowCheckers == 0 {
		return
	}
	st.cow &^= cowCheckers
	cs := st.checkerSpace[:0]
	if cap(cs) < len(st.checkers) {
		cs = make([]Checker, len(st.checkers))
	}
	cs = cs[:len(st.checkers)]
	for i, c := range st.checkers {
		if _, ok := c.(CheckerSharer); ok {
			cs[i] = c // replaced by its own copy when it changes
		} else if cc, ok := c.(CheckerCloner); ok {
			cs[i] = cc.CloneChecker()
		} else {
			cs[i] = deepCopyValue(c)
		}
		st.markSharer(i, cs[i])
	}
	st.checkers = cs
}

// DeferChecks, when on, holds the checkers back after each event until
// RunDeferredChecks is called: a model checker first looks whether the
// state is new, and checks only new states.
func (s *Sim) DeferChecks(on bool) { s.st.deferChecks = on }

// RunDeferredChecks runs the checkers held back after the last event, if
// any, and reports whether the run has stopped since.
func (s *Sim) RunDeferredChecks() {
	st := s.st
	if !st.checkDue {
		return
	}
	st.checkDue = false
	s.check(st.checkIdx, &st.cur)
}
