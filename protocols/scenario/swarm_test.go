package scenario_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

const swarmYAML = `# a swarm of chaos
protocol: raft
nodes: 5
duration: 2s
swarm: true
nemesis:
  crash_every: 400ms
  partition_every: 600ms
  cut_every: 500ms
  pause_every: 1s
  loss_every: 1.5s
  downtime: 300ms
  drift_max: 0.05
  heal_at: 1500ms
workload: {clients: 2}
`

// The swarm configuration is a function of the seed: the same seed draws
// the same nemesis, and it is the nemesis the run uses.
func TestSwarmIsTheSeeds(t *testing.T) {
	sc, err := scenario.Parse([]byte(swarmYAML), "swarm.yaml")
	require.NoError(t, err)
	for _, seed := range []uint64{1, 2, 99} {
		a, err := scenario.SwarmNemesis(sc.Nemesis, sc.Nodes, seed)
		require.NoError(t, err)
		b, err := scenario.SwarmNemesis(sc.Nemesis, sc.Nodes, seed)
		require.NoError(t, err)
		assert.Equal(t, a, b, "seed %d", seed)
		sc.Seed = seed
		cfg, err := sc.SimConfig()
		require.NoError(t, err)
		assert.Equal(t, a, cfg.Nemesis, "seed %d: the run uses the drawn nemesis", seed)
	}
	assert.Equal(t, 400*sim.Millisecond, sc.Nemesis.CrashEvery, "the scenario's own nemesis is left as written")
}

// Different seeds try different fault mixes: every kind is on for some
// seeds and off for others, rates and downtimes spread over the range,
// and some seeds aim at a few nodes.
func TestSwarmVariesTheMix(t *testing.T) {
	sc, err := scenario.Parse([]byte(swarmYAML), "swarm.yaml")
	require.NoError(t, err)
	const seeds = 64
	on, off := map[string]int{}, map[string]int{}
	distinct := map[string]bool{}
	targeted := 0
	var crashMin, crashMax sim.Time = sim.TimeMax, 0
	for seed := uint64(1); seed <= seeds; seed++ {
		n, err := scenario.SwarmNemesis(sc.Nemesis, sc.Nodes, seed)
		require.NoError(t, err)
		kinds := map[string]sim.Time{"crash": n.CrashEvery, "partition": n.PartitionEvery, "cut": n.CutEvery, "pause": n.PauseEvery, "loss": n.LossEvery}
		any := false
		for k, every := range kinds {
			if every > 0 {
				on[k]++
				any = true
			} else {
				off[k]++
			}
		}
		assert.True(t, any, "seed %d: at least one fault kind is on", seed)
		if n.CrashEvery > 0 {
			crashMin, crashMax = min(crashMin, n.CrashEvery), max(crashMax, n.CrashEvery)
			assert.GreaterOrEqual(t, n.CrashEvery, 100*sim.Millisecond, "seed %d: at most 4x the written rate", seed)
			assert.LessOrEqual(t, n.CrashEvery, 1600*sim.Millisecond, "seed %d: at least 1/4 of the written rate", seed)
		}
		if len(n.Targets) > 0 {
			targeted++
			assert.Less(t, len(n.Targets), sc.Nodes, "seed %d: targets are a proper subset", seed)
		}
		assert.Equal(t, sc.Nemesis.HealAt, n.HealAt, "seed %d: the heal stays", seed)
		require.NoError(t, n.Validate(sc.Nodes), "seed %d", seed)
		b, _ := json.Marshal(n)
		distinct[string(b)] = true
	}
	for _, k := range []string{"crash", "partition", "cut", "pause", "loss"} {
		assert.Greater(t, on[k], seeds/5, "kind %s on for some seeds", k)
		assert.Greater(t, off[k], seeds/5, "kind %s off for some seeds", k)
	}
	assert.Len(t, distinct, seeds, "every seed its own configuration")
	assert.Greater(t, targeted, seeds/5)
	assert.Less(t, targeted, seeds*4/5)
	assert.Greater(t, crashMax, 2*crashMin, "rates spread: %v..%v", crashMin, crashMax)
}

