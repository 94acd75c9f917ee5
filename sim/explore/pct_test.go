package explore_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/explore.md's PCT table")

const (
	pctDoc     = "../../docs/explore.md"
	pctBegin   = "<!-- pct table: begin (written by go test ./sim/explore -run PCTTable -synod.explore-long -update) -->\n"
	pctEnd     = "<!-- pct table: end -->"
	pctWalks   = 1000 // the walk budget of the first-walk columns
	pctSample  = 200  // the walks of the hit columns
	pctDepth   = 60   // --max-depth
	pctDepthD  = 3    // --pct-depth
	pctSeed    = 1
	pctHeading = "| protocol | bug | nodes, clients, fault budget | first walk: uniform | first walk: pct | hits in 200: uniform | hits in 200: pct |\n| --- | --- | --- | ---: | ---: | ---: | ---: |\n"
)

// pctCase is one mutant of the table: a protocol with a bug option, the
// cluster, and the fault budget of its walks.
type pctCase struct {
	protocol       string
	bug            string
	nodes, clients int
	faultBudget    int
	short          bool // in the table checked without -synod.explore-long
}

// pctCases are the shipped mutants walks can reach: the consensus
// protocols' with no faults (their bugs need message orders, and their
// persistence bugs show without a crash), the commit protocols' with a
// crash and a restart.
var pctCases = func() []pctCase {
	var cs []pctCase
	add := func(protocol string, nodes, clients, budget int, bugs ...string) {
		for _, b := range bugs {
			cs = append(cs, pctCase{protocol: protocol, bug: b, nodes: nodes, clients: clients, faultBudget: budget})
		}
	}
	add("raft", 3, 1, 0, "figure8", "figure8-last-term", "vote-no-log-check", "vote-not-persisted", "term-not-persisted",
		"keep-conflicts", "commit-minority", "duplicate-votes", "stale-append", "apply-before-commit", "no-step-down", "drop-duplicates")
	add("paxos", 3, 2, 0, "ignore-accepted", "first-accepted", "accept-below-promise", "reuse-slots")
	add("paxos-single", 3, 2, 0, "ignore-accepted", "first-accepted", "accept-below-promise")
	add("2pc", 3, 1, 2, "commit-on-timeout", "decision-not-logged", "forget-prepared", "abort-uncertain", "commit-uncertain")
	add("paxos-commit", 4, 1, 2, "commit-on-timeout", "forget-prepared", "abort-uncertain", "commit-uncertain")
	for i := range cs {
		switch cs[i].protocol + "/" + cs[i].bug {
		case "raft/keep-conflicts", "paxos/ignore-accepted", "paxos-single/first-accepted":
			cs[i].short = true
		}
	}
	return cs
}()

// pctRun builds the run synod explore builds for --protocol P --nodes N
// --clients C --option bug=B: the protocol's defaults, a lossless network
// with a constant delay (the explorer makes the network's choices).
func pctRun(t testing.TB, protocol string, nodes, clients int, bug string) *sim.Sim {
	sc, err := scenario.Parse([]byte("protocol: "+protocol+"\n"), "--protocol")
	require.NoError(t, err)
	sc.Nodes, sc.Workload.Clients = nodes, clients
	require.NoError(t, sc.Revalidate())
	if bug != "" {
		require.NoError(t, sc.SetOption("bug="+bug))
	}
	sc.Network.Loss, sc.Network.Duplicate, sc.Network.Links, sc.Network.ClientLatency = 0, 0, nil, nil
	if sc.Network.Latency.Dist != "constant" {
		sc.Network.Latency = sim.Latency{Dist: "constant", Min: max(sc.Network.Latency.Min, sim.Millisecond)}
	}
	require.NoError(t, sc.Revalidate())
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

func (c pctCase) options(mode explore.Mode) explore.Options {
	return explore.Options{Mode: mode, PCTDepth: pctDepthD, DepthMax: pctDepth, Walks: pctWalks, Seed: pctSeed,
		FaultBudget: c.faultBudget, Workers: 2, Spawn: goSpawn}
}

// row is the case's line of the table: the walk that first finds the bug
// (seed 1, at most pctWalks walks) and how many of pctSample walks (walk
// 0 of seeds 1..pctSample) find it, uniform and PCT.
func (c pctCase) row(t testing.TB) string {
	first := func(mode explore.Mode) string {
		r, err := explore.Run(pctRun(t, c.protocol, c.nodes, c.clients, c.bug), c.options(mode))
		require.NoError(t, err)
		if r.Found == explore.FoundNothing {
			return "-"
		}
		return fmt.Sprint(r.Walk)
	}
	hits := func(mode explore.Mode) int {
		n := 0
		root := pctRun(t, c.protocol, c.nodes, c.clients, c.bug)
		for seed := uint64(1); seed <= pctSample; seed++ {
			o := c.options(mode)
			o.Seed, o.Walks, o.Workers, o.Spawn = seed, 1, 1, nil
			r, err := explore.Run(root, o)
			require.NoError(t, err)
			if r.Found != explore.FoundNothing {
				n++
			}
		}
		return n
	}
	return fmt.Sprintf("| %s | %s | %d, %d, %d | %s | %s | %d | %d |\n", c.protocol, c.bug, c.nodes, c.clients, c.faultBudget,
		first(explore.Walk), first(explore.PCT), hits(explore.Walk), hits(explore.PCT))
}

// TestPCTTable: the walks-to-detection table of docs/explore.md, uniform
// walks against PCT walks with the same budget, for the shipped mutants.
// Every row is deterministic (seeded walks; the lowest-numbered finding
// walk whatever the workers). By default three rows are computed and
// checked against the doc (about 5 s of CPU); -synod.explore-long
// computes the whole table (about a minute) and -update writes it.
func TestPCTTable(t *testing.T) {
	var b strings.Builder
	b.WriteString(pctHeading)
	doc, err := os.ReadFile(pctDoc)
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), pctBegin)
	require.True(t, ok, "%s has no %q marker", pctDoc, pctBegin)
	old, _, ok := strings.Cut(rest, pctEnd)
	require.True(t, ok, "%s has no %q marker", pctDoc, pctEnd)
	for _, c := range pctCases {
		if !c.short && !*exploreLong {
			continue
		}
		row := c.row(t)
		b.WriteString(row)
		if !*exploreLong {
			require.Contains(t, old, row, "the PCT table in %s is stale: go test ./sim/explore -run PCTTable -synod.explore-long -update", pctDoc)
		}
	}
	if !*exploreLong {
		return
	}
	text := b.String() + pctTableNote
	if *updateDocs {
		before, _, _ := strings.Cut(string(doc), pctBegin)
		_, after, _ := strings.Cut(rest, pctEnd)
		require.NoError(t, os.WriteFile(pctDoc, []byte(before+pctBegin+text+pctEnd+after), 0o644))
		return
	}
	require.Equal(t, text, old, "the PCT table in %s is stale: go test ./sim/explore -run PCTTable -synod.explore-long -update", pctDoc)
}

