package proptest_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/synod-dev/synod/protocols/all"
	"github.com/synod-dev/synod/protocols/proptest"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// anyLeader says a leader is followed once any node claims to lead.
func anyLeader(s *sim.Sim) sim.NodeID {
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && v.Role == "leader" {
			return id
		}
	}
	return 0
}

func TestCorrectProtocolPassesAndWorkersDoNotMatter(t *testing.T) {
	sc, err := scenario.LoadDefault()
	require.NoError(t, err)
	c := proptest.Check{Bound: 2 * sim.Second, Leader: anyLeader, Followed: "anyone"}
	seq, bad := c.Run(sc, 4, 2, nil)
	require.Nil(t, bad, "%+v", bad)
	par, bad := c.Run(sc, 4, 2, func(f func()) { go f() })
	require.Nil(t, bad)
	assert.Equal(t, seq, par)
	sum := proptest.Summarize(par)
	assert.Equal(t, 4, sum.Seeds)
	assert.Greater(t, sum.OpsOK, 0)
	assert.GreaterOrEqual(t, sum.WorstElected, sim.Time(0))
}

func TestBrokenProtocolIsCaught(t *testing.T) {
	sc, err := scenario.LoadDefault()
	require.NoError(t, err)
	sc.Protocol = "primary-backup"
	sc.ResetOptions()
	require.NoError(t, sc.Revalidate())
	c := proptest.Check{Bound: 2 * sim.Second, Leader: func(*sim.Sim) sim.NodeID { return 1 }, Followed: "anyone"}
	_, bad := c.Run(sc, 20, 1, nil)
	require.NotNil(t, bad, "primary-backup under the default chaos should fail some seed")
	assert.Contains(t, bad.Err, "linearizable")
}

func TestNoLeaderIsALivenessFailure(t *testing.T) {
	sc, err := scenario.LoadDefault()
	require.NoError(t, err)
	c := proptest.Check{Bound: sim.Second, Leader: func(*sim.Sim) sim.NodeID { return 0 }, Followed: "a majority"}
	o := c.Seed(sc, 1)
	assert.Contains(t, o.Err, "no leader followed by a majority within 1s")
	assert.EqualValues(t, -1, o.Elected)
}

func TestSeeds(t *testing.T) {
	t.Setenv("SYNOD_SEEDS", "")
	assert.Equal(t, 7, proptest.Seeds(7, 100, true, 10))
	assert.Equal(t, 100, proptest.Seeds(0, 100, false, 10))
	assert.Equal(t, 10, proptest.Seeds(0, 100, true, 10))
	assert.Equal(t, 1, proptest.Seeds(0, 5, true, 10))
	t.Setenv("SYNOD_SEEDS", "42")
	assert.Equal(t, 42, proptest.Seeds(0, 100, true, 10))
	abs, err := filepath.Abs("f.yaml")
	require.NoError(t, err)
	// Pasted from wherever go test ran: the command's module path and an
	// absolute file, not the package's own directory.
	assert.Contains(t, proptest.Replay("f.yaml", 3), "go run github.com/synod-dev/synod/cmd/synod run --scenario "+abs+" --seed 3")
}

// TestUnknownIsNotAPass: a seed whose every property held but whose
// history the linearizability check could not decide (a 1ns budget)
// fails with the reason and the setting that raises the budget. It used
// to pass, counted as "rest: porcupine budget".
func TestUnknownIsNotAPass(t *testing.T) {
	sc, err := scenario.LoadDefault()
	require.NoError(t, err)
	sc.Duration = 2 * sim.Second
	sc.Nemesis.HealAt = sim.Second
	sc.Checks.LinBudget = 1
	require.NoError(t, sc.Revalidate())
	c := proptest.Check{Bound: sim.Second, Leader: anyLeader, Followed: "anyone"}
	o := c.Seed(sc, 1)
	assert.Equal(t, "unknown", o.Lin)
	assert.Contains(t, o.Err, "linearizability unknown (not a pass): ")
	assert.Contains(t, o.Err, "lin_budget")
	_, bad := c.Run(sc, 2, 1, nil)
	require.NotNil(t, bad)
	assert.EqualValues(t, 1, bad.Seed)
}
