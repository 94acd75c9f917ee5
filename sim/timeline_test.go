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
