package tui

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// benchPosition is where the step-back benchmark stands.
const benchPosition = 100_000

// longSession is a raft run opened at event benchPosition.
func longSession(b *testing.B) *Model {
	y := `# a long calm raft run for the step-back benchmark
protocol: raft
nodes: 5
seed: 1
duration: 1000s
network: {latency: {dist: uniform, min: 1ms, max: 5ms}}
workload: {clients: 3, think: 5ms}
checks: {linearizability: false}
`
	sc, err := scenario.Parse([]byte(y), "long.yaml")
	require.NoError(b, err)
	s, err := NewSession(sc)
	require.NoError(b, err)
	m := New(s, Options{NoColor: true, FrameBudget: time.Hour})
	m.Update(keySize(120, 40))
	m.seek(benchPosition)
	require.Equal(b, int64(benchPosition), s.Index())
	return m
}

// BenchmarkStepBack measures one step back at event 100,000 through the
// UI's key handling (restore the nearest checkpoint, replay up to
// DefaultInterval events), then one step forward to stand there again.
//
//	go test ./tui -run '^$' -bench StepBack -benchtime 2s
func BenchmarkStepBack(b *testing.B) {
	m := longSession(b)
	b.ResetTimer()
	var cpu float64
	for range b.N {
		c0 := cpuSeconds()
		press(m, "h")
		cpu += cpuSeconds() - c0
		if m.sess.Index() != benchPosition-1 {
			b.Fatalf("at %d, want %d", m.sess.Index(), benchPosition-1)
		}
		b.StopTimer()
		press(m, "l")
		b.StartTimer()
	}
	b.ReportMetric(cpu*1000/float64(b.N), "cpu-ms/step-back")
}

// BenchmarkRender measures drawing the whole screen at event 100,000.
func BenchmarkRender(b *testing.B) {
	m := longSession(b)
	b.ResetTimer()
	for range b.N {
		_ = m.Render()
	}
}

// panicker is a protocol whose node panics when its timer fires, to show
// the error screen.
type panicker struct{}

func (panicker) Start(env *sim.Env)                                { env.SetTimer(10*sim.Millisecond, "boom", 0) }
func (panicker) Receive(env *sim.Env, _ sim.NodeID, _ sim.Message) {}
func (panicker) Timer(env *sim.Env, _ sim.Timer)                   { panic("boom: the protocol broke") }
func (panicker) Inspect() sim.View                                 { return sim.View{Role: "follower"} }

func init() {
	protocols.Register(protocols.Spec{Name: "tuitest-panic", Description: "panics (TUI tests)",
		New: func(protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			return func(sim.NodeID) protocols.Node { return panicker{} }, nil
		}})
}

func TestPanicScreen(t *testing.T) {
	sc, err := scenario.Parse([]byte("# panics\nprotocol: tuitest-panic\nnodes: 2\nseed: 9\nduration: 1s\nworkload: {clients: 0}\n"), "panic.yaml")
	require.NoError(t, err)
	m := newTestModel(t, sc, Options{})
	press(m, "G")
	out := screen(m)
	assert.Contains(t, out, "the protocol panicked")
	assert.Contains(t, out, "seed 9, event 2")
	assert.Contains(t, out, "boom: the protocol broke")
	press(m, "h")
	assert.NotContains(t, screen(m), "the protocol panicked", "stepping back leaves the error screen")
}
