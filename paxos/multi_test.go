package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

func TestMultiPaxosSteady(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1, clients: 3})
	c.s.Run()
	c.requireSafe("")
	ok, other := c.ops()
	t.Logf("ok=%d other=%d stats=%+v chosen=%d", ok, other, c.s.Stats(), c.checker.ChosenSlots())
	require.Greater(t, ok, 100)
	require.Len(t, c.leaders(), 1)
}

func TestMultiPaxosLeaderCrash(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 2, clients: 3, faults: []sim.ScheduledFault{
		{At: sim.Second, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 1}},
		{At: 2 * sim.Second, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 2}},
		{At: 3 * sim.Second, Fault: sim.Fault{Kind: sim.FaultRestart, Node: 1}},
		{At: 3 * sim.Second, Fault: sim.Fault{Kind: sim.FaultRestart, Node: 2}},
	}})
	c.s.Run()
	c.requireSafe("")
	ok, other := c.ops()
	t.Logf("ok=%d other=%d stats=%+v", ok, other, c.s.Stats())
	require.Greater(t, ok, 100)
}

func TestMultiPaxosNemesisQuick(t *testing.T) {
	for seed := uint64(1); seed <= 30; seed++ {
		c := newCluster(t, clusterOpts{seed: seed, clients: 3, duration: 6 * sim.Second,
			net: sim.NetworkConfig{Latency: sim.Latency{Dist: "exponential", Min: sim.Millisecond, Mean: 3 * sim.Millisecond, Max: 200 * sim.Millisecond}, Loss: 0.1, Duplicate: 0.05},
			nemesis: &sim.NemesisConfig{CrashEvery: 500 * sim.Millisecond, PartitionEvery: 700 * sim.Millisecond, CutEvery: 900 * sim.Millisecond,
				Downtime: 300 * sim.Millisecond, DriftMax: 0.05, HealAt: 4 * sim.Second}})
		c.s.Run()
		c.requireSafe("seed " + itoa(int64(seed)))
		ok, other := c.ops()
		t.Logf("seed %d ok=%d other=%d stats=%+v", seed, ok, other, c.s.Stats())
	}
}
