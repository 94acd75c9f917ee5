package explore_test

import (
	"fmt"
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
// core. states/s counts the distinct states built and checked (not those
// at the depth bound judged by quiet steps: reached/s counts those too),
// transitions/s every branch taken (states generated, as TLC counts
// them). The garbage collector's target is raised as synod explore
// raises it.
func BenchmarkExplore3NodeRaft(b *testing.B) { benchmarkExplore(b, explore.Options{}) }

// BenchmarkExplore3NodeRaftSymmetry is the same search with symmetry
// reduction (Options.Symmetry) to depth 9: about as many states as the
// plain search reaches at depth 8.
func BenchmarkExplore3NodeRaftSymmetry(b *testing.B) {
	benchmarkExplore(b, explore.Options{Symmetry: true, DepthMax: 9})
}

// BenchmarkExplore3NodeRaftNoStepCache is the same search taking every
// branch for real.
func BenchmarkExplore3NodeRaftNoStepCache(b *testing.B) {
	benchmarkExplore(b, explore.Options{NoStepCache: true})
}

// benchmarkExplore runs the search with opts (depth 8 unless it says),
// breadth-first, one worker.
func benchmarkExplore(b *testing.B, opts explore.Options) {
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	s := raftSim(b)
	var states, reached, transitions int64
	b.ResetTimer()
	for b.Loop() {
		o := opts
		o.Mode, o.Workers = explore.BFS, 1
		if o.DepthMax == 0 {
			o.DepthMax = 8
		}
		r, err := explore.Run(s, o)
		require.NoError(b, err)
		states += r.States
		reached += r.States + r.QuietStates
		transitions += r.Transitions
	}
	b.ReportMetric(float64(states)/b.Elapsed().Seconds(), "states/s")
	b.ReportMetric(float64(reached)/b.Elapsed().Seconds(), "reached/s")
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

// TestMergeIndependentOfWorkers: with every level merged in parallel (the
// fingerprint set's shards split among the workers, bfs.go newKids, even
// for small levels), a search gives the same counts, the same
// counterexample and the same bound as one worker's, for a search to the
// depth bound, with symmetry, stopped by the state bound (the merge stops
// partway) above and at the last level, and goals found when taken and at
// the depth bound.
func TestMergeIndependentOfWorkers(t *testing.T) {
	defer explore.SetMergeWorkerKidsMin(1)()
	for _, c := range []struct {
		name string
		opts explore.Options
		want string // the bound or what is found
	}{
		{"depth bound", explore.Options{DepthMax: 7}, explore.BoundDepth},
		{"multiset network", explore.Options{DepthMax: 6, Network: explore.NetworkMultiset}, explore.BoundDepth},
		{"symmetry", explore.Options{DepthMax: 8, Symmetry: true}, explore.BoundDepth},
		{"state bound", explore.Options{DepthMax: 9, StatesMax: 5000}, explore.BoundStates},
		{"state bound at the last level", explore.Options{DepthMax: 6, StatesMax: 5000}, explore.BoundStates},
		{"goal", explore.Options{DepthMax: 10, Goal: allInTerm3}, explore.FoundGoal},
		{"goal at the depth bound", explore.Options{DepthMax: 5, Goal: allInTerm3}, explore.FoundGoal},
	} {
		t.Run(c.name, func(t *testing.T) {
			var first *explore.Result
			for _, w := range []int{1, 2, 3, -3} {
				o := c.opts
				o.Workers, o.Spawn = w, goSpawn
				if w < 0 { // workers one after another
					o.Workers, o.Spawn = -w, nil
				}
				r, err := explore.Run(raftSim(t), o)
				require.NoError(t, err)
				r.Elapsed = 0
				got := r.Bound
				if r.Found != explore.FoundNothing {
					got = r.Found
				}
				require.Equal(t, c.want, got, "%d workers: %v", w, r)
				if first == nil {
					first = r
					require.Greater(t, r.States, int64(500), "enough states for every merge worker")
					continue
				}
				require.Equal(t, first, r, "%d workers", w)
			}
		})
	}
}

// allInTerm3: every node is in term 3 or later (found at depth 5).
func allInTerm3(s *sim.Sim) bool {
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); !ok || v.Term < 3 {
			return false
		}
	}
	return true
}

