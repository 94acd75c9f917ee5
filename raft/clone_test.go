package raft

import (
	"testing"
	"unsafe"

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
		// Two forks that go different ways (the leader, or another node,
		// crashed and restarted at times of their own), stepped in
		// turns: the arrays a copy shares with its original (and so with
		// the other fork) must not be written by either, even when the
		// same node is elected in both.
		f, ref := s.Fork(), s.Clone()
		g, gref := s.Fork(), s.Clone()
		// The leader and a follower y go down in both forks, leaving x
		// to campaign alone in both; y comes back sooner in f, so x is
		// elected in f while it still campaigns in g.
		leader := r.leader()
		y := leader%3 + 1
		type fault struct {
			at   int
			kind sim.FaultKind
			node sim.NodeID
		}
		plans := [][]fault{
			{{300, sim.FaultCrash, leader}, {300, sim.FaultCrash, y}, {330 + 5*int(seed), sim.FaultRestart, y}, {800, sim.FaultRestart, leader}},
			{{305, sim.FaultCrash, leader}, {305, sim.FaultCrash, y}, {500, sim.FaultRestart, y}, {900, sim.FaultRestart, leader}},
		}
		for i := range 1500 {
			for k, pair := range [][2]*sim.Sim{{f, ref}, {g, gref}} {
				for _, ft := range plans[k] {
					if ft.at == i {
						for _, x := range pair {
							require.NoError(t, x.Inject(sim.Fault{Kind: ft.kind, Node: ft.node}))
						}
					}
				}
				pair[0].Step()
				pair[1].Step()
			}
		}
		require.Empty(t, f.Violations())
		require.Empty(t, g.Violations())
		requireSame(t, f, ref)
		requireSame(t, g, gref)
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
		require.Equal(t, kvOf(nb).Data, kvOf(na).Data, "%v", id)
		require.Equal(t, nb.digests, na.digests, "%v", id)
	}
}

// TestNodeSize: a Node fits the allocator's fast path for objects of at
// most 512 bytes (no malloc header): a search clones one per step.
func TestNodeSize(t *testing.T) {
	require.LessOrEqual(t, unsafe.Sizeof(Node{}), uintptr(512))
}
