package exercises_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/exercises"
)

// TestUnknownEarnsNoPoints: a test whose linearizability check cannot
// decide (a budget nothing finishes within) gives the reference solution
// no points, says "unknown" and why, and costs only that test: an
// undecided verdict is never a pass.
func TestUnknownEarnsNoPoints(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	t.Setenv("SYNOD_GRADE_INPROCESS", "1")
	spec, err := protocols.Lookup("raft")
	require.NoError(t, err)
	ex := &exercises.Exercise{Name: "undecided", Reference: "raft", Tests: []exercises.Test{
		{Name: "decided", Points: 5, Core: true, Kind: "scenario", Lin: true,
			YAML: "nodes: 3\nduration: 1s\nworkload: {clients: 2}\n"},
		{Name: "undecided", Points: 5, Core: true, Kind: "scenario", Lin: true,
			YAML: "nodes: 3\nduration: 1s\nworkload: {clients: 2}\nchecks: {lin_budget: 1ns}\n"},
	}}
	score, err := exercises.Grade(ex, spec, exercises.Options{Short: true, NoShrink: true})
	require.NoError(t, err)
	require.Len(t, score.Results, 2)
	assert.Equal(t, 5, score.Results[0].Points, "%+v", score.Results[0])
	got := score.Results[1]
	assert.Equal(t, 0, got.Points)
	assert.Equal(t, "unknown", got.Kind)
	assert.Contains(t, got.Failure, "lin_budget")
}
