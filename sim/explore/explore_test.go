package explore

import (
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// hop is a hand-made protocol with a bug at a known depth: both nodes
// start by sending Hop{1} to the other; a node receiving Hop{n} remembers
// n and answers Hop{n+1}. The checker hopsBelow(k) fails once a node has
// seen a hop numbered k or more, which takes exactly k deliveries.
type hop struct{ max int64 }

type hopMsg struct{ N int64 }

func (*hopMsg) MessageType() string { return "test.Hop" }

func init() { sim.Messages.Register(&hopMsg{}) }

func (h *hop) Start(env *sim.Env) {
	env.Send(3-env.ID(), &hopMsg{N: 1})
	env.SetTimer(50*sim.Millisecond, "idle", 0)
}

func (h *hop) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	m := msg.(*hopMsg)
	h.max = max(h.max, m.N)
	env.Send(from, &hopMsg{N: m.N + 1})
}

func (h *hop) Timer(env *sim.Env, t sim.Timer) {}

func (h *hop) hops() int64 { return h.max }

func (h *hop) Inspect() sim.View {
	return sim.View{Role: "hopper", Fields: []sim.Field{{Name: "max", Value: strconv.FormatInt(h.max, 10)}}}
}

type hopsBelow int64

func (k hopsBelow) Name() string { return "test.HopsBelow" }

func (k hopsBelow) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range s.Nodes() {
		if h, ok := s.Process(id).(interface{ hops() int64 }); ok && h.hops() >= int64(k) {
			return fmt.Errorf("%v saw hop %d >= %d", id, h.hops(), k)
		}
	}
	return nil
}

func hopSim(t testing.TB, k int64) *sim.Sim {
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 2, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
		sim.Factory{Node: func(sim.NodeID) sim.Process { return &hop{} }})
	require.NoError(t, err)
	if k > 0 {
		s.AddChecker(hopsBelow(k))
	}
	return s
}

func TestBFSFindsShortestCounterexample(t *testing.T) {
	for _, c := range []struct {
		k       int64
		network string
	}{{1, NetworkSet}, {3, NetworkSet}, {5, NetworkSet}, {1, NetworkMultiset}, {3, NetworkMultiset}, {5, NetworkMultiset}} {
		k := c.k
		t.Run(fmt.Sprintf("k=%d/%s", k, c.network), func(t *testing.T) {
			r, err := Run(hopSim(t, k), Options{Mode: BFS, DepthMax: 10, Workers: 2, Spawn: goSpawn, Network: c.network})
			require.NoError(t, err)
			require.Equal(t, FoundViolation, r.Found, r.String())
			assert.Equal(t, int(k), r.Depth, "got depth %d, want %d", r.Depth, k)
			if c.network == NetworkSet {
				// Each delivery is recorded as duplicate, then deliver.
				assert.Len(t, r.Choices, 2*int(k))
			} else {
				assert.Len(t, r.Choices, int(k))
			}
			assert.Equal(t, "test.HopsBelow", r.Violation.Checker)

			// The choices replay on a fresh run to the same violation.
			s := hopSim(t, k)
			require.NoError(t, s.RunChoices(r.Choices))
			require.NotEmpty(t, s.Violations())
			assert.Equal(t, r.Violation.Message, s.Violations()[0].Message)
		})
	}
}

func TestDFSFindsACounterexampleNoShorter(t *testing.T) {
	r, err := Run(hopSim(t, 4), Options{Mode: DFS, DepthMax: 8})
	require.NoError(t, err)
	require.Equal(t, FoundViolation, r.Found, r.String())
	assert.GreaterOrEqual(t, r.Depth, 4)
	s := hopSim(t, 4)
	require.NoError(t, s.RunChoices(r.Choices))
	assert.NotEmpty(t, s.Violations())
}

func TestResultsIndependentOfWorkers(t *testing.T) {
	for _, mode := range []Mode{BFS, Walk} {
		t.Run(string(mode), func(t *testing.T) {
			var results []*Result
			for _, w := range []int{1, 2, 3} {
				r, err := Run(hopSim(t, 6), Options{Mode: mode, DepthMax: 12, Workers: w, Spawn: goSpawn, Walks: 40, Seed: 7})
				require.NoError(t, err)
				r.Elapsed = 0
				results = append(results, r)
			}
			assert.Equal(t, results[0], results[1], "1 and 2 workers")
			assert.Equal(t, results[0], results[2], "1 and 3 workers")
			// Without Spawn the workers run one after another: same result.
			r, err := Run(hopSim(t, 6), Options{Mode: mode, DepthMax: 12, Workers: 3, Walks: 40, Seed: 7})
			require.NoError(t, err)
			r.Elapsed = 0
			assert.Equal(t, results[0], r, "3 sequential workers")
		})
	}
}

