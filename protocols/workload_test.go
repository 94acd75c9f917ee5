package protocols

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// sink is a node that never answers; n1 and n2 refuse (not leader, no
// hint) when refuse is set. Every request it gets is logged.
type sink struct {
	log    *[]sim.NodeID
	refuse bool
}

func (s *sink) Start(*sim.Env)            {}
func (s *sink) Timer(*sim.Env, sim.Timer) {}
func (s *sink) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	req, ok := m.(*Request)
	if !ok {
		return
	}
	*s.log = append(*s.log, env.ID())
	if s.refuse && env.ID() != 3 {
		env.Send(from, &Response{Client: req.Client, Seq: req.Seq, Status: StatusNotLeader})
	}
}

// runOneOp runs one client's one operation against three nodes that never
// answer (n1 and n2 refuse when refuse is set) and returns the nodes the
// attempts reached, in order, and the operation's record.
func runOneOp(t *testing.T, retry RetryPolicy, refuse bool) ([]sim.NodeID, OpRecord) {
	t.Helper()
	var log []sim.NodeID
	w := DefaultWorkload()
	w.Clients, w.MaxOps, w.Retry = 1, 1, retry
	w.Timeout, w.OpTimeout = 100*sim.Millisecond, 1*sim.Second
	var client *KVClient
	s, err := sim.New(sim.Config{Seed: 3, Nodes: 3, Clients: 1, Duration: 3 * sim.Second,
		Network: sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}},
		sim.Factory{
			Node:   func(sim.NodeID) sim.Process { return &sink{log: &log, refuse: refuse} },
			Client: func(sim.NodeID) sim.Process { client = NewKVClient(&w, 0); return client },
		})
	require.NoError(t, err)
	s.Run()
	require.Nil(t, s.Err())
	h := client.History()
	require.Len(t, h, 1)
	return log, h[0]
}

// TestRetryPolicies: after a time-out the client resends to the next node
// (other-node), to the same node (same-node), or not at all (never); in
// every case the operation ends unknown at its op_timeout.
func TestRetryPolicies(t *testing.T) {
	t.Run("other-node", func(t *testing.T) {
		log, op := runOneOp(t, RetryOtherNode, false)
		assert.Equal(t, OpUnknown, op.Status)
		assert.Equal(t, 10, op.Attempts, "one attempt per timeout within op_timeout")
		require.Len(t, log, 10)
		for i := 1; i < len(log); i++ {
			assert.Equal(t, log[i-1]%3+1, log[i], "attempt %d goes to the next node: %v", i, log)
		}
	})
	t.Run("same-node", func(t *testing.T) {
		log, op := runOneOp(t, RetrySameNode, false)
		assert.Equal(t, OpUnknown, op.Status)
		assert.Equal(t, 10, op.Attempts)
		require.Len(t, log, 10)
		for i, n := range log {
			assert.Equal(t, log[0], n, "attempt %d stays at %v: %v", i, log[0], log)
		}
	})
	t.Run("never", func(t *testing.T) {
		log, op := runOneOp(t, RetryNever, false)
		assert.Equal(t, OpUnknown, op.Status, "the client gave up at op_timeout")
		assert.Equal(t, 1, op.Attempts)
		assert.Len(t, log, 1, "one request, never resent: %v", log)
	})
	t.Run("never follows a refusal", func(t *testing.T) {
		// A refused request did not take effect: sending it on is safe
		// under every policy.
		log, op := runOneOp(t, RetryNever, true)
		assert.Equal(t, OpUnknown, op.Status)
		require.NotEmpty(t, log)
		assert.Equal(t, sim.NodeID(3), log[len(log)-1], "refusals lead to n3, which keeps it: %v", log)
		for i, n := range log[:len(log)-1] {
			assert.NotEqual(t, sim.NodeID(3), n, "attempt %d: n3 got it before it was refused elsewhere: %v", i, log)
		}
	})
	t.Run("unknown policy", func(t *testing.T) {
		w := DefaultWorkload()
		w.Retry = "twice"
		assert.EqualError(t, w.Validate(), `retry: "twice" is not a retry policy (want other-node, same-node or never)`)
	})
}

// echoing is a node that answers every request copies times over, the
// way a duplicating network would deliver its answer: n3 applies it and
// answers ok; n1 and n2 refuse, naming the next node as leader when
// hints is set. Every request it gets is logged.
type echoing struct {
	log    *[]sim.NodeID
	copies int
	hints  bool
	kv     *KV
}

func (e *echoing) Start(*sim.Env)            { e.kv = NewKV() }
func (e *echoing) Timer(*sim.Env, sim.Timer) {}
func (e *echoing) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	req, ok := m.(*Request)
	if !ok {
		return
	}
	*e.log = append(*e.log, env.ID())
	resp := &Response{Client: req.Client, Seq: req.Seq, Status: StatusNotLeader}
	switch {
	case env.ID() == 3:
		resp = e.kv.Apply(req)
	case e.hints:
		resp.Leader = env.ID() + 1
	}
	for range e.copies {
		env.Send(from, resp)
	}
}

