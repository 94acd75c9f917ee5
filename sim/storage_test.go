package sim

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestStorageModel: a store behaves as a map, whether it is small (a
// sorted slice) or has grown into a map, and whether a key is reached as a
// string or, for index keys (IndexKey), by prefix and number; its
// fingerprint and size are the sums over what it holds; a copy, a fork's
// (copy) or a checkpoint's (deepCopy, which copies each slice apart),
// changes independently of the store it was copied from and stays a
// store: before index areas kept their window as an offset into one
// array, a deep copy split the window from its array and a log emptied
// and stored again brought deleted entries back.
//
// The fingerprint is kept only once asked for: asked first at any point
// (or from the start, or only at the end), and of a store a fork shares
// (frozen, which must not be written), it is the sum over what the store
// holds, as if every write had kept it.
func TestStorageModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := newStorage()
		if rapid.Bool().Draw(t, "eager") {
			require.Zero(t, s.Fingerprint())
		}
		model := map[string][]byte{}
		var copies []*Storage
		var models []map[string][]byte
		keys := rapid.IntRange(0, 3*storeSmallMax)
		// Index keys: numbers near one another (a log's window), and some
		// far apart (beyond indexGapMax), under two prefixes.
		nums := rapid.OneOf(rapid.Uint64Range(0, 40), rapid.Uint64Range(0, 1000), rapid.Uint64())
		prefixes := rapid.SampledFrom([]string{"log/", "e/"})
		// Long values make a large store, which takes values from chunks.
		valueMax := rapid.SampledFrom([]int{8, 400}).Draw(t, "valueMax")
		for range rapid.IntRange(0, 300).Draw(t, "ops") {
			k := fmt.Sprintf("k%03d", keys.Draw(t, "key"))
			p, i, at := "", uint64(0), false
			switch rapid.IntRange(0, 2).Draw(t, "kind") {
			case 1: // an index key, as a string
				p, i = prefixes.Draw(t, "prefix"), nums.Draw(t, "num")
				k = IndexKey(p, i)
			case 2: // an index key, by number
				p, i, at = prefixes.Draw(t, "prefix"), nums.Draw(t, "num"), true
				k = IndexKey(p, i)
			}
			switch rapid.IntRange(0, 10).Draw(t, "op") {
			case 0, 1, 2:
				_, had := model[k]
				if at {
					require.Equal(t, had, s.delAt(p, i), k)
				} else {
					require.Equal(t, had, s.del(k), k)
				}
				delete(model, k)
			case 3:
				copies = append(copies, s)
				models = append(models, maps.Clone(model))
				var c *Storage
				if rapid.Bool().Draw(t, "deep") {
					c = deepCopy(s)
				} else {
					c = s.copy()
				}
				// s is not written again: as when a fork shares it.
				s.frozen, s = true, c
			case 10: // somebody asks
				require.Equal(t, modelFingerprint(model), s.Fingerprint())
				require.True(t, s.fpOn)
			default:
				v := rapid.SliceOfN(rapid.Byte(), 0, valueMax).Draw(t, "value")
				if at {
					s.putAt(p, i, v)
				} else {
					s.put(k, v)
				}
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
			fpOn := c.fpOn
			if !fpOn {
				requireNoFingerprints(t, c)
			}
			require.Equal(t, modelFingerprint(m), c.Fingerprint(), "copy %d of %d", i, len(copies))
			if c.frozen {
				// Asking a shared store wrote nothing into it.
				require.Equal(t, fpOn, c.fpOn, "copy %d", i)
				if !fpOn {
					requireNoFingerprints(t, c)
				}
			} else {
				require.True(t, c.fpOn)
			}
			var n int64
			for k, v := range m {
				got, ok := c.Get(k)
				require.True(t, ok, k)
				require.Equal(t, string(v), string(got), k)
				require.True(t, c.Has(k))
				if p, i, ok := splitIndexKey(k); ok {
					got, ok := c.GetAt(p, i)
					require.True(t, ok, k)
					require.Equal(t, string(v), string(got), k)
					require.True(t, c.HasAt(p, i), k)
				}
				n += int64(len(v))
			}
			require.Equal(t, n, c.Bytes())
			for _, a := range c.logs {
				// The window lies in its array at off, and the array holds
				// nothing outside it.
				require.LessOrEqual(t, a.off+a.w, len(a.mem))
				for j := range a.mem {
					if j < a.off || j >= a.off+a.w {
						require.Zero(t, a.mem[j], "number %d outside the window [%d, %d)", j, a.off, a.off+a.w)
					}
				}
				// Every slot is the window's at one number, or free and
				// empty, never both.
				owner := make([]int, len(a.slots))
				n := 0
				for k, j := range a.window() {
					if j != 0 {
						n++
						require.Zero(t, owner[j-1], "slot %d held by numbers %d and %d", j-1, owner[j-1]-1, k)
						owner[j-1] = k + 1
						require.NotNil(t, a.slots[j-1].v, "number %d", k)
					}
				}
				require.Equal(t, a.n, n)
				for _, j := range a.free {
					require.Zero(t, owner[j], "free slot %d held by number %d", j, owner[j]-1)
					require.Nil(t, a.slots[j].v, "free slot %d", j)
					owner[j] = -1
				}
				require.Equal(t, len(a.slots), n+len(a.free), "slots lost or listed free twice")
			}
			for _, prefix := range []string{"", "k", "log/", "log/00000000000000", "e/", "e/0000000000000000"} {
				var want []string
				for k := range m {
					if strings.HasPrefix(k, prefix) {
						want = append(want, k)
					}
				}
				slices.Sort(want)
				require.Equal(t, want, c.Keys(prefix), "prefix %q", prefix)
			}
			require.False(t, c.Has("absent"))
			require.False(t, c.HasAt("absent/", 1))
		}
		// A canon set later hashes every entry again, index keys too,
		// and what is stored after it.
		canon := func(_ string, v, scratch []byte) []byte { return append(scratch, v[:min(len(v), 1)]...) }
		if rapid.Bool().Draw(t, "offBeforeCanon") {
			s = s.copy()
			s.fp, s.fpOn = 0, false
			clearFingerprints(s)
		}
		s.setCanon(canon)
		s.putAt("log/", 7, []byte("xyz"))
		model[IndexKey("log/", 7)] = []byte("xyz")
		// An overwrite, a new key and a delete after it: a small store
		// keeps each entry's hash, which must be the canon's now.
		s.put("k001", []byte("ab"))
		model["k001"] = []byte("ab")
		s.put("knew", []byte("cd"))
		model["knew"] = []byte("cd")
		_, had := model["k002"]
		require.Equal(t, had, s.del("k002"))
		delete(model, "k002")
		var fp uint64
		for k, v := range model {
			fp += entryFingerprint(k, canon(k, v, nil))
		}
		require.Equal(t, fp, s.Fingerprint())
	})
}

