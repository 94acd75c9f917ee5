package mutants

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/shrink"
)

// ShrinkBudget is the number of runs the suite gives the shrinker for one
// mutant's failure: enough for the hardest (paxos/first-accepted 3,331 runs
// and raft/stale-append 2,240, whose reductions need up to sixteen draws
// each) to reach a fixed point; most end there in under 1,000.
const ShrinkBudget = 4000

// Shrunk is a caught mutant's failing run before and after shrinking.
type Shrunk struct {
	Before, After shrink.Sizes
	Runs          int
	// Scenario is the smallest failing run.
	Scenario *scenario.Scenario
	Steps    []string
}

// FailingScenario is the scenario of a caught mutant's failing run: the
// plan's file (Result.File, already under Options.Root) with the bug and
// the failing seed.
func FailingScenario(r Result) (*scenario.Scenario, error) {
	if !r.Caught {
		return nil, fmt.Errorf("%s survived: no failing run", r.Mutant.Name())
	}
	sc, err := scenario.Load(r.File)
	if err != nil {
		return nil, err
	}
	if err := sc.SetOption("bug=" + r.Mutant.Bug); err != nil {
		return nil, err
	}
	sc.Seed = r.Seed
	sc.Swarm = sc.Swarm || r.Swarm // a swarm scenario file is a swarm whatever the options
	return sc, sc.Revalidate()
}

// Shrink shrinks a caught mutant's failing run, fault by fault.
func Shrink(r Result, budget int) (*Shrunk, error) {
	sc, err := FailingScenario(r)
	if err != nil {
		return nil, err
	}
	s, err := shrink.Run(sc, nil, shrink.Options{Budget: budget})
	if err != nil {
		return nil, fmt.Errorf("%s: %v", r.Mutant.Name(), err)
	}
	return &Shrunk{Before: s.Before, After: s.After, Runs: s.Runs, Scenario: s.Scenario, Steps: s.Steps}, nil
}

// ShrinkAll shrinks every caught mutant's failing run, workers at a time
// (each shrink is deterministic, so the results do not depend on
// workers); survivors get nil.
func ShrinkAll(rs []Result, workers int) ([]*Shrunk, error) {
	out := make([]*Shrunk, len(rs))
	errs := make([]error, len(rs))
	sem := make(chan struct{}, max(workers, 1))
	var wg sync.WaitGroup
	for i, r := range rs {
		if !r.Caught {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = Shrink(r, ShrinkBudget)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ShrinkTable renders the caught mutants' failing runs before and after
// shrinking fault by fault, as docs/explore.md holds it: events, faults
// (fault events: the nemesis's idle ticks count before, as the run's
// statistics count them) and active clients.
func ShrinkTable(rs []Result, shrunk []*Shrunk) string {
	var b strings.Builder
	b.WriteString("| mutant | failing run | before: events, faults, clients | after: events, faults, clients | runs |\n")
	b.WriteString("| --- | --- | --- | --- | --- |\n")
	for i, r := range rs {
		if i >= len(shrunk) || shrunk[i] == nil {
			continue
		}
		s := shrunk[i]
		fmt.Fprintf(&b, "| `%s` | `%s` seed %d | %d, %d, %d | %d, %d, %d | %d |\n", r.Mutant.Name(), filepath.Base(r.File), r.Seed,
			s.Before.Events, s.Before.Faults, s.Before.Clients, s.After.Events, s.After.Faults, s.After.Clients, s.Runs)
	}
	return b.String()
}
