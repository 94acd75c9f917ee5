package explore

// table maps fingerprints (or step keys: 64-bit hashes already) to values:
// open addressing with linear probing over power-of-two arrays, at most
// three quarters full. It is about twice as fast as a Go map for this one
// job (no hashing of a key that is already a hash, no control bytes) and
// no larger. The key 0 marks an empty slot; its value is kept aside.
//
// Reads may run in parallel (a level's workers); writes only between
// levels (the fingerprint set's shards each by one worker).
type table[V any] struct {
	keys  []uint64
	vals  []V
	n     int
	zero  bool // 0 is a key
	zeroV V
	shift uint8 // 64 - log2(len(keys))
}

func newTable[V any]() *table[V] {
	t := &table[V]{}
	t.resize(1 << 10)
	return t
}

func (t *table[V]) resize(size int) {
	keys, vals := t.keys, t.vals
	t.keys, t.vals = make([]uint64, size), make([]V, size)
	t.shift = uint8(64 - log2(size))
	for i, k := range keys {
		if k != 0 {
			t.set(k, vals[i])
		}
	}
}

func log2(n int) int {
	k := 0
	for 1<<k < n {
		k++
	}
	return k
}

// slot returns where key k is, or the empty slot where it would go: the
// search starts at the high bits of k times an odd constant, so that keys
// that differ only in their low bits spread out.
func (t *table[V]) slot(k uint64) (int, bool) {
	mask := uint64(len(t.keys) - 1)
	for i := (k * 0x9e3779b97f4a7c15) >> t.shift; ; i = (i + 1) & mask {
		switch t.keys[i] {
		case k:
			return int(i), true
		case 0:
			return int(i), false
		}
	}
}

func (t *table[V]) get(k uint64) (V, bool) {
	if k == 0 {
		return t.zeroV, t.zero
	}
	i, ok := t.slot(k)
	return t.vals[i], ok
}

// put sets k's value and reports whether k is new.
func (t *table[V]) put(k uint64, v V) bool {
	if k == 0 {
		isNew := !t.zero
		t.zero, t.zeroV = true, v
		if isNew {
			t.n++
		}
		return isNew
	}
	if (t.n+1)*4 > len(t.keys)*3 {
		t.resize(2 * len(t.keys))
	}
	if !t.set(k, v) {
		return false
	}
	t.n++
	return true
}

// set stores k (not 0) in a table with room, reporting whether it is new.
func (t *table[V]) set(k uint64, v V) bool {
	i, ok := t.slot(k)
	t.keys[i], t.vals[i] = k, v
	return !ok
}

// len is the number of keys in the table.
func (t *table[V]) len() int { return t.n }

// fpSet is the set of fingerprints a breadth-first search has seen, in
// shards by a fingerprint's top bits: the merge between levels adds to
// them in parallel, each shard by one worker (a fingerprint's shard is
// where it is first seen, in the frontier's order, whatever the worker),
// and a shard, not the whole set, is copied when it grows.
type fpSet struct{ shards [fpShards]fpShard }

type fpShard struct {
	t table[struct{}]
	_ [64]byte // its header away from its neighbours' (merge workers write them)
}

// fpShardBits: 64 shards, enough for a merge's workers to share them out
// evenly, few enough that a small search's empty set stays small.
const (
	fpShardBits = 6
	fpShards    = 1 << fpShardBits
	// fpShardSize is a shard's first size, in slots.
	fpShardSize = 1 << 6
)

// fpShardOf is the shard of fingerprint h.
func fpShardOf(h uint64) int { return int(h >> (64 - fpShardBits)) }

func newFPSet() *fpSet {
	s := &fpSet{}
	for i := range s.shards {
		s.shards[i].t.resize(fpShardSize)
	}
	return s
}

func (s *fpSet) has(h uint64) bool {
	_, ok := s.shards[fpShardOf(h)].t.get(h)
	return ok
}

// add adds h and reports whether it was new. Calls may run in parallel
// for fingerprints of different shards only.
func (s *fpSet) add(h uint64) bool { return s.shards[fpShardOf(h)].t.put(h, struct{}{}) }

func (s *fpSet) len() int {
	n := 0
	for i := range s.shards {
		n += s.shards[i].t.len()
	}
	return n
}
