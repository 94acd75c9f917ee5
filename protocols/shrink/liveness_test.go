package shrink

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// A liveness failure is a violation like any other: its trace shrinks
// (shrink.Trace is what synod shrink runs) to a run that fails by the same
// rule of the same checker, and the shrunk run replays. Each case is a
// mutant the liveness rule exists for (reports/mutants).
func TestShrinkLivenessFailures(t *testing.T) {
	for _, c := range []struct {
		file, bug string
		want      Failure
	}{
		// One election timeout for all: nodes restarted together split
		// the vote for ever.
		{"../../testdata/scenarios/raft/liveness-restart.yaml", "fixed-election-timeout",
			Failure{Kind: "invariant", Checker: "raft.Progress", Rule: "elections settle"}},
		// A retried request dropped unanswered.
		{"../../testdata/scenarios/raft/chaos5-liveness.yaml", "drop-duplicates",
			Failure{Kind: "invariant", Checker: "raft.Progress", Rule: "operations answered"}},
	} {
		t.Run(c.bug, func(t *testing.T) {
			sc, err := scenario.Load(c.file)
			require.NoError(t, err)
			require.NoError(t, sc.SetOption("bug="+c.bug))
			var buf bytes.Buffer
			_, err = scenario.Run(sc, scenario.RunOptions{Trace: &buf})
			require.NoError(t, err)
			tr, err := sim.ReadTrace(&buf, "liveness.jsonl")
			require.NoError(t, err)
			r, err := Trace(tr, "liveness.jsonl", Options{})
			require.NoError(t, err)
			t.Logf("%v -> %v in %d runs\nsteps: %q", r.Before, r.After, r.Runs, r.Steps)
			assert.Equal(t, c.want, r.Failure)
			assert.Less(t, r.After.Events, r.Before.Events/3, "shrunk to under a third")

			res, err := scenario.Run(r.Scenario, scenario.RunOptions{Choices: r.Choices})
			require.NoError(t, err)
			assert.Equal(t, r.After.Events, res.Events, "the shrunk run replays")
			f, ok := FailureOf(res)
			require.True(t, ok, "the shrunk run fails")
			assert.Equal(t, c.want, f)
		})
	}
}
