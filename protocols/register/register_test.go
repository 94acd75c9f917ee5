package register_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	_ "github.com/synod-dev/synod/protocols/all"
	"github.com/synod-dev/synod/protocols/register"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

const (
	correct = "../../testdata/scenarios/core/register.yaml"
	buggy   = "../../testdata/scenarios/core/register-no-writeback.yaml"
)

// ABD §3: a read writes back what it read before it returns, so a read
// that starts after another read returned sees that value or a newer one.
// The check is proven by the bug it catches: without the write-back the
// linearizability checker finds a new-old inversion; with it, none.
func TestWriteBackKeepsReadsLinearizable(t *testing.T) {
	for _, tc := range []struct {
		file string
		want protocols.LinResult
	}{{correct, protocols.LinOK}, {buggy, protocols.LinViolation}} {
		t.Run(tc.file, func(t *testing.T) {
			sc, err := scenario.Load(tc.file)
			require.NoError(t, err)
			seeds := []uint64{1, 2, 3}
			if testing.Short() {
				seeds = seeds[:1]
			}
			for _, seed := range seeds {
				sc.Seed = seed
				res, err := scenario.Run(sc, scenario.RunOptions{})
				require.NoError(t, err)
				assert.Equal(t, string(tc.want), res.Linearizable,
					"seed %d; replay: go run ./cmd/synod run --scenario %s --seed %d", seed, tc.file[len("../../"):], seed)
				assert.Zero(t, res.OpsUnknown, "seed %d: no operation should time out without faults", seed)
			}
		})
	}
}

func TestOnlyGetAndPut(t *testing.T) {
	sc, err := scenario.Load(correct)
	require.NoError(t, err)
	sc.Workload.Mix = protocols.Mix{Get: 1, Append: 1}
	sc.Duration = 2 * sim.Second
	res, err := scenario.Run(sc, scenario.RunOptions{})
	require.NoError(t, err)
	assert.Positive(t, res.OpsFailed, "appends are refused")
	assert.Positive(t, res.OpsOK, "gets are served")
	assert.Equal(t, string(protocols.LinOK), res.Linearizable)
}

func TestOptionsAreChecked(t *testing.T) {
	sc, err := scenario.Load(correct)
	require.NoError(t, err)
	assert.ErrorContains(t, sc.SetOption("bug=nope"), "not a known bug")
	require.NoError(t, sc.SetOption("bug="+register.BugNoWriteBack))
	assert.ErrorContains(t, sc.SetOption("op_expire=0s"), "must be positive")
}

// A replica keeps the highest tag it was sent, whatever the order the
// updates arrive in (tags order writes, not arrival).
func TestTagOrder(t *testing.T) {
	a := register.Tag{TS: 1, Writer: -2}
	b := register.Tag{TS: 1, Writer: -1}
	c := register.Tag{TS: 2, Writer: -3}
	assert.True(t, a.Less(b))
	assert.True(t, b.Less(c))
	assert.False(t, c.Less(a))
	assert.False(t, a.Less(a))
}
