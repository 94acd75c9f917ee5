package etcdraft

import (
	"bytes"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/proptest"
	"github.com/synod-dev/synod/sim"
)

var seedsFlag = flag.Int("etcdraft.seeds", 0, "seeds for the etcd-raft property test (0: default, 40; 10 with -short)")

// cluster is an etcd-raft run built directly on the simulator.
type cluster struct {
	t       testing.TB
	s       *sim.Sim
	opts    *Options
	clients int
	crashes crashLog // filled once a test adds it as a fault observer
}

type clusterOpts struct {
	seed      uint64
	nodes     int
	clients   int
	duration  sim.Time
	opts      *Options
	net       sim.NetworkConfig
	faults    []sim.ScheduledFault
	nemesis   *sim.NemesisConfig
	keepGoing bool
	// checkEvery runs the checkers after every checkEvery-th event only
	// (0: after every event).
	checkEvery int
}

func newCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	if o.nodes == 0 {
		o.nodes = 5
	}
	if o.opts == nil {
		o.opts = DefaultOptions()
	}
	if o.net.Latency.Dist == "" {
		o.net.Latency = sim.DefaultLatency
	}
	if o.duration == 0 {
		o.duration = 5 * sim.Second
	}
	require.NoError(t, o.opts.Validate())
	members := make([]sim.NodeID, o.nodes)
	for i := range members {
		members[i] = sim.NodeID(i + 1)
	}
	w := protocols.DefaultWorkload()
	w.Clients = o.clients
	stop := o.duration - w.OpTimeout
	s, err := sim.New(sim.Config{Seed: o.seed, Nodes: o.nodes, Clients: o.clients, Duration: o.duration,
		Network: o.net, Faults: o.faults, Nemesis: o.nemesis, KeepGoing: o.keepGoing, CheckEvery: o.checkEvery}, sim.Factory{
		Node:   func(id sim.NodeID) sim.Process { return New(o.opts, id, members) },
		Client: func(sim.NodeID) sim.Process { return protocols.NewKVClient(&w, stop) },
	})
	require.NoError(t, err)
	for _, c := range NewCheckers() {
		s.AddChecker(c)
	}
	return &cluster{t: t, s: s, opts: o.opts, clients: o.clients}
}

func (c *cluster) runUntil(at sim.Time) {
	c.t.Helper()
	c.s.RunUntil(at)
	c.noFailure()
}

func (c *cluster) noFailure() {
	c.t.Helper()
	require.NoError(c.t, c.s.Err(), "seed %d", c.s.Config().Seed)
	require.Empty(c.t, c.s.Violations(), "seed %d", c.s.Config().Seed)
}

func (c *cluster) node(id sim.NodeID) *Node { return nodeOf(c.s, id) }

// leaders returns the live nodes that believe they lead, with their terms.
func (c *cluster) leaders() map[sim.NodeID]uint64 {
	out := map[sim.NodeID]uint64{}
	for _, id := range c.s.Nodes() {
		if n := c.node(id); n != nil && n.state == raft.StateLeader {
			out[id] = n.term
		}
	}
	return out
}

// leader returns the single leader of the highest term, or 0.
func (c *cluster) leader() sim.NodeID {
	var best sim.NodeID
	var term uint64
	for id, t := range c.leaders() {
		if t > term || (t == term && id < best) {
			best, term = id, t
		}
	}
	return best
}

func (c *cluster) history() []protocols.OpRecord {
	var all []protocols.OpRecord
	for i := 1; i <= c.clients; i++ {
		if hc, ok := c.s.Process(sim.ClientID(i)).(protocols.HistoryClient); ok {
			all = append(all, hc.History()...)
		}
	}
	return all
}

func (c *cluster) okOps() int {
	n := 0
	for _, op := range c.history() {
		if op.Status == protocols.OpOK {
			n++
		}
	}
	return n
}

// traceOf runs a cluster to its end and returns its JSON trace.
func traceOf(t testing.TB, o clusterOpts) []byte {
	c := newCluster(t, o)
	var buf bytes.Buffer
	tw, err := sim.NewTraceWriter(&buf, nil, c.s.Config())
	require.NoError(t, err)
	c.s.AddObserver(tw)
	c.s.Run()
	require.NoError(t, tw.Close(c.s))
	return buf.Bytes()
}

func replay(file string, seed uint64) string { return "replay: " + proptest.Replay(file, seed) }