// runEchoing runs one client's ops operations (first to n1) against three
// echoing nodes and returns the nodes the requests reached and the
// client's history.
func runEchoing(t *testing.T, retry RetryPolicy, copies, ops int, hints bool) ([]sim.NodeID, []OpRecord) {
	t.Helper()
	var log []sim.NodeID
	w := DefaultWorkload()
	w.Clients, w.MaxOps, w.Retry = 1, ops, retry
	var client *KVClient
	s, err := sim.New(sim.Config{Seed: 3, Nodes: 3, Clients: 1, Duration: 3 * sim.Second,
		Network: sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}},
		sim.Factory{
			Node: func(sim.NodeID) sim.Process { return &echoing{log: &log, copies: copies, hints: hints} },
			Client: func(sim.NodeID) sim.Process {
				client = NewKVClient(&w, 0)
				client.leader = 1
				return client
			},
		})
	require.NoError(t, err)
	s.Run()
	require.Nil(t, s.Err())
	return log, client.History()
}

// TestRepliesMatchTheirAttempt: a client that gets every reply three times
// acts on each once. Each request reaches n1, then n2, then n3, exactly
// once per operation, whether the refusals name the next node (followed
// at once) or not (followed after a pause); the copies of a refusal and
// of the ok are dropped. The client that answered each copy with a send
// or a retry timer of its own sent 1 + 3 + 9 requests an operation here.
func TestRepliesMatchTheirAttempt(t *testing.T) {
	for _, hints := range []bool{true, false} {
		for _, retry := range RetryPolicies {
			t.Run(fmt.Sprintf("hints=%v/%s", hints, retry), func(t *testing.T) {
				log, h := runEchoing(t, retry, 3, 2, hints)
				require.Len(t, h, 2)
				// The first operation learns n3 leads; the second goes there.
				assert.Equal(t, []sim.NodeID{1, 2, 3, 3}, log, "the nodes the requests reached")
				for _, op := range h {
					assert.Equal(t, OpOK, op.Status, "#%d", op.Seq)
				}
				assert.Equal(t, 3, h[0].Attempts, "#1: one attempt per node")
				assert.Equal(t, 1, h[1].Attempts, "#2")
			})
		}
	}
}

// pendingRetryTimers counts the client's attempt and retry timers.
func pendingRetryTimers(s *sim.Sim, id sim.NodeID) int {
	n := 0
	for _, ev := range s.Pending() {
		if ev.Kind == sim.KindTimer && ev.To == id && (ev.Timer.Name == "attempt" || ev.Timer.Name == "retry") {
			n++
		}
	}
	return n
}

// TestOneTimerPerOperation: at every step of a run whose network
// duplicates every message (each copy with its own delay, so copies and
// answers to old attempts arrive in any order) and loses a fifth of them
// (so attempts time out), against nodes that refuse without naming a
// leader (so the client pauses before its next attempt), each client has
// exactly one attempt or retry timer while an operation is in flight and
// none otherwise, and each request delivered is one of the two copies of
// an attempt. The client that set a retry timer for each refusal it got
// had two by event 131.
func TestOneTimerPerOperation(t *testing.T) {
	for _, retry := range RetryPolicies {
		t.Run(string(retry), func(t *testing.T) {
			var log []sim.NodeID
			w := DefaultWorkload()
			w.Retry = retry
			clients := map[sim.NodeID]*KVClient{}
			s, err := sim.New(sim.Config{Seed: 7, Nodes: 3, Clients: 3, Duration: 3 * sim.Second,
				Network: sim.NetworkConfig{Latency: sim.Latency{Dist: "exponential", Min: sim.Millisecond, Mean: 5 * sim.Millisecond, Max: 150 * sim.Millisecond},
					Loss: 0.2, Duplicate: 1}},
				sim.Factory{
					Node: func(sim.NodeID) sim.Process { return &echoing{log: &log, copies: 1} },
					Client: func(id sim.NodeID) sim.Process {
						clients[id] = NewKVClient(&w, 2*sim.Second)
						return clients[id]
					},
				})
			require.NoError(t, err)
			steps := 0
			for s.Step() {
				steps++
				for id, c := range clients {
					want := 0
					if c.cur >= 0 {
						want = 1
					}
					require.Equal(t, want, pendingRetryTimers(s, id), "%v at event %d (op in flight: %v)", id, steps, c.cur >= 0)
				}
			}
			require.Nil(t, s.Err())
			attempts, ok := 0, 0
			for _, c := range clients {
				for _, op := range c.History() {
					attempts += op.Attempts
					if op.Status == OpOK {
						ok++
					}
				}
			}
			assert.Positive(t, ok, "some operations succeed")
			assert.LessOrEqual(t, len(log), 2*attempts, "every request delivered is a copy of an attempt's one send")
			t.Logf("%s: %d events, %d ok, %d attempts, %d requests delivered", retry, steps, ok, attempts, len(log))
		})
	}
}
