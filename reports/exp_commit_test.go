package reports

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// Gray and Lamport, Consensus on Transaction Commit (2006): the measured
// normal case equals the paper's counts (§3.2, §4.3) exactly where synod
// runs the paper's layout, and the paper's count plus the stated
// difference where it does not; §5's example (5 participants, F=1: 12, 17
// and 20 messages) comes out as quoted.
func TestCommitCostMatchesThePaper(t *testing.T) {
	rows, err := CommitCostTable([]int{3, 5}, []int{1, 2}, 3)
	require.NoError(t, err)
	require.Len(t, rows, 2*2+3*4)
	msgs := map[string]float64{}
	for _, r := range rows {
		require.True(t, r.Exact(), "%s N=%d F=%d: measured %g messages, %g delays, %g writes; paper %d%+d, %d%+d, %d%+d",
			r.Layout, r.N, r.F, r.Msgs, r.Delays, r.Writes, r.PaperMsgs, r.DiffMsgs, r.PaperDelays, r.DiffDelays, r.PaperWrites, r.DiffWrites)
		if r.Layout != costLayouts[0].name && r.Layout != costLayouts[2].name {
			require.Zero(t, r.DiffMsgs+r.DiffDelays+r.DiffWrites, "%s is the paper's own layout", r.Layout)
		}
		if r.N == 5 && r.F <= 1 {
			msgs[r.Layout] = r.Msgs
		}
	}
	require.Equal(t, 12.0, msgs["2PC, coordinator co-located"])
	require.Equal(t, 17.0, msgs["Paxos Commit, paper's layout"])
	require.Equal(t, 20.0, msgs["Faster Paxos Commit, paper's layout"])
}

// The comparison is sensitive to the message pattern: Paxos Commit with
// the leader telling the outcome (not Faster) does not pass for Faster
// Paxos Commit, in messages or in delays.
func TestCommitCostCatchesTheWrongPattern(t *testing.T) {
	faster := costLayouts[4]
	wrong := faster
	wrong.opts = costLayouts[3].opts
	m, err := measureCost(wrong, 5, 1, 2)
	require.NoError(t, err)
	require.NotEqual(t, float64(faster.paperMsgs.f(5, 1)), m.msgs)
	require.NotEqual(t, float64(faster.paperDelays.f(5, 1)), m.delays)
}

// The commit-cost table quoted in docs/reports.md is the experiment's
// output at its full size (it runs in well under a second).
func TestCommitCostTableInDocs(t *testing.T) {
	rows, err := CommitCostTable(commitCostFull.ns, commitCostFull.fs, commitCostTxns)
	require.NoError(t, err)
	table, exact := CommitCostMarkdown(rows)
	require.Equal(t, len(rows), exact)
	doc, err := os.ReadFile("../docs/reports.md")
	require.NoError(t, err)
	require.Contains(t, string(doc), table, "docs/reports.md's commit-cost table is stale: run go run ./cmd/synod experiment commit-cost --out docs/figures/commit-cost and paste its table")
}