// leaderInTerm2: a node leads in term 2 or later.
func leaderInTerm2(s *sim.Sim) bool {
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && v.Role == "leader" && v.Term >= 2 {
			return true
		}
	}
	return false
}

// committedOne: a node has committed an entry.
func committedOne(s *sim.Sim) bool {
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && v.Commit >= 1 {
			return true
		}
	}
	return false
}

// goSpawn runs a worker in its own goroutine, as cmd/synod does.
func goSpawn(f func()) { go f() }

// searchSim builds a run of a shipped protocol as synod explore sets it up.
func searchSim(t testing.TB, protocol string, nodes, clients int, options ...string) *sim.Sim {
	sc := scenario.Default(protocol)
	sc.Nodes = nodes
	sc.Workload.Clients = clients
	sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
	require.NoError(t, sc.Revalidate())
	for _, o := range options {
		require.NoError(t, sc.SetOption(o))
	}
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

// TestStepCache: breadth-first search with the step cache (children's
// fingerprints put together from cached local steps, steps.go) against
// taking every branch for real, in strict mode (a cached step that ends
// elsewhere when retaken fails the search). The state encodings are exact,
// so the searches are the same: the same states, goals and violations at
// the same depths. (Before Raft's encoding left out the lazy election
// timer's deadline and the explorer fired a timer that only re-armed
// again, Raft's searches differed by a few percent here.)
func TestStepCache(t *testing.T) {
	type search struct {
		protocol       string
		nodes, clients int
		options        []string
		depth, faults  int
		network        string
		goal           explore.Predicate
		wantFound      string
	}
	searches := []search{
		{protocol: "raft", nodes: 3, depth: 7},
		{protocol: "raft", nodes: 3, depth: 6, network: explore.NetworkMultiset},
		{protocol: "raft", nodes: 3, depth: 6, faults: 1},
		{protocol: "raft", nodes: 3, clients: 1, depth: 7},
		{protocol: "raft", nodes: 3, depth: 7, options: []string{"pre_vote=true"}},
		{protocol: "raft", nodes: 3, depth: 10, goal: leaderInTerm2, wantFound: explore.FoundGoal},
		{protocol: "raft", nodes: 3, clients: 1, depth: 10, goal: committedOne, wantFound: explore.FoundGoal},
		{protocol: "paxos", nodes: 3, clients: 1, depth: 6},
		{protocol: "2pc", nodes: 3, clients: 1, depth: 8},
		{protocol: "primary-backup", nodes: 3, clients: 1, depth: 7},
	}
	for _, c := range searches {
		name := fmt.Sprintf("%s/%d nodes/%d clients/%v/%s/faults %d", c.protocol, c.nodes, c.clients, c.options, c.network, c.faults)
		t.Run(name, func(t *testing.T) {
			var results []*explore.Result
			for _, off := range []bool{false, true} {
				r, err := explore.Run(searchSim(t, c.protocol, c.nodes, c.clients, c.options...), explore.Options{
					DepthMax: c.depth, Workers: 2, Spawn: goSpawn, Network: c.network, FaultBudget: c.faults,
					Goal: c.goal, NoStepCache: off, Strict: true})
				require.NoError(t, err)
				r.Elapsed = 0
				results = append(results, r)
			}
			on, off := results[0], results[1]
			t.Logf("cached: %v", on)
			t.Logf("real:   %v", off)
			require.Equal(t, c.wantFound, on.Found, on.String())
			require.Zero(t, on.StepMismatches)
			// Quiet states are reached, not built.
			on.States += on.QuietStates
			on.QuietStates = 0
			require.Equal(t, off, on)
		})
	}
}

// TestFoundAtTheDepthBound: the level above the depth bound makes and
// checks its children as it finds them (claims, bfs.go) instead of
// rebuilding the last level. A goal at exactly the depth bound is found,
// with the same schedule as by a deeper search and by a search taking
// every branch for real, for any number of workers; a search one level
// short finds nothing.
func TestFoundAtTheDepthBound(t *testing.T) {
	allTerm := func(term int64) explore.Predicate {
		return func(s *sim.Sim) bool {
			for _, id := range s.Nodes() {
				if v, ok := s.Inspect(id); !ok || v.Term < term {
					return false
				}
			}
			return true
		}
	}
	for _, c := range []struct {
		name    string
		clients int
		goal    explore.Predicate
	}{{"leader in term 2", 0, leaderInTerm2}, {"a commit", 1, committedOne}, {"all in term 2", 0, allTerm(2)}, {"all in term 3", 0, allTerm(3)}} {
		t.Run(c.name, func(t *testing.T) {
			run := func(depth, workers int, noCache bool) *explore.Result {
				r, err := explore.Run(searchSim(t, "raft", 3, c.clients), explore.Options{
					DepthMax: depth, Workers: workers, Spawn: goSpawn, Goal: c.goal, NoStepCache: noCache})
				require.NoError(t, err)
				r.Elapsed, r.StepMismatches = 0, 0
				return r
			}
			deep := run(12, 2, false)
			require.Equal(t, explore.FoundGoal, deep.Found, deep.String())
			d := deep.Depth
			require.Greater(t, d, 3)
			t.Logf("found at depth %d", d)
			for _, w := range []int{1, 2, 3} {
				r := run(d, w, false)
				require.Equal(t, explore.FoundGoal, r.Found, "%d workers: %v", w, r)
				require.Equal(t, deep.Choices, r.Choices, "%d workers", w)
				require.Equal(t, deep.Depth, r.Depth)
			}
			real := run(d, 2, true)
			require.Equal(t, explore.FoundGoal, real.Found, real.String())
			require.Len(t, real.Choices, len(deep.Choices))
			short := run(d-1, 2, false)
			require.Equal(t, explore.FoundNothing, short.Found, short.String())
			require.Equal(t, explore.BoundDepth, short.Bound)

			// With room for a few claims only, the states left unclaimed
			// are checked by a pass over the last level: the same results.
			defer explore.SetClaimsMax(64)()
			for _, w := range []int{1, 2} {
				r := run(d, w, false)
				require.Equal(t, explore.FoundGoal, r.Found, "%d workers, few claims: %v", w, r)
				require.Equal(t, deep.Choices, r.Choices, "%d workers, few claims", w)
				s := run(d-1, w, false)
				require.Equal(t, short, s, "%d workers, few claims", w)
			}
		})
	}
}

// TestQuietStepsRaft: with election safety (a local checker) most states
// at the depth bound are checked by quiet steps, without being made, and
// the search is the one that makes them, for any number of workers.
func TestQuietStepsRaft(t *testing.T) {
	for _, w := range []int{1, 2} {
		var rs []*explore.Result
		for _, on := range []bool{true, false} {
			defer explore.SetQuietSteps(on)()
			r, err := explore.Run(raftSim(t), explore.Options{DepthMax: 8, Workers: w, Spawn: goSpawn})
			require.NoError(t, err)
			r.Elapsed = 0
			rs = append(rs, r)
		}
		on, off := rs[0], rs[1]
		t.Logf("%d workers: %v", w, on)
		require.Greater(t, on.QuietStates, on.States/2)
		require.Zero(t, off.QuietStates)
		on.States += on.QuietStates
		on.QuietStates = 0
		require.Equal(t, off, on)
	}
}
