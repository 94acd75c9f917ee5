package mutants

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

const (
	figure8Begin = "<!-- figure 8 without hints: begin (written by go test ./reports/mutants -update) -->\n"
	figure8End   = "<!-- figure 8 without hints: end -->"
	searchBegin  = "<!-- 2pc restart by search: begin (written by go test ./reports/mutants -update) -->\n"
	searchEnd    = "<!-- 2pc restart by search: end -->"
	leadersFile  = "testdata/scenarios/raft/chaos5-leaders.yaml"
	leadersSeeds = 100
)

// The Figure 8 class, both variants, found by a sweep of the leader-strike
// chaos scenario with no stages and no hints: seeds 1..leadersSeeds, the
// first failing seed and how many fail. docs/explore.md shows the figures.
func TestFigure8FoundWithoutHints(t *testing.T) {
	if testing.Short() {
		t.Skip("sweeps 200 seeds (about 3 s of CPU)")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "```\n")
	for _, bug := range []string{"figure8", "figure8-last-term"} {
		base, err := scenario.Load(filepath.Join("../..", leadersFile))
		require.NoError(t, err)
		require.NoError(t, base.SetOption("bug="+bug))
		var first *failure
		failing := 0
		for seed := uint64(1); seed <= leadersSeeds; seed++ {
			f, err := runSeed(base, seed)
			require.NoError(t, err)
			if f == nil {
				continue
			}
			require.Equal(t, "raft.LeaderCompleteness", f.by, "seed %d of %s: %s", seed, bug, f.msg)
			failing++
			if first == nil {
				first = f
			}
		}
		require.NotNil(t, first, "%s survived seeds 1..%d of %s", bug, leadersSeeds, leadersFile)
		c := base.Clone()
		c.Seed = first.seed
		fmt.Fprintf(&b, "$ synod sweep --scenario %s --seeds 1:%d --option bug=%s --out sweep/\n", leadersFile, leadersSeeds+1, bug)
		fmt.Fprintf(&b, "%d of %d seeds fail; the first, seed %d (%s), at event %d:\n  %s: %s\n",
			failing, leadersSeeds, first.seed, c.SwarmOptionsDrawn(), first.events, first.by, first.msg)
	}
	fmt.Fprintf(&b, "```\n")
	checkDocBlock(t, shrinkDocPath, figure8Begin, figure8End, b.String())
}

// The 2PC coordinator that sends its decision before logging it is found
// by a breadth-first search with crashes and restarts in its branches (a
// fault budget of two: the coordinator's crash and its restart), and the
// reference 2PC passes the same search.
func TestTwoPCRestartBugFoundBySearch(t *testing.T) {
	if testing.Short() {
		t.Skip("two searches of about 2 s of CPU each")
	}
	run := func(bug string) *explore.Result {
		sc, err := scenario.Load("../../testdata/explore/2pc-abort-uncertain.yaml")
		require.NoError(t, err)
		require.NoError(t, sc.SetOption("unsafe_abort_uncertain=false"))
		require.NoError(t, sc.SetOption("bug="+bug))
		// The explorer makes the network's choices: as synod explore does,
		// the run's own network is lossless with a fixed delay.
		sc.Network.Latency = sim.Latency{Dist: "constant", Min: sim.Millisecond}
		require.NoError(t, sc.Revalidate())
		inst, err := scenario.Build(sc)
		require.NoError(t, err)
		r, err := explore.Run(inst.Sim, explore.Options{Mode: explore.BFS, DepthMax: 13, FaultBudget: 2,
			StatesMax: 1_000_000, Network: explore.NetworkSet, Spawn: func(w func()) { go w() }})
		require.NoError(t, err)
		return r
	}
	buggy := run("decision-not-logged")
	require.Equal(t, explore.FoundViolation, buggy.Found, "%v", buggy)
	require.Equal(t, "twopc.decision", buggy.Violation.Checker)
	var crashes int
	for _, c := range buggy.Choices {
		if c.Fault != nil && c.Fault.Kind == sim.FaultCrash {
			crashes++
		}
	}
	require.Equal(t, 1, crashes, "the counterexample crashes the coordinator once: %v", buggy.Choices)
	ref := run("")
	require.Equal(t, explore.FoundNothing, ref.Found, "%v", ref)
	require.True(t, ref.Exhaustive(), "%v", ref)
	text := fmt.Sprintf("```\n$ synod explore --scenario testdata/explore/2pc-abort-uncertain.yaml --option unsafe_abort_uncertain=false \\\n    --option bug=decision-not-logged --fault-budget 2 --max-depth 13\n%v\n```\n\nThe reference 2PC (no `bug`), the same search: %v.\n", buggy, ref)
	checkDocBlock(t, shrinkDocPath, searchBegin, searchEnd, text)
}
