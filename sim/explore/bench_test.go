package explore_test

import (
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/require"

	_ "github.com/synod-dev/synod/protocols/all"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

func raftSim(b testing.TB) *sim.Sim {
	sc := scenario.Default("raft")
	sc.Nodes = 3
	sc.Workload.Clients = 0
	sc.Checks.Invariants = []string{"raft.ElectionSafety"}
	// As synod explore sets it: the explorer chooses deliveries itself.
	sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
	require.NoError(b, sc.Revalidate())
	inst, err := scenario.Build(sc)
	require.NoError(b, err)
	return inst.Sim
}

// BenchmarkExplore3NodeRaft measures breadth-first exploration of a
// 3-node Raft to depth 8 (no clients, the set network, election safety
// checked, state hashing on), one worker: the rates it reports are per
// core. states/s counts distinct states, transitions/s every branch taken
// (states generated, as TLC counts them). The garbage collector's target
// is raised as synod explore raises it.
func BenchmarkExplore3NodeRaft(b *testing.B) {
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	s := raftSim(b)
	var states, transitions int64
	b.ResetTimer()
	for b.Loop() {
		r, err := explore.Run(s, explore.Options{Mode: explore.BFS, DepthMax: 8, Workers: 1})
		require.NoError(b, err)
		states += r.States
		transitions += r.Transitions
	}
	b.ReportMetric(float64(states)/b.Elapsed().Seconds(), "states/s")
	b.ReportMetric(float64(transitions)/b.Elapsed().Seconds(), "transitions/s")
}

func BenchmarkFork3NodeRaft(b *testing.B) {
	s := raftSim(b)
	explore.Prepare(s)
	for b.Loop() {
		s.Fork()
	}
}

func BenchmarkClone3NodeRaft(b *testing.B) {
	s := raftSim(b)
	explore.Prepare(s)
	for b.Loop() {
		s.Clone()
	}
}

func BenchmarkHash3NodeRaft(b *testing.B) {
	s := raftSim(b)
	explore.Prepare(s)
	var buf []byte
	for b.Loop() {
		_, buf = explore.Hash(s, buf)
	}
}

func BenchmarkBuild3NodeRaft(b *testing.B) {
	sc := scenario.Default("raft")
	sc.Nodes = 3
	sc.Workload.Clients = 0
	require.NoError(b, sc.Revalidate())
	for b.Loop() {
		inst, err := scenario.Build(sc)
		require.NoError(b, err)
		explore.Prepare(inst.Sim)
	}
}

// TestRaftSearchIndependentOfWorkers: a search of many chunks (the
// frontier is split among workers) gives the same counts and the same
// counterexample for any number of workers, on either network.
func TestRaftSearchIndependentOfWorkers(t *testing.T) {
	for _, network := range []string{explore.NetworkSet, explore.NetworkMultiset} {
		var results []*explore.Result
		for _, w := range []int{1, 2, 3} {
			r, err := explore.Run(raftSim(t), explore.Options{DepthMax: 6, Workers: w, Spawn: goSpawn, Network: network})
			require.NoError(t, err)
			r.Elapsed = 0
			results = append(results, r)
		}
		require.Equal(t, results[0], results[1], network)
		require.Equal(t, results[0], results[2], network)
		require.Equal(t, explore.BoundDepth, results[0].Bound)
		require.Greater(t, results[0].States, int64(2000), "enough states for several chunks")

		goal := func(s *sim.Sim) bool {
			v, ok := s.Inspect(2)
			return ok && v.Role == "leader" && v.Term >= 2
		}
		var found []*explore.Result
		for _, w := range []int{1, 2} {
			r, err := explore.Run(raftSim(t), explore.Options{DepthMax: 10, Workers: w, Spawn: goSpawn, Network: network, Goal: goal})
			require.NoError(t, err)
			require.Equal(t, explore.FoundGoal, r.Found)
			r.Elapsed = 0
			found = append(found, r)
		}
		require.Equal(t, found[0], found[1], network)
	}
}

// goSpawn runs a worker in its own goroutine, as cmd/synod does.
func goSpawn(f func()) { go f() }
