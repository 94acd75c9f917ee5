package sim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChanceDrawsAsFloat64: Chance reads the generator directly, and must
// draw exactly what Float64 < p drew before, one value per call, or every
// recorded trace with loss or duplication would change.
func TestChanceDrawsAsFloat64(t *testing.T) {
	a, b := NewRand(42, "net/n1->n2"), NewRand(42, "net/n1->n2")
	ps := []float64{0.01, 0.1, 0.5, 0.9, 0.999, 1e-9}
	for i := range 100_000 {
		p := ps[i%len(ps)]
		want := b.Float64() < p
		require.Equal(t, want, a.Chance(p), "draw %d, p=%v", i, p)
	}
	// Chance(0) and Chance(1) draw nothing: both streams stay in step.
	require.False(t, a.Chance(0))
	require.True(t, a.Chance(1))
	require.Equal(t, b.Uint64(), a.Uint64(), "streams out of step after Chance(0) and Chance(1)")
}
