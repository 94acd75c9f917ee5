package main

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/tui"
)

func TestExploreReferenceRaftFindsNothing(t *testing.T) {
	code, out, errOut := run(t, "explore", "--protocol", "raft", "--nodes", "3", "--max-depth", "4",
		"--invariant", "election-safety", "--quiet")
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "nothing found")
	assert.Contains(t, out, "depth bound")
}

func TestExploreGoalWritesATraceThatReplays(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "leader.jsonl")
	code, out, errOut := run(t, "explore", "--protocol", "raft", "--nodes", "3", "--max-depth", "6",
		"--goal", "leaders>=1", "--quiet", "--out", trace)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "goal reached at depth 3")
	assert.Contains(t, out, "raft.RequestVote ")
	code, out, errOut = run(t, "replay", trace)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "reproduced exactly")
	// The set network delivers a copy of a message and keeps it in
	// flight: each of the two deliveries is a duplicate and a deliver.
	assert.Contains(t, out, "5 manual choices")
}

func TestExploreBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--max-depth", "0"},
		{"--mode", "sideways"},
		{"--goal", "votes>=2"},
		{"--invariant", "no-such-thing"},
		{"--max-time", "-1s"},
	} {
		code, out, errOut := run(t, append([]string{"explore", "--protocol", "raft", "--nodes", "3", "--quiet"}, args...)...)
		assert.Equal(t, 2, code, "%v: %s%s", args, out, errOut)
	}
}

func TestShrinkPrimaryBackupTrace(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "pb.jsonl")
	small := filepath.Join(dir, "small.jsonl")
	code, out, errOut := run(t, "run", "--scenario", "../../testdata/scenarios/core/pb-partition.yaml", "--trace", trace)
	require.Equal(t, 1, code, out+errOut)
	code, out, errOut = run(t, "shrink", trace, "--out", small, "--budget", "60")
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "fails: linearizability")
	assert.Contains(t, out, "before: 10131 events")
	code, out, errOut = run(t, "replay", small)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "reproduced exactly")

	// A passing trace has nothing to shrink.
	pass := filepath.Join(dir, "pass.jsonl")
	code, _, _ = run(t, "run", "--protocol", "single", "--duration", "200ms", "--trace", pass)
	require.Equal(t, 0, code)
	code, _, errOut = run(t, "shrink", pass)
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "does not fail")
}

// TestExploreTwoPhaseCommitBug: the 2PC participant that aborts after
// voting yes (unsafe_abort_uncertain) is found by breadth-first search at
// its shortest schedule (9 choices); the reference protocol shows nothing
// within the same bounds.
func TestExploreTwoPhaseCommitBug(t *testing.T) {
	const sc = "../../testdata/explore/2pc-abort-uncertain.yaml"
	trace := filepath.Join(t.TempDir(), "2pc.jsonl")
	code, out, errOut := run(t, "explore", "--scenario", sc, "--max-depth", "9", "--no-drops", "--no-duplicates",
		"--quiet", "--workers", "2", "--out", trace)
	require.Equal(t, 1, code, out+errOut)
	assert.Contains(t, out, "violation at depth 9")
	assert.Contains(t, out, "twopc.atomicity")
	code, out, errOut = run(t, "replay", trace)
	require.Equal(t, 0, code, out+errOut)

	code, out, errOut = run(t, "explore", "--scenario", sc, "--option", "unsafe_abort_uncertain=false",
		"--max-depth", "7", "--no-drops", "--no-duplicates", "--quiet")
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "nothing found")
}

// TestExploreTraceOpensInTheTUI loads an explorer counterexample the way
// synod tui FILE does and steps the session to its saved position, where
// the violation is.
func TestExploreTraceOpensInTheTUI(t *testing.T) {
	trace := filepath.Join(t.TempDir(), "2pc.jsonl")
	code, out, errOut := run(t, "explore", "--scenario", "../../testdata/explore/2pc-abort-uncertain.yaml",
		"--mode", "walk", "--walks", "50", "--max-depth", "40", "--no-drops", "--no-duplicates", "--quiet", "--out", trace)
	require.Equal(t, 1, code, out+errOut)
	tr, sc, err := loadTrace(trace)
	require.NoError(t, err)
	sess, err := tui.NewSession(sc)
	require.NoError(t, err)
	pos := tui.FromTrace(sess, tr)
	require.NoError(t, sess.TL.GoTo(pos))
	require.NotEmpty(t, sess.Sim().Violations())
	assert.Equal(t, "twopc.atomicity", sess.Sim().Violations()[0].Checker)
}
