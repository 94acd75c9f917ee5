// Package shrink minimises a failing run: from a scenario and its recorded
// manual choices it removes the nemesis, scheduled faults, manual choices
// and clients, lowers the workload's operation count, and shortens the
// run and its delays, keeping each reduction only while the SAME failure
// (the same invariant checker, the history of the same key still not
// linearizable, or a protocol panic) still happens and the run does not
// grow. A run is cut just after its failure: the first violation of an
// invariant, or the first instant its history was no longer linearizable.
//
// A linearizability failure is a story told by a few operations on one key,
// and most reductions move it (a removed client changes the delays every
// later message draws). So a candidate runs with room to fail (a horizon),
// is cut at its own story's end, and is kept when it has fewer active
// clients, or as many and no more events. When no reduction is kept, other
// seeds of the same scenario are tried, and one is kept only if its run is
// strictly smaller: the last resort for failures that need a rare
// interleaving (the kept steps name the seed change).
//
// Shrinking is deterministic: candidates are tried in a fixed order, and
// its work is bounded by an evaluation budget counted in runs. A caller may
// add a wall-clock cap (Options.Stop), which makes the result depend on the
// machine's speed; grading and tests should use the budget alone.
package shrink

import (
	"fmt"
	"slices"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// DefaultBudget is the number of runs a shrink may make when
// Options.Budget is zero.
const DefaultBudget = 300

// budgetMax bounds Options.Budget: a larger value is an error.
const budgetMax = 1_000_000

// Options bound a shrink.
type Options struct {
	// Budget is the number of evaluation runs (0: DefaultBudget).
	Budget int
	// Stop, when set, is asked before each run; true ends the shrink with
	// the smallest failing run so far (a wall-clock cap from the caller).
	Stop func() bool
	// Log, when set, receives one line per accepted reduction.
	Log func(string)
	// Checkers, when set, returns fresh invariant checkers for one run
	// (checkers keep state, so every run needs its own), added to the
	// protocol's own: a failure found by a caller's checker (synodtest's
	// extra checkers and invariants) then shrinks like any other. It is
	// called once per run, the original run included.
	Checkers func() []sim.Checker

	// noLinTarget (tests only) shrinks a linearizability failure as the
	// shrinker did before it had a target: any key may fail, the run is not
	// cut at the story's end. It shows what the target is for.
	noLinTarget bool
}

// Failure identifies how a run fails. Two runs fail "the same way" when
// their Failures are equal.
type Failure struct {
	// Kind is "invariant", "linearizability" or "panic".
	Kind string `json:"kind"`
	// Checker names the invariant (Kind "invariant").
	Checker string `json:"checker,omitempty"`
	// Rule names the liveness rule a progress checker's violation broke
	// (protocols.ProgressRule: "elections settle", "operations
	// answered"), "" for other checkers: a shrink keeps to the same rule.
	Rule string `json:"rule,omitempty"`
	// Key is the key whose history is not linearizable (Kind
	// "linearizability"): the explanation's key, or the first failing key
	// in sorted order.
	Key string `json:"key,omitempty"`
}

func (f Failure) String() string {
	switch f.Kind {
	case "invariant":
		if f.Rule != "" {
			return "invariant " + f.Checker + " (" + f.Rule + ")"
		}
		return "invariant " + f.Checker
	case "linearizability":
		if f.Key != "" {
			return "linearizability on key " + f.Key
		}
	}
	return f.Kind
}

// FailureOf says how a run failed, or ok=false when it did not fail. A
// panic comes first, then the first violated invariant, then
// linearizability.
func FailureOf(r *scenario.Result) (f Failure, ok bool) {
	switch {
	case r.Panic != nil:
		return Failure{Kind: "panic"}, true
	case r.FirstViolation != nil:
		v := r.FirstViolation
		return Failure{Kind: "invariant", Checker: v.Checker, Rule: protocols.ProgressRule(v.Message)}, true
	case r.Linearizable == string(protocols.LinViolation):
		key, _ := linKey(r)
		return Failure{Kind: "linearizability", Key: key}, true
	}
	return Failure{}, false
}

// failsLike reports whether the run fails the way want says: the same
// kind and checker, and for linearizability the same key's history still
// not linearizable (another key failing as well does not matter).
func failsLike(r *scenario.Result, want Failure) bool {
	switch {
	case r.Panic != nil:
		return want.Kind == "panic"
	case r.FirstViolation != nil:
		v := r.FirstViolation
		return want.Kind == "invariant" && v.Checker == want.Checker && protocols.ProgressRule(v.Message) == want.Rule
	case want.Kind == "linearizability" && want.Key == "":
		return r.Linearizable == string(protocols.LinViolation)
	case want.Kind == "linearizability":
		return linFailsOn(r, want.Key)
	}
	return false
}

// Sizes measure a run, for the before/after report.
type Sizes struct {
	Events   int64    `json:"events"`
	Faults   int64    `json:"faults"`
	Messages int64    `json:"messages"`
	Choices  int      `json:"choices"`
	Clients  int      `json:"clients"`
	Ops      int      `json:"ops"`
	Duration sim.Time `json:"duration"`
}

func (s Sizes) String() string {
	return fmt.Sprintf("%d events, %d faults, %d messages, %d choices, %d clients, %d ops, %v",
		s.Events, s.Faults, s.Messages, s.Choices, s.Clients, s.Ops, s.Duration)
}

func sizesOf(sc *scenario.Scenario, choices []sim.Choice, r *scenario.Result) Sizes {
	return Sizes{Events: r.Events, Faults: r.Stats.Faults, Messages: r.Stats.Sent + r.Stats.ClientMessages,
		Choices: len(choices), Clients: sc.Workload.Clients - len(sc.Workload.Idle), Ops: r.OpsOK + r.OpsFailed + r.OpsUnknown,
		Duration: sc.Duration}
}

// Result is the smallest failing run found.
type Result struct {
	// Scenario and Choices reproduce the smallest run:
	// scenario.Run(Scenario, RunOptions{Choices: Choices}), or with
	// Options.Checkers, Build(Scenario, Checkers).Execute(Choices).
	Scenario *scenario.Scenario
	Choices  []sim.Choice
	Failure  Failure
	Before   Sizes
	After    Sizes
	// Explanation tells the smallest run's linearizability failure (nil
	// for other failures, or until the run's result carries one).
	Explanation *protocols.LinExplanation
	// StoryEnd is, for a linearizability failure, the first instant the
	// smallest run's history of Failure.Key was not linearizable (the run
	// ends just after it).
	StoryEnd sim.Time
	// Runs is the number of evaluation runs made (at most the budget).
	Runs int
	// Steps lists the reductions kept, in order.
	Steps []string
	// Stopped says why shrinking ended before a fixed point: "budget" or
	// "stop" ("" when no candidate was left to try).
	Stopped string
}

// Build makes a run of sc with the checkers' fresh set (if any) added to
// the protocol's own: the run a shrink evaluates.
func Build(sc *scenario.Scenario, checkers func() []sim.Checker) (*scenario.Instance, error) {
	in, err := scenario.Build(sc)
	if err != nil {
		return nil, err
	}
	if checkers != nil {
		for _, c := range checkers() {
			in.Sim.AddChecker(c)
		}
	}
	return in, nil
}

// execute runs sc to its end with the recorded choices and the checkers.
func execute(sc *scenario.Scenario, choices []sim.Choice, checkers func() []sim.Checker) (*scenario.Result, error) {
	in, err := Build(sc, checkers)
	if err != nil {
		return nil, err
	}
	return in.Execute(choices)
}

// Trace shrinks the run a trace records: its header's scenario and its
// manual choices; name (the file) is for error messages.
func Trace(t *sim.Trace, name string, opts Options) (*Result, error) {
	sc, err := scenario.FromJSON(t.Header.Run, name)
	if err != nil {
		return nil, err
	}
	return Run(sc, t.Choices, opts)
}

// Run shrinks the failing run of sc with the recorded choices. It is an
// error if that run does not fail. With Options.Checkers, the runs (the
// original and every candidate) check the caller's checkers too, and the
// result reproduces with them: Build(Scenario, Checkers) then
// Execute(Choices).
func Run(sc *scenario.Scenario, choices []sim.Choice, opts Options) (*Result, error) {
	if opts.Budget < 0 || opts.Budget > budgetMax {
		return nil, fmt.Errorf("shrink budget: %d is outside 0..%d", opts.Budget, budgetMax)
	}
	if opts.Budget == 0 {
		opts.Budget = DefaultBudget
	}
	// A swarm seed's nemesis is written out: the reseed pass changes the
	// seed, and the configuration must not change with it.
	sc, err := sc.Unswarm()
	if err != nil {
		return nil, err
	}
	res, err := execute(sc, choices, opts.Checkers)
	if err != nil {
		return nil, fmt.Errorf("the run to shrink does not replay: %v", err)
	}
	f, ok := FailureOf(res)
	if !ok {
		return nil, fmt.Errorf("the run to shrink does not fail (seed %d): nothing to shrink", sc.Seed)
	}
	if opts.noLinTarget {
		f.Key = ""
	}
	steps, err := stepsOf(sc, choices, opts.Checkers)
	if err != nil {
		return nil, fmt.Errorf("the run to shrink does not replay: %v", err)
	}
	sh := &shrinker{opts: opts, want: f, runs: 1, draws: 1,
		cur: candidate{sc: sc, steps: steps}, curRes: res, choices: slices.Clone(choices),
		horizonMax: sc.Duration, stopMax: effectiveStop(sc)}
	out := &Result{Failure: f, Before: sizesOf(sc, choices, res)}
	sh.loop()
	out.Scenario, out.Choices = sh.cur.sc, sh.choices
	out.After = sizesOf(sh.cur.sc, sh.choices, sh.curRes)
	out.Explanation = sh.curRes.LinExplanation
	if f.Key != "" {
		out.StoryEnd, _ = linEnd(sh.curRes.History, f.Key)
	}
	out.Runs, out.Steps, out.Stopped = sh.runs, sh.steps, sh.stopped
	return out, nil
}
