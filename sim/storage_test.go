package sim

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestStorageModel: a store behaves as a map, whether it is small (a
// sorted slice) or has grown into a map, and its fingerprint and size are
// the sums over what it holds; a copy changes independently of the store
// it was copied from.
func TestStorageModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := newStorage()
		model := map[string][]byte{}
		var copies []*Storage
		var models []map[string][]byte
		keys := rapid.IntRange(0, 3*storeSmallMax)
		for range rapid.IntRange(0, 200).Draw(t, "ops") {
			k := fmt.Sprintf("k%03d", keys.Draw(t, "key"))
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0, 1:
				_, had := model[k]
				require.Equal(t, had, s.del(k))
				delete(model, k)
			case 2:
				copies = append(copies, s)
				models = append(models, maps.Clone(model))
				s = s.copy()
			default:
				v := rapid.SliceOfN(rapid.Byte(), 0, 8).Draw(t, "value")
				s.put(k, v)
				model[k] = slices.Clone(v)
				if len(v) > 0 {
					v[0]++ // the store keeps its own copy
				}
			}
		}
		copies = append(copies, s)
		models = append(models, model)
		for i, c := range copies {
			m := models[i]
			require.Equal(t, len(m), c.Len())
			var fp uint64
			var n int64
			for k, v := range m {
				got, ok := c.Get(k)
				require.True(t, ok, k)
				require.Equal(t, string(v), string(got), k)
				require.True(t, c.Has(k))
				fp += entryFingerprint(k, v)
				n += int64(len(v))
			}
			require.Equal(t, fp, c.fp)
			require.Equal(t, n, c.Bytes())
			require.Equal(t, append([]string{}, slices.Sorted(maps.Keys(m))...), append([]string{}, c.Keys("k")...))
			require.False(t, c.Has("absent"))
		}
	})
}