var pctTableNote = fmt.Sprintf("\nFirst walk: the index of the first of %d walks (seed %d, `--max-depth %d`, `--pct-depth %d`) that finds the bug, `-` for none. Hits: how many of %d walks (walk 0 of seeds 1..%d) find it.\n",
	pctWalks, pctSeed, pctDepth, pctDepthD, pctSample, pctSample)

// The reference protocols pass PCT walks: no violation, no panic, in the
// walk budget of the table.
func TestPCTReferenceProtocols(t *testing.T) {
	for _, c := range []pctCase{{"raft", "", 3, 1, 0, false}, {"paxos", "", 3, 2, 0, false}, {"paxos-single", "", 3, 2, 0, false},
		{"2pc", "", 3, 1, 2, false}, {"paxos-commit", "", 4, 1, 2, false}} {
		t.Run(c.protocol, func(t *testing.T) {
			o := c.options(explore.PCT)
			o.Walks = 200
			r, err := explore.Run(pctRun(t, c.protocol, c.nodes, c.clients, ""), o)
			require.NoError(t, err)
			require.Equal(t, explore.FoundNothing, r.Found, "%v\nreplay: %v", r, r.Choices)
			require.Equal(t, 200, r.Walks)
			require.Positive(t, r.States, "the walks took no step")
		})
	}
}

// PCT walks report the lowest-numbered walk that found something,
// whatever the number of workers, and the same schedule.
func TestPCTWorkersDoNotChangeResults(t *testing.T) {
	c := pctCase{protocol: "paxos", bug: "ignore-accepted", nodes: 3, clients: 2}
	var first *explore.Result
	for _, workers := range []int{1, 2, 5} {
		o := c.options(explore.PCT)
		o.Workers = workers
		r, err := explore.Run(pctRun(t, c.protocol, c.nodes, c.clients, c.bug), o)
		require.NoError(t, err)
		require.Equal(t, explore.FoundViolation, r.Found, "%d workers: %v", workers, r)
		if first == nil {
			first = r
			continue
		}
		require.Equal(t, first.Walk, r.Walk, "%d workers", workers)
		require.Equal(t, first.Choices, r.Choices, "%d workers", workers)
	}
	// The schedule replays on a fresh run to the same violation.
	s := pctRun(t, c.protocol, c.nodes, c.clients, c.bug)
	require.NoError(t, s.RunChoices(first.Choices))
	require.NotEmpty(t, s.Violations(), "the schedule of walk %d does not replay to a violation", first.Walk)
	require.Equal(t, first.Violation.Checker, s.Violations()[0].Checker)
}

// PCT walks start from a state reached mid-run (a trace prefix, as synod
// explore --from does) and take crashes and restarts within the fault
// budget in their branches.
func TestPCTFromPrefixWithFaults(t *testing.T) {
	c := pctCase{protocol: "paxos", bug: "ignore-accepted", nodes: 3, clients: 2, faultBudget: 1}
	r, err := explore.Run(pctRun(t, c.protocol, c.nodes, c.clients, c.bug), c.options(explore.PCT))
	require.NoError(t, err)
	require.Equal(t, explore.FoundViolation, r.Found, "%v", r)
	prefix := r.Choices[:len(r.Choices)/2]
	build := func() (*sim.Sim, error) { return pctRun(t, c.protocol, c.nodes, c.clients, c.bug), nil }
	staged, err := explore.RunStages(build, prefix, explore.AfterChoices(prefix, -1), nil, c.options(explore.PCT))
	require.NoError(t, err)
	got := staged.Last()
	require.Equal(t, explore.FoundViolation, got.Found, "%v", got)
	require.Equal(t, prefix, got.Choices[:len(prefix)], "the schedule begins with the prefix")
	var faults int
	for _, ch := range got.Choices {
		if ch.Action == sim.ChoiceFault {
			faults++
		}
	}
	require.LessOrEqual(t, faults, 1, "fault budget 1: %v", got.Choices)
}
