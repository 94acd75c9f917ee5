package twopc

import (
	"testing"

	"github.com/synod-dev/synod/protocols/scenario"
)

// BenchmarkRun measures whole runs of the property scenarios (nemesis on,
// checkers on): events per second of wall time.
func BenchmarkRun(b *testing.B) {
	for _, name := range []string{"2pc", "paxos-commit"} {
		b.Run(name, func(b *testing.B) {
			sc, err := scenario.Load(scenarioDir + "/property-" + name + ".yaml")
			if err != nil {
				b.Fatal(err)
			}
			var events int64
			for i := 0; i < b.N; i++ {
				in, err := scenario.Build(sc)
				if err != nil {
					b.Fatal(err)
				}
				in.Sim.Run()
				events += in.Sim.Index()
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(events), "ns/event")
		})
	}
}
