package explore_test

import (
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
	require.NoError(b, sc.Revalidate())
	inst, err := scenario.Build(sc)
	require.NoError(b, err)
	return inst.Sim
}

// BenchmarkExplore3NodeRaft measures breadth-first exploration of a
// 3-node Raft (no clients, election safety checked, state hashing on), one
// worker: the states/s it reports are per core.
func BenchmarkExplore3NodeRaft(b *testing.B) {
	s := raftSim(b)
	var states int64
	b.ResetTimer()
	for b.Loop() {
		r, err := explore.Run(s, explore.Options{Mode: explore.BFS, DepthMax: 6, StatesMax: 5000, Workers: 1})
		require.NoError(b, err)
		states += r.States
	}
	b.ReportMetric(float64(states)/b.Elapsed().Seconds(), "states/s")
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

func TestRaftSearchIndependentOfWorkers(t *testing.T) {
	var results []*explore.Result
	for _, w := range []int{1, 2} {
		r, err := explore.Run(raftSim(t), explore.Options{DepthMax: 4, Workers: w, Spawn: goSpawn})
		require.NoError(t, err)
		r.Elapsed = 0
		results = append(results, r)
	}
	require.Equal(t, results[0], results[1])
	require.Equal(t, explore.BoundDepth, results[0].Bound)
}

// BenchmarkExplore3NodeRaftFresh is BenchmarkExplore3NodeRaft with each
// state rebuilt from a fresh run and its path instead of copied.
func BenchmarkExplore3NodeRaftFresh(b *testing.B) {
	sc := scenario.Default("raft")
	sc.Nodes = 3
	sc.Workload.Clients = 0
	sc.Checks.Invariants = []string{"raft.ElectionSafety"}
	require.NoError(b, sc.Revalidate())
	fresh := func() (*sim.Sim, error) {
		inst, err := scenario.Build(sc)
		if err != nil {
			return nil, err
		}
		return inst.Sim, nil
	}
	s, err := fresh()
	require.NoError(b, err)
	var states int64
	b.ResetTimer()
	for b.Loop() {
		r, err := explore.Run(s, explore.Options{Mode: explore.BFS, DepthMax: 6, StatesMax: 5000, Workers: 1, Fresh: fresh})
		require.NoError(b, err)
		states += r.States
	}
	b.ReportMetric(float64(states)/b.Elapsed().Seconds(), "states/s")
}

func TestFreshGivesTheSameSearch(t *testing.T) {
	sc := scenario.Default("raft")
	sc.Nodes = 3
	sc.Workload.Clients = 0
	require.NoError(t, sc.Revalidate())
	fresh := func() (*sim.Sim, error) {
		inst, err := scenario.Build(sc)
		if err != nil {
			return nil, err
		}
		return inst.Sim, nil
	}
	s, err := fresh()
	require.NoError(t, err)
	a, err := explore.Run(s, explore.Options{DepthMax: 4, Workers: 2, Spawn: goSpawn, Goal: func(s *sim.Sim) bool { return false }})
	require.NoError(t, err)
	b, err := explore.Run(s, explore.Options{DepthMax: 4, Workers: 2, Spawn: goSpawn, Fresh: fresh})
	require.NoError(t, err)
	a.Elapsed, b.Elapsed = 0, 0
	require.Equal(t, a, b)
}

// goSpawn runs a worker in its own goroutine, as cmd/synod does.
func goSpawn(f func()) { go f() }
