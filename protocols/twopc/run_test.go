package twopc

import (
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// harness runs one protocol on the simulator directly.
type harness struct {
	s       *sim.Sim
	opts    *Options
	proto   string
	clients int
}

type runSpec struct {
	proto   string
	nodes   int
	opts    *Options
	clients int
	maxOps  int
	dur     sim.Time
	seed    uint64
	latency sim.Latency
	loss    float64
	faults  []sim.ScheduledFault
	nemesis *sim.NemesisConfig
	think   sim.Time
}

func newHarness(t testing.TB, r runSpec) *harness {
	t.Helper()
	if r.opts == nil {
		r.opts = DefaultOptions()
	}
	if r.dur == 0 {
		r.dur = 2 * sim.Second
	}
	if r.latency.Dist == "" {
		r.latency = sim.DefaultLatency
	}
	spec, err := protocols.Lookup(r.proto)
	require.NoError(t, err)
	c := protocols.Cluster{Nodes: r.nodes, Options: r.opts, Seed: r.seed}
	nf, err := spec.New(c)
	require.NoError(t, err)
	w := protocols.DefaultWorkload()
	w.Clients = r.clients
	w.Think = r.think
	w.MaxOps = r.maxOps
	w.OpTimeout = 500 * sim.Millisecond
	w.Stop = r.dur - w.OpTimeout
	cf, err := spec.Client(c, &w)
	require.NoError(t, err)
	cfg := sim.Config{Seed: r.seed, Nodes: r.nodes, Clients: r.clients, Duration: r.dur,
		Network: sim.NetworkConfig{Latency: r.latency, Loss: r.loss}, Faults: r.faults, Nemesis: r.nemesis}
	s, err := sim.New(cfg, sim.Factory{Node: func(id sim.NodeID) sim.Process { return nf(id) }, Client: cf})
	require.NoError(t, err)
	for _, ch := range spec.Checkers(c) {
		s.AddChecker(ch)
	}
	return &harness{s: s, opts: r.opts, proto: r.proto, clients: r.clients}
}

// counts tallies the clients' transactions by status.
func (h *harness) counts() map[protocols.OpStatus]int {
	out := map[protocols.OpStatus]int{}
	for i := 1; i <= h.clients; i++ {
		if c, ok := h.s.Process(sim.ClientID(i)).(protocols.HistoryClient); ok {
			for _, r := range c.History() {
				out[r.Status]++
			}
		}
	}
	return out
}

func (h *harness) requireClean(t testing.TB) {
	t.Helper()
	require.NoError(t, h.s.Err())
	require.Empty(t, h.s.Violations(), "violations")
}

var seedsFlag = flag.Int("twopc.seeds", 0, "seeds per property scenario (0: 50, or 10 with -short)")

func seeds() int {
	if *seedsFlag > 0 {
		return *seedsFlag
	}
	if testing.Short() {
		return 10
	}
	return 50
}

func TestFailureFreeCommits(t *testing.T) {
	for _, proto := range []string{"2pc", "paxos-commit"} {
		for _, wl := range []string{"bank", "kv"} {
			t.Run(fmt.Sprintf("%s/%s", proto, wl), func(t *testing.T) {
				o := DefaultOptions()
				o.Workload = wl
				nodes := 4
				if proto == "paxos-commit" {
					nodes = 6
				}
				h := newHarness(t, runSpec{proto: proto, nodes: nodes, opts: o, clients: 3, seed: 1, think: 2 * sim.Millisecond})
				h.s.Run()
				h.requireClean(t)
				c := h.counts()
				require.Greater(t, c[protocols.OpOK], 50, "commits: %v", c)
				require.Zero(t, c[protocols.OpUnknown], "unknown: %v", c)
				b := Blocking(h.s)
				require.Zero(t, b.Open, "still uncertain: %v", b)
				t.Logf("%v; blocking %v", c, b)
			})
		}
	}
}
