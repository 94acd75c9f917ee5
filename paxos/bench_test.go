package paxos

import (
	"testing"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// steadySim builds an endless 5-node Multi-Paxos run under a steady
// closed-loop load, with no trace and (unless checked) no checkers.
func steadySim(b *testing.B, checked bool) *sim.Sim {
	cfg, err := DefaultOptions().resolve(5)
	if err != nil {
		b.Fatal(err)
	}
	w := protocols.DefaultWorkload()
	w.Clients = 5
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 5, Clients: w.Clients, EventsMax: 1 << 62,
		Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
		sim.Factory{Node: func(id sim.NodeID) sim.Process { return newNode(cfg, id) },
			Client: func(sim.NodeID) sim.Process { return protocols.NewKVClient(&w, 0) }})
	if err != nil {
		b.Fatal(err)
	}
	if checked {
		s.AddChecker(NewChecker(5))
	}
	return s
}

// BenchmarkPaxosSteadyLoad measures simulated events per wall second for
// 5 nodes under steady load, trace off, and the messages per command.
func BenchmarkPaxosSteadyLoad(b *testing.B) { benchSteady(b, false) }

// BenchmarkPaxosSteadyLoadChecked is the same with the invariant checker
// running after every event.
func BenchmarkPaxosSteadyLoadChecked(b *testing.B) { benchSteady(b, true) }

func benchSteady(b *testing.B, checked bool) {
	s := steadySim(b, checked)
	for i := 0; i < 50_000; i++ { // warm up: elect a leader, grow queues
		s.Step()
	}
	st0 := s.Stats()
	applied0 := leaderApplied(s)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !s.Step() {
			b.Fatal("run stopped:", s.Stopped(), s.Err())
		}
	}
	b.StopTimer()
	if len(s.Violations()) > 0 {
		b.Fatal(s.Violations()[0])
	}
	st := s.Stats()
	cmds := leaderApplied(s) - applied0
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	if cmds > 0 {
		b.ReportMetric(float64(st.Sent-st0.Sent)/float64(cmds), "msgs/cmd")
	}
}

// leaderApplied is the highest applied slot of any live node.
func leaderApplied(s *sim.Sim) int64 {
	var hi int64
	for _, id := range s.Nodes() {
		if n, ok := s.Process(id).(*Node); ok && n.applied > hi {
			hi = n.applied
		}
	}
	return hi
}
