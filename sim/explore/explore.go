// Package explore is a model checker over the simulator's choices. A state
// is a run (*sim.Sim, a copy-on-write fork of its parent); its branches are
// the choices the control API offers there: deliver a message in flight
// (on the set network a copy, the message staying in flight; on the
// multiset network also drop or duplicate it), fire a pending timer, apply
// a pending scheduled fault, crash or restart a node within a fault
// budget. States are recognised by their fingerprints (sim.Sim.Fingerprint).
// Breadth-first search finds the shortest schedule to a violated invariant
// (the run's checkers) or a goal; depth-first search and seeded random
// walks reach deeper. Every search is bounded (depth, states, memory, wall
// time) and says which bound it hit.
//
// Results do not depend on the number of workers: breadth-first search
// expands one level in parallel, in chunks, and merges the children in a
// fixed order; random walks report the lowest-numbered walk that found
// something.
//
// The package reads no clock of its own: wall time is measured through the
// Clock function the caller passes.
package explore

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"

	"github.com/synod-dev/synod/sim"
)

// Mode is a search strategy.
type Mode string

// The search strategies.
const (
	BFS  Mode = "bfs"  // breadth-first: shortest counterexample first
	DFS  Mode = "dfs"  // depth-first with a depth bound
	Walk Mode = "walk" // seeded random walks
	PCT  Mode = "pct"  // seeded random walks by random priorities (pct.go)
)

// Predicate looks at a state. It must not change the run, and it may be
// called from several goroutines at once on different runs.
type Predicate func(s *sim.Sim) bool

// Options configure a search. Zero bounds mean "no bound" except DepthMax,
// which every search needs.
type Options struct {
	Mode Mode
	// DepthMax bounds the number of choices from the initial state.
	DepthMax int
	// StatesMax bounds the distinct states explored (walks: steps taken).
	StatesMax int64
	// MemoryMax bounds the live Go heap in bytes, as the garbage
	// collector last measured it (read at level and walk
	// boundaries and every few thousand states).
	MemoryMax uint64
	// WallMax bounds the wall time, measured with Clock (elapsed wall time
	// since any fixed origin; it may be called from several goroutines at
	// once). Both are needed for the bound to apply.
	WallMax sim.Time
	Clock   func() sim.Time
	// Workers is the number of workers (0: all cores).
	Workers int
	// Spawn starts one worker concurrently. sim/ starts no goroutines of
	// its own (the house rule for simulated code), so the caller supplies
	// this: cmd/synod passes func(f func()) { go f() }. Nil runs the workers
	// one after another in the caller's goroutine; the result is the same,
	// as it is for any number of workers.
	Spawn func(worker func())
	// Walks is the number of random walks (Walk mode), walk i seeded from
	// (Seed, i).
	Walks int
	Seed  uint64
	// PCTDepth is the d of PCT mode (pct.go): d-1 priority change
	// points per walk, drawn among its first DepthMax steps (0: 3).
	PCTDepth int
	// FaultBudget is how many crashes and restarts a schedule may contain.
	FaultBudget int
	// Network is the network the search models: NetworkSet (the default)
	// or NetworkMultiset.
	Network string
	// NoDrops and NoDuplicates remove those branches of the multiset
	// network (smaller spaces).
	NoDrops, NoDuplicates bool
	// NoStepCache makes breadth-first search take every branch for real
	// instead of putting the fingerprints of most children together from
	// cached local steps (see "The step cache" in docs/explore.md). The
	// search is slower; with an exact state encoding its result is the
	// same.
	NoStepCache bool
	// Strict makes any sign that a protocol's state encoding is inexact
	// (Result.StepMismatches) an error: Run stops at the end of the level
	// where it saw one and returns ErrInexact with the result so far.
	// Tests run every shipped protocol so. A strict search also runs
	// twin checks (bfs.go), which take both ends of a step that changed
	// nothing the encoding shows. Without it the search goes on, and its
	// result says it is not exhaustive.
	Strict bool
	// Symmetry makes breadth- and depth-first search keep one state of
	// each class of states equal up to a permutation of the node ids
	// (symmetry.go). The protocol must offer it (sim.SymmetricProcess:
	// Raft does; both Paxos variants order ballots by node id, so their
	// nodes are not interchangeable) and the invariants must not depend
	// on which node is which; Run returns an error naming what is not
	// symmetric otherwise. Random walks take no fingerprints: an error.
	Symmetry bool
	// Goal, when set, is searched for: a state where it holds is reported.
	Goal Predicate
	// Prune, when set, stops expansion of the states where it holds.
	Prune Predicate
	// Progress, when set, is called at every level, every ProgressEvery
	// states (default 10000) and, while a breadth-first level is being
	// expanded, after every chunk of states; never from two goroutines at
	// once.
	Progress      func(Progress)
	ProgressEvery int64
}

