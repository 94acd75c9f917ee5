package protocols

import (
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
