package paxos

import (
	"fmt"
	"testing"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// steadySim builds an endless 5-node Multi-Paxos run under a steady
// closed-loop load, with no trace and (unless checked) no checkers.
func steadySim(b *testing.B, nodes int, checked bool) *sim.Sim {
	cfg, err := DefaultOptions().resolve(nodes)
	if err != nil {
		b.Fatal(err)
	}
	w := protocols.DefaultWorkload()
	w.Clients = 5
	s, err := sim.New(sim.Config{Seed: 1, Nodes: nodes, Clients: w.Clients, EventsMax: 1 << 62,
		Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
		sim.Factory{Node: func(id sim.NodeID) sim.Process { return newNode(cfg, id) },
			Client: func(sim.NodeID) sim.Process { return protocols.NewKVClient(&w, 0) }})
	if err != nil {
		b.Fatal(err)
	}
	if checked {
		s.AddChecker(NewChecker(nodes))
	}
	return s
}

// BenchmarkPaxosSteadyLoad measures simulated events per wall second for
// 5 nodes under steady load, trace off, and the messages per command.
func BenchmarkPaxosSteadyLoad(b *testing.B) { benchSteady(b, 5, false) }

// BenchmarkPaxosSteadyLoadChecked is the same with the invariant checker
// running after every event.
func BenchmarkPaxosSteadyLoadChecked(b *testing.B) { benchSteady(b, 5, true) }

// BenchmarkPaxosMessagesPerCommand reports node-to-node messages per
// applied command for 3, 5 and 7 nodes under steady load: phase 2's
// 2(N-1) plus heartbeats, their acknowledgements and catch-up.
func BenchmarkPaxosMessagesPerCommand(b *testing.B) {
	for _, n := range []int{3, 5, 7} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) { benchSteady(b, n, false) })
	}
}

func benchSteady(b *testing.B, nodes int, checked bool) {
	s := steadySim(b, nodes, checked)
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