// The seed alone replays a swarm run: the trace header records the
// scenario (swarm on) and the drawn nemesis, and running the header's
// scenario again gives the same trace byte for byte.
func TestSwarmRunReplaysFromItsTrace(t *testing.T) {
	sc, err := scenario.Parse([]byte(swarmYAML), "swarm.yaml")
	require.NoError(t, err)
	sc.Seed = 7
	var a bytes.Buffer
	_, err = scenario.Run(sc, scenario.RunOptions{Trace: &a})
	require.NoError(t, err)
	tr, err := sim.ReadTrace(bytes.NewReader(a.Bytes()), "swarm.jsonl")
	require.NoError(t, err)
	want, err := scenario.SwarmNemesis(sc.Nemesis, sc.Nodes, 7)
	require.NoError(t, err)
	assert.Equal(t, want, tr.Header.Sim.Nemesis, "the header records the drawn nemesis")

	again, err := scenario.FromJSON(tr.Header.Run, "swarm.jsonl")
	require.NoError(t, err)
	assert.True(t, again.Swarm)
	var b bytes.Buffer
	_, err = scenario.Run(again, scenario.RunOptions{Trace: &b})
	require.NoError(t, err)
	assert.Equal(t, a.String(), b.String())

	// Written out, the swarm is the same run.
	un, err := sc.Unswarm()
	require.NoError(t, err)
	assert.False(t, un.Swarm)
	assert.Equal(t, want, un.Nemesis)
	r1, err := scenario.Run(sc, scenario.RunOptions{})
	require.NoError(t, err)
	r2, err := scenario.Run(un, scenario.RunOptions{})
	require.NoError(t, err)
	assert.Equal(t, r1.Events, r2.Events)
	assert.Equal(t, r1.Stats, r2.Stats)
}

func TestSwarmNeedsANemesis(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"# x\nprotocol: single\nswarm: true\n", `bad.yaml:3: field "swarm": a swarm varies the nemesis: the scenario has none`},
		{"# x\nprotocol: single\nswarm: true\nnemesis: {heal_at: 1s}\n", `bad.yaml:3: field "swarm": a swarm varies the nemesis's fault kinds`},
		{"# x\nprotocol: single\nnodes: 3\nnemesis: {crash_every: 1s, targets: [n4]}\n", `bad.yaml:4: field "nemesis.targets[0]": node n4 does not exist`},
	} {
		_, err := scenario.Parse([]byte(c.yaml), "bad.yaml")
		require.Error(t, err)
		assert.Contains(t, err.Error(), c.want, fmt.Sprintf("%q", c.yaml))
	}
}

// A nemesis with targets crashes, pauses and cuts links from those nodes
// only (and without targets it does hit the others).
func TestNemesisTargets(t *testing.T) {
	hits := func(targets string) map[sim.NodeID]int {
		y := fmt.Sprintf("# x\nprotocol: raft\nnodes: 5\nduration: 3s\nnemesis: {crash_every: 100ms, pause_every: 100ms, cut_every: 100ms, downtime: 50ms%s}\n", targets)
		sc, err := scenario.Parse([]byte(y), "targets.yaml")
		require.NoError(t, err)
		in, err := scenario.Build(sc)
		require.NoError(t, err)
		rec := &sim.ScheduleRecorder{}
		in.Sim.AddFaultObserver(rec)
		in.Sim.Run()
		n := map[sim.NodeID]int{}
		for _, f := range rec.Faults {
			switch f.Kind {
			case sim.FaultCrash, sim.FaultPause:
				n[f.Node]++
			case sim.FaultCut:
				n[f.From]++
			}
		}
		return n
	}
	all := hits("")
	assert.Len(t, all, 5, "without targets every node is hit: %v", all)
	some := hits(", targets: [n2, n4]")
	assert.Len(t, some, 2, "%v", some)
	assert.Greater(t, some[2], 5)
	assert.Greater(t, some[4], 5)
}
