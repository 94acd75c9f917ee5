package explore_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

// exploreLong runs the deeper searches of TestExhaustive (a few minutes
// of CPU): go test ./sim/explore/ -run Exhaustive -synod.explore-long
var exploreLong = flag.Bool("synod.explore-long", false, "TestExhaustive: search every shipped protocol to depth 9")

// TestExhaustive: for every shipped protocol the default search (step
// cache and quiet steps on) reaches exactly the states a search taking
// every branch for real reaches, in strict mode (any cached step that
// ends elsewhere when retaken fails the search), at depths 6 to 8 by
// default and to 9 with -synod.explore-long (Raft with a client to 6, and
// 8 with the flag; Multi-Paxos, whose level 7 alone costs about 10
// CPU-seconds, to 6, and 9 with the flag). Every protocol's nodes have an exact state encoding
// (sim.StateAppender), so their steps are cached and checked.
func TestExhaustive(t *testing.T) {
	type config struct {
		protocol       string
		nodes, clients int
		invariants     []string // empty: all the protocol's
		depths, long   []int
	}
	configs := []config{
		// Election safety alone is a local checker: quiet steps judge
		// most states at the depth bound.
		{protocol: "raft", nodes: 3, invariants: []string{"raft.ElectionSafety"}, depths: []int{6, 7, 8}, long: []int{9}},
		{protocol: "raft", nodes: 3, clients: 1, depths: []int{6}, long: []int{7, 8}},
		{protocol: "paxos", nodes: 3, depths: []int{6}, long: []int{7, 8, 9}},
		{protocol: "paxos-single", nodes: 3, clients: 1, depths: []int{6, 7, 8}, long: []int{9}},
		{protocol: "2pc", nodes: 3, clients: 1, depths: []int{6, 7, 8}, long: []int{9}},
		{protocol: "paxos-commit", nodes: 4, clients: 1, depths: []int{6, 7, 8}, long: []int{9}},
	}
	for _, c := range configs {
		depths := c.depths
		if *exploreLong {
			depths = append(depths, c.long...)
		}
		for _, depth := range depths {
			t.Run(fmt.Sprintf("%s/%d nodes/%d clients/depth %d", c.protocol, c.nodes, c.clients, depth), func(t *testing.T) {
				build := func() *sim.Sim {
					sc := scenario.Default(c.protocol)
					sc.Nodes, sc.Workload.Clients = c.nodes, c.clients
					sc.Checks.Invariants = c.invariants
					sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
					require.NoError(t, sc.Revalidate())
					inst, err := scenario.Build(sc)
					require.NoError(t, err)
					started := inst.Sim.Clone()
					explore.Prepare(started)
					for _, id := range started.Nodes() {
						require.Implements(t, (*sim.StateAppender)(nil), started.Process(id),
							"%s's %v has no state encoding: its steps would not be cached nor checked", c.protocol, id)
					}
					return inst.Sim
				}
				type mode struct {
					name         string
					quiet, cache bool
				}
				var reached []int64
				var built []int64
				for _, m := range []mode{{"default", true, true}, {"no quiet steps", false, true}, {"no step cache", false, false}} {
					restore := explore.SetQuietSteps(m.quiet)
					r, err := explore.Run(build(), explore.Options{DepthMax: depth, Workers: 2, Spawn: goSpawn,
						NoStepCache: !m.cache, Strict: true})
					restore()
					require.NoError(t, err, "%s: %v", m.name, r)
					require.Equal(t, explore.FoundNothing, r.Found, "%s: %v", m.name, r)
					require.True(t, r.Exhaustive(), "%s: %v", m.name, r)
					require.NotContains(t, r.String(), "NOT EXHAUSTIVE")
					t.Logf("%s: %v", m.name, r)
					reached = append(reached, r.States+r.QuietStates)
					built = append(built, r.States)
				}
				require.Equal(t, reached[2], reached[0], "default against no step cache")
				require.Equal(t, reached[2], reached[1], "no quiet steps against no step cache")
				require.Equal(t, built[2], built[1], "without quiet steps every state is built")
				require.Greater(t, reached[0], int64(100), "a search worth the name")
			})
		}
	}
}

// leaky is a deliberately inexact protocol. A token goes round the ring;
// each node counts the tokens it received (hits) and passes on the token's
// value plus that count, but its encoding leaves hits out. Two states
// whose nodes differ only in hits are one state to the search, yet they
// send different tokens: a defect of the encoding that strict mode must
// catch, and that the default search must report as not exhaustive.
type leaky struct {
	val, hits int64
	exact     bool // encode hits too (the control)
}

type leakyMsg struct{ X int64 }

func (*leakyMsg) MessageType() string { return "test.Leaky" }

func init() { sim.Messages.Register(&leakyMsg{}) }

func (l *leaky) Start(env *sim.Env) {
	if env.ID() == 1 {
		env.Send(2, &leakyMsg{X: 1})
	}
}

func (l *leaky) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	m := msg.(*leakyMsg)
	l.hits++
	l.val = m.X
	env.Send(env.ID()%3+1, &leakyMsg{X: (m.X + l.hits) % 5})
}

func (l *leaky) Timer(env *sim.Env, t sim.Timer) {}

func (l *leaky) AppendState(b []byte) []byte {
	b = binary.AppendVarint(b, l.val)
	if l.exact {
		b = binary.AppendVarint(b, l.hits)
	}
	return b
}

func leakySim(t *testing.T, exact bool) *sim.Sim {
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 3, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
		sim.Factory{Node: func(sim.NodeID) sim.Process { return &leaky{exact: exact} }})
	require.NoError(t, err)
	return s
}

// TestInexactEncodingCaught: the leaky protocol fails a strict search
// (explore.ErrInexact), and the default search says it is not exhaustive
// rather than "nothing found" alone; with hits encoded, both are clean.
func TestInexactEncodingCaught(t *testing.T) {
	const depth = 9
	_, err := explore.Run(leakySim(t, false), explore.Options{DepthMax: depth, Strict: true})
	require.ErrorIs(t, err, explore.ErrInexact)

	r, err := explore.Run(leakySim(t, false), explore.Options{DepthMax: depth})
	require.NoError(t, err)
	require.Equal(t, explore.FoundNothing, r.Found)
	require.Positive(t, r.StepMismatches)
	require.False(t, r.Exhaustive())
	require.Contains(t, r.String(), "NOT EXHAUSTIVE")
	t.Logf("leaky: %v", r)

	for _, off := range []bool{false, true} {
		r, err := explore.Run(leakySim(t, true), explore.Options{DepthMax: depth, Strict: true, NoStepCache: off})
		require.NoError(t, err)
		require.True(t, r.Exhaustive(), r.String())
		require.NotContains(t, r.String(), "NOT EXHAUSTIVE")
	}
}

// TestNotExhaustiveBounds: a search stopped by a bound other than the
// depth bound, and random walks, are not exhaustive either.
func TestNotExhaustiveBounds(t *testing.T) {
	r, err := explore.Run(raftSim(t), explore.Options{DepthMax: 8, StatesMax: 500})
	require.NoError(t, err)
	require.Equal(t, explore.BoundStates, r.Bound)
	require.False(t, r.Exhaustive())
	require.Contains(t, r.String(), "NOT EXHAUSTIVE: stopped by the states bound")

	r, err = explore.Run(raftSim(t), explore.Options{Mode: explore.Walk, Walks: 3, DepthMax: 5})
	require.NoError(t, err)
	require.False(t, r.Exhaustive())
	require.Contains(t, r.String(), "NOT EXHAUSTIVE: random walks")
}
