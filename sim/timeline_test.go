package sim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestTimelineThinsOldCheckpoints: the newest timelineDense checkpoints
// stay one interval apart, older ones at most timelineThin intervals, so
// their number grows with the run's length over timelineThin; and every
// position is still reached exactly, whichever checkpoint it restores.
func TestTimelineThinsOldCheckpoints(t *testing.T) {
	const interval = 10
	cfg := pingConfig(7)
	cfg.Duration = 60 * Second
	s, err := New(cfg, pingFactory())
	require.NoError(t, err)
	tl := NewTimeline(s, interval)
	const n = 20 * timelineDense * interval
	require.NoError(t, tl.GoTo(n))
	require.Equal(t, int64(n), tl.Index())
	cps := tl.cps
	require.Equal(t, int64(0), cps[0].Index())
	require.Less(t, len(cps), timelineDense+n/(interval*timelineThin)*2, "checkpoints are not thinned")
	for j := 1; j < len(cps); j++ {
		gap := cps[j].Index() - cps[j-1].Index()
		require.Positive(t, gap)
		if j >= len(cps)-timelineDense {
			require.LessOrEqual(t, gap, int64(interval), "dense checkpoint %d", j)
		} else {
			require.LessOrEqual(t, gap, int64(interval*timelineThin), "thinned checkpoint %d", j)
		}
	}
	for _, k := range []int64{n - 1, n / 2, n/2 + interval*timelineThin - 1, 3, 0} {
		require.NoError(t, tl.GoTo(k))
		ref, err := New(cfg, pingFactory())
		require.NoError(t, err)
		_, err = ref.RunTo(k, nil)
		require.NoError(t, err)
		sameRun(t, tl.Sim(), ref, "after going back")
	}
}

// counter is a process that counts what it receives in a slice it
// changes in place. Its copy (ProcessCloner) copies the slice, unless
// shareCounts is set: the mistake a copy-on-write checkpoint must not
// make, kept here to show that comparing restored states with a fresh
// run catches it.
type counter struct {
	counts      []int64
	shareCounts bool
}

func (c *counter) Start(env *Env) { c.counts = make([]int64, 1); env.Send(env.ID()%2+1, sharedPing) }
func (c *counter) Receive(env *Env, from NodeID, msg Message) {
	c.counts[0]++
	env.Send(from, msg)
}
func (c *counter) Timer(env *Env, t Timer) {}
func (c *counter) Inspect() View {
	return View{Role: "counter", Commit: c.counts[0]}
}
func (c *counter) CloneProcess() Process {
	d := *c
	if !c.shareCounts {
		d.counts = append([]int64(nil), c.counts...)
	}
	return &d
}

// TestTimelineCatchesSharedState: with a correct copy, a position reached
// by going back through the timeline shows what a fresh run shows there;
// with a copy that shares what it changes in place, the checkpoint is
// changed by the run going on, and the comparison catches it.
func TestTimelineCatchesSharedState(t *testing.T) {
	for _, share := range []bool{false, true} {
		cfg := Config{Seed: 1, Nodes: 2, Duration: Second, Network: NetworkConfig{Latency: DefaultLatency}}
		f := Factory{Node: func(NodeID) Process { return &counter{shareCounts: share} }}
		s, err := New(cfg, f)
		require.NoError(t, err)
		tl := NewTimeline(s, 10)
		require.NoError(t, tl.GoTo(100))
		require.NoError(t, tl.GoTo(55))
		ref, err := New(cfg, f)
		require.NoError(t, err)
		_, err = ref.RunTo(55, nil)
		require.NoError(t, err)
		got, _ := tl.Sim().Inspect(1)
		want, _ := ref.Inspect(1)
		if share {
			require.NotEqual(t, want, got, "a checkpoint that shares a slice its run changes went unnoticed")
		} else {
			require.Equal(t, want, got)
		}
	}
}
