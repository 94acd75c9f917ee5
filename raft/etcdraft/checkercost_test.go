package etcdraft

import (
	"math"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// BenchmarkEtcdRaftCheckerCost measures what the four checkers cost in the
// chaos run of BenchmarkEtcdRaftChaos10s, for comparing builds on a shared
// machine, where a profile's share moves by a point from one run to the
// next with the load beside it. Each seed runs twice at once: one run checks
// after every event, its twin never does (check_every beyond the run's
// events; the checkers do not change a run, so both take the same events).
// The two are stepped in turns of checkTurnEvents events on one locked
// thread, each turn timed by the thread's CPU clock, so that a change of
// load slows both alike; the difference is the checkers' time (their
// calls and what they leave the cache, the garbage they make), reported
// as ns per event and as a share of the checked run's time.
//
//	go test ./raft/etcdraft -run '^$' -bench EtcdRaftCheckerCost -benchtime 40x -cpu 1
func BenchmarkEtcdRaftCheckerCost(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	y := strings.Replace(string(scenario.DefaultYAML()), "protocol: raft", "protocol: "+Name, 1)
	build := func(seed uint64, every int) *sim.Sim {
		sc, err := scenario.Parse([]byte(y), Name+"-chaos.yaml")
		if err != nil {
			b.Fatal(err)
		}
		sc.Seed, sc.Checks.Every = seed, every
		r, err := scenario.Build(sc)
		if err != nil {
			b.Fatal(err)
		}
		return r.Sim
	}
	var with, without int64 // ns of thread CPU time
	var events int64
	for i := range b.N {
		seed := uint64(i + 1)
		checked, unchecked := build(seed, 1), build(seed, math.MaxInt32)
		for k := int64(checkTurnEvents); ; k += checkTurnEvents {
			t0 := threadCPU()
			checked.RunTo(k, nil)
			t1 := threadCPU()
			unchecked.RunTo(k, nil)
			t2 := threadCPU()
			with, without = with+t1-t0, without+t2-t1
			if checked.Index() != unchecked.Index() {
				b.Fatalf("seed %d: the runs parted at event %d and %d", seed, checked.Index(), unchecked.Index())
			}
			if checked.Index() < k {
				break
			}
		}
		if v := checked.Violations(); len(v) > 0 {
			b.Fatalf("seed %d: %v", seed, v)
		}
		events += checked.Index()
	}
	b.ReportMetric(float64(with-without)/float64(events), "check-ns/event")
	b.ReportMetric(100*float64(with-without)/float64(with), "check-%")
}

// checkTurnEvents is how many events each twin runs per turn: enough that
// the clock reads cost nothing, few enough that the two see the same load.
const checkTurnEvents = 2000

// threadCPU is the CPU time the calling thread has used, in ns.
func threadCPU() int64 {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, e := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); e != 0 {
		panic(e)
	}
	return ts.Nano()
}
