package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// TestElectionSafetySharedByForks: the election safety checker is shared
// by a run's forks (sim.CheckerSharer). A fork that sees a leader of a
// new term gets its own copy that knows it; the run it was forked from
// and its other forks do not learn that leader. Added to a run that has
// begun, the checker looks at every node at its first check.
func TestElectionSafetySharedByForks(t *testing.T) {
	members := []sim.NodeID{1, 2, 3}
	opts := DefaultOptions()
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 3, Duration: 2 * sim.Second, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
		sim.Factory{Node: func(sim.NodeID) sim.Process { return New(opts, members) }})
	require.NoError(t, err)
	// Election safety alone: the others would see the forged leaders too.
	s.AddChecker(&electionSafety{leaders: map[int64]sim.NodeID{}})
	r := &testRun{t: t, s: s, opts: opts}
	r.runUntil(sim.Second)
	base := r.s
	l := r.leader()
	require.NotZero(t, l)
	others := []sim.NodeID{l%3 + 1, (l+1)%3 + 1}
	term := r.node(l).term + 10

	es := func(s *sim.Sim) *electionSafety {
		for _, c := range s.Checkers() {
			if c, ok := c.(*electionSafety); ok {
				return c
			}
		}
		t.Fatal("no election safety checker")
		return nil
	}
	// step delivers a pending event to id, so that the fork has its own
	// copy of id's process (the simulator copies it before the handler).
	step := func(s *sim.Sim, id sim.NodeID) {
		for _, ev := range s.Pending() {
			if ev.To == id && ev.Kind != sim.KindFault {
				require.NoError(t, s.Deliver(ev.ID))
				require.Empty(t, s.Violations())
				return
			}
		}
		t.Fatalf("nothing pending for %v", id)
	}
	forge := func(s *sim.Sim, id sim.NodeID, term int64) {
		step(s, id)
		n := node(s, id)
		n.role, n.term = Leader, term
	}

	plain := base.Fork()
	step(plain, others[0])
	require.Same(t, es(base), es(plain), "a fork that learns nothing shares the checker")

	a, b := base.Fork(), base.Fork()
	forge(a, others[0], term)
	require.Equal(t, 0, a.Check(), "%v", a.Violations())
	require.NotSame(t, es(base), es(a), "a fork that learns a leader has its own copy")
	require.Equal(t, others[0], es(a).leaders[term])
	require.NotContains(t, es(base).leaders, term, "the run forked from does not learn it")

	forge(b, others[1], term)
	require.Equal(t, 0, b.Check(), "another fork does not know the first fork's leader")
	forge(a, others[1], term)
	require.Equal(t, 1, a.Check())
	require.Contains(t, a.Violations()[0].Message, "two leaders in term")
	require.Equal(t, 0, base.Check())

	// A second leader of the current term, forged after the checks of
	// its step; a fresh checker added then sees it at the next event,
	// whoever that event is for. The checker that saw every event looks
	// only at that event's node.
	f := base.Fork()
	forge(f, others[0], r.node(l).term)
	f.AddChecker(&electionSafety{leaders: map[int64]sim.NodeID{}})
	for _, ev := range f.Pending() {
		if ev.To == others[1] && ev.Kind != sim.KindFault {
			require.NoError(t, f.Deliver(ev.ID))
			break
		}
	}
	require.Len(t, f.Violations(), 1)
	require.Contains(t, f.Violations()[0].Message, "two leaders in term")
}

// TestElectionSafetyState: the election safety checker is local
// (sim.CheckerLocal), and its encoding says what it remembers, whatever
// the order it learned it in.
func TestElectionSafetyState(t *testing.T) {
	var _ sim.CheckerLocal = &electionSafety{}
	enc := func(c *electionSafety) string { return string(c.AppendCheckerState(nil)) }
	a := &electionSafety{leaders: map[int64]sim.NodeID{}, started: true}
	b := &electionSafety{leaders: map[int64]sim.NodeID{}, started: true}
	for _, term := range []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18} {
		a.leaders[term] = sim.NodeID(term%3 + 1)
	}
	for term := int64(18); term >= 1; term-- {
		b.leaders[term] = sim.NodeID(term%3 + 1)
	}
	require.Equal(t, enc(a), enc(b))
	b.leaders[7] = 3 - b.leaders[7]%3
	require.NotEqual(t, enc(a), enc(b), "another leader")
	delete(b.leaders, 7)
	require.NotEqual(t, enc(a), enc(b), "a leader less")
	require.NotEqual(t, enc(&electionSafety{leaders: map[int64]sim.NodeID{}}),
		enc(&electionSafety{leaders: map[int64]sim.NodeID{}, started: true}), "started")
}
