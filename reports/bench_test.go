package reports

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"testing"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// BenchmarkRunSeed measures one seed of the default scenario (5-node Raft
// chaos, 10 simulated seconds, linearizability checked) as a sweep runs it.
func BenchmarkRunSeed(b *testing.B) {
	sc, err := scenario.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	for _, every := range []sim.Time{10 * sim.Millisecond, 25 * sim.Millisecond} {
		b.Run(fmt.Sprintf("sample=%v", every), func(b *testing.B) {
			seed := uint64(0)
			for b.Loop() {
				RunSeed(sc, "", seed, every)
				seed++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seeds/s")
		})
	}
	b.Run("scenario.Run", func(b *testing.B) {
		seed := uint64(0)
		for b.Loop() {
			c := sc.Clone()
			c.Seed = seed
			if _, err := scenario.Run(c, scenario.RunOptions{}); err != nil {
				b.Fatal(err)
			}
			seed++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seeds/s")
	})
}

// BenchmarkSweepWorkers measures a sweep's throughput on 1 and 2 workers:
// compare seeds/s to see the scaling.
func BenchmarkSweepWorkers(b *testing.B) {
	sc, err := scenario.LoadDefault()
	if err != nil {
		b.Fatal(err)
	}
	// As synod sweep does (cmd/synod/sweep.go, sweepGCPercent).
	defer debug.SetGCPercent(debug.SetGCPercent(800))
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", w), func(b *testing.B) {
			n := uint64(b.N)
			_, err := Sweep(context.Background(), SweepConfig{Scenario: sc, Seeds: Range{0, n}, Workers: w, SampleEvery: 25 * sim.Millisecond}, io.Discard)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "seeds/s")
		})
	}
}
