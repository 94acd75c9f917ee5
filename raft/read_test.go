package raft

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// leaseRun runs lease-drift.yaml with the given read mode, the slow and
// fast clock offsets of the leader and the others, and returns the
// linearizability verdict and the operations answered.
func leaseRun(t *testing.T, reads string, slow, fast float64) (string, int) {
	t.Helper()
	sc := loadScenario(t, "lease-drift.yaml")
	for i, f := range sc.Faults {
		switch {
		case strings.HasPrefix(f, "1s drift n2 "):
			sc.Faults[i] = fmt.Sprintf("1s drift n2 %g", slow)
		case strings.HasPrefix(f, "1s drift "):
			sc.Faults[i] = f[:len("1s drift n1 ")] + fmt.Sprint(fast)
		}
	}
	require.NoError(t, sc.Revalidate())
	sc.ProtocolOptions().(*Options).Reads = reads
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	inst.Sim.RunUntil(999 * sim.Millisecond)
	require.Equal(t, sim.NodeID(2), majorityLeader(inst.Sim), "the scenario expects n2 to lead at 1s")
	inst.Sim.Run()
	res := inst.Summarize()
	require.Nil(t, res.Panic)
	require.Zero(t, res.Violations, "%v", res.FirstViolation)
	return res.Linearizable, res.OpsOK
}

// Thesis §6.4.1: a lease is safe only while clock drift stays within the
// bound it assumes. Beyond it, a deposed leader serves stale reads.
func TestLeaseUnsafeBeyondDriftBound(t *testing.T) {
	lin, ops := leaseRun(t, ReadsLease, -0.9, 0.8)
	t.Logf("lease, leader clock at 0.1x and the others at 1.8x (bound 10%%): %s (%d ops)", lin, ops)
	require.Equal(t, string(protocols.LinViolation), lin, "expected stale lease reads with drift far beyond the bound")
}

func TestLeaseSafeWithinDriftBound(t *testing.T) {
	lin, ops := leaseRun(t, ReadsLease, -0.04, 0.04)
	t.Logf("lease, drift 4%% each way (bound 10%%): %s (%d ops)", lin, ops)
	require.Equal(t, string(protocols.LinOK), lin)
}

// Thesis §6.4: ReadIndex needs no clock assumption at all.
func TestReadIndexSafeUnderAnyDrift(t *testing.T) {
	lin, ops := leaseRun(t, ReadsReadIndex, -0.9, 0.8)
	t.Logf("read_index, leader clock at 0.1x, the others at 1.8x: %s (%d ops)", lin, ops)
	require.Equal(t, string(protocols.LinOK), lin)
}

// Reads through the log, ReadIndex and leases under the chaos of the
// property test: all linearizable when drift is within the lease bound.
func TestReadModesChaos(t *testing.T) {
	for _, reads := range []string{ReadsLog, ReadsReadIndex, ReadsLease} {
		t.Run(reads, func(t *testing.T) {
			sc := loadScenario(t, "chaos5.yaml")
			for seed := uint64(1); seed <= uint64(seedCount(300)); seed++ {
				c := sc.Clone()
				c.Seed = seed
				o := c.ProtocolOptions().(*Options)
				o.Reads, o.CheckQuorum = reads, true
				res, err := scenario.Run(c, scenario.RunOptions{})
				require.NoError(t, err)
				require.False(t, res.Failed(), "seed %d: %+v %v", seed, res.FirstViolation, res.Panic)
			}
		})
	}
}
