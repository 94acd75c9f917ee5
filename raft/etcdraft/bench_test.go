package etcdraft

import (
	"strings"
	"syscall"
	"testing"

	_ "github.com/synod-dev/synod/raft" // registers "raft", the reference implementation

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// benchRun is one steady-load run of a registered protocol, built straight
// from the registry (no checkers, no trace): 5 nodes on a LAN, 8
// closed-loop clients.
func benchRun(b *testing.B, name string, seed uint64, duration sim.Time) *sim.Sim {
	b.Helper()
	spec, err := protocols.Lookup(name)
	if err != nil {
		b.Skip(err)
	}
	cl := protocols.Cluster{Nodes: 5, Seed: seed, Members: []sim.NodeID{1, 2, 3, 4, 5}}
	if spec.Options != nil {
		cl.Options = spec.Options()
	}
	newNode, err := spec.New(cl)
	if err != nil {
		b.Fatal(err)
	}
	w := protocols.DefaultWorkload()
	w.Clients = 8
	s, err := sim.New(sim.Config{Seed: seed, Nodes: 5, Clients: w.Clients, Duration: duration,
		Network: sim.NetworkConfig{Latency: sim.DefaultLatency}}, sim.Factory{
		Node:   func(id sim.NodeID) sim.Process { return newNode(id) },
		Client: func(sim.NodeID) sim.Process { return protocols.NewKVClient(&w, duration-w.OpTimeout) },
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// viewLeader returns a node that says it leads and that a majority of the
// nodes follow in its term, read through the protocol-neutral views.
func viewLeader(s *sim.Sim) sim.NodeID {
	for _, id := range s.Nodes() {
		v, ok := s.Inspect(id)
		if !ok || v.Role != "leader" {
			continue
		}
		k := 0
		for _, p := range s.Nodes() {
			if w, ok := s.Inspect(p); ok && w.Term == v.Term && (w.Leader == id || p == id) {
				k++
			}
		}
		if k > len(s.Nodes())/2 {
			return id
		}
	}
	return 0
}

// electionAfterCrash runs a cluster to a leader, crashes it and returns
// how long (simulated) the others take to elect a leader a majority
// follows, or -1.
func electionAfterCrash(b *testing.B, name string, seed uint64) sim.Time {
	s := benchRun(b, name, seed, 5*sim.Second)
	s.RunUntil(sim.Second)
	old := viewLeader(s)
	if old == 0 {
		return -1
	}
	s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: old})
	at := s.Now()
	ok := s.RunUntilCond(func(s *sim.Sim) bool {
		l := s.Index()%16 == 0 && viewLeader(s) != 0 // views allocate: look every 16 events
		return l
	}, 10_000_000)
	if !ok {
		return -1
	}
	return s.Now() - at
}

// benchSteadyLoad reports, per iteration of a 10 s simulated steady run:
// simulated events per wall second, messages between nodes per committed
// operation, and (over 10 seeds, outside the timer) the simulated time to
// elect a leader after the leader crashes.
func benchSteadyLoad(b *testing.B, name string) {
	var events, sent, ops int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s := benchRun(b, name, uint64(i+1), 10*sim.Second)
		b.StartTimer()
		s.Run()
		b.StopTimer()
		if s.Err() != nil {
			b.Fatal(s.Err())
		}
		st := s.Stats()
		events += st.Events
		sent += st.Sent
		for c := 1; c <= s.Config().Clients; c++ {
			for _, op := range s.Process(sim.ClientID(c)).(protocols.HistoryClient).History() {
				if op.Status == protocols.OpOK {
					ops++
				}
			}
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if ops > 0 {
		b.ReportMetric(float64(sent)/float64(ops), "msgs/op")
		b.ReportMetric(float64(ops)/float64(b.N)/10, "ops/sim-s")
	}
	const seeds = 10
	var total sim.Time
	for seed := uint64(1); seed <= seeds; seed++ {
		d := electionAfterCrash(b, name, seed)
		if d < 0 {
			b.Fatalf("%s seed %d: no leader after the leader crashed", name, seed)
		}
		total += d
	}
	b.ReportMetric((total / seeds).Milliseconds(), "elect-ms")
}

// BenchmarkEtcdRaftSteadyLoad measures etcd's Raft through the adapter.
// go test ./raft/etcdraft -run '^$' -bench EtcdRaftSteadyLoad -benchtime 5x
func BenchmarkEtcdRaftSteadyLoad(b *testing.B) { benchSteadyLoad(b, Name) }

// BenchmarkCompare runs the reference Raft and etcd's Raft on the same
// workload in one run, both looked up in the registry.
// go test ./raft/etcdraft -run '^$' -bench Compare -benchtime 5x
func BenchmarkCompare(b *testing.B) {
	for _, name := range []string{"raft", Name} {
		b.Run(name, func(b *testing.B) { benchSteadyLoad(b, name) })
	}
}

// BenchmarkChaosCompare runs the default scenario (5 nodes under the
// nemesis for 10 simulated seconds, three clients, every checker after
// every event, the linearizability check) once per protocol per
// iteration, seeds 1..N, and reports each protocol's CPU seconds per run
// and etcd-raft's cost over synod's Raft:
//
//	go test ./raft/etcdraft -run '^$' -bench ChaosCompare -benchtime 20x -cpu 1
func BenchmarkChaosCompare(b *testing.B) {
	var cpu [2]float64
	var events [2]int64
	for i := range b.N {
		for k, name := range []string{"raft", Name} {
			y := strings.Replace(string(scenario.DefaultYAML()), "protocol: raft", "protocol: "+name, 1)
			sc, err := scenario.Parse([]byte(y), name+"-chaos.yaml")
			if err != nil {
				b.Fatal(err)
			}
			sc.Seed = uint64(i + 1)
			c0 := cpuSeconds()
			res, err := scenario.Run(sc, scenario.RunOptions{})
			cpu[k] += cpuSeconds() - c0
			if err != nil || res.Failed() {
				b.Fatalf("%s seed %d: %v %+v", name, i+1, err, res)
			}
			events[k] += res.Events
		}
	}
	n := float64(b.N)
	b.ReportMetric(cpu[0]/n, "raft-cpu-s/run")
	b.ReportMetric(cpu[1]/n, "etcd-cpu-s/run")
	b.ReportMetric(float64(events[0])/cpu[0], "raft-events/cpu-s")
	b.ReportMetric(float64(events[1])/cpu[1], "etcd-events/cpu-s")
	b.ReportMetric(cpu[1]/cpu[0], "etcd/raft-cpu")
}

// BenchmarkEtcdRaftChaos10s is ChaosCompare's etcd-raft half alone, seeds
// 1..N, for a profile of where an etcd-raft chaos run's CPU goes:
//
//	go test ./raft/etcdraft -run '^$' -bench EtcdRaftChaos10s -benchtime 40x -cpu 1 -cpuprofile cpu.out
func BenchmarkEtcdRaftChaos10s(b *testing.B) {
	y := strings.Replace(string(scenario.DefaultYAML()), "protocol: raft", "protocol: "+Name, 1)
	var events int64
	c0 := cpuSeconds()
	for i := range b.N {
		sc, err := scenario.Parse([]byte(y), Name+"-chaos.yaml")
		if err != nil {
			b.Fatal(err)
		}
		sc.Seed = uint64(i + 1)
		res, err := scenario.Run(sc, scenario.RunOptions{})
		if err != nil || res.Failed() {
			b.Fatalf("seed %d: %v %+v", i+1, err, res)
		}
		events += res.Events
	}
	cpu := cpuSeconds() - c0
	b.ReportMetric(cpu/float64(b.N), "cpu-s/run")
	b.ReportMetric(float64(events)/cpu, "events/cpu-s")
}

// cpuSeconds is the CPU time (user and system, all threads) the process
// has used: wall time on a shared machine counts other people's work.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkEtcdRaftRestart crashes and restarts one node of a cluster
// that has built a log, over and over: each op is the node's recovery from
// stable storage (Node.Start: the log decoded into etcd's MemoryStorage)
// and the first Ready, which applies the committed log again.
//
//	go test ./raft/etcdraft -run '^$' -bench EtcdRaftRestart -benchmem -cpu 1
func BenchmarkEtcdRaftRestart(b *testing.B) {
	c := newCluster(b, clusterOpts{seed: 4, clients: 3, duration: 20 * sim.Second})
	c.runUntil(10 * sim.Second)
	id := sim.NodeID(2)
	entries := c.node(id).lastIndex()
	b.ResetTimer()
	for range b.N {
		c.s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: id})
		c.s.Inject(sim.Fault{Kind: sim.FaultRestart, Node: id})
		c.s.Step() // the restart runs before anything else due now
	}
	b.StopTimer()
	c.noFailure()
	if got := c.node(id).lastIndex(); got != entries {
		b.Fatalf("the restarted node has %d entries, had %d", got, entries)
	}
	b.ReportMetric(float64(entries), "entries")
}
