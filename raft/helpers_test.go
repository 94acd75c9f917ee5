package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/proptest"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// testRun is a raft cluster built directly on sim, for tests that steer
// the run by hand.
type testRun struct {
	t    testing.TB
	s    *sim.Sim
	opts *Options
}

// newTestRun builds nodes raft nodes (with checkers) and clients KV
// clients over a fixed 1-5ms network.
func newTestRun(t testing.TB, seed uint64, nodes, clients int, dur sim.Time, opts *Options) *testRun {
	t.Helper()
	if opts == nil {
		opts = DefaultOptions()
	}
	members := make([]sim.NodeID, nodes)
	for i := range members {
		members[i] = sim.NodeID(i + 1)
	}
	require.NoError(t, opts.Validate(nodes, members))
	w := protocols.DefaultWorkload()
	w.Clients = clients
	cfg := sim.Config{Seed: seed, Nodes: nodes, Clients: clients, Duration: dur, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}}
	f := sim.Factory{
		Node:   func(sim.NodeID) sim.Process { return New(opts, members) },
		Client: func(sim.NodeID) sim.Process { return protocols.NewKVClient(&w, dur-w.OpTimeout) },
	}
	s, err := sim.New(cfg, f)
	require.NoError(t, err)
	for _, c := range Checkers(protocols.Cluster{Nodes: nodes, Members: members}) {
		s.AddChecker(c)
	}
	return &testRun{t: t, s: s, opts: opts}
}

func (r *testRun) node(id sim.NodeID) *Node { return node(r.s, id) }

// leaders returns the live nodes that believe they lead, highest term first.
func (r *testRun) leaders() []sim.NodeID {
	var out []sim.NodeID
	for _, id := range r.s.Nodes() {
		if n := r.node(id); n != nil && n.role == Leader {
			out = append(out, id)
		}
	}
	return out
}

// leader returns the leader of the highest term among live nodes, or 0.
func (r *testRun) leader() sim.NodeID {
	var best sim.NodeID
	var term int64 = -1
	for _, id := range r.leaders() {
		if n := r.node(id); n.term > term {
			best, term = id, n.term
		}
	}
	return best
}

// runUntil advances the run to t and fails on a violation or panic.
func (r *testRun) runUntil(at sim.Time) {
	r.t.Helper()
	r.s.RunUntil(at)
	r.ok()
}

func (r *testRun) ok() {
	r.t.Helper()
	require.NoError(r.t, r.s.Err())
	require.Empty(r.t, r.s.Violations())
}

func (r *testRun) inject(f sim.Fault) {
	r.t.Helper()
	require.NoError(r.t, r.s.Inject(f))
}

// ops counts the clients' operations by outcome.
func (r *testRun) ops() (ok, failed, unknown int) {
	for i := 1; i <= r.s.Config().Clients; i++ {
		for _, op := range r.s.Process(sim.ClientID(i)).(*protocols.KVClient).History() {
			switch op.Status {
			case protocols.OpOK:
				ok++
			case protocols.OpFailed:
				failed++
			default:
				unknown++
			}
		}
	}
	return
}

// loadScenario reads a scenario of testdata/scenarios/raft.
func loadScenario(t testing.TB, name string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load("../testdata/scenarios/raft/" + name)
	require.NoError(t, err)
	return sc
}

// replay is the command that replays a scenario with a seed.
func replay(file string, seed uint64) string { return proptest.Replay(file, seed) }

// kvOf is the key-value store a node replicates by default.
func kvOf(n *Node) *protocols.KV { return n.sm.(*KVStateMachine).KV }
