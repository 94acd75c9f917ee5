package cli

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMutantsPrintsTheTable(t *testing.T) {
	code, out, errs := run(t, "mutants", "--protocol", "paxos-single", "--root", "../../..", "--workers", "2")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "| `paxos-single/ignore-accepted` | ignore the value phase 1 reports | caught | paxos | 1 |")
	abs, err := filepath.Abs("../../../testdata/scenarios/paxos/chaos5-single.yaml")
	require.NoError(t, err)
	assert.Contains(t, out, "replay paxos-single/first-accepted: "+synodGoRun+" run --scenario "+abs+" --seed 56 --option bug=first-accepted")
}

func TestMutantsBadUsage(t *testing.T) {
	code, _, errs := run(t, "mutants", "--protocol", "zab")
	require.Equal(t, 2, code)
	assert.Contains(t, errs, `no mutants of protocol "zab"`)
	code, _, _ = run(t, "mutants", "--workers", "0")
	require.Equal(t, 2, code)
}
