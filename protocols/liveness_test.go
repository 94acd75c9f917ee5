package protocols_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	_ "github.com/synod-dev/synod/protocols/all"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// The settle rule of the progress checker, on a run whose "leader" never
// appears (the rule's own mistake injected: a leader function that finds
// none) and on one whose leader is always there. raft's own mutants prove
// the rule that operations are answered (raft/liveness_test.go).
func TestProgressSettleRule(t *testing.T) {
	for _, c := range []struct {
		leader protocols.LeaderFunc
		fails  bool
	}{{func(*sim.Sim) sim.NodeID { return 0 }, true}, {func(*sim.Sim) sim.NodeID { return 1 }, false}} {
		sc := scenario.Default("single")
		sc.Duration = 3 * sim.Second
		sc.Nemesis = &sim.NemesisConfig{CrashEvery: 300 * sim.Millisecond, HealAt: sim.Second}
		require.NoError(t, sc.Revalidate())
		inst, err := scenario.Build(sc)
		require.NoError(t, err)
		inst.Sim.AddChecker(protocols.NewProgressChecker("test.Progress", 500*sim.Millisecond, c.leader))
		inst.Sim.Run()
		var got []string
		for _, v := range inst.Sim.Violations() {
			if v.Checker == "test.Progress" {
				got = append(got, v.Message)
				require.Greater(t, v.Time, 1500*sim.Millisecond, "reported before the bound passed: %v", v)
			}
		}
		if c.fails {
			require.Len(t, got, 1)
			require.Contains(t, got[0], "elections did not settle")
			require.Equal(t, "elections settle", protocols.ProgressRule(got[0]))
		} else {
			require.Empty(t, got)
		}
	}
}

// ProgressRule tells the two rules apart by their messages, and names
// nothing else.
func TestProgressRule(t *testing.T) {
	require.Equal(t, "elections settle", protocols.ProgressRule("elections did not settle: no leader"))
	require.Equal(t, "operations answered", protocols.ProgressRule("operation not answered: c1#3 get k0"))
	require.Equal(t, "", protocols.ProgressRule("leader n1 of term 3 changed entry 4"))
}
