package sim

import (
	"math"
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

// TestBelow53MatchesFloat64: Chance compares its 53 bits with p scaled up
// by 2^53, where Float64() < p scales the bits down; at and around every
// p's boundary, and for p from the smallest to the largest below 1, both
// decide alike.
func TestBelow53MatchesFloat64(t *testing.T) {
	ps := []float64{math.SmallestNonzeroFloat64, 1e-300, 0x1p-53, 3 * 0x1p-53, 0.01, 0.25, 0.3, 0.5, 1 - 0x1p-53, math.Nextafter(1, 0)}
	r := NewRand(7, "test/below53")
	for range 10_000 {
		ps = append(ps, r.Float64())
	}
	for _, p := range ps {
		if p <= 0 || p >= 1 {
			continue
		}
		edge := uint64(p * (1 << 53))
		for d := uint64(0); d < 5; d++ {
			for _, x := range []uint64{edge - d, edge + d} {
				if x >= 1<<53 {
					continue
				}
				want := float64(x)/(1<<53) < p
				require.Equal(t, want, below53(x, p), "x=%d p=%v", x, p)
			}
		}
	}
}
