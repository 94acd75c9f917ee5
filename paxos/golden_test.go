package paxos

import (
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

var update = flag.Bool("update", false, "rewrite the golden event logs of the basics scenarios")

// eventLog renders each event with sim's one renderer, and each note a
// node logged while handling it.
type eventLog struct{ b strings.Builder }

func (l *eventLog) Observe(s *sim.Sim, r *sim.Record) {
	l.b.WriteString(r.Event.Describe())
	if r.Outcome != "" {
		l.b.WriteString("  [" + r.Outcome + "]")
	}
	l.b.WriteByte('\n')
	for _, e := range r.Effects {
		if e.Kind == sim.EffectNote {
			l.b.WriteString("    note: " + e.Name + "\n")
		}
	}
}

// The basics scenarios are teaching material: their event logs are kept
// beside them and any change to them is reviewed.
func TestGoldenBasics(t *testing.T) {
	for _, name := range []string{"synod-basics", "multipaxos-basics"} {
		t.Run(name, func(t *testing.T) {
			r := startScenario(t, name+".yaml")
			log := &eventLog{}
			r.s.AddObserver(log)
			res := r.finish()
			require.Positive(t, res.OpsOK)
			require.Zero(t, res.OpsUnknown+res.OpsFailed)
			path := "../" + scenarioDir + name + ".golden"
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(log.b.String()), 0o644))
				return
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run with -update to create it")
			require.Equal(t, string(want), log.b.String(), "event log changed; review and rerun with -update")
		})
	}
}
