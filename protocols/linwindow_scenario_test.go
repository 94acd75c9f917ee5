package protocols_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
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

// A long history (the default scenario for 120 simulated seconds, about
// 3,000 operations a key, so the check cuts it in windows without being
// told to) gives the whole check's verdict, and a stale read planted late
// in it is caught and told byte for byte as the whole check tells it.
func TestWindowedCheckMatchesWholeOnALongRun(t *testing.T) {
	if testing.Short() {
		t.Skip("a 120 s run and three checks of its history")
	}
	sc, err := scenario.LoadDefault()
	require.NoError(t, err)
	sc.Duration = 120 * sim.Second
	res, err := scenario.Run(sc, scenario.RunOptions{})
	require.NoError(t, err)
	end := sim.Time(res.SimSeconds * float64(sim.Second))
	require.Equal(t, string(protocols.LinOK), res.Linearizable, res.LinReason)
	perKey := map[string]int{}
	for _, r := range res.History {
		perKey[r.Op.Key]++
	}
	for k, n := range perKey {
		require.Greater(t, n, 2048, "key %s must be long enough to be checked in windows", k)
	}
	assert.Equal(t, protocols.LinOK, protocols.CheckLinearizableWhole(res.History, end, 0).Result)

	// Plant a stale read: the last read of k2 that saw a value answers the
	// value k2 held before the latest write that returned before the read
	// began.
	h := slices.Clone(res.History)
	planted := -1
	for i := len(h) - 1; i >= 0 && planted < 0; i-- {
		r := h[i]
		if r.Op.Kind != protocols.OpGet || r.Op.Key != "k2" || r.Status != protocols.OpOK {
			continue
		}
		for j := range h {
			w := h[j]
			if w.Op.Key == "k2" && w.Op.Kind == protocols.OpPut && w.Status == protocols.OpOK && w.Return < r.Call && w.Value != r.Value {
				h[i].Value, h[i].Found = "stale-"+w.Op.Value, true
				planted = i
			}
		}
	}
	require.GreaterOrEqual(t, planted, 0)
	whole := protocols.CheckLinearizableWhole(h, end, 0)
	windowed := protocols.CheckLinearizable(h, end, 0)
	require.Equal(t, protocols.LinViolation, whole.Result)
	require.Equal(t, protocols.LinViolation, windowed.Result)
	assert.Equal(t, whole.Explanation.Text(), windowed.Explanation.Text())
	assert.Equal(t, h[planted].CallEvent, windowed.Explanation.Ops[windowed.Explanation.Failing].CallEvent)
}
