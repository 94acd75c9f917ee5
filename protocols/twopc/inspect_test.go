package twopc

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// row returns the row of table title whose first cell is key.
func row(v sim.View, title, key string) []string {
	for _, tb := range v.Tables {
		if tb.Title != title {
			continue
		}
		for _, r := range tb.Rows {
			if r[0] == key {
				return r
			}
		}
	}
	return nil
}

// TestInspectShowsTheBlock stops the coordinator-crash-before-sending run
// while n1 is down: each participant's view shows the transaction prepared
// and uncertain with its lock held; after n1's return it shows it
// committed and the lock released, and n1 shows the logged decision.
func TestInspectShowsTheBlock(t *testing.T) {
	sc, err := scenario.Load(scenarioDir + "/coordinator-crash-before-sending.yaml")
	require.NoError(t, err)
	in, err := scenario.Build(sc)
	require.NoError(t, err)
	s := in.Sim
	require.True(t, s.RunUntil(5*sim.Millisecond))
	v, ok := s.Inspect(1)
	require.True(t, ok)
	require.Equal(t, "coordinator", v.Role)
	r := row(v, "transactions", first.String())
	require.NotNil(t, r, "%+v", v.Tables)
	require.Equal(t, "logged (not sent)", r[2])
	require.Equal(t, "n2:yes n3:yes", r[3])
	require.Equal(t, "commit", r[4])

	require.True(t, s.RunUntil(300*sim.Millisecond))
	_, ok = s.Inspect(1)
	require.False(t, ok, "n1 is down")
	for _, p := range []sim.NodeID{2, 3} {
		v, ok := s.Inspect(p)
		require.True(t, ok)
		require.Equal(t, "participant", v.Role)
		r := row(v, "transactions", first.String())
		require.NotNil(t, r, "%v: %+v", p, v.Tables)
		require.Equal(t, "prepared (uncertain)", r[1])
		require.NotEmpty(t, r[4], "locks held")
		require.Contains(t, v.Get("locks"), first.String())
		require.Equal(t, "1", v.Get("uncertain"))
	}

	s.Run()
	for _, p := range []sim.NodeID{2, 3} {
		v, _ := s.Inspect(p)
		r := row(v, "transactions", first.String())
		require.Equal(t, "committed", r[1])
		require.Empty(t, v.Get("locks"))
	}
	v, _ = s.Inspect(1)
	require.Equal(t, int64(2), v.Term, "incarnation after one restart")
}

// TestInspectPaxosCommit: acceptors show the instances they accepted.
func TestInspectPaxosCommit(t *testing.T) {
	sc, err := scenario.Load(scenarioDir + "/paxos-commit-coordinator-crash.yaml")
	require.NoError(t, err)
	in, err := scenario.Build(sc)
	require.NoError(t, err)
	in.Sim.Run()
	for _, a := range []sim.NodeID{4, 5} {
		v, ok := in.Sim.Inspect(a)
		require.True(t, ok)
		require.Equal(t, "acceptor", v.Role)
		r := row(v, "instances", first.String())
		require.NotNil(t, r)
		require.True(t, strings.Contains(r[2], "n2:prepared") && strings.Contains(r[2], "n3:prepared"), "%v", r)
	}
}

// TestManualDropDecision uses manual scheduling: the decision to n3 is
// dropped and the coordinator crashed at once, so n3 is left uncertain;
// with cooperative termination it learns the outcome from n2.
func TestManualDropDecision(t *testing.T) {
	sc, err := scenario.Load(scenarioDir + "/coordinator-crash-before-prepare.yaml")
	require.NoError(t, err)
	sc.Faults = nil
	o := sc.ProtocolOptions().(*Options)
	o.PrepareDelay, o.Cooperative = 0, true
	in, err := scenario.Build(sc)
	require.NoError(t, err)
	s := in.Sim
	var dropped bool
	for steps := 0; steps < 1000 && !dropped; steps++ {
		for _, ev := range s.Pending() {
			if d, ok := ev.Msg.(*Decision); ok && ev.To == 3 {
				require.True(t, d.Commit)
				require.NoError(t, s.Drop(ev.ID))
				require.NoError(t, s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: 1}))
				dropped = true
				break
			}
		}
		if !dropped {
			require.True(t, s.Step())
		}
	}
	require.True(t, dropped)
	s.Run()
	require.Empty(t, s.Violations())
	_, out := outcomes(s, first)
	require.Equal(t, both(Committed), out)
	b := Blocking(s)
	require.Less(t, b.Max, 110*sim.Millisecond, "%v", b)
}
