package protocols_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
)

// The windowed linearizability check gives the verdict and the story the
// whole-history check gives, byte for byte, on shipped scenarios: the
// known failures (the naive primary-backup store after a partition, the
// ABD register without its write-back) and correct protocols under chaos,
// over several seeds; every key is cut at each quiescent point, and at the
// first after 64 operations. The run's own verdict (Summarize, which reads the
// clients' logs in place) is compared too.
func TestWindowedCheckMatchesWholeOnScenarios(t *testing.T) {
	type tc struct {
		file  string // "" for the embedded default
		seeds int
	}
	cases := []tc{
		{"default", 6},
		{"../testdata/scenarios/core/pb-partition.yaml", 4},
		{"../testdata/scenarios/core/register-no-writeback.yaml", 2},
		{"../testdata/scenarios/core/register.yaml", 1},
		{"../testdata/scenarios/core/nemesis.yaml", 2},
		{"../testdata/scenarios/core/open-loop.yaml", 2},
		{"../testdata/scenarios/raft/chaos5.yaml", 2},
		{"../testdata/scenarios/paxos/chaos5.yaml", 2},
	}
	if testing.Short() {
		for i := range cases {
			cases[i].seeds = 1
		}
	}
	violations := 0
	for _, c := range cases {
		for seed := uint64(1); seed <= uint64(c.seeds); seed++ {
			name := fmt.Sprintf("%s/seed%d", c.file, seed)
			t.Run(name, func(t *testing.T) {
				sc, err := scenario.LoadDefault()
				if c.file != "default" {
					sc, err = scenario.Load(c.file)
				}
				require.NoError(t, err)
				sc.Seed = seed
				inst, err := scenario.Build(sc)
				require.NoError(t, err)
				require.NoError(t, inst.Sim.RunChoices(nil))
				res := inst.Summarize()
				require.NotEqual(t, string(protocols.LinSkipped), res.Linearizable)
				budget := time.Duration(sc.Checks.LinBudget)
				whole := protocols.CheckLinearizableWhole(res.History, inst.Sim.Now(), budget)
				windowed := protocols.CheckLinearizableWindows(res.History, inst.Sim.Now(), budget, 1)
				long := protocols.CheckLinearizableWindows(res.History, inst.Sim.Now(), budget, 64)
				replay := fmt.Sprintf("replay: go run ./cmd/synod run --scenario %s --seed %d", c.file, seed)
				require.Contains(t, []protocols.LinResult{protocols.LinOK, protocols.LinViolation}, whole.Result, "%s: %s", replay, whole.Reason)
				assert.Equal(t, whole.Result, windowed.Result, replay)
				assert.Equal(t, whole.Result, long.Result, replay)
				assert.Equal(t, string(whole.Result), res.Linearizable, replay)
				assert.Equal(t, whole.Ops, windowed.Ops, replay)
				w, err := json.Marshal(whole.Explanation)
				require.NoError(t, err)
				for _, e := range []*protocols.LinExplanation{windowed.Explanation, long.Explanation, res.LinExplanation} {
					got, err := json.Marshal(e)
					require.NoError(t, err)
					assert.Equal(t, string(w), string(got), replay)
				}
				if whole.Result == protocols.LinViolation {
					violations++
				}
			})
		}
	}
	t.Logf("%d runs not linearizable", violations)
	assert.GreaterOrEqual(t, violations, 2, "the known failures must fail for the comparison to mean something")
}