func TestNothingFoundExhaustsOrHitsDepth(t *testing.T) {
	r, err := Run(hopSim(t, 0), Options{Mode: BFS, DepthMax: 4, Workers: 2, Spawn: goSpawn})
	require.NoError(t, err)
	assert.Equal(t, FoundNothing, r.Found)
	assert.Equal(t, BoundDepth, r.Bound)
	assert.Contains(t, r.String(), "depth bound")
}

func TestBoundsReported(t *testing.T) {
	var now sim.Time
	clock := func() sim.Time { now += sim.Second; return now }
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"depth", Options{DepthMax: 3}, BoundDepth},
		{"states", Options{DepthMax: 20, StatesMax: 50}, BoundStates},
		{"time", Options{DepthMax: 20, WallMax: 3 * sim.Second, Clock: clock}, BoundTime},
		{"memory", Options{DepthMax: 20, MemoryMax: 1}, BoundMemory},
		{"dfs-states", Options{Mode: DFS, DepthMax: 20, StatesMax: 50}, BoundStates},
		{"dfs-depth", Options{Mode: DFS, DepthMax: 3}, BoundDepth},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Run(hopSim(t, 100), c.opts)
			require.NoError(t, err)
			assert.Equal(t, FoundNothing, r.Found)
			assert.Equal(t, c.want, r.Bound, r.String())
			if c.want == BoundStates {
				assert.LessOrEqual(t, r.States, c.opts.StatesMax)
			}
		})
	}
}

func TestAbsurdBoundsAreErrors(t *testing.T) {
	for _, o := range []Options{{DepthMax: 0}, {DepthMax: 1 << 30}, {DepthMax: 3, Mode: "zigzag"},
		{DepthMax: 3, StatesMax: -1}, {DepthMax: 3, Mode: Walk}, {DepthMax: 3, FaultBudget: -1}} {
		_, err := Run(hopSim(t, 3), o)
		assert.Error(t, err, "%+v", o)
	}
}

func TestGoalAndPrune(t *testing.T) {
	maxOf := func(s *sim.Sim, id sim.NodeID) int64 {
		if h, ok := s.Process(id).(*hop); ok {
			return h.max
		}
		return 0
	}
	goal := func(s *sim.Sim) bool { return maxOf(s, 1) >= 2 && maxOf(s, 2) >= 2 }
	r, err := Run(hopSim(t, 0), Options{DepthMax: 8, Goal: goal})
	require.NoError(t, err)
	require.Equal(t, FoundGoal, r.Found)
	assert.Equal(t, 3, r.Depth)

	// Pruning every state where n1 has seen a hop cuts off the goal.
	prune := func(s *sim.Sim) bool { return maxOf(s, 1) >= 1 }
	r, err = Run(hopSim(t, 0), Options{DepthMax: 8, Goal: goal, Prune: prune, NoDuplicates: true})
	require.NoError(t, err)
	assert.Equal(t, FoundNothing, r.Found)
	assert.Equal(t, "", r.Bound, "the pruned space is finite: %v", r)
}

func TestRandomWalksReproducibleBySeed(t *testing.T) {
	run := func(seed uint64) *Result {
		r, err := Run(hopSim(t, 5), Options{Mode: Walk, DepthMax: 20, Walks: 30, Seed: seed, Workers: 2, Spawn: goSpawn})
		require.NoError(t, err)
		r.Elapsed = 0
		return r
	}
	a, b := run(3), run(3)
	assert.Equal(t, a, b)
	require.Equal(t, FoundViolation, a.Found)
	s := hopSim(t, 5)
	require.NoError(t, s.RunChoices(a.Choices))
	assert.NotEmpty(t, s.Violations())
}

func TestFaultBudgetAddsCrashes(t *testing.T) {
	// A crashed node's hop state is gone: with a budget, the goal "n1 is
	// down" is reachable in one step.
	goal := func(s *sim.Sim) bool { return !s.Up(1) }
	r, err := Run(hopSim(t, 0), Options{DepthMax: 3, Goal: goal, FaultBudget: 1})
	require.NoError(t, err)
	require.Equal(t, FoundGoal, r.Found)
	assert.Equal(t, 1, r.Depth)
	assert.Equal(t, sim.ChoiceFault, r.Choices[0].Action)

	r, err = Run(hopSim(t, 0), Options{DepthMax: 3, Goal: goal})
	require.NoError(t, err)
	assert.Equal(t, FoundNothing, r.Found)
}

func TestPanicIsFound(t *testing.T) {
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 2, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
		sim.Factory{Node: func(sim.NodeID) sim.Process { return &panicky{} }})
	require.NoError(t, err)
	r, err := Run(s, Options{DepthMax: 5})
	require.NoError(t, err)
	require.Equal(t, FoundPanic, r.Found)
	var pe *sim.PanicError
	assert.True(t, errors.As(r.Panic, &pe))
}

type panicky struct{ hop }

func (p *panicky) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	if msg.(*hopMsg).N >= 2 {
		panic("hop 2")
	}
	p.hop.Receive(env, from, msg)
}

