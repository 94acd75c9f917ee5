package scenario_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
)

// A run that does not keep Result.History (synod run) summarizes exactly
// as one that does, from the clients' logs read in place: the same
// figures, verdict and story, and the visualization still draws the
// history. Checked on a failing run (a stale read after a partition) and
// on the default chaos run.
func TestNoHistorySummarizesTheSame(t *testing.T) {
	for _, file := range []string{"../../testdata/scenarios/core/pb-partition.yaml", ""} {
		load := func() *scenario.Scenario {
			sc, err := scenario.LoadDefault()
			if file != "" {
				sc, err = scenario.Load(file)
			}
			require.NoError(t, err)
			return sc
		}
		with, err := scenario.Run(load(), scenario.RunOptions{})
		require.NoError(t, err)
		without, err := scenario.Run(load(), scenario.RunOptions{NoHistory: true})
		require.NoError(t, err)
		require.NotEmpty(t, with.History)
		assert.Empty(t, without.History)
		assert.Positive(t, without.OpsOK)
		a, err := json.Marshal(with)
		require.NoError(t, err)
		b, err := json.Marshal(without)
		require.NoError(t, err)
		assert.JSONEq(t, string(a), string(b), file)
		html := filepath.Join(t.TempDir(), "lin.html")
		require.NoError(t, without.WriteLinHTML(html))
		page, err := os.ReadFile(html)
		require.NoError(t, err)
		assert.Contains(t, string(page), "put k", file)
	}
}
