package raft

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

var seedsFlag = flag.Int("raft.seeds", 0, "seeds per property-test variant (0: the default, or SYNOD_SEEDS)")

// seedCount is the number of seeds each property-test variant runs.
func seedCount(def int) int {
	if *seedsFlag > 0 {
		return *seedsFlag
	}
	if v, err := strconv.Atoi(os.Getenv("SYNOD_SEEDS")); err == nil && v > 0 {
		return v
	}
	if testing.Short() {
		return max(def/10, 1)
	}
	return def
}

// runSeed runs one scenario with one seed and returns what went wrong.
func runSeed(sc *scenario.Scenario, seed uint64) (*scenario.Result, error) {
	c := sc.Clone()
	c.Seed = seed
	return scenario.Run(c, scenario.RunOptions{})
}

func TestDefaultScenarioSeeds(t *testing.T) {
	sc, err := scenario.LoadDefault()
	require.NoError(t, err)
	n := seedCount(50)
	for seed := uint64(1); seed <= uint64(n); seed++ {
		res, err := runSeed(sc, seed)
		require.NoError(t, err)
		if res.Failed() {
			msg := fmt.Sprintf("seed %d: violations=%d first=%v lin=%s panic=%v", seed, res.Violations, res.FirstViolation, res.Linearizable, res.Panic)
			if res.Panic != nil {
				msg += "\n" + res.Panic.Stack
			}
			t.Fatalf("%s\nreplay: go run ./cmd/synod run --seed %d", msg, seed)
		}
		if res.Linearizable != string(protocols.LinOK) {
			t.Logf("seed %d: linearizability %s", seed, res.Linearizable)
		}
		_ = sim.Second
	}
}
