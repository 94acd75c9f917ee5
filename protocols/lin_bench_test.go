package protocols_test

import (
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// raftHistory is the client history of the default raft scenario (seed 1,
// the nemesis on until 8s) with more clients and a longer run: a real run,
// not a synthetic register, so the concurrency per key and the operations
// left unknown by the faults are the ones users get.
func raftHistory(b *testing.B, clients int, d sim.Time) ([]protocols.OpRecord, sim.Time) {
	b.Helper()
	sc, err := scenario.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	sc.Workload.Clients = clients
	sc.Duration = d
	off := false
	sc.Checks.Linearizability = &off
	res, err := scenario.Run(sc, scenario.RunOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return res.History, sim.Time(res.SimSeconds * float64(sim.Second))
}

var raft30 = struct {
	once sync.Once
	recs []protocols.OpRecord
	end  sim.Time
}{}

// cpuTime is the process's user+system CPU time: the figure that counts on
// a shared machine, where wall-clock time depends on the neighbours.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLinCheckRaft30Clients checks a closed-loop history of 30
// clients on 5 keys, 20,000 operations and more (the default raft scenario
// run for 20 s), with the default budget. It must be decided: unknown
// fails the benchmark. Run on one core:
//
//	go test ./protocols/ -run '^$' -bench LinCheckRaft30 -benchtime 5x -cpu 1
//
// cpu-s/op is the CPU time of one check (porcupine's goroutines included);
// "whole" is every key checked whole by porcupine, without windows (the
// check before issue 22), for comparison in the same process.
func BenchmarkLinCheckRaft30Clients(b *testing.B) {
	raft30.once.Do(func() { raft30.recs, raft30.end = raftHistory(b, 30, 20*sim.Second) })
	recs, end := raft30.recs, raft30.end
	if len(recs) < 20000 {
		b.Fatalf("history of %d operations, want at least 20,000", len(recs))
	}
	for _, bc := range []struct {
		name  string
		check func([]protocols.OpRecord, sim.Time, time.Duration) *protocols.LinCheck
	}{
		{"check", protocols.CheckLinearizable},
		{"whole", protocols.CheckLinearizableWhole},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				c := bc.check(recs, end, 0)
				if c.Result != protocols.LinOK {
					b.Fatalf("verdict %s (%s), want ok", c.Result, c.Reason)
				}
			}
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(len(recs)), "history-ops")
		})
	}
}

var raftLong = struct {
	once sync.Once
	recs []protocols.OpRecord
	end  sim.Time
}{}

// BenchmarkLinCheckLongHistory checks the history of the default scenario
// run for 200 simulated seconds (3 clients, 5 keys: about 26,000
// operations, 5,000 a key, nearly sequential), in windows (the check) and
// whole (porcupine alone, the check before issue 22), and reports the
// bytes allocated per operation checked and the CPU time of one check:
//
//	go test ./protocols/ -run '^$' -bench LinCheckLongHistory -benchtime 3x -cpu 1
//
// Porcupine's cache keeps a bitset over the key's operations per step, so
// the whole check's bytes per operation grow with the key's length; the
// windows' do not.
func BenchmarkLinCheckLongHistory(b *testing.B) {
	raftLong.once.Do(func() { raftLong.recs, raftLong.end = raftHistory(b, 3, 200*sim.Second) })
	recs, end := raftLong.recs, raftLong.end
	for _, bc := range []struct {
		name  string
		check func([]protocols.OpRecord, sim.Time, time.Duration) *protocols.LinCheck
	}{
		{"windows", protocols.CheckLinearizable},
		{"whole", protocols.CheckLinearizableWhole},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			cpu0 := cpuTime()
			for range b.N {
				c := bc.check(recs, end, 0)
				if c.Result != protocols.LinOK {
					b.Fatalf("verdict %s (%s), want ok", c.Result, c.Reason)
				}
			}
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&after)
			ops := float64(b.N) * float64(len(recs))
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/ops, "B-alloc/history-op")
			b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(len(recs)), "history-ops")
		})
	}
}
