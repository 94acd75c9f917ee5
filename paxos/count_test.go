package paxos

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// counter is an observer that counts node-to-node messages by type and
// notes when client requests arrive and answers leave.
type counter struct {
	sent      map[string]int
	perSlot   map[int64]*slotCount // Multi-Paxos phase 2 messages by slot
	requestAt map[int64]sim.Time   // by sequence number (one client)
	delays    []sim.Time           // request arrival to answer, per command
}

type slotCount struct {
	first            sim.Time // when the first Accept for it left
	accept, accepted int
}

func newCounter() *counter {
	return &counter{sent: map[string]int{}, requestAt: map[int64]sim.Time{}, perSlot: map[int64]*slotCount{}}
}

func (c *counter) slot(s int64, now sim.Time) *slotCount {
	sc := c.perSlot[s]
	if sc == nil {
		sc = &slotCount{first: now}
		c.perSlot[s] = sc
	}
	return sc
}

func (c *counter) Observe(s *sim.Sim, r *sim.Record) {
	if r.Event.Kind == sim.KindRequest {
		if _, ok := c.requestAt[r.Event.Msg.(*protocols.Request).Seq]; !ok {
			c.requestAt[r.Event.Msg.(*protocols.Request).Seq] = r.Event.At
		}
	}
	for i := range r.Effects {
		e := &r.Effects[i]
		if e.Kind != sim.EffectSend {
			continue
		}
		if resp, ok := e.Msg.(*protocols.Response); ok {
			if at, ok := c.requestAt[resp.Seq]; ok && resp.Status == protocols.StatusOK {
				c.delays = append(c.delays, s.Now()-at)
			}
			continue
		}
		if !e.To.IsClient() && !r.Event.To.IsClient() {
			c.sent[e.Msg.MessageType()]++
			switch m := e.Msg.(type) {
			case *Accept:
				c.slot(m.Slot, s.Now()).accept++
			case *Accepted:
				c.slot(m.Slot, s.Now()).accepted++
			}
		}
	}
}

const hop = 10 * sim.Millisecond

// constantNet makes every message take exactly one hop, so message delays
// can be read off the clock.
var constantNet = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: hop}}

// oneRequest is a client that sends one put to n1 and waits.
type oneRequest struct{ done bool }

func (c *oneRequest) Start(env *sim.Env) {
	env.Send(1, &protocols.Request{Client: env.ID(), Seq: 1, Op: protocols.Op{Kind: protocols.OpPut, Key: "x", Value: "1"}})
}
func (c *oneRequest) Receive(env *sim.Env, from sim.NodeID, m sim.Message) { c.done = true }
func (c *oneRequest) Timer(*sim.Env, sim.Timer)                            {}

// Paxos Made Simple §2.2-2.3: with one proposer and no failures, a value is
// chosen after prepare, promise, accept and accepted: 4 message delays and
// 4(N-1) messages.
func TestSingleDecreeMessageCounts(t *testing.T) {
	for _, nodes := range []int{3, 5, 7} {
		t.Run(fmt.Sprintf("N=%d", nodes), func(t *testing.T) {
			cfg, err := DefaultOptions().resolve(nodes)
			require.NoError(t, err)
			cl := &oneRequest{}
			s, err := sim.New(sim.Config{Seed: 1, Nodes: nodes, Clients: 1, Duration: sim.Second, Network: constantNet},
				sim.Factory{Node: func(id sim.NodeID) sim.Process { return newSingle(cfg, id) },
					Client: func(sim.NodeID) sim.Process { return cl }})
			require.NoError(t, err)
			cnt := newCounter()
			s.AddObserver(cnt)
			s.AddChecker(NewChecker(nodes))
			s.Run()
			require.NoError(t, s.Err())
			require.Empty(t, s.Violations())
			require.True(t, cl.done)
			phases := cnt.sent["paxos1.Prepare"] + cnt.sent["paxos1.Promise"] + cnt.sent["paxos1.Accept"] + cnt.sent["paxos1.Accepted"]
			require.Equal(t, 4*(nodes-1), phases, "got %v", cnt.sent)
			for _, typ := range []string{"paxos1.Prepare", "paxos1.Promise", "paxos1.Accept", "paxos1.Accepted"} {
				require.Equal(t, nodes-1, cnt.sent[typ], typ)
			}
			require.Equal(t, 0, cnt.sent["paxos1.Nack"])
			require.Len(t, cnt.delays, 1)
			require.Equal(t, sim.Time(4), cnt.delays[0]/hop, "message delays from request to decision")
		})
	}
}

// Paxos Made Simple §3: once a leader has run phase 1 for all slots, each
// command costs only phase 2: 2 message delays and 2(N-1) messages.
func TestMultiPaxosSteadyMessageCounts(t *testing.T) {
	for _, nodes := range []int{3, 5, 7} {
		t.Run(fmt.Sprintf("N=%d", nodes), func(t *testing.T) {
			o := DefaultOptions()
			o.Heartbeat = sim.Second // no heartbeats in the measured window
			o.ElectionTimeout = 2 * sim.Second
			w := protocols.DefaultWorkload()
			w.Timeout = 500 * sim.Millisecond
			w.OpTimeout = 2 * sim.Second
			w.Think = 5 * sim.Millisecond
			c := newCluster(t, clusterOpts{seed: 1, nodes: nodes, clients: 1, duration: 10 * sim.Second, opts: o, net: constantNet, workload: &w})
			// Let a leader take office and finish phase 1 before measuring.
			c.s.RunUntil(5 * sim.Second)
			require.Len(t, c.leaders(), 1)
			cnt := newCounter()
			c.s.AddObserver(cnt)
			c.s.RunUntil(6*sim.Second - 1)
			cmds := len(cnt.delays)
			require.NoError(t, c.s.Err())
			require.Empty(t, c.s.Violations())
			require.Greater(t, cmds, 10)
			require.Equal(t, 0, cnt.sent["paxos.Prepare"])
			// Let the commands in flight at the end of the window finish,
			// then count the phase 2 messages of every slot first proposed
			// inside the window.
			c.s.RunUntil(6*sim.Second + 100*sim.Millisecond)
			slots := 0
			for s, sc := range cnt.perSlot {
				if sc.first >= 6*sim.Second || sc.accept == 0 {
					continue // proposed after the window, or before it
				}
				slots++
				require.Equal(t, nodes-1, sc.accept, "accepts for slot %d", s)
				require.Equal(t, nodes-1, sc.accepted, "accepted for slot %d", s)
			}
			require.GreaterOrEqual(t, slots, cmds)
			// Requests reach the leader after the client hop; the leader
			// answers after 2 more hops (accept, accepted).
			for i, d := range cnt.delays {
				require.Equal(t, sim.Time(2), d/hop, "command %d", i)
			}
			t.Logf("N=%d: %d commands in 1s, each slot %d accept + %d accepted = 2(N-1), committed 2 message delays after reaching the leader",
				nodes, cmds, nodes-1, nodes-1)
		})
	}
}
