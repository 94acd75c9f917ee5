package tui

import (
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
)

// chaosScenario is the default scenario (a 5-node Raft cluster under the
// nemesis, three clients) made long and never healed, so that a jump
// crosses crashes, restarts, partitions and pauses all the way.
func chaosScenario(tb testing.TB) *scenario.Scenario {
	tb.Helper()
	y := strings.Replace(string(scenario.DefaultYAML()), "duration: 10s", "duration: 80000s", 1) // under the 24h a scenario may last
	y = strings.Replace(y, "  heal_at: 8s\n", "", 1)
	sc, err := scenario.Parse([]byte(y), "long-chaos.yaml")
	require.NoError(tb, err)
	return sc
}

// cpuSeconds is the CPU time (user and system, every thread, the
// collector's too) the process has used so far: on a shared machine the
// benchmarks report it beside wall time, which counts other people's work.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// liveHeapMiB is the heap still reachable after a collection.
func liveHeapMiB() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc) / (1 << 20)
}

// BenchmarkFirstJump measures the TUI's first jump from event 0 to event
// N of a chaos run: every event is run once, checked, logged for the event
// log and the strip, and a checkpoint is taken every DefaultInterval
// events. It reports the CPU seconds and the live heap at N, and the CPU
// of one step back from N (restore the nearest checkpoint, replay) and
// from N/2, where the checkpoints are thinned.
//
//	go test ./tui -run '^$' -bench FirstJump/100k -benchtime 1x -cpu 1
//	go test ./tui -run '^$' -bench FirstJump/1M -benchtime 1x -cpu 1
func BenchmarkFirstJump(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int64
	}{{"25k", 25_000}, {"100k", 100_000}, {"200k", 200_000}, {"1M", 1_000_000}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				s, err := NewSession(chaosScenario(b))
				require.NoError(b, err)
				heap0 := liveHeapMiB()
				cpu0 := cpuSeconds()
				require.NoError(b, s.GoTo(c.n))
				cpu := cpuSeconds() - cpu0
				require.Equal(b, c.n, s.Index(), "the run stopped: %s", s.Sim().Stopped())
				heap := liveHeapMiB() - heap0
				const backs = 20
				cpu0 = cpuSeconds()
				for k := int64(1); k <= backs; k++ {
					require.NoError(b, s.GoTo(c.n-k))
				}
				back := (cpuSeconds() - cpu0) / backs
				// Far back, where the checkpoints are thinned: the worst
				// case replays timelineThin intervals.
				far := c.n / 2
				require.NoError(b, s.GoTo(far))
				cpu0 = cpuSeconds()
				for k := int64(1); k <= backs; k++ {
					require.NoError(b, s.GoTo(far-k))
				}
				backFar := (cpuSeconds() - cpu0) / backs
				b.ReportMetric(backFar*1000, "cpu-ms/step-back-far")
				b.ReportMetric(cpu, "cpu-s/jump")
				b.ReportMetric(heap, "MiB-live")
				b.ReportMetric(heap*(1<<20)/float64(c.n), "B-live/event")
				b.ReportMetric(back*1000, "cpu-ms/step-back")
				runtime.KeepAlive(s)
			}
		})
	}
}
