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
