package paxos

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// cluster is a run of Multi-Paxos on the simulator, built directly (no
// scenario file) for tests.
type cluster struct {
	t       testing.TB
	s       *sim.Sim
	cfg     *config
	checker *Checker
	clients []*protocols.KVClient
}

type clusterOpts struct {
	seed     uint64
	nodes    int
	clients  int
	duration sim.Time
	opts     *Options
	net      sim.NetworkConfig
	faults   []sim.ScheduledFault
	nemesis  *sim.NemesisConfig
	workload *protocols.Workload
	noCheck  bool
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
	cfg, err := o.opts.resolve(o.nodes)
	require.NoError(t, err)
	w := protocols.DefaultWorkload()
	if o.workload != nil {
		w = *o.workload
	}
	w.Clients = o.clients
	c := &cluster{t: t, cfg: cfg}
	stop := o.duration - w.OpTimeout
	s, err := sim.New(sim.Config{Seed: o.seed, Nodes: o.nodes, Clients: o.clients, Duration: o.duration,
		Network: o.net, Faults: o.faults, Nemesis: o.nemesis, KeepGoing: false},
		sim.Factory{
			Node: func(id sim.NodeID) sim.Process { return newNode(cfg, id) },
			Client: func(id sim.NodeID) sim.Process {
				cl := protocols.NewKVClient(&w, stop)
				c.clients = append(c.clients, cl)
				return cl
			},
		})
	require.NoError(t, err)
	if !o.noCheck {
		c.checker = NewCheckerQuorum(o.nodes, cfg.q2)
		s.AddChecker(c.checker)
	}
	c.s = s
	return c
}

func (c *cluster) node(id sim.NodeID) *Node {
	n, _ := c.s.Process(id).(*Node)
	return n
}

// history gathers every client's operations.
func (c *cluster) history() []protocols.OpRecord {
	var h []protocols.OpRecord
	for _, cl := range c.clients {
		h = append(h, cl.History()...)
	}
	return h
}

// ops counts operations by outcome.
func (c *cluster) ops() (ok, other int) {
	for _, r := range c.history() {
		if r.Status == protocols.OpOK {
			ok++
		} else {
			other++
		}
	}
	return
}

// requireSafe fails on a violation, a panic or a non-linearizable history.
func (c *cluster) requireSafe(replay string) {
	c.t.Helper()
	require.NoError(c.t, c.s.Err(), replay)
	require.Empty(c.t, c.s.Violations(), replay)
	lin := protocols.CheckLinearizable(c.history(), c.s.Now(), 20*time.Second)
	require.NotEqual(c.t, protocols.LinViolation, lin.Result, replay)
}

// leaders returns the live nodes that believe they lead.
func (c *cluster) leaders() []sim.NodeID {
	var out []sim.NodeID
	for _, id := range c.s.Nodes() {
		if n := c.node(id); n != nil && n.role == roleLeader {
			out = append(out, id)
		}
	}
	return out
}
