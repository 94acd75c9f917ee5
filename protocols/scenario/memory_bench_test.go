package scenario_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// liveHeap is the heap still reachable after a collection, in bytes.
func liveHeap() float64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return float64(ms.HeapAlloc)
}

// peakRSS is the process's peak resident set (VmHWM), in bytes, or 0 where
// /proc is not there. Run the benchmark alone for it to mean the run's.
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkLongRunMemory runs 1,000 simulated seconds of the default
// scenario (5 Raft nodes under the nemesis until the heal at 8s, three
// clients, every checker after every event, no trace) and reports what
// the run keeps: the live heap at its end, per client operation and per
// event, the history's copy for the checks, and the process's peak RSS
// after the summary (with the linearizability check; run it alone, the
// figure is the test binary's):
//
//	go test ./protocols/scenario -run '^$' -bench LongRunMemory -benchtime 1x -cpu 1
func BenchmarkLongRunMemory(b *testing.B) {
	for range b.N {
		sc, err := scenario.LoadDefault()
		require.NoError(b, err)
		sc.Duration = 1000 * sim.Second
		base := liveHeap()
		inst, err := scenario.Build(sc)
		require.NoError(b, err)
		inst.Sim.Run()
		require.Empty(b, inst.Sim.Violations())
		state := liveHeap() - base
		h := inst.History()
		hist := liveHeap() - base - state
		runtime.KeepAlive(h)
		ops, events := float64(len(h)), float64(inst.Sim.Index())
		h = nil
		res := inst.Summarize()
		require.Equal(b, string(protocols.LinOK), res.Linearizable, res.LinReason)
		b.ReportMetric(state/(1<<20), "MiB-live-end")
		b.ReportMetric(state/ops, "B-live/op")
		b.ReportMetric(state/events, "B-live/event")
		b.ReportMetric(hist/ops, "B-history-copy/op")
		b.ReportMetric(peakRSS()/(1<<20), "MiB-peak-rss")
		runtime.KeepAlive(inst)
	}
}

// BenchmarkLongRunPeakRSS is `synod run --duration 1000s` as the command
// runs it (scenario.Run without Result.History, the linearizability check
// on), and reports the process's peak RSS; run it alone, the figure is
// the test binary's:
//
//	go test ./protocols/scenario -run '^$' -bench LongRunPeakRSS -benchtime 1x -cpu 1
func BenchmarkLongRunPeakRSS(b *testing.B) {
	for range b.N {
		sc, err := scenario.LoadDefault()
		require.NoError(b, err)
		sc.Duration = 1000 * sim.Second
		res, err := scenario.Run(sc, scenario.RunOptions{NoHistory: true})
		require.NoError(b, err)
		require.Equal(b, string(protocols.LinOK), res.Linearizable, res.LinReason)
		require.Empty(b, res.History)
		b.ReportMetric(peakRSS()/(1<<20), "MiB-peak-rss")
		b.ReportMetric(float64(res.OpsOK+res.OpsFailed+res.OpsUnknown), "ops")
		b.ReportMetric(float64(res.Events), "events")
	}
}
