package etcdraft

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// entryAt names by number the very key entryKey makes, so that the store,
// the trace and the checkers see the same keys as before it.
func TestEntryAtNamesEntryKey(t *testing.T) {
	for _, i := range []uint64{0, 1, 9, 10, 11, 99, 100, 12345, 1 << 32, entryAreaMax - 1, entryAreaMax,
		entryAreaMax + 1, 123*entryAreaMax + 456, math.MaxUint64} {
		require.Equal(t, entryKey(i), sim.IndexKey(entryAt(i)), "index %d", i)
	}
}