// Networks a search can model.
const (
	// NetworkSet: the messages in flight are a set. Delivering a message
	// delivers a copy and leaves it in flight, so any message may arrive
	// any number of times, in any order, or never: loss and duplication
	// need no branches of their own, and copies of one message are one
	// state (the network of DSLabs' model checker). A schedule is
	// recorded as duplicate-then-deliver choices, which replay exactly.
	NetworkSet = "set"
	// NetworkMultiset: each message in flight is delivered at most once
	// unless duplicated; its branches are deliver, drop (a loss) and
	// duplicate (at most one copy in flight).
	NetworkMultiset = "multiset"
)

// Progress reports how a search is going.
type Progress struct {
	States      int64    // distinct states found so far (walks: steps)
	Transitions int64    // branches taken
	Frontier    int      // states waiting to be expanded
	Depth       int      // depth reached
	Elapsed     sim.Time // wall time so far (zero without a Clock)
	PerSecond   float64  // states per wall second (zero without a Clock)
	// TransitionsPerSecond is branches taken per wall second.
	TransitionsPerSecond float64
	// Expanded is how many states of the breadth-first level being
	// expanded are done (its new states are counted when it ends).
	Expanded int
}

// Outcomes of a search.
const (
	FoundNothing   = ""
	FoundViolation = "violation"
	FoundPanic     = "panic"
	FoundGoal      = "goal"
)

// Bounds a search can hit.
const (
	BoundDepth  = "depth"
	BoundStates = "states"
	BoundMemory = "memory"
	BoundTime   = "time"
)

// Result is what a search found.
type Result struct {
	// Found is FoundViolation, FoundPanic, FoundGoal or FoundNothing.
	Found string
	// Violation is the first violation of the counterexample's last state.
	Violation *sim.Violation
	// Panic is the protocol's panic, when Found is FoundPanic.
	Panic error
	// Choices lead from the initial state to the state found: apply them
	// to a fresh run of the same configuration (sim.RunChoices, or
	// scenario.RunOptions.Choices) to reproduce it.
	Choices []sim.Choice
	// Time is the simulated time of the state found.
	Time sim.Time
	// Depth is the number of branches to the state found (a timer branch
	// may fire its timer more than once, and a set-network delivery is
	// two choices, so Choices may be longer); else the deepest level
	// reached.
	Depth int
	// States counts the distinct states built (their run made) and
	// checked by the run's checkers (walks: steps taken).
	States int64
	// QuietStates counts the distinct states at the depth bound that were
	// not built: a quiet step told that the checkers find nothing there
	// (see "Quiet steps" in docs/explore.md). They are not in States;
	// States+QuietStates is every distinct state the search reached.
	QuietStates int64
	// Transitions counts the branches taken or predicted.
	Transitions int64
	// Bound names the bound that stopped the search ("" when the space
	// within the bounds was exhausted or something was found).
	Bound string
	// StepMismatches counts the signs that a protocol's state encoding
	// (sim.StateAppender) leaves out something its behaviour depends on:
	// a cached local step that, taken for real, ended in another state; two
	// takes of one step that ended apart; a quiet step that found
	// something. The search may then have merged states that differ, and
	// it is not exhaustive (Exhaustive).
	StepMismatches int64
	// Walk is the index of the walk that found the result, and Walks the
	// number of walks (Walk and PCT modes).
	Walk    int
	Walks   int
	Elapsed sim.Time
}

// Exhaustive reports whether the search visited every state within its
// depth bound: breadth- or depth-first, stopped by the depth bound or by
// running out of states, and with no sign of an inexact state encoding.
// A search that found something need not be exhaustive to be believed.
func (r *Result) Exhaustive() bool {
	return r.Walks == 0 && (r.Bound == "" || r.Bound == BoundDepth) && r.StepMismatches == 0
}

// NotExhaustive says why the search was not exhaustive ("" when it was).
func (r *Result) NotExhaustive() string {
	switch {
	case r.Walks > 0:
		return "random walks sample the space"
	case r.Bound != "" && r.Bound != BoundDepth:
		return "stopped by the " + r.Bound + " bound before the depth bound"
	case r.StepMismatches > 0:
		return fmt.Sprintf("%d cached steps differed when retaken: the protocol's state encoding leaves out something its behaviour depends on, and the search may have merged states that differ (docs/explore.md: exhaustive)", r.StepMismatches)
	}
	return ""
}

