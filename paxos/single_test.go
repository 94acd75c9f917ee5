package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// runSingle runs the Synod protocol with KV clients that spread their
// requests over the nodes, so several proposers race.
func runSingle(t *testing.T, seed uint64, o *Options, faults []sim.ScheduledFault, net sim.NetworkConfig) (*sim.Sim, []*protocols.KVClient) {
	t.Helper()
	cfg, err := o.resolve(5)
	require.NoError(t, err)
	w := protocols.DefaultWorkload()
	w.Clients = 5
	var clients []*protocols.KVClient
	if net.Latency.Dist == "" {
		net.Latency = sim.DefaultLatency
	}
	s, err := sim.New(sim.Config{Seed: seed, Nodes: 5, Clients: 5, Duration: 3 * sim.Second, Network: net, Faults: faults},
		sim.Factory{Node: func(id sim.NodeID) sim.Process { return newSingle(cfg, id) },
			Client: func(sim.NodeID) sim.Process {
				c := protocols.NewKVClient(&w, 2*sim.Second)
				clients = append(clients, c)
				return c
			}})
	require.NoError(t, err)
	s.AddChecker(NewChecker(5))
	s.Run()
	require.NoError(t, s.Err())
	require.Empty(t, s.Violations())
	return s, clients
}

// Every client, whichever node it asks, learns the same chosen value.
func TestSingleDecreeAgreement(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		_, clients := runSingle(t, seed, DefaultOptions(), []sim.ScheduledFault{
			{At: 20 * sim.Millisecond, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 1}},
			{At: 500 * sim.Millisecond, Fault: sim.Fault{Kind: sim.FaultRestart, Node: 1}},
		}, sim.NetworkConfig{Loss: 0.1, Duplicate: 0.1})
		values := map[string]int{}
		for _, c := range clients {
			for _, r := range c.History() {
				if r.Status == protocols.OpOK {
					values[r.Value]++
				}
			}
		}
		require.Len(t, values, 1, "seed %d: %v", seed, values)
	}
}
