package shrink

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/synod-dev/synod/protocols/all"
	"github.com/synod-dev/synod/protocols/internal/checkertest"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

const pbPartition = "../../testdata/scenarios/core/pb-partition.yaml"

func TestShrinkPrimaryBackupPartition(t *testing.T) {
	sc, err := scenario.Load(pbPartition)
	require.NoError(t, err)
	var log []string
	r, err := Run(sc, nil, Options{Budget: 120, Log: func(s string) { log = append(log, s) }})
	require.NoError(t, err)
	t.Logf("before: %v\nafter: %v\nruns %d, stopped %q\n%v", r.Before, r.After, r.Runs, r.Stopped, log)
	assert.Equal(t, Failure{Kind: "linearizability", Key: "k0"}, r.Failure)
	assert.LessOrEqual(t, r.After.Events, r.Before.Events, "shrinking never grows the run")
	assert.Less(t, r.After.Events, int64(200), "a pb-partition counterexample shrinks to under 200 events")
	assert.LessOrEqual(t, r.Runs, 120)

	// The shrunk run still fails the same way.
	res, err := scenario.Run(r.Scenario, scenario.RunOptions{Choices: r.Choices})
	require.NoError(t, err)
	f, ok := FailureOf(res)
	require.True(t, ok)
	assert.Equal(t, r.Failure, f)

	// Deterministic: the same input shrinks to the same run.
	r2, err := Run(sc, nil, Options{Budget: 120})
	require.NoError(t, err)
	assert.Equal(t, r.After, r2.After)
	assert.Equal(t, string(r.Scenario.JSON()), string(r2.Scenario.JSON()))
}

func TestShrinkATraceThatReplays(t *testing.T) {
	// A trace with manual choices (as explore writes): the shrunk run
	// writes a trace that replays byte for byte.
	sc, err := scenario.Load(pbPartition)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = scenario.Run(sc, scenario.RunOptions{Trace: &buf})
	require.NoError(t, err)
	tr, err := sim.ReadTrace(&buf, "pb.jsonl")
	require.NoError(t, err)
	r, err := Trace(tr, "pb.jsonl", Options{Budget: 40})
	require.NoError(t, err)

	var a, b bytes.Buffer
	_, err = scenario.Run(r.Scenario, scenario.RunOptions{Choices: r.Choices, Trace: &a})
	require.NoError(t, err)
	tr2, err := sim.ReadTrace(bytes.NewReader(a.Bytes()), "small.jsonl")
	require.NoError(t, err)
	sc2, err := scenario.FromJSON(tr2.Header.Run, "small.jsonl")
	require.NoError(t, err)
	_, err = scenario.Run(sc2, scenario.RunOptions{Choices: tr2.Choices, Trace: &b})
	require.NoError(t, err)
	assert.Equal(t, a.String(), b.String())
}

func TestShrinkRefusesAPassingRun(t *testing.T) {
	sc := scenario.Default("single")
	require.NoError(t, sc.Revalidate())
	sc.Duration = sim.Second
	_, err := Run(sc, nil, Options{})
	assert.ErrorContains(t, err, "does not fail")
	_, err = Run(sc, nil, Options{Budget: -1})
	assert.Error(t, err)
}

func TestStopEndsEarly(t *testing.T) {
	sc, err := scenario.Load(pbPartition)
	require.NoError(t, err)
	n := 0
	r, err := Run(sc, nil, Options{Stop: func() bool { n++; return n > 3 }})
	require.NoError(t, err)
	assert.Equal(t, "stop", r.Stopped)
	assert.Equal(t, 4, r.Runs) // the original run and three candidates
}

// TestShrinkAnExplorerCounterexample: a random walk finds the paxos
// ignore-accepted bug with a long schedule; shrinking keeps the same
// invariant failing with far fewer choices, and the result replays.
func TestShrinkAnExplorerCounterexample(t *testing.T) {
	sc, err := scenario.Load("../../testdata/explore/paxos-single-bug.yaml")
	require.NoError(t, err)
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	found, err := explore.Run(inst.Sim, explore.Options{Mode: explore.Walk, Walks: 2000, DepthMax: 80,
		NoDrops: true, NoDuplicates: true, Seed: 1, Workers: 2})
	require.NoError(t, err)
	require.Equal(t, explore.FoundViolation, found.Found, found.String())

	r, err := Run(sc, found.Choices, Options{Budget: 200})
	require.NoError(t, err)
	t.Logf("walk %d: %d choices; shrunk: %v -> %v in %d runs", found.Walk, len(found.Choices), r.Before, r.After, r.Runs)
	assert.Equal(t, Failure{Kind: "invariant", Checker: "paxos"}, r.Failure)
	assert.LessOrEqual(t, r.After.Events, r.Before.Events)
	assert.Less(t, r.After.Choices, r.Before.Choices)

	var a, b bytes.Buffer
	res, err := scenario.Run(r.Scenario, scenario.RunOptions{Choices: r.Choices, Trace: &a})
	require.NoError(t, err)
	f, ok := FailureOf(res)
	require.True(t, ok)
	assert.Equal(t, r.Failure, f)
	_, err = scenario.Run(r.Scenario, scenario.RunOptions{Choices: r.Choices, Trace: &b})
	require.NoError(t, err)
	assert.Equal(t, a.String(), b.String())

	r2, err := Run(sc, found.Choices, Options{Budget: 200})
	require.NoError(t, err)
	assert.Equal(t, r.Choices, r2.Choices, "shrinking is deterministic")
}

// TestShrinkWithCallerCheckers: a failure only a caller's checker sees
// (Raft elects leaders under chaos; its own checkers are happy) shrinks
// with Options.Checkers, each run with a fresh checker, and the shrunk run
// still fails that checker.
func TestShrinkWithCallerCheckers(t *testing.T) {
	sc, err := scenario.Load("../../testdata/scenarios/raft/chaos3.yaml")
	require.NoError(t, err)
	fresh := 0
	checkers := func() []sim.Checker { fresh++; return []sim.Checker{&checkertest.ThreeElections{}} }

	// Without the caller's checker the run does not fail: nothing to shrink.
	_, err = Run(sc, nil, Options{Budget: 10})
	require.ErrorContains(t, err, "does not fail")

	r, err := Run(sc, nil, Options{Budget: 60, Checkers: checkers})
	require.NoError(t, err)
	t.Logf("before: %v\nafter: %v\nruns %d, steps %v", r.Before, r.After, r.Runs, r.Steps)
	assert.Equal(t, Failure{Kind: "invariant", Checker: "three-elections"}, r.Failure)
	assert.Less(t, r.After.Events, r.Before.Events)
	assert.GreaterOrEqual(t, fresh, r.Runs, "every run gets fresh checkers")

	in, err := Build(r.Scenario, checkers)
	require.NoError(t, err)
	res, err := in.Execute(r.Choices)
	require.NoError(t, err)
	f, ok := FailureOf(res)
	require.True(t, ok)
	assert.Equal(t, r.Failure, f)
	assert.Equal(t, r.After.Events, res.Events)
}