func TestHashIgnoresTimeAndOrder(t *testing.T) {
	// Delivering the two initial hops in either order gives the same
	// state: same node states, same messages in flight.
	a, b := hopSim(t, 0), hopSim(t, 0)
	Prepare(a)
	Prepare(b)
	p := a.Pending()
	var ids []sim.EventID
	for _, ev := range p {
		if ev.Kind == sim.KindDeliver {
			ids = append(ids, ev.ID)
		}
	}
	require.Len(t, ids, 2)
	require.NoError(t, a.Deliver(ids[0]))
	require.NoError(t, a.Deliver(ids[1]))
	require.NoError(t, b.Deliver(ids[1]))
	require.NoError(t, b.Deliver(ids[0]))
	ha, _ := Hash(a, nil)
	hb, _ := Hash(b, nil)
	assert.Equal(t, ha, hb)
	require.NoError(t, b.Drop(b.Pending()[0].ID))
	hc, _ := Hash(b, nil)
	assert.NotEqual(t, ha, hc)
}

func TestParsePredicate(t *testing.T) {
	s := hopSim(t, 0)
	Prepare(s)
	for _, c := range []struct {
		expr string
		want bool
	}{{"leaders>=1", false}, {"leaders==0", true}, {"down<1,choices==0", true}, {"term > 0", false}, {"diverged==0", true}} {
		p, err := ParsePredicate(c.expr)
		require.NoError(t, err, c.expr)
		assert.Equal(t, c.want, p(s), c.expr)
	}
	for _, bad := range []string{"", "leaders", "votes>=1", "leaders>=x"} {
		_, err := ParsePredicate(bad)
		assert.Error(t, err, bad)
	}
}

// goSpawn runs a worker in its own goroutine, as cmd/synod does.
func goSpawn(f func()) { go f() }

// TestRunStages: each stage starts where the last stopped, the results
// carry the whole schedule, and a stage out of reach ends the search.
func TestRunStages(t *testing.T) {
	build := func() (*sim.Sim, error) { return hopSim(t, 0), nil }
	hops := func(k int64) Predicate {
		return func(s *sim.Sim) bool {
			v, ok := s.Inspect(1)
			return ok && v.Fields[0].Value == strconv.FormatInt(k, 10)
		}
	}
	r, err := RunStages(build, nil, 0, []Stage{{Name: "1", Goal: hops(1)}, {Name: "3", Goal: hops(3)}},
		Options{DepthMax: 4, Goal: hops(5)})
	require.NoError(t, err)
	require.Len(t, r.Stages, 2)
	require.NotNil(t, r.Final)
	assert.Equal(t, FoundGoal, r.Final.Found)
	assert.Greater(t, len(r.Final.Choices), len(r.Stages[1].Choices))
	assert.Greater(t, len(r.Stages[1].Choices), len(r.Stages[0].Choices))
	assert.Equal(t, r.Stages[1].Choices, r.Final.Choices[:len(r.Stages[1].Choices)], "the final schedule extends the stage's")
	s := hopSim(t, 0)
	used, err := s.RunTo(AfterChoices(r.Final.Choices, 0), r.Final.Choices)
	require.NoError(t, err)
	require.Equal(t, len(r.Final.Choices), used)
	require.True(t, hops(5)(s), "the schedule replays to the goal")

	r, err = RunStages(build, nil, 0, []Stage{{Name: "far", Goal: hops(99), DepthMax: 2}}, Options{DepthMax: 4})
	require.NoError(t, err)
	assert.Nil(t, r.Final)
	assert.Equal(t, FoundNothing, r.Last().Found)
}

// exactHop is hop with an exact state encoding, so that its steps are
// cached.
type exactHop struct{ hop }

func (h *exactHop) AppendState(b []byte) []byte { return strconv.AppendInt(b, h.max, 10) }

// TestStepCacheExactEncoding: with an exact encoding the step cache gives
// the same search as taking every branch for real, on both networks, and
// its checks find nothing wrong.
func TestStepCacheExactEncoding(t *testing.T) {
	mk := func() *sim.Sim {
		s, err := sim.New(sim.Config{Seed: 1, Nodes: 2, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
			sim.Factory{Node: func(sim.NodeID) sim.Process { return &exactHop{} }})
		require.NoError(t, err)
		s.AddChecker(hopsBelow(9))
		return s
	}
	for _, network := range []string{NetworkSet, NetworkMultiset} {
		var rs []*Result
		for _, off := range []bool{false, true} {
			r, err := Run(mk(), Options{DepthMax: 12, Network: network, NoStepCache: off})
			require.NoError(t, err)
			r.Elapsed = 0
			rs = append(rs, r)
		}
		require.Equal(t, rs[1], rs[0], network)
		require.Zero(t, rs[0].StepMismatches)
		require.Equal(t, FoundViolation, rs[0].Found)
		require.Equal(t, 9, rs[0].Depth)
	}
}
