package sim

import (
	"bytes"
	"strconv"
	"testing"
)

// ping is the trivial protocol of the event-loop benchmark and of the core's
// tests: every node forwards a token to a random peer on each delivery, and
// keeps a counter it persists every tenth time.
type ping struct {
	n     int
	seen  int64
	timer TimerID
}

type pingMsg struct{ Hop int64 }

func (*pingMsg) MessageType() string { return "test.Ping" }

func init() { Messages.Register(&pingMsg{}) }

var sharedPing = &pingMsg{}

func (p *ping) Start(env *Env) {
	if b, ok := env.Load("seen"); ok {
		p.seen = int64(b[0])
	}
	p.n = len(env.Nodes())
	to := env.ID()%NodeID(p.n) + 1
	env.Send(to, sharedPing)
	p.timer = env.SetTimer(10*Millisecond, "tick", 0)
}

func (p *ping) Receive(env *Env, from NodeID, msg Message) {
	p.seen++
	to := NodeID(1 + env.Rand().IntN(p.n))
	env.Send(to, msg)
}

func (p *ping) Timer(env *Env, t Timer) {
	env.Store("seen", []byte{byte(p.seen)})
	p.timer = env.SetTimer(10*Millisecond, "tick", 0)
}

func (p *ping) Inspect() View { return View{Role: "pinger", Fields: []Field{{"seen", itoa(p.seen)}}} }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func pingFactory() Factory {
	return Factory{Node: func(NodeID) Process { return &ping{} }}
}

func pingConfig(seed uint64) Config {
	return Config{Seed: seed, Nodes: 5, Duration: 2 * Second, Network: NetworkConfig{Latency: DefaultLatency}}
}

func traceOf(t testing.TB, cfg Config, choices []Choice) []byte {
	s, err := New(cfg, pingFactory())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw, err := NewTraceWriter(&buf, nil, s.Config())
	if err != nil {
		t.Fatal(err)
	}
	s.AddObserver(tw)
	if err := s.RunChoices(choices); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(s); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkEventLoop measures the core loop on the trivial ping protocol:
// 5 nodes, no trace. Report ns/event, allocs/event and events/s.
func BenchmarkEventLoop(b *testing.B) {
	benchLoop(b, false)
}

// BenchmarkEventLoopTraced is the same with the JSON trace recorded to memory.
func BenchmarkEventLoopTraced(b *testing.B) {
	benchLoop(b, true)
}

func benchLoop(b *testing.B, traced bool) {
	cfg := Config{Seed: 1, Nodes: 5, Network: NetworkConfig{Latency: DefaultLatency}, EventsMax: 1 << 62}
	s, err := New(cfg, pingFactory())
	if err != nil {
		b.Fatal(err)
	}
	var tw *TraceWriter
	if traced {
		tw, _ = NewTraceWriter(discard{}, nil, cfg)
		s.AddObserver(tw)
	}
	for i := 0; i < 10000; i++ { // warm up: grow the queue and maps
		s.Step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !s.Step() {
			b.Fatal("run stopped:", s.Stopped())
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// BenchmarkTimelineStepBack measures going back one event at position
// 100,000 of a run (restore the nearest checkpoint, replay forward).
func BenchmarkTimelineStepBack(b *testing.B) {
	cfg := Config{Seed: 1, Nodes: 5, Network: NetworkConfig{Latency: DefaultLatency}, EventsMax: 1 << 62}
	s, err := New(cfg, pingFactory())
	if err != nil {
		b.Fatal(err)
	}
	tl := NewTimeline(s, 0)
	const at = 100_000
	if err := tl.GoTo(at); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := tl.GoTo(at - 1); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		tl.GoTo(at)
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/step-back")
}
