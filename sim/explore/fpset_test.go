package explore

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestFPSetModel: the fingerprint set agrees with a map through growth,
// for fingerprints that collide in their home slots and for 0.
func TestFPSetModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := newFPSet()
		model := map[uint64]bool{}
		// Few distinct high bits: many share a home slot.
		fp := rapid.OneOf(rapid.Uint64(), rapid.Uint64Range(0, 3000), rapid.Custom(func(t *rapid.T) uint64 {
			return rapid.Uint64Range(0, 7).Draw(t, "hi")<<61 | rapid.Uint64Range(0, 3).Draw(t, "lo")
		}))
		for range rapid.IntRange(0, 5000).Draw(t, "n") {
			h := fp.Draw(t, "fp")
			require.Equal(t, model[h], s.has(h))
			require.Equal(t, !model[h], s.add(h))
			model[h] = true
			require.Equal(t, len(model), s.len())
		}
		for h := range model {
			require.True(t, s.has(h))
		}
		require.LessOrEqual(t, 4*s.len(), 3*len(s.slots)+4)
	})
}

// TestKidSize: a level's kids are the search's largest transient memory.
func TestKidSize(t *testing.T) {
	require.Equal(t, uintptr(16), unsafe.Sizeof(kid{}))
}
