// Package mutants is synod's mutation suite: a corpus of classic consensus
// and commit bugs, each injected into a reference protocol by one named
// option value (`bug: NAME`, a one-line hook in the protocol), and a
// runner that throws the package's own default checks at each: the chaos
// property scenarios of testdata/scenarios/<protocol>/, seed after seed,
// with every invariant checker, the liveness checkers, linearizability,
// protocol panics and, for 2PC and Paxos Commit, blocking after the heal.
// A mutant the checks catch is proof that they can fail; one they miss is
// reported as survived, never skipped.
//
// `synod mutants` prints the table; docs/testing.md holds it, and a test
// keeps the two equal.
package mutants

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/twopc"

	_ "github.com/synod-dev/synod/protocols/all" // every protocol the corpus names
)

// Mutant is one deliberate bug and the checks that should catch it.
type Mutant struct {
	// Protocol is the registered protocol ("raft").
	Protocol string
	// Bug is the value of the protocol's `bug` option.
	Bug string
	// Mistake names the classic mistake in a few words.
	Mistake string
	// Plans are the scenario runs tried in order until one fails.
	Plans []Plan
	// Survivor, when set, says why this mutant is known to survive the
	// plans: the test requires it to survive (so that catching it is
	// noticed and the line removed) and lists it, instead of failing.
	Survivor string
}

// Name is protocol/bug.
func (m Mutant) Name() string { return m.Protocol + "/" + m.Bug }

// Plan is a property scenario and how many of its seeds to try (1..Seeds).
type Plan struct {
	// File is the scenario, relative to the repository root.
	File  string
	Seeds int
}

// Result is what the checks made of one mutant.
type Result struct {
	Mutant Mutant
	// Caught: a seed of a plan failed.
	Caught bool
	// By is what caught it: a checker's name, "linearizability", "panic"
	// or "blocking" (2PC: a transaction still uncertain after the heal).
	By string
	// File (under Options.Root) and Seed are the failing run; Runs counts the seeds run up to
	// and including it (all plans), or all the seeds run when it survived.
	File string
	Seed uint64
	Runs int
	// Events is the index of the event at which the failure showed (the
	// failing run's length; the whole run's for linearizability and
	// blocking, which are judged at its end).
	Events int64
	// Message is the failure as reported.
	Message string
	// Swarm says the plans ran as swarm scenarios.
	Swarm bool
}

// Replay is the command that replays the failing run.
func (r *Result) Replay() string {
	args := []string{"run", "--scenario", scenario.CommandPath(r.File), "--seed", strconv.FormatUint(r.Seed, 10), "--option", "bug=" + r.Mutant.Bug}
	if r.Swarm {
		args = append(args, "--swarm")
	}
	return scenario.Command(args...)
}

// Options tune a run of the suite.
type Options struct {
	// Root is the repository root the plans' files are relative to.
	Root string
	// Workers run seeds in parallel (at least 1). The results do not
	// depend on it: the lowest failing seed of a plan is reported.
	Workers int
	// Swarm runs the plans as swarm scenarios: each seed draws its own
	// nemesis from the plan's (scenario.SwarmNemesis).
	Swarm bool
}

// Run tries the plans of m in order, seeds 1..Seeds of each, and stops at
// the first plan with a failing seed.
func Run(m Mutant, o Options) (Result, error) {
	res := Result{Mutant: m}
	for _, p := range m.Plans {
		base, err := scenario.Load(filepath.Join(o.Root, p.File))
		if err != nil {
			return res, err
		}
		if err := base.SetOption("bug=" + m.Bug); err != nil {
			return res, fmt.Errorf("%s: %v", m.Name(), err)
		}
		if o.Swarm {
			base.Swarm = true
			res.Swarm = true
		}
		f, err := firstFailure(base, p.Seeds, max(o.Workers, 1))
		if err != nil {
			return res, err
		}
		if f == nil {
			res.Runs += p.Seeds
			continue
		}
		res.Caught, res.By, res.Message, res.Events = true, f.by, f.msg, f.events
		res.File, res.Seed = filepath.Join(o.Root, p.File), f.seed
		res.Runs += int(f.seed)
		return res, nil
	}
	return res, nil
}

