package raft

import (
	"syscall"
	"testing"
	"time"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// benchSim builds a 5-node cluster with clients closed-loop clients and no
// checkers or trace, running without a time bound.
func benchSim(b *testing.B, clients int, loss float64) *sim.Sim {
	b.Helper()
	opts := DefaultOptions()
	members := []sim.NodeID{1, 2, 3, 4, 5}
	w := protocols.DefaultWorkload()
	w.Clients = clients
	w.Think = sim.Millisecond
	cfg := sim.Config{Seed: 1, Nodes: 5, Clients: clients, EventsMax: 1 << 62,
		Network: sim.NetworkConfig{Latency: sim.DefaultLatency, Loss: loss}}
	s, err := sim.New(cfg, sim.Factory{
		Node:   func(sim.NodeID) sim.Process { return New(opts, members) },
		Client: func(sim.NodeID) sim.Process { return protocols.NewKVClient(&w, 0) },
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// committed is the highest commit index among live nodes.
func committed(s *sim.Sim) int64 {
	var c int64
	for _, id := range s.Nodes() {
		if n := node(s, id); n != nil && n.commit > c {
			c = n.commit
		}
	}
	return c
}

// cpuSeconds is the CPU time (user and system, all threads, the
// collector's too) the process has used: on a shared machine wall time
// counts other people's work, so the benchmarks report CPU time beside it.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkRaftSteadyLoad: 5 nodes, 10 closed-loop clients, no faults, no
// trace, no checkers. Reports events per CPU second and per wall second
// (run it with -cpu 1), allocations per event and node-to-node messages
// per committed entry.
//
//	go test ./raft -run '^$' -bench RaftSteadyLoad -cpu 1 -benchtime 3s
func BenchmarkRaftSteadyLoad(b *testing.B) {
	s := benchSim(b, 10, 0)
	for i := 0; i < 200_000; i++ { // warm up: elect, grow queues and maps
		s.Step()
	}
	sent0, commit0 := s.Stats().Sent, committed(s)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuSeconds()
	for i := 0; i < b.N; i++ {
		if !s.Step() {
			b.Fatal("run stopped:", s.Stopped())
		}
	}
	cpu := cpuSeconds() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/cpu, "events/cpu-s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/event")
	if c := committed(s) - commit0; c > 0 {
		b.ReportMetric(float64(s.Stats().Sent-sent0)/float64(c), "msgs/commit")
	}
}

// BenchmarkRaftMessagesPerOp counts node-to-node messages per committed
// entry without faults and with 10% loss.
func BenchmarkRaftMessagesPerOp(b *testing.B) {
	for _, c := range []struct {
		name string
		loss float64
	}{{"failure-free", 0}, {"loss10", 0.1}} {
		b.Run(c.name, func(b *testing.B) {
			var sent, commits int64
			for i := 0; i < b.N; i++ {
				s := benchSim(b, 10, c.loss)
				s.RunUntil(500 * sim.Millisecond)
				sent0, commit0 := s.Stats().Sent, committed(s)
				s.RunUntil(1500 * sim.Millisecond)
				sent += s.Stats().Sent - sent0
				commits += committed(s) - commit0
			}
			b.ReportMetric(float64(sent)/float64(commits), "msgs/commit")
		})
	}
}

// BenchmarkRaftLeaderCrash crashes the leader over and over and reports
// the elections started and the simulated time until a new leader is
// followed by a majority, per crash; failure-free network and 10% loss.
func BenchmarkRaftLeaderCrash(b *testing.B) {
	for _, c := range []struct {
		name string
		loss float64
	}{{"failure-free", 0}, {"loss10", 0.1}} {
		b.Run(c.name, func(b *testing.B) {
			s := benchSim(b, 0, c.loss)
			s.RunWhile(func(s *sim.Sim) bool { return majorityLeader(s) == 0 }, 0)
			var elections int64
			var elect sim.Time
			for i := 0; i < b.N; i++ {
				s.RunWhile(func(s *sim.Sim) bool { return majorityLeader(s) == 0 }, 0)
				l := majorityLeader(s)
				before := int64(0)
				for _, id := range s.Nodes() {
					if id != l {
						before += node(s, id).elections
					}
				}
				if err := s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: l}); err != nil {
					b.Fatal(err)
				}
				at := s.Now()
				s.RunWhile(func(s *sim.Sim) bool { return majorityLeader(s) == 0 }, 0)
				elect += s.Now() - at
				for _, id := range s.Nodes() {
					if id != l {
						elections += node(s, id).elections
					}
				}
				elections -= before
				if err := s.Inject(sim.Fault{Kind: sim.FaultRestart, Node: l}); err != nil {
					b.Fatal(err)
				}
				s.RunUntil(s.Now() + 500*sim.Millisecond)
			}
			b.ReportMetric(float64(elections)/float64(b.N), "elections/crash")
			b.ReportMetric((elect / sim.Time(b.N)).Milliseconds(), "sim-ms-to-elect")
		})
	}
}

// BenchmarkRaftChaos10s runs the default scenario (5 nodes, 10 simulated
// seconds of nemesis chaos) with every checker and the linearizability
// check, and reports the wall time per run.
func BenchmarkRaftChaos10s(b *testing.B) {
	sc, err := scenario.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	var events int64
	start, cpu0 := time.Now(), cpuSeconds()
	for i := 0; i < b.N; i++ {
		c := sc.Clone()
		c.Seed = uint64(i + 1)
		res, err := scenario.Run(c, scenario.RunOptions{})
		if err != nil || res.Failed() {
			b.Fatalf("seed %d: %v %+v", i+1, err, res)
		}
		events += res.Events
	}
	wall, cpu := time.Since(start), cpuSeconds()-cpu0
	b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/run")
	b.ReportMetric(cpu/float64(b.N), "cpu-s/run")
	b.ReportMetric(float64(events)/cpu, "events/cpu-s")
	b.ReportMetric(float64(events)/float64(b.N), "events/run")
}
