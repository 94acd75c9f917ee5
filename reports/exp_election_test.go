package reports

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

// Raft §9.3, Figure 16, in miniature: more randomness in the election
// timeout shortens the time without a leader (150-200ms beats 150-155ms),
// and a smaller timeout shortens it too (50-100ms beats 150-300ms); the
// short-window model, whose split window is a fraction of the timeout
// spread, brings 150-155ms down by far more than the 15ms-broadcast model
// does. A dozen trials per line; the full study is `synod experiment
// raft-election-timeouts --full`.
func TestFigure16Shape(t *testing.T) {
	cfg := ExpConfig{Workers: 2, Log: io.Discard}
	med := func(l fig16Line, m fig16Model) float64 {
		x, err := runFig16Line(cfg, l, m, 12)
		require.NoError(t, err)
		require.Zero(t, x.never, "%s: no first leader to crash", l)
		return x.median
	}
	network, lan := fig16Models[0], fig16Models[2]
	narrow, wide := med(fig16Lines[2], network), med(fig16Lines[4], network)
	require.Less(t, wide, narrow, "150-200ms must beat 150-155ms")
	small, big := med(fig16Lines[8], network), med(fig16Lines[10], network)
	require.Less(t, small, big, "50-100ms must beat 150-300ms")
	narrowLAN := med(fig16Lines[2], lan)
	require.Less(t, 3*narrowLAN, narrow, "a short split window must cut 150-155ms several times: %v vs %v", narrowLAN, narrow)
}
