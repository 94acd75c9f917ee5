// Package proptest is the property test the protocols share: run a chaos
// scenario (whose nemesis heals at heal_at) over many seeds and check, for
// each seed, safety (the protocol's checkers, no panic), linearizability,
// and liveness after the heal: a leader followed by a quorum within a
// stated bound, and every operation invoked after that bound answered.
package proptest

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Seeds resolves how many seeds a variant runs: flagValue when positive,
// else $SYNOD_SEEDS, else def, divided by shortDiv under -short (at least 1).
func Seeds(flagValue, def int, short bool, shortDiv int) int {
	if flagValue > 0 {
		return flagValue
	}
	if v, err := strconv.Atoi(os.Getenv("SYNOD_SEEDS")); err == nil && v > 0 {
		return v
	}
	if short && shortDiv > 1 {
		return max(def/shortDiv, 1)
	}
	return def
}

// Replay is the one command that replays a seed of a scenario file, and
// the one that opens it in the TUI.
func Replay(file string, seed uint64) string {
	p, s := scenario.CommandPath(file), strconv.FormatUint(seed, 10)
	return fmt.Sprintf("%s (watch: %s)", scenario.Command("run", "--scenario", p, "--seed", s), scenario.Command("tui", "--scenario", p, "--seed", s))
}

// Check says what liveness means for a protocol.
type Check struct {
	// Bound is how long after the heal a followed leader must exist.
	Bound sim.Time
	// Leader returns a live leader that a quorum follows, or 0.
	Leader func(*sim.Sim) sim.NodeID
	// Followed names what Leader finds, for messages ("a majority").
	Followed string
	// After, when set, looks at the run's end state and may record a
	// figure in Outcome.Extra (Raft: membership changes completed).
	After func(s *sim.Sim, o *Outcome)
}

// Outcome is what one seed found.
type Outcome struct {
	Seed uint64
	// Err is empty when every property held.
	Err string
	// Elected is the time from the heal to a followed leader (-1: none).
	Elected sim.Time
	OpsOK   int
	Lin     string
	Extra   int
}

// Seed runs one seed of sc and checks it.
func (c Check) Seed(sc *scenario.Scenario, seed uint64) Outcome {
	out := Outcome{Seed: seed, Elected: -1}
	sc = sc.Clone()
	sc.Seed = seed
	inst, err := scenario.Build(sc)
	if err != nil {
		out.Err = err.Error()
		return out
	}
	if sc.Nemesis == nil || sc.Nemesis.HealAt <= 0 {
		out.Err = "the scenario's nemesis never heals (nemesis.heal_at): liveness cannot be checked"
		return out
	}
	s := inst.Sim
	heal := sc.Nemesis.HealAt
	s.RunUntil(heal)
	for s.Stopped() == "" && s.Now() <= heal+c.Bound {
		if c.Leader(s) != 0 {
			out.Elected = s.Now() - heal
			break
		}
		if !s.Step() {
			break
		}
	}
	s.Run()
	if c.After != nil {
		c.After(s, &out)
	}
	res := inst.Summarize()
	out.OpsOK, out.Lin = res.OpsOK, res.Linearizable
	switch {
	case res.Panic != nil:
		out.Err = fmt.Sprintf("panic: %v\n%s", res.Panic, res.Panic.Stack)
	case res.Violations > 0:
		out.Err = fmt.Sprintf("violation: %v", res.FirstViolation)
	case res.Linearizable == string(protocols.LinViolation):
		out.Err = "history is not linearizable"
	case out.Elected < 0:
		out.Err = fmt.Sprintf("no leader followed by %s within %v of the heal at %v", c.Followed, c.Bound, heal)
	default:
		for _, op := range res.History {
			if op.Call >= heal+c.Bound && op.Status != protocols.OpOK {
				out.Err = fmt.Sprintf("operation %v#%d %v invoked at %v, after the heal, ended %s", op.Client, op.Seq, op.Op, op.Call, op.Status)
				break
			}
		}
	}
	if out.Err == "" && res.Linearizable == string(protocols.LinUnknown) {
		// Every other property held, but a seed whose history was not
		// decided proves nothing about linearizability: not a pass.
		out.Err = "linearizability unknown (not a pass): " + res.UndecidedReason()
	}
	return out
}

// Run checks seeds 1..n with the given number of workers, started by spawn
// (protocols/ starts no goroutines of its own: tests pass
// func(f func()) { go f() }; nil runs the workers one after another). It
// returns the outcomes in seed order and the first failing one, or nil.
func (c Check) Run(sc *scenario.Scenario, n, workers int, spawn func(func())) ([]Outcome, *Outcome) {
	outs := make([]Outcome, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(workers, 1) {
		wg.Add(1)
		worker := func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				outs[i] = c.Seed(sc, uint64(i+1))
			}
		}
		if spawn != nil {
			spawn(worker)
		} else {
			worker()
		}
	}
	wg.Wait()
	for i := range outs {
		if outs[i].Err != "" {
			return outs, &outs[i]
		}
	}
	return outs, nil
}

// Summary is what a variant's seeds add up to.
type Summary struct {
	Seeds int
	// Linearizable counts the histories porcupine proved linearizable;
	// the rest were not checked (a protocol without a key-value history,
	// or the check turned off): an undecided one fails its seed.
	Linearizable int
	WorstElected sim.Time // the longest time from the heal to a followed leader
	OpsOK        int
}

// Summarize adds up outcomes.
func Summarize(outs []Outcome) Summary {
	sum := Summary{Seeds: len(outs)}
	for _, o := range outs {
		sum.WorstElected = max(sum.WorstElected, o.Elected)
		sum.OpsOK += o.OpsOK
		if o.Lin == string(protocols.LinOK) {
			sum.Linearizable++
		}
	}
	return sum
}

// String renders the summary for a test log.
func (s Summary) String() string {
	return fmt.Sprintf("%d seeds, 0 violations, %d/%d histories proven linearizable (rest: not checked), worst time to a followed leader after the heal %v, %d ops ok",
		s.Seeds, s.Linearizable, s.Seeds, s.WorstElected, s.OpsOK)
}
