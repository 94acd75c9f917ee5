package etcdraft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Omni-Paxos (Ng, Haridi, Carbone, EuroSys 2023), Fig. 2b, constrained
// election: the only node that can reach a majority has a stale log, so
// no Raft, etcd's with PreVote and CheckQuorum included, elects a leader
// until the partition heals. The test asserts the outcome: no leader a
// majority follows from shortly after the cut until the heal, next to no
// operation completes in that window, and after the heal a leader is back
// and operations complete again.
func TestConstrainedElection(t *testing.T) {
	sc := loadScenario(t, "partial-constrained-election.yaml")
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	s := inst.Sim
	s.RunUntil(950 * sim.Millisecond)
	require.Equal(t, sim.NodeID(4), majorityLeader(s), "the scenario cuts around n4: it must lead before the cut")
	// Allow the old leader's CheckQuorum step-down (one election timeout)
	// and in-flight operations to drain, then watch until the heal.
	s.RunUntil(1500 * sim.Millisecond)
	var leaderless, steps int
	for s.Now() < 5*sim.Second && s.Step() {
		steps++
		if majorityLeader(s) == 0 {
			leaderless++
		}
	}
	assert.Equal(t, steps, leaderless, "a leader followed by a majority appeared during the constrained election")
	s.Run()
	res := inst.Summarize()
	require.False(t, res.Failed(), "%+v", res.FirstViolation)
	assert.Equal(t, "ok", res.Linearizable)
	var during, after int
	for _, op := range res.History {
		if op.Status != protocols.OpOK {
			continue
		}
		switch {
		case op.Return >= 1500*sim.Millisecond && op.Return < 5*sim.Second:
			during++
		case op.Return >= 5*sim.Second:
			after++
		}
	}
	assert.Zero(t, during, "operations completed without a leader")
	assert.Greater(t, after, 20, "operations after the heal")
	t.Logf("constrained election: %d events leaderless from 1.5s to 5s, %d ops during, %d after the heal", leaderless, during, after)
}
