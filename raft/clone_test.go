package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// TestCloneProcessIsDeep: a node's CloneProcess shares nothing mutable. A
// run forked (sim.Sim.Fork, which uses CloneProcess) and stepped through
// elections, client commands, snapshots and crashes matches a deep copy of
// the same run stepped alike, and stepping the fork leaves the original
// untouched.
func TestCloneProcessIsDeep(t *testing.T) {
	opts := DefaultOptions()
	opts.SnapshotEntries = 20
	for seed := uint64(1); seed <= 6; seed++ {
		r := newTestRun(t, seed, 3, 2, 10*sim.Second, opts)
		s := r.s
		s.RunUntil(1 * sim.Second)
		before := s.Clone()
		f, ref := s.Fork(), s.Clone()
		for i := range 3000 {
			switch i {
			case 500:
				require.NoError(t, f.Inject(sim.Fault{Kind: sim.FaultCrash, Node: 1}))
				require.NoError(t, ref.Inject(sim.Fault{Kind: sim.FaultCrash, Node: 1}))
			case 1500:
				require.NoError(t, f.Inject(sim.Fault{Kind: sim.FaultRestart, Node: 1}))
				require.NoError(t, ref.Inject(sim.Fault{Kind: sim.FaultRestart, Node: 1}))
			}
			f.Step()
			ref.Step()
		}
		require.Empty(t, f.Violations())
		requireSame(t, f, ref)
		requireSame(t, s, before)
	}
}

func requireSame(t *testing.T, a, b *sim.Sim) {
	t.Helper()
	fa, _ := a.Fingerprint(nil)
	fb, _ := b.Fingerprint(nil)
	require.Equal(t, fb, fa)
	require.Equal(t, b.Stats(), a.Stats())
	for _, id := range a.Nodes() {
		na, nb := node(a, id), node(b, id)
		require.Equal(t, nb == nil, na == nil)
		if na == nil {
			continue
		}
		require.Equal(t, nb.AppendState(nil), na.AppendState(nil), "%v", id)
		require.Equal(t, nb.Inspect(), na.Inspect(), "%v", id)
		require.Equal(t, nb.kv.Data, na.kv.Data, "%v", id)
		require.Equal(t, nb.digests, na.digests, "%v", id)
	}
}