func (r *Result) String() string {
	var s string
	switch r.Found {
	case FoundViolation:
		s = fmt.Sprintf("violation at depth %d: %v", r.Depth, r.Violation)
	case FoundPanic:
		s = fmt.Sprintf("panic at depth %d: %v", r.Depth, r.Panic)
	case FoundGoal:
		s = fmt.Sprintf("goal reached at depth %d", r.Depth)
	default:
		s = fmt.Sprintf("nothing found (depth %d)", r.Depth)
	}
	if r.Walks > 0 {
		s += fmt.Sprintf("; %d steps, %d random walks", r.States, r.Walks)
		if r.Found != FoundNothing {
			s += fmt.Sprintf(", found by walk %d", r.Walk)
		}
	} else {
		s += fmt.Sprintf("; %d states built and checked", r.States)
		if r.QuietStates > 0 {
			s += fmt.Sprintf(", %d more at the depth bound judged by quiet steps (not built)", r.QuietStates)
		}
		s += fmt.Sprintf(", %d transitions", r.Transitions)
	}
	if r.StepMismatches > 0 && r.Found != FoundNothing {
		s += fmt.Sprintf("; %d cached steps differed when retaken (docs/explore.md: exhaustive)", r.StepMismatches)
	}
	if r.Bound != "" {
		s += "; stopped by the " + r.Bound + " bound"
	} else if r.Found == FoundNothing && r.Walks == 0 {
		s += "; state space exhausted"
	}
	if r.Found == FoundNothing && !r.Exhaustive() {
		s += "; NOT EXHAUSTIVE: " + r.NotExhaustive()
	}
	return s
}

// Limits on absurd inputs, checked before any work.
const (
	depthMaxLimit   = 10_000
	workersMaxLimit = 1024
)