// failure is a failing seed.
type failure struct {
	seed   uint64
	by     string
	msg    string
	events int64
}

// firstFailure runs seeds 1..n of base, workers at a time, and returns the
// lowest failing one, or nil.
func firstFailure(base *scenario.Scenario, n, workers int) (*failure, error) {
	for lo := 1; lo <= n; lo += workers {
		hi := min(lo+workers-1, n)
		found := make([]*failure, hi-lo+1)
		errs := make([]error, hi-lo+1)
		var wg sync.WaitGroup
		for seed := lo; seed <= hi; seed++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				found[seed-lo], errs[seed-lo] = runSeed(base, uint64(seed))
			}()
		}
		wg.Wait()
		for i := range found {
			if errs[i] != nil {
				return nil, errs[i]
			}
			if found[i] != nil {
				return found[i], nil
			}
		}
	}
	return nil, nil
}

// runSeed runs one seed and judges it as the property tests do.
func runSeed(base *scenario.Scenario, seed uint64) (*failure, error) {
	sc := base.Clone()
	sc.Seed = seed
	inst, err := scenario.Build(sc)
	if err != nil {
		return nil, err
	}
	inst.Sim.Run()
	res := inst.Summarize()
	f := &failure{seed: seed, events: res.Events}
	switch {
	case res.Panic != nil:
		f.by, f.msg, f.events = "panic", res.Panic.Value, res.Panic.Index
	case res.FirstViolation != nil:
		f.by, f.msg, f.events = res.FirstViolation.Checker, res.FirstViolation.Message, res.FirstViolation.Index
		if rule := protocols.ProgressRule(f.msg); rule != "" {
			f.by += " (" + rule + ")" // which liveness rule
		}
	case res.Linearizable == string(protocols.LinViolation):
		f.by, f.msg = "linearizability", "history is not linearizable"
	case sc.Protocol == "2pc" || sc.Protocol == "paxos-commit":
		if b := twopc.Blocking(inst.Sim); b.Open > 0 {
			f.by, f.msg = "blocking", fmt.Sprintf("blocked after the heal: %v", b)
		} else {
			return nil, nil
		}
	default:
		return nil, nil
	}
	return f, nil
}

// Table renders results as the Markdown table docs/testing.md holds. The
// last column is the failing run shrunk fault by fault (ShrinkAll), in
// events and faults, before -> after; "-" when not shrunk.
func Table(rs []Result, shrunk []*Shrunk) string {
	var b strings.Builder
	b.WriteString("| mutant | classic mistake | verdict | caught by | seeds to detection | first failing run (events) | shrunk: events, faults |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for i, r := range rs {
		sh := "-"
		if i < len(shrunk) && shrunk[i] != nil {
			s := shrunk[i]
			sh = fmt.Sprintf("%d, %d -> %d, %d", s.Before.Events, s.Before.Faults, s.After.Events, s.After.Faults)
		}
		if r.Caught {
			fmt.Fprintf(&b, "| `%s` | %s | caught | %s | %d | `%s` seed %d (%d) | %s |\n",
				r.Mutant.Name(), r.Mutant.Mistake, r.By, r.Runs, filepath.Base(r.File), r.Seed, r.Events, sh)
		} else {
			fmt.Fprintf(&b, "| `%s` | %s | **survived** | - | none of %d | - | - |\n", r.Mutant.Name(), r.Mutant.Mistake, r.Runs)
		}
	}
	return b.String()
}

// Select returns the corpus's mutants of one protocol ("" for all).
func Select(protocol string) ([]Mutant, error) {
	var out []Mutant
	for _, m := range Corpus() {
		if protocol == "" || m.Protocol == protocol {
			out = append(out, m)
		}
	}
	if len(out) == 0 {
		var names []string
		for _, m := range Corpus() {
			if len(names) == 0 || names[len(names)-1] != m.Protocol {
				names = append(names, m.Protocol)
			}
		}
		return nil, fmt.Errorf("no mutants of protocol %q (protocols with mutants: %s)", protocol, strings.Join(names, ", "))
	}
	return out, nil
}
