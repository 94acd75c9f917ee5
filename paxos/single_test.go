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

// scriptedClient sends one put to node `to` at time `at` and keeps the
// answer.
type scriptedClient struct {
	to     sim.NodeID
	at     sim.Time
	answer *protocols.Response
}

func (c *scriptedClient) Start(env *sim.Env) { env.SetTimer(c.at, "send", 0) }
func (c *scriptedClient) Timer(env *sim.Env, _ sim.Timer) {
	env.Send(c.to, &protocols.Request{Client: env.ID(), Seq: 1, Op: protocols.Op{Kind: protocols.OpPut, Key: "x", Value: env.ID().String()}})
}
func (c *scriptedClient) Receive(env *sim.Env, _ sim.NodeID, m sim.Message) {
	if r, ok := m.(*protocols.Response); ok && c.answer == nil {
		c.answer = r
	}
}

// Paxos Made Simple §2.2, P2c: n1's value is chosen (a majority accepted
// it) but n1 crashes before it learns so. A later proposer, n2, with its
// own client's value, must find n1's value in phase 1 and propose it
// instead: the chosen value never changes.
func TestSingleDecreeLaterProposerAdoptsChosenValue(t *testing.T) {
	cfg, err := DefaultOptions().resolve(5)
	require.NoError(t, err)
	c1 := &scriptedClient{to: 1, at: 0}
	c2 := &scriptedClient{to: 2, at: 100 * sim.Millisecond}
	hop := 5 * sim.Millisecond
	// c1's request reaches n1 at 5ms; n1's promises are back at 15ms and it
	// sends Accept; it crashes at 16ms, before the Accepted answers.
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 5, Clients: 2, Duration: sim.Second,
		Network: sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: hop}},
		Faults:  []sim.ScheduledFault{{At: 3*hop + sim.Millisecond, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 1}}}},
		sim.Factory{Node: func(id sim.NodeID) sim.Process { return newSingle(cfg, id) },
			Client: func(id sim.NodeID) sim.Process {
				if id == sim.ClientID(1) {
					return c1
				}
				return c2
			}})
	require.NoError(t, err)
	chk := NewChecker(5)
	s.AddChecker(chk)
	s.RunUntil(50 * sim.Millisecond)
	v, ok := chk.Chosen(singleSlot)
	require.True(t, ok, "n1's value is chosen by the acceptors")
	require.Equal(t, sim.ClientID(1), v.Client)
	require.Nil(t, c1.answer, "n1 crashed before it learned")
	s.Run()
	require.NoError(t, s.Err())
	require.Empty(t, s.Violations())
	require.NotNil(t, c2.answer)
	require.Equal(t, cmdString(&v), c2.answer.Value, "n2 proposed n1's chosen value, not its client's")
	require.False(t, c2.answer.Swapped)
}
