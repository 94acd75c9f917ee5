package explore

import (
	"slices"
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
		for i := range s.shards {
			sh := &s.shards[i].t
			require.LessOrEqual(t, 4*sh.len(), 3*len(sh.keys)+4, "shard %d", i)
		}
	})
}

// TestTableModel: a table's values agree with a map's, through growth and
// overwrites, for 0 too.
func TestTableModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		tb := newTable[step]()
		model := map[uint64]step{}
		key := rapid.OneOf(rapid.Uint64Range(0, 2000), rapid.Uint64())
		for range rapid.IntRange(0, 4000).Draw(t, "n") {
			k := key.Draw(t, "key")
			v := step{proc: rapid.Uint64().Draw(t, "proc"), nrem: uint16(rapid.IntRange(0, 9).Draw(t, "nrem"))}
			got, ok := tb.get(k)
			want, had := model[k]
			require.Equal(t, had, ok)
			require.Equal(t, want, got)
			require.Equal(t, !had, tb.put(k, v))
			model[k] = v
			require.Equal(t, len(model), tb.len())
		}
		for k, v := range model {
			got, ok := tb.get(k)
			require.True(t, ok)
			require.Equal(t, v, got)
		}
	})
}

// TestKidSize: a level's kids are the search's largest transient memory.
func TestKidSize(t *testing.T) {
	require.Equal(t, uintptr(16), unsafe.Sizeof(kid{}))
}

// TestClaims: the earliest position to claim a state checks it, whatever
// the order of the claims; a later one checks it only if it came first.
func TestClaims(t *testing.T) {
	for _, locking := range []bool{false, true} {
		testClaims(t, &claims{locking: locking})
	}
}

func testClaims(t *testing.T, c *claims) {
	require.True(t, c.claim(42, 5))
	require.False(t, c.claim(42, 7), "a later entry, after an earlier claim")
	require.True(t, c.claim(42, 3), "an earlier entry, after a later claim")
	require.False(t, c.claim(42, 4))
	require.False(t, c.claim(42, 5), "the first claimer, now later than the earliest")
	require.True(t, c.claim(0, 9), "the fingerprint 0")
	require.False(t, c.claim(0, 10))
	for h := uint64(1); h < 5000; h++ {
		require.True(t, c.claim(h*0x9e3779b97f4a7c15, int64(h)))
	}
	for h := uint64(1); h < 5000; h++ {
		require.False(t, c.claim(h*0x9e3779b97f4a7c15, int64(h)+1))
	}
}

// TestChildPendingSum: the pending share of a child predicted from its
// parent's share is the share of the child's multiset built in full, with
// pending messages as a multiset and as a set.
func TestChildPendingSum(t *testing.T) {
	share := func(xs []uint64, sets bool) uint64 {
		var sum uint64
		for i, x := range xs {
			if !sets || !slices.Contains(xs[:i], x) {
				sum += x
			}
		}
		return sum
	}
	rapid.Check(t, func(t *rapid.T) {
		part := rapid.Uint64Range(1, 6) // few values: many copies
		fps := rapid.SliceOfN(part, 0, 12).Draw(t, "fps")
		rem := rapid.SliceOfN(part, 0, 4).Draw(t, "rem")
		add := rapid.SliceOfN(part, 0, 4).Draw(t, "add")
		sets := rapid.Bool().Draw(t, "sets")
		child := slices.Clone(fps)
		for _, r := range rem {
			if i := slices.Index(child, r); i >= 0 {
				child = slices.Delete(child, i, i+1)
			}
		}
		child = append(child, add...)
		want := share(child, sets)
		require.Equal(t, want, childPendingSum(share(fps, sets), sets, fps, rem, add))
	})
}

// TestNewKidsModel: the parallel merge keeps exactly the kids the
// sequential one did (each chunk's corrected fingerprints, then its kids,
// added in the frontier's order; a kid kept when its fingerprint was new
// or it panicked), counts them and what they are alike, and leaves the
// same set, for any number of workers, with and without goroutines.
func TestNewKidsModel(t *testing.T) {
	defer SetMergeWorkerKidsMin(1)()
	// Mostly plain kids; the flags the merge reads, alone and together
	// as expand sets them.
	kidFlags := []uint8{0, 0, 0, kidPanic, kidPanic | kidFound, kidFound, kidPredicted,
		kidPredicted | kidClaimed, kidQuiet}
	rapid.Check(t, func(t *rapid.T) {
		// Few fingerprints, spread over the shards: many repeats, within
		// a chunk and across chunks.
		fp := rapid.Custom(func(t *rapid.T) uint64 {
			return rapid.Uint64Range(0, fpShards-1).Draw(t, "shard")<<(64-fpShardBits) | rapid.Uint64Range(0, 5).Draw(t, "lo")
		})
		before := rapid.SliceOfN(fp, 0, 20).Draw(t, "seen before")
		chunks := make([]chunk, rapid.IntRange(0, 6).Draw(t, "chunks"))
		var kids []kid // all, in order
		for ci := range chunks {
			chunks[ci].corrected = rapid.SliceOfN(fp, 0, 3).Draw(t, "corrected")
			for range rapid.IntRange(0, 150).Draw(t, "kids") {
				k := kid{hash: fp.Draw(t, "kid"), flags: rapid.SampledFrom(kidFlags).Draw(t, "flags")}
				chunks[ci].kids = append(chunks[ci].kids, k)
				kids = append(kids, k)
			}
		}
		// The sequential merge, as bfs did it before it was parallel.
		model := map[uint64]bool{}
		for _, h := range before {
			model[h] = true
		}
		var want []bool
		for _, ch := range chunks {
			for _, h := range ch.corrected {
				model[h] = true
			}
			for _, k := range ch.kids {
				want = append(want, !model[k.hash] || k.is(kidPanic))
				model[k.hash] = true
			}
		}
		workers := rapid.IntRange(1, 5).Draw(t, "workers")
		spawn := func(f func()) { go f() }
		if rapid.Bool().Draw(t, "sequential") {
			spawn = nil
		}
		e := &explorer{opts: Options{Workers: workers, Spawn: spawn}}
		seen := newFPSet()
		for _, h := range before {
			seen.add(h)
		}
		keep, nk := e.newKids(chunks, seen)
		var wantCounts newKidCounts
		for x, w := range want {
			require.Equal(t, w, keep[x>>6]>>(x&63)&1 == 1, "kid %d of %d, %d workers", x, len(want), workers)
			if w {
				k := kids[x]
				wantCounts.kept++
				if k.is(kidQuiet) {
					wantCounts.quiet++
				}
				wantCounts.uncheckedOrFound = wantCounts.uncheckedOrFound || k.is(kidPredicted) || k.is(kidFound)
			}
		}
		require.Len(t, keep, (len(want)+63)/64)
		require.Equal(t, wantCounts, nk)
		require.Equal(t, len(model), seen.len())
		for h := range model {
			require.True(t, seen.has(h), "%#x", h)
		}
	})
}
