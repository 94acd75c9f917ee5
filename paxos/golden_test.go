package paxos

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
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

// Every scenario's trace reads back (each message decodes) and a second
// run writes the same bytes: the replay command of a failure works.
func TestScenarioTracesReplay(t *testing.T) {
	files, err := filepath.Glob("../" + scenarioDir + "*.yaml")
	require.NoError(t, err)
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			var traces [2][]byte
			for i := range traces {
				r := startScenario(t, name)
				var buf bytes.Buffer
				tw, err := r.inst.TraceTo(&buf)
				require.NoError(t, err)
				r.s.Run()
				require.NoError(t, tw.Close(r.s))
				traces[i] = buf.Bytes()
			}
			require.True(t, bytes.Equal(traces[0], traces[1]), "two runs of %s wrote different traces", name)
			tr, err := sim.ReadTrace(bytes.NewReader(traces[0]), name)
			require.NoError(t, err)
			require.Positive(t, tr.Events)
		})
	}
}

// A checkpoint taken mid-run and restored replays exactly the same events:
// the nodes' state is plain data the simulator can copy (the TUI steps
// back this way).
func TestCheckpointRestoreReplays(t *testing.T) {
	for _, name := range []string{"chaos5.yaml", "chaos5-single.yaml", "gap-filling-noops.yaml"} {
		t.Run(name, func(t *testing.T) {
			r := startScenario(t, name)
			r.s.RunUntil(sim.Second)
			cp := r.s.Checkpoint()
			var runs [2]string
			for i := range runs {
				if i == 1 {
					r.s.Restore(cp)
				}
				log := &eventLog{}
				r.s.AddObserver(log)
				r.s.RunUntil(2 * sim.Second)
				runs[i] = log.b.String()
				r.sound()
			}
			require.NotEmpty(t, runs[0])
			require.Equal(t, runs[0], runs[1])
		})
	}
}
