package mutants

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
)

var swarmStudy = flag.Bool("mutants.swarm", false, "measure swarm testing on the rarely caught mutants (about 40 s of CPU)")

// TestSwarmOnRareMutants measures what docs/scenarios.md reports: over seeds
// 1..200 of the scenario that catches each rarely caught mutant, the first
// failing seed and the number of failing seeds, with and without swarm.
// Both must catch each mutant somewhere in the 200 seeds.
//
//	go test ./reports/mutants -run TestSwarmOnRareMutants -mutants.swarm -v
func TestSwarmOnRareMutants(t *testing.T) {
	if !*swarmStudy {
		t.Skip("a measurement: -mutants.swarm runs it")
	}
	cases := []struct{ bug, file string }{
		{"read-index-no-confirm", "testdata/scenarios/raft/chaos5-reads.yaml"},
		{"lease-no-expiry", "testdata/scenarios/raft/chaos5-lease.yaml"},
		{"stale-append", "testdata/scenarios/raft/chaos5.yaml"},
		{"stale-append", "testdata/scenarios/raft/chaos7.yaml"},
		{"drop-duplicates", "testdata/scenarios/raft/chaos5-liveness.yaml"},
	}
	const seeds = 200
	for _, c := range cases {
		for _, swarm := range []bool{false, true} {
			base, err := scenario.Load(filepath.Join("../..", c.file))
			require.NoError(t, err)
			require.NoError(t, base.SetOption("bug="+c.bug))
			base.Swarm = swarm
			first, failing := 0, 0
			for seed := 1; seed <= seeds; seed++ {
				f, err := runSeed(base, uint64(seed))
				require.NoError(t, err)
				if f != nil {
					failing++
					if first == 0 {
						first = seed
					}
				}
			}
			t.Logf("%-22s %-21s swarm=%-5v first failing seed %3d, failing seeds %3d of %d", c.bug, filepath.Base(c.file), swarm, first, failing, seeds)
			require.Positive(t, failing, "%s on %s (swarm %v) caught on no seed of %d", c.bug, c.file, swarm, seeds)
		}
	}
}
