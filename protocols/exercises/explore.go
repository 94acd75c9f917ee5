package exercises

import (
	"fmt"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

// Search is an exploration test: breadth-first search over the schedules
// of a small scenario (deliver, drop, duplicate, fire timers, crash and
// restart within a fault budget), bounded in depth and states (counted,
// never timed: the same code gets the same verdict on any machine). The
// test passes when Goal is reachable within the bounds (the protocol makes
// progress under some schedule) and no schedule within them violates the
// test's checkers.
type Search struct {
	DepthMax    int
	StatesMax   int64
	FaultBudget int
	// Network is the search's network model (default: the set network,
	// where any message may arrive any number of times, or never).
	Network string
	// GoalDepthMax bounds the search for the goal (default DepthMax).
	GoalDepthMax int
	Goal         func(s *sim.Sim) bool
	GoalName     string
}

// runSearch runs an exploration test.
func runSearch(t *Test, spec *protocols.Spec, practice bool) (kind, failure string) {
	so := synodtest.Options{Protocol: spec, YAML: t.YAML, NoLinearizability: true}
	sc, err := so.Load()
	if err != nil {
		return "error", err.Error()
	}
	build := func() (*scenario.Instance, error) {
		in, err := scenario.Build(sc)
		if err != nil {
			return nil, err
		}
		for _, mk := range t.Checkers {
			in.Sim.AddChecker(mk())
		}
		in.Sim.AddChecker(newExploreBudgetChecker())
		return in, nil
	}
	x := *t.Search
	if practice {
		x.DepthMax += practiceDepth
		x.StatesMax *= practiceFactor
	}
	base := explore.Options{Mode: explore.BFS, DepthMax: x.DepthMax, StatesMax: x.StatesMax, FaultBudget: x.FaultBudget, Workers: 1, Network: x.Network}
	// Progress first: a protocol that never reaches the goal passes every
	// safety search vacuously.
	in, err := build()
	if err != nil {
		return "error", err.Error()
	}
	// Progress is searched with seeded random walks without drops or
	// duplicates: some ordinary schedule must reach the goal.
	g := base
	g.Mode, g.Walks, g.Seed, g.Network, g.NoDrops, g.NoDuplicates = explore.Walk, 20, 1, explore.NetworkMultiset, true, true
	g.Goal = x.Goal
	if x.GoalDepthMax > 0 {
		g.DepthMax = x.GoalDepthMax
	}
	res, err := explore.Run(in.Sim, g)
	if err != nil {
		return "error", err.Error()
	}
	if res.Found == explore.FoundNothing {
		return "liveness", fmt.Sprintf("none of %d random walks of depth %d reaches %q", g.Walks, g.DepthMax, x.GoalName)
	}
	if res.Found == explore.FoundGoal {
		in, err = build()
		if err != nil {
			return "error", err.Error()
		}
		res, err = explore.Run(in.Sim, base)
		if err != nil {
			return "error", err.Error()
		}
	}
	switch res.Found {
	case explore.FoundNothing, explore.FoundGoal:
		return "", ""
	case explore.FoundPanic:
		return "panic", fmt.Sprintf("%v\n%s", res.Panic, counterexample(build, res.Choices))
	}
	return "violation", fmt.Sprintf("%v (a schedule of %d choices, the shortest there is)\n%s", res.Violation, len(res.Choices), counterexample(build, res.Choices))
}

// counterexample replays the choices and renders the schedule, one line
// per event through the one renderer.
func counterexample(build func() (*scenario.Instance, error), choices []sim.Choice) string {
	in, err := build()
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString("schedule:\n")
	in.Sim.AddObserver(lineObserver{&b})
	if err := in.Sim.RunChoices(choices); err != nil {
		fmt.Fprintf(&b, "(replay: %v)\n", err)
	}
	return b.String()
}

type lineObserver struct{ b *strings.Builder }

func (o lineObserver) Observe(_ *sim.Sim, r *sim.Record) {
	fmt.Fprintf(o.b, "  #%d %s", r.Index, r.Event.Describe())
	if r.Outcome != "" {
		o.b.WriteString(" (" + r.Outcome + ")")
	}
	o.b.WriteByte('\n')
	for _, v := range r.Violations() {
		fmt.Fprintf(o.b, "  VIOLATION %s: %s\n", v.Checker, v.Message)
	}
}

// someLeader: a node shows the role leader.
func someLeader(s *sim.Sim) bool {
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && v.Role == "leader" {
			return true
		}
	}
	return false
}

// someLearned: a node learned a chosen value.
func someLearned(s *sim.Sim) bool {
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok {
			if c := v.Get("chosen"); c != "" && c != "-" {
				return true
			}
		}
	}
	return false
}
