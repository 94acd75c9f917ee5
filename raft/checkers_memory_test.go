package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// TestPersistenceCatchesLeftoverEntries: a truncation that forgets to
// delete what it cut from the log leaves entries in stable storage that a
// restart would read back (it reads from the snapshot up to the first
// missing entry). The persistence checker counts the stored keys against
// the log and fails; the step after that catches it without re-reading
// an unchanged store, and the checker finds nothing on the true state.
func TestPersistenceCatchesLeftoverEntries(t *testing.T) {
	r := newTestRun(t, 3, 3, 2, 2*sim.Second, nil)
	r.runUntil(sim.Second)
	r.ok()
	id := r.leader()
	require.NotZero(t, id)
	n := r.node(id)
	require.Greater(t, n.log.last(), n.log.snapIndex+2, "the leader's log is too short to cut")
	c := &persistence{}
	st := r.s.Storage(id)
	require.NoError(t, c.check(id, n, st))

	// A copy of the node that cut its last two entries without deleting
	// them from storage.
	cut := *n
	cut.log.entries = n.log.entries[:len(n.log.entries)-2]
	err := c.check(id, &cut, st)
	require.ErrorContains(t, err, "store holds")
	t.Log(err)
}

// TestLogCheckersForgetCompactedEntries: over a long run with snapshots,
// the log checkers keep only entries above what every node compacted, so
// their memory (and the copy a checkpoint makes of them) stays bounded by
// the snapshot interval, not the run's length.
func TestLogCheckersForgetCompactedEntries(t *testing.T) {
	opts := DefaultOptions()
	opts.SnapshotEntries = 100
	r := newTestRun(t, 5, 3, 4, 20*sim.Second, opts)
	r.runUntil(20 * sim.Second)
	r.ok()
	var commit int64
	for _, id := range r.s.Nodes() {
		commit = max(commit, r.node(id).commit)
	}
	require.Greater(t, commit, int64(20*opts.SnapshotEntries), "too few entries committed to show anything")
	// The floor trails the slowest node's snapshot by at most a snapshot
	// interval and the pruning step; the window above it holds the
	// uncompacted logs.
	bound := 2*opts.SnapshotEntries + compactPruneMin + 200
	for _, ch := range r.s.Checkers() {
		switch c := ch.(type) {
		case *logMatching:
			require.Less(t, len(c.seen), bound, "LogMatching keeps %d entries at commit %d", len(c.seen), commit)
		case *leaderCompleteness:
			require.Less(t, len(c.committed), bound, "LeaderCompleteness keeps %d entries at commit %d", len(c.committed), commit)
			require.Positive(t, c.base)
		case *stateMachineSafety:
			require.Less(t, len(c.digests), bound, "StateMachineSafety keeps %d digests at commit %d", len(c.digests), commit)
			require.Positive(t, c.base)
		}
	}
}

// TestRoleCommitMatchesInspect: the TUI's event log asks nodes for their
// role and commit index after every event through RoleCommit instead of
// building a view; it must say what Inspect says.
func TestRoleCommitMatchesInspect(t *testing.T) {
	r := newTestRun(t, 11, 5, 2, 3*sim.Second, nil)
	for k := 0; k < 5000 && r.s.Step(); k++ {
		if k == 1000 {
			r.inject(sim.Fault{Kind: sim.FaultCrash, Node: 2})
		}
		for _, id := range r.s.Nodes() {
			n := r.node(id)
			if n == nil {
				continue
			}
			v := n.Inspect()
			role, commit := n.RoleCommit()
			require.Equal(t, v.Role, role, "%v at event %d", id, r.s.Index())
			require.Equal(t, v.Commit, commit, "%v at event %d", id, r.s.Index())
		}
	}
}
