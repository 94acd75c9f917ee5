package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// duel runs Multi-Paxos where every node's election clock fires at the same
// moment, and reports answered operations and phase 1 rounds started.
func duel(t *testing.T, seed uint64, backoff bool) (ok int, elections int64) {
	o := DefaultOptions()
	o.Backoff = backoff
	c := newCluster(t, clusterOpts{seed: seed, clients: 3, duration: 3 * sim.Second, opts: o})
	c.s.Run()
	c.requireSafe("")
	ok, _ = c.ops()
	for _, id := range c.s.Nodes() {
		elections += c.node(id).stats.Elections
	}
	return ok, elections
}

// Paxos Made Simple §2.4: two proposers can keep issuing ever higher
// ballots so that neither completes phase 2; a random backoff (or a
// distinguished proposer chosen by random time-outs) restores progress.
// Without backoff every node's election clock fires at the same moment and
// a preempted proposer retries at once: the cluster livelocks.
func TestDuelingProposers(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		okOff, elOff := duel(t, seed, false)
		okOn, elOn := duel(t, seed, true)
		t.Logf("seed %d: backoff off: %d ops, %d ballots; backoff on: %d ops, %d ballots", seed, okOff, elOff, okOn, elOn)
		require.Less(t, okOff*20, okOn, "seed %d: without backoff progress should stall", seed)
		require.Greater(t, elOff, 50*elOn, "seed %d: without backoff ballots should churn", seed)
		require.Greater(t, okOn, 100, "seed %d", seed)
	}
}

// The livelock ends when backoff is switched on in the middle of the run.
func TestDuelRecoversWithBackoff(t *testing.T) {
	o := DefaultOptions()
	o.Backoff = false
	c := newCluster(t, clusterOpts{seed: 7, clients: 3, duration: 4 * sim.Second, opts: o})
	c.s.RunUntil(2 * sim.Second)
	stalled, _ := c.ops()
	require.Empty(t, c.s.Violations())
	c.cfg.Backoff = true // every node shares the resolved options
	c.s.Run()
	c.requireSafe("")
	ok, _ := c.ops()
	t.Logf("ops answered: %d in 2s without backoff, %d in the 2s after it was switched on", stalled, ok-stalled)
	require.Less(t, stalled*10, ok-stalled)
	require.Greater(t, ok-stalled, 50)
}