func (o *Options) validate() error {
	switch o.Mode {
	case BFS, DFS, Walk, PCT:
	case "":
		o.Mode = BFS
	default:
		return fmt.Errorf("mode: %q is not bfs, dfs, walk or pct", o.Mode)
	}
	if o.DepthMax < 1 || o.DepthMax > depthMaxLimit {
		return fmt.Errorf("max depth: %d is outside 1..%d", o.DepthMax, depthMaxLimit)
	}
	if o.StatesMax < 0 {
		return fmt.Errorf("max states: %d is negative", o.StatesMax)
	}
	if o.WallMax < 0 {
		return fmt.Errorf("max time: %v is negative", o.WallMax)
	}
	if o.Workers < 0 || o.Workers > workersMaxLimit {
		return fmt.Errorf("workers: %d is outside 0..%d", o.Workers, workersMaxLimit)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	switch o.Network {
	case "":
		o.Network = NetworkSet
	case NetworkSet, NetworkMultiset:
	default:
		return fmt.Errorf("network: %q is not set or multiset", o.Network)
	}
	if o.FaultBudget < 0 {
		return fmt.Errorf("fault budget: %d is negative", o.FaultBudget)
	}
	if o.PCTDepth == 0 {
		o.PCTDepth = 3
	}
	if o.PCTDepth < 1 || o.PCTDepth > pctDepthMax {
		return fmt.Errorf("pct depth: %d is outside 1..%d", o.PCTDepth, pctDepthMax)
	}
	if (o.Mode == Walk || o.Mode == PCT) && o.Walks < 1 {
		return fmt.Errorf("walks: %d, want at least 1", o.Walks)
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 10_000
	}
	return nil
}

// ErrInexact is returned (wrapped) by a Strict search that saw a sign of
// an inexact state encoding (Result.StepMismatches).
var ErrInexact = errors.New("the protocol's state encoding is inexact")

// Run searches from the run s (which it does not change). The run should
// be fresh: Run first processes its start events, then branches. Checkers
// must already be added to s.
func Run(s *sim.Sim, opts Options) (*Result, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	root := s.Clone()
	Prepare(root)
	// States are forks of their parents (copy on write); the checkers run
	// only on states not seen before (classify).
	root.DeferChecks(true)
	root.SetFingerprintSets(opts.Network == NetworkSet)
	if root.Stopped() != "" && len(root.Violations()) == 0 && root.Err() == nil {
		return nil, errors.New("the run stopped before the search began: " + root.Stopped())
	}
	e := &explorer{opts: opts}
	if opts.Symmetry {
		if opts.Mode == Walk {
			return nil, errors.New("symmetry: random walks take no fingerprints; use bfs or dfs")
		}
		var err error
		if e.sym, err = newSymmetry(root); err != nil {
			return nil, err
		}
	}
	if opts.Clock != nil {
		e.start = opts.Clock()
	}
	var r *Result
	if f := e.classify(root); f != FoundNothing {
		r = e.found(root, f, 0)
	} else {
		switch opts.Mode {
		case BFS:
			r = e.bfs(root)
		case DFS:
			r = e.dfs(root)
		case Walk, PCT:
			r = e.walks(root)
		}
	}
	r.States, r.Transitions, r.StepMismatches, r.QuietStates = e.states-e.quiet, e.transitions, e.mismatches, e.quiet
	r.Elapsed = e.elapsed()
	if opts.Strict && r.StepMismatches > 0 {
		return r, fmt.Errorf("%w: %d cached steps differed when retaken (by depth %d)", ErrInexact, r.StepMismatches, r.Depth)
	}
	return r, nil
}

// Prepare processes the run's initial start events (in their natural
// order), so that search begins with every process started.
func Prepare(s *sim.Sim) {
	for {
		p := s.Pending()
		if len(p) == 0 || p[0].Kind != sim.KindStart || s.Stopped() != "" {
			return
		}
		s.Step()
	}
}

type explorer struct {
	opts        Options
	start       sim.Time
	states      int64 // distinct states, quiet ones included
	transitions int64
	mismatches  int64
	quiet       int64     // states checked by quiet steps
	steps       stepCache // breadth-first search's step cache
	verdicts    *verdicts // and its quiet steps
	exact       []bool    // by process index: its steps may be cached
	sym         *symmetry // Options.Symmetry (symmetry.go), or nil
	lastReport  int64
	reportMu    sync.Mutex
}

func (e *explorer) elapsed() sim.Time {
	if e.opts.Clock == nil {
		return 0
	}
	return e.opts.Clock() - e.start
}

// classify says whether a state is a counterexample or a goal. When the
// run checks invariants only every few events, the explorer checks every
// state itself.
func (e *explorer) classify(s *sim.Sim) string {
	s.RunDeferredChecks()
	if s.Config().CheckEvery > 1 && s.Err() == nil && len(s.Violations()) == 0 {
		s.Check()
	}
	if s.Err() != nil {
		return FoundPanic
	}
	if len(s.Violations()) > 0 {
		return FoundViolation
	}
	if e.opts.Goal != nil && e.opts.Goal(s) {
		return FoundGoal
	}
	return FoundNothing
}

func (e *explorer) found(s *sim.Sim, what string, depth int) *Result {
	r := &Result{Found: what, Choices: append([]sim.Choice(nil), s.Choices()...), Time: s.Now()}
	r.Depth = depth
	switch what {
	case FoundViolation:
		v := s.Violations()[0]
		r.Violation = &v
	case FoundPanic:
		r.Panic = s.Err()
	}
	return r
}

// overBound reports a wall-time or memory bound hit (checked between units
// of work; the states bound is checked where states are counted).
func (e *explorer) overBound() string {
	if e.opts.WallMax > 0 && e.opts.Clock != nil && e.elapsed() >= e.opts.WallMax {
		return BoundTime
	}
	if e.opts.MemoryMax > 0 && liveHeap() >= e.opts.MemoryMax {
		return BoundMemory
	}
	return ""
}

func (e *explorer) report(frontier, depth int, force bool) {
	if e.opts.Progress == nil {
		return
	}
	if !force && e.states-e.lastReport < e.opts.ProgressEvery {
		return
	}
	e.lastReport = e.states
	e.send(Progress{States: e.states, Transitions: e.transitions, Frontier: frontier, Depth: depth})
}

// send fills in the rates and calls Progress, one goroutine at a time.
func (e *explorer) send(p Progress) {
	e.reportMu.Lock()
	defer e.reportMu.Unlock()
	p.Elapsed = e.elapsed()
	if p.Elapsed > 0 {
		p.PerSecond = float64(p.States) / p.Elapsed.Seconds()
		p.TransitionsPerSecond = float64(p.Transitions) / p.Elapsed.Seconds()
	}
	e.opts.Progress(p)
}

// liveHeap is the live heap as of the last garbage collection: cheap to
// read (no stop of the world) and blind to garbage not yet collected, so
// that a high GOGC does not make the bound fire early.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	return s[0].Value.Uint64()
}
