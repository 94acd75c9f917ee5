package tui

import (
	"flag"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// cowEvents is the length of the chaos run TestCheckpointsMatchDeepCopies
// walks; the full check of issue 22 is
//
//	go test ./tui -run CheckpointsMatchDeepCopies -cow-events 100000
var cowEvents = flag.Int64("cow-events", 10_000, "events of the chaos run the checkpoint test walks (100000 for the full check)")

// sameState compares two runs as far as the outside can see: position,
// clock, counters, pending events, every process's view and stored
// values, the clients' histories and the violations found.
func sameState(t *testing.T, got, want *sim.Sim, at string) {
	t.Helper()
	require.Equal(t, want.Index(), got.Index(), at)
	require.Equal(t, want.Now(), got.Now(), at)
	require.Equal(t, want.Stats(), got.Stats(), at)
	require.Equal(t, want.Violations(), got.Violations(), at)
	require.Equal(t, want.Pending(), got.Pending(), "pending events %s", at)
	fw, _ := want.Fingerprint(nil)
	fg, _ := got.Fingerprint(nil)
	require.Equal(t, fw, fg, "fingerprints %s", at)
	for _, id := range want.Nodes() {
		require.Equal(t, want.Up(id), got.Up(id), "%v up %s", id, at)
		require.Equal(t, want.Paused(id), got.Paused(id), "%v paused %s", id, at)
		vw, _ := want.Inspect(id)
		vg, _ := got.Inspect(id)
		require.Equal(t, vw, vg, "%v view %s", id, at)
		sw, sg := want.Storage(id), got.Storage(id)
		require.Equal(t, sw.Keys(""), sg.Keys(""), "%v stored keys %s", id, at)
		for _, k := range sw.Keys("") {
			bw, _ := sw.Get(k)
			bg, _ := sg.Get(k)
			require.Equal(t, bw, bg, "%v stored %q %s", id, k, at)
		}
	}
	for i := 1; i <= want.Config().Clients; i++ {
		id := sim.ClientID(i)
		hw, okw := want.Process(id).(protocols.HistoryClient)
		hg, okg := got.Process(id).(protocols.HistoryClient)
		require.Equal(t, okw, okg, "%v %s", id, at)
		if okw {
			w, g := hw.History(), hg.History()
			require.Equal(t, len(w), len(g), "%v history length %s", id, at)
			for k := range w {
				require.Equal(t, w[k], g[k], "%v operation %d %s", id, k, at)
			}
		}
	}
}

// sameFuture steps the session and the reference n events and requires
// the same events, one by one, as the one renderer describes them, with
// the same violations, and the same state after them. The session steps
// through its timeline, so that a checkpoint the live run wrongly shares
// with would show at a later restore.
func sameFuture(t *testing.T, s *Session, want *sim.Sim, n int, at string) {
	t.Helper()
	var dw []string
	want.AddObserver(&describer{out: &dw})
	from := s.Index()
	for range n {
		sw, sg := want.Step(), s.Step()
		require.Equal(t, sw, sg, "stopped %s", at)
		if !sw {
			break
		}
	}
	var dg []string
	for _, e := range s.Log()[from:s.Index()] {
		dg = append(dg, fmt.Sprintf("%d %s %v", e.Index, e.Text, e.Violations))
	}
	require.Equal(t, dw, dg, "events after %s", at)
	sameState(t, s.Sim(), want, fmt.Sprintf("%d events after %s", n, at))
}

type describer struct{ out *[]string }

func (d *describer) Observe(s *sim.Sim, r *sim.Record) {
	var vs []sim.Violation
	if v := r.Violations(); len(v) > 0 {
		vs = append(vs, v...)
	}
	*d.out = append(*d.out, fmt.Sprintf("%d %s %v", r.Index, r.Event.Describe(), vs))
}

// TestCheckpointsMatchDeepCopies: the timeline's checkpoints are
// copy-on-write forks that share what only grows; restoring one must give
// the very state a deep copy (Sim.Clone) taken there holds. Over a chaos
// run (crashes, restarts, partitions, pauses, loss), it takes a deep copy
// every thousandth event on the way out, then walks back: at each, it goes
// there through the timeline (restore the nearest checkpoint, replay),
// compares, branches (drops a pending message in both), and compares the
// next events and the state after them.
func TestCheckpointsMatchDeepCopies(t *testing.T) {
	const every = 1000
	n := *cowEvents
	s, err := NewSession(chaosScenario(t))
	require.NoError(t, err)
	refs := map[int64]*sim.Sim{}
	for k := int64(0); k <= n; k += every {
		require.NoError(t, s.GoTo(k))
		require.Equal(t, k, s.Index(), "the run stopped: %s", s.Sim().Stopped())
		refs[k] = s.Sim().Clone()
	}
	for k := n; k >= 0; k -= every {
		at := fmt.Sprintf("at event %d (restored from a checkpoint)", k)
		require.NoError(t, s.GoTo(k))
		sameState(t, s.Sim(), refs[k], at)
		// Branch: drop the first pending message in both.
		for _, ev := range refs[k].Pending() {
			if ev.Kind != sim.KindDeliver {
				continue
			}
			drop := ev.ID
			require.NoError(t, s.Drop(drop))
			require.NoError(t, refs[k].Drop(drop))
			at += fmt.Sprintf(", message %d dropped", drop)
			break
		}
		sameFuture(t, s, refs[k], 300, at)
	}
}