// modelFingerprint is a store's fingerprint as the sum over what it holds.
func modelFingerprint(m map[string][]byte) uint64 {
	var fp uint64
	for k, v := range m {
		fp += entryFingerprint(k, v)
	}
	return fp
}

// requireNoFingerprints: a store that keeps no fingerprint hashed nothing
// (each entry's part and the sum are 0).
func requireNoFingerprints(t require.TestingT, s *Storage) {
	require.Zero(t, s.fp)
	for _, e := range s.small {
		require.Zero(t, e.fp, e.key)
	}
	for _, a := range s.logs {
		for _, v := range a.slots {
			require.Zero(t, v.fp, a.prefix)
		}
		for i, v := range a.far {
			require.Zero(t, v.fp, "%s%d", a.prefix, i)
		}
	}
}

// clearFingerprints zeroes what a store keeps of its fingerprint, as a
// store that never kept it has.
func clearFingerprints(s *Storage) {
	for i := range s.small {
		s.small[i].fp = 0
	}
	for k := range s.logs {
		a := &s.logs[k]
		for j := range a.slots {
			a.slots[j].fp = 0
		}
		for i, v := range a.far {
			v.fp = 0
			a.far[i] = v
		}
	}
}

// TestIndexKey: an index key is its prefix and 16 lowercase hex digits,
// and only such keys are split back into prefix and number.
func TestIndexKey(t *testing.T) {
	require.Equal(t, "log/000000000000002a", IndexKey("log/", 42))
	require.Equal(t, "ffffffffffffffff", IndexKey("", ^uint64(0)))
	for _, c := range []struct {
		key    string
		prefix string
		i      uint64
		ok     bool
	}{
		{"log/000000000000002a", "log/", 42, true},
		{"x000000000000000000001", "x00000", 1, true},
		{"log/000000000000002A", "", 0, false},
		{"log/00000000000002a", "", 0, false},
		{"hs", "", 0, false},
	} {
		p, i, ok := splitIndexKey(c.key)
		require.Equal(t, c.ok, ok, c.key)
		if ok {
			require.Equal(t, c.prefix, p, c.key)
			require.Equal(t, c.i, i, c.key)
			require.Equal(t, c.key, IndexKey(p, i))
		}
	}
}

