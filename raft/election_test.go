package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// Raft §5.2: a cluster elects one leader, and every other node follows it.
func TestInitialElection(t *testing.T) {
	for _, pre := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "prevote"}[pre], func(t *testing.T) {
			opts := DefaultOptions()
			opts.PreVote = pre
			r := newTestRun(t, 1, 5, 0, 2*sim.Second, opts)
			r.runUntil(1 * sim.Second)
			l := r.leader()
			require.NotZero(t, l, "no leader after 1s")
			require.Len(t, r.leaders(), 1)
			for _, id := range r.s.Nodes() {
				n := r.node(id)
				require.Equal(t, l, n.leader, "%v follows %v, want %v", id, n.leader, l)
				require.Equal(t, r.node(l).term, n.term)
			}
			// The leader's no-op commits everywhere through heartbeats.
			r.runUntil(1500 * sim.Millisecond)
			for _, id := range r.s.Nodes() {
				require.GreaterOrEqual(t, r.node(id).commit, int64(1), "%v", id)
			}
		})
	}
}

func TestClientLoadNoFaults(t *testing.T) {
	r := newTestRun(t, 7, 5, 3, 3*sim.Second, nil)
	r.runUntil(3 * sim.Second)
	ok, failed, unknown := r.ops()
	t.Logf("ops ok=%d failed=%d unknown=%d stats=%+v", ok, failed, unknown, r.s.Stats())
	require.Greater(t, ok, 100)
	require.Zero(t, unknown)
}
