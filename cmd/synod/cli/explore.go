package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

func init() { extraCommands = append(extraCommands, newExploreCmd) }

type exploreFlags struct {
	scenarioFlags
	mode         string
	depthMax     int
	statesMax    int64
	timeMax      time.Duration
	memoryMaxMB  uint64
	workers      int
	walks        int
	pctDepth     int
	faultBudget  int
	invariants   []string
	goal, prune  string
	out          string
	network      string
	from         string
	stages       []string
	stageDepth   int
	noDrops      bool
	noDuplicates bool
	noStepCache  bool
	symmetry     bool
	quiet        bool
}

func newExploreCmd() *cobra.Command {
	var f exploreFlags
	cmd := &cobra.Command{
		Use:   "explore",
		Short: "Search the schedules of a scenario for an invariant violation (model checking)",
		Long: `Search the choices a run offers (deliver a message in flight, fire a timer,
crash or restart a node within --fault-budget) breadth-first (shortest
counterexample first), depth-first, or by seeded random walks, checking the
protocol's invariants at every state. On the set network (the default) any
message may arrive any number of times, in any order, or never; on the
multiset network each arrives once unless dropped or duplicated. Without
--scenario or --clients the run has no clients (protocol messages only).

A bug too deep for one search is often reached in stages: each --stage is a
breadth-first search for its goal from where the last one stopped, and the
final search starts where the last stage stopped. --from starts from a trace.

A counterexample is printed as a schedule and written as a trace (--out)
that synod replay reproduces and synod tui opens; shrink it further with
synod shrink. Exit status 1 when a violation (or panic) is found; 0 when a
--goal is reached, or when nothing is found by a search that visited every
state within --max-depth; 3 (undecided) when nothing is found by a search
that did not: random walks, a search stopped by --max-states, --max-memory
or --max-time, or one that saw the protocol's state encoding merge states
that behave differently (the line says NOT EXHAUSTIVE and why); 2 on bad
usage.

Goals and prunes are comparisons over the nodes' views, joined by commas:
` + strings.Join(explore.MeasureNames(), ", ") + `; for example
--goal leader_term>=3 (a leader in term 3) or --prune term>2.`,
		Example: `  synod explore --protocol raft --nodes 3 --max-depth 12 --invariant election-safety
  synod explore --protocol raft --nodes 3 --mode walk --walks 1000 --max-depth 60
  synod explore --protocol paxos-single --nodes 3 --goal leaders>=2 --out two.jsonl
  synod explore --protocol raft --nodes 3 --option bug=figure8 --option entries_per_message_max=1 \
      --stage 'leader_term>=3,diverged>=1' --stage 'leader_term>=4,diverged>=1,commit==0' --stage 'commit>=1,diverged>=1' --max-depth 8
  synod explore --from counterexample.jsonl --goal 'leader_term>=5'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runExplore(cmd, &f) },
	}
	f.register(cmd)
	f.protocolAlone = true // the explorer makes the faults
	fl := cmd.Flags()
	fl.StringVar(&f.mode, "mode", "bfs", "search: bfs, dfs, walk or pct (walks by random priorities, docs/explore.md)")
	fl.IntVar(&f.depthMax, "max-depth", 12, "most choices in a schedule")
	fl.Int64Var(&f.statesMax, "max-states", 50_000_000, "most distinct states (walks: steps); 0: no bound")
	fl.DurationVar(&f.timeMax, "max-time", 15*time.Minute, "wall-clock bound; 0: none")
	fl.Uint64Var(&f.memoryMaxMB, "max-memory", 4096, "heap bound in MiB; 0: none")
	fl.IntVar(&f.workers, "workers", 0, "worker goroutines (0: all cores); results do not depend on it")
	fl.IntVar(&f.walks, "walks", 1000, "random walks (--mode walk or pct), walk i seeded from (--seed, i)")
	fl.IntVar(&f.pctDepth, "pct-depth", 3, "--mode pct: d, with d-1 priority change points per walk")
	fl.IntVar(&f.faultBudget, "fault-budget", 0, "crashes and restarts a schedule may contain")
	fl.StringArrayVar(&f.invariants, "invariant", nil, "check only this invariant (repeatable; e.g. election-safety for raft.ElectionSafety)")
	fl.StringVar(&f.goal, "goal", "", "stop at a state where this holds, e.g. leader_term>=3")
	fl.StringVar(&f.prune, "prune", "", "do not expand states where this holds, e.g. term>2")
	fl.StringVar(&f.out, "out", "counterexample.jsonl", "trace file for what is found")
	fl.StringArrayVar(&f.stages, "stage", nil, "reach a state where this holds first, then search on from there (repeatable, in order): a staged search")
	fl.IntVar(&f.stageDepth, "stage-max-depth", 0, "--max-depth for each --stage (0: the same as --max-depth)")
	fl.StringVar(&f.from, "from", "", "search from where this trace stands (its saved position, else just after its last choice): a staged search")
	fl.StringVar(&f.network, "network", explore.NetworkSet, "set: any message in flight may arrive any number of times, in any order, or never; multiset: each arrives once unless dropped or duplicated")
	fl.BoolVar(&f.noDrops, "no-drops", false, "multiset network: do not branch on dropping messages")
	fl.BoolVar(&f.noDuplicates, "no-duplicates", false, "multiset network: do not branch on duplicating messages")
	fl.BoolVar(&f.noStepCache, "no-step-cache", false, "bfs: take every branch for real instead of reusing cached local steps (slower; see docs/explore.md)")
	fl.BoolVar(&f.symmetry, "symmetry", false, "bfs/dfs: keep one state of each class equal up to a permutation of the node ids (raft; 2pc participants; paxos acceptor-only nodes; see docs/explore.md)")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress lines")
	return cmd
}

func runExplore(cmd *cobra.Command, f *exploreFlags) error {
	var sc *scenario.Scenario
	var from *sim.Trace
	if f.from != "" {
		for _, name := range []string{"scenario", "protocol", "nodes", "seed", "duration", "clients", "loss", "duplicate", "fault", "keep-going", "no-lin", "option"} {
			if cmd.Flags().Changed(name) {
				return usageErr("--%s: the --from trace carries its own scenario; give either --from or scenario flags", name)
			}
		}
		var err error
		if from, sc, err = loadTrace(f.from); err != nil {
			return err
		}
	} else {
		var err error
		if sc, err = f.load(cmd); err != nil {
			return err
		}
		if f.file == "" && !cmd.Flags().Changed("clients") {
			sc.Workload.Clients = 0
		}
	}
	if len(f.invariants) > 0 {
		names, err := resolveInvariants(sc, f.invariants)
		if err != nil {
			return err
		}
		sc.Checks.Invariants = names
	}
	if from == nil {
		// The explorer makes the network's choices itself (which message
		// arrives next, which is lost or copied): the run's own network is
		// lossless with a fixed delay, so that forks share it. (A --from
		// trace keeps its network, or it would not replay.)
		sc.Network.Loss, sc.Network.Duplicate = 0, 0
		sc.Network.Links = nil
		if sc.Network.Latency.Dist != "constant" {
			sc.Network.Latency = sim.Latency{Dist: "constant", Min: max(sc.Network.Latency.Min, sim.Millisecond)}
		}
		sc.Network.ClientLatency = nil
	}
	if err := sc.Revalidate(); err != nil {
		return inputErr(err)
	}
	if m := explore.Mode(f.mode); m != explore.BFS && m != explore.DFS {
		// Walks make short-lived garbage, as a sweep's seeds do. A
		// search's heap is its tables (fingerprints, frontier, step
		// cache), long-lived and mostly pointer-free, cheap to mark: Go's
		// default target costs it no measurable CPU, and the sweeps' high
		// one only let garbage grow to several times the live heap (3.5
		// GB against 1.7 GB peak RSS at depth 12 with --symmetry;
		// docs/performance.md).
		sweepGC()
	}
	if f.memoryMaxMB > 0 && os.Getenv("GOMEMLIMIT") == "" {
		// Collect harder as the heap nears the bound and a quarter, so
		// that the high GC target does not carry garbage far past it (the
		// bound itself is on the live heap).
		debug.SetMemoryLimit(int64(f.memoryMaxMB<<20) * 5 / 4)
	}
	opts := explore.Options{
		Mode: explore.Mode(f.mode), DepthMax: f.depthMax, StatesMax: f.statesMax,
		MemoryMax: f.memoryMaxMB << 20, Workers: f.workers, Spawn: func(w func()) { go w() }, Walks: f.walks, PCTDepth: f.pctDepth, Seed: sc.Seed,
		FaultBudget: f.faultBudget, Network: f.network, NoDrops: f.noDrops, NoDuplicates: f.noDuplicates, NoStepCache: f.noStepCache,
		Symmetry: f.symmetry,
	}
	if f.pctDepth < 1 {
		return usageErr("--pct-depth: %d, want at least 1", f.pctDepth)
	}
	if f.timeMax < 0 {
		return usageErr("--max-time: %v is negative", f.timeMax)
	}
	start := time.Now()
	opts.Clock = func() sim.Time { return sim.Time(time.Since(start)) }
	opts.WallMax = sim.Time(f.timeMax)
	for _, p := range []struct {
		flag, expr string
		dst        *explore.Predicate
	}{{"--goal", f.goal, &opts.Goal}, {"--prune", f.prune, &opts.Prune}} {
		if p.expr == "" {
			continue
		}
		pred, err := explore.ParsePredicate(p.expr)
		if err != nil {
			return usageErr("%s: %v", p.flag, err)
		}
		*p.dst = pred
	}
	errOut := cmd.ErrOrStderr()
	if !f.quiet {
		last := time.Now()
		opts.ProgressEvery = 20_000
		opts.Progress = func(p explore.Progress) {
			if time.Since(last) < time.Second {
				return
			}
			last = time.Now()
			fmt.Fprintf(errOut, "explore: depth %d, %d states, %d transitions (%.0f/s), frontier %d (%d expanded)\n",
				p.Depth, p.States, p.Transitions, p.TransitionsPerSecond, p.Frontier, p.Expanded)
		}
	}
	if f.stageDepth < 0 {
		return usageErr("--stage-max-depth: %d is negative", f.stageDepth)
	}
	stages := make([]explore.Stage, len(f.stages))
	for i, expr := range f.stages {
		pred, err := explore.ParsePredicate(expr)
		if err != nil {
			return usageErr("--stage %q: %v", expr, err)
		}
		stages[i] = explore.Stage{Name: expr, Goal: pred, DepthMax: f.stageDepth}
	}
	var startChoices []sim.Choice
	var startAt int64
	if from != nil {
		startChoices, startAt = from.Choices, startOf(from)
		fmt.Fprintf(errOut, "explore: starting from %s at event %d\n", f.from, startAt)
	}
	build := func() (*sim.Sim, error) {
		inst, err := scenario.Build(sc)
		if err != nil {
			return nil, err
		}
		return inst.Sim, nil
	}
	staged, err := explore.RunStages(build, startChoices, startAt, stages, opts)
	if err != nil {
		return usageErr("%v", err)
	}
	out := cmd.OutOrStdout()
	var states, transitions, mismatches int64
	for i, r := range staged.Stages {
		states += r.States
		transitions += r.Transitions
		mismatches += r.StepMismatches
		switch r.Found {
		case explore.FoundGoal:
			fmt.Fprintf(out, "stage %d (%s): %v\n", i+1, stages[i].Name, r)
		case explore.FoundNothing:
			fmt.Fprintf(out, "stage %d (%s): not reached; the search stops here\n", i+1, stages[i].Name)
		default:
			fmt.Fprintf(out, "stage %d (%s): a %s on the way\n", i+1, stages[i].Name, r.Found)
		}
	}
	res := staged.Last()
	if len(stages) > 0 {
		if staged.Final != nil {
			states += res.States
			transitions += res.Transitions
			mismatches += res.StepMismatches
		}
		res.States, res.Transitions, res.StepMismatches = states, transitions, mismatches
	}
	fmt.Fprintf(out, "explore %s, %d nodes, seed %d, %s, max depth %d: %v (%.1fs)\n",
		sc.Protocol, sc.Nodes, sc.Seed, opts.Mode, f.depthMax, res, time.Since(start).Seconds())
	if res.Found == explore.FoundNothing {
		if !res.Exhaustive() {
			return errNotExhaustive
		}
		return nil
	}
	if err := printSchedule(out, sc, res.Choices); err != nil {
		return err
	}
	if res.Found == explore.FoundGoal && (sc.Duration == 0 || res.Time < sc.Duration) {
		// The trace ends at the goal rather than running on to the
		// scenario's end.
		sc.Duration = res.Time
	}
	if err := writeChoicesTrace(f.out, sc, res.Choices); err != nil {
		return err
	}
	p := scenario.CommandPath(f.out)
	fmt.Fprintf(out, "wrote %s\n  replay: %s\n  view:   %s\n  shrink: %s\n",
		f.out, scenario.Command("replay", p), scenario.Command("tui", p), scenario.Command("shrink", p))
	if res.Found == explore.FoundGoal {
		return nil
	}
	return errFound
}

// errNotExhaustive is returned when a search found nothing but did not
// visit every state within its depth bound: undecided, not a pass.
var errNotExhaustive = &exitError{code: 3, err: errors.New("")}

// resolveInvariants maps loose names ("election-safety") to the
// protocol's checker names ("raft.ElectionSafety").
func resolveInvariants(sc *scenario.Scenario, want []string) ([]string, error) {
	spec, err := protocols.Lookup(sc.Protocol)
	if err != nil {
		return nil, inputErr(err)
	}
	var have []string
	if spec.Checkers != nil {
		inst, err := scenario.Build(sc)
		if err != nil {
			return nil, inputErr(err)
		}
		for _, c := range inst.Sim.Checkers() {
			have = append(have, c.Name())
		}
	}
	var out []string
	for _, w := range want {
		found := ""
		for _, h := range have {
			if h == w || strings.HasSuffix(looseName(h), looseName(w)) {
				found = h
				break
			}
		}
		if found == "" {
			return nil, usageErr("--invariant %q: protocol %s has no such invariant (invariants: %s)", w, sc.Protocol, strings.Join(have, ", "))
		}
		out = append(out, found)
	}
	return out, nil
}

func looseName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// printSchedule replays the choices on a fresh run and prints each with
// the event it chose, through the one event renderer.
func printSchedule(w io.Writer, sc *scenario.Scenario, choices []sim.Choice) error {
	inst, err := scenario.Build(sc)
	if err != nil {
		return inputErr(err)
	}
	s := inst.Sim
	fmt.Fprintf(w, "schedule (%d recorded choices):\n", len(choices))
	step := 0
	for i, c := range choices {
		if _, err := s.RunTo(c.Before, nil); err != nil {
			return err
		}
		// The set network's delivery is a duplicate and a deliver of the
		// copy: one step of the search, shown as one line.
		copyFirst := c.Action == sim.ChoiceDuplicate && i+1 < len(choices) &&
			choices[i+1].Action == sim.ChoiceDeliver && choices[i+1].Before == c.Before
		if i > 0 && c.Action == sim.ChoiceDeliver && choices[i-1].Action == sim.ChoiceDuplicate && choices[i-1].Before == c.Before {
			if err := s.Apply(c); err != nil {
				return fmt.Errorf("schedule does not replay at choice %d: %v", i+1, err)
			}
			continue
		}
		step++
		what := ""
		if c.Action == sim.ChoiceFault {
			what = c.Fault.String()
		} else {
			for _, ev := range s.Pending() {
				if ev.ID == c.ID {
					what = ev.Describe()
					break
				}
			}
		}
		action := string(c.Action)
		if copyFirst {
			action, what = "deliver", what+" (a copy: the message stays in flight)"
		}
		fmt.Fprintf(w, "  %2d. %-9s %s\n", step, action, what)
		if err := s.Apply(c); err != nil {
			return fmt.Errorf("schedule does not replay at choice %d: %v", i+1, err)
		}
	}
	for _, v := range s.Violations() {
		fmt.Fprintf(w, "  violated: %v\n", v)
	}
	if e := s.Err(); e != nil {
		fmt.Fprintf(w, "  panic: %v\n", e)
	}
	return nil
}

// writeChoicesTrace runs the scenario with the choices and writes its trace.
func writeChoicesTrace(path string, sc *scenario.Scenario, choices []sim.Choice) error {
	file, err := os.Create(path)
	if err != nil {
		return inputErr(fmt.Errorf("--out: %v", err))
	}
	if _, err := scenario.Run(sc, scenario.RunOptions{Choices: choices, Trace: file}); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %v", path, err)
	}
	return file.Close()
}

// startOf is where a --from trace stands: its saved position, else just
// after its last choice (the state a search found), else its end.
func startOf(t *sim.Trace) int64 {
	if t.End.Position >= 0 {
		return t.End.Position
	}
	return explore.AfterChoices(t.Choices, t.End.Events)
}