// TestIndexAreaLogReusesArray: a log that appends at the back and compacts
// at the front slides its window back into the array it has instead of
// growing a new one, takes the slots of compacted entries for new ones,
// and keeps every value where it was.
func TestIndexAreaLogReusesArray(t *testing.T) {
	s := newStorage()
	val := func(i uint64) []byte { return []byte(fmt.Sprintf("v%d", i)) }
	next, first := uint64(1), uint64(1)
	for range 100 {
		next++
		s.putAt("log/", next-1, val(next-1))
	}
	mem, slots := &s.logs[0].mem[0], cap(s.logs[0].slots)
	for round := range 20 {
		for ; first <= next-30; first++ { // compact all but the last 30
			require.True(t, s.delAt("log/", first))
		}
		for range 50 {
			s.putAt("log/", next, val(next))
			next++
		}
		require.Same(t, mem, &s.logs[0].mem[0], "round %d grew a new array", round)
		require.Equal(t, slots, cap(s.logs[0].slots), "round %d grew the slots: compacted ones not taken again", round)
	}
	require.Equal(t, int(next-first), s.Len())
	for i := first; i < next; i++ {
		got, ok := s.PeekAt("log/", i)
		require.True(t, ok, i)
		require.Equal(t, string(val(i)), string(got))
	}
	require.False(t, s.HasAt("log/", first-1))
}

// bcd numbers entry i in binary-coded decimal, the number whose hex
// digits are i's decimal digits (the etcd-raft adapter's numbering before
// its keys became hex): a numbering with regular gaps.
func bcd(i uint64) uint64 {
	var n uint64
	for shift := 0; i > 0; shift += 4 {
		n |= (i % 10) << shift
		i /= 10
	}
	return n
}

// TestIndexAreaTakesRegularGaps stores a log numbered in binary-coded
// decimal, whose gaps at 100 and 1000 are wider than indexGapMax: the
// window takes them (before indexSparseMax, every entry from 100 on went
// to the far map), and a pattern of numbers that doubles each time still
// keeps the window within indexSparseMax slots per key.
func TestIndexAreaTakesRegularGaps(t *testing.T) {
	s := newStorage()
	for i := uint64(1); i <= 1500; i++ {
		s.putAt("e/", bcd(i), []byte{byte(i)})
		if i > 300 { // a compaction that trails the log's end
			require.True(t, s.delAt("e/", bcd(i-300)), "entry %d", i-300)
		}
	}
	a := s.area("e/")
	require.Empty(t, a.far, "entries in the far map")
	require.Equal(t, 300, a.len())
	for i := uint64(1201); i <= 1500; i++ {
		v, ok := s.PeekAt("e/", bcd(i))
		require.True(t, ok, "entry %d", i)
		require.Equal(t, []byte{byte(i)}, v, "entry %d", i)
	}

	s = newStorage()
	for k := uint64(0); k < 40; k++ {
		s.putAt("log/", 1<<k, []byte{1})
	}
	a = s.area("log/")
	require.Equal(t, 40, a.len())
	require.LessOrEqual(t, a.w, indexSparseMax*(a.n+1)+indexGapMax,
		"window of %d slots for %d keys in it", a.w, a.n)
}

// TestIndexFingerprint: an index key's fingerprint, taken in two parts and
// with the first part cached by the area, is the hash of the whole key
// string, for numbers on both sides of where the cached part changes and
// in any order.
func TestIndexFingerprint(t *testing.T) {
	a := &indexArea{prefix: "e/"}
	value := []byte("entry")
	nums := []uint64{0, 1, 0xffff, 0x10000, 0xffff, 0x10001, 0x1fffe, 42, ^uint64(0), 1 << 63, 0x1234_5678_9abc_def0}
	rapid.Check(t, func(t *rapid.T) {
		nums := append(nums, rapid.SliceOf(rapid.Uint64()).Draw(t, "more")...)
		for _, i := range nums {
			want := entryFingerprint(IndexKey(a.prefix, i), value)
			require.Equal(t, want, indexFingerprint(a.prefix, i, value), "number %#x", i)
			require.Equal(t, want, a.fingerprint(i, value), "number %#x after %#x", i, a.headNum)
		}
	})
}

// BenchmarkStorageLog measures a log's writes as a consensus node makes
// them: an entry appended by number, the hard state overwritten, the
// oldest entry compacted away; with the fingerprint never asked for (as in
// an etcd-raft chaos run) and kept up to date (asked once, as
// raft.Persistence and a model checker do).
func BenchmarkStorageLog(b *testing.B) {
	for _, kept := range []bool{false, true} {
		name := "unasked"
		if kept {
			name = "kept"
		}
		b.Run(name, func(b *testing.B) {
			s := newStorage()
			if kept {
				s.Fingerprint()
			}
			entry := make([]byte, 64)
			hard := make([]byte, 24)
			const window = 1000 // entries kept before compaction
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				n := uint64(i)
				entry[0], hard[0] = byte(n), byte(n)
				s.putAt("e/", n, entry)
				s.put("hs", hard)
				if n >= window {
					s.delAt("e/", n-window)
				}
			}
			b.StopTimer()
			if kept != s.fpOn {
				b.Fatalf("fingerprint kept %v, want %v", s.fpOn, kept)
			}
		})
	}
}
