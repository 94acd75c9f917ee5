package sim

import (
	"maps"
	"slices"
	"strings"
)

// Storage is a node's stable storage: a map from keys to byte strings that
// survives crashes. Values are copied on the way in and on the way out, so a
// node cannot change what it persisted except by persisting again.
//
// A small store is a sorted slice of entries, a large one a map: a search
// copies a node's store each time a fork writes to it, and a short slice
// is copied with one allocation, where a map is rebuilt bucket by bucket.
type Storage struct {
	small []storeEntry      // sorted by key, while data is nil
	data  map[string][]byte // once the store has outgrown small
	bytes int64
	// shared: the values may be shared with a fork's copy (see Fork), so
	// put never writes into an old value's array.
	shared bool
	// fp is the sum of the entries' hashes, kept up to date by put and
	// del: the storage's part of Sim.Fingerprint, in any key order.
	fp uint64
	// spare is room for new values (a copy's block has some): each value
	// put there is clipped to its length, so nothing writes past it.
	spare []byte
	// blk is the block the store is in, if it is in one (copy).
	blk *storageBlock
	// canon, when set (Env.SetStorageCanon), is what fp hashes of a
	// value.
	canon StorageCanon
}

// StorageCanon returns the part of a stored value that the run's state
// fingerprint hashes (Sim.Fingerprint): a protocol that stores bytes its
// behaviour never depends on (the time a log record was written, kept for
// reports) leaves them out, so that a model checker does not take two
// states that differ only there for two. It may use scratch, and must not
// change value.
type StorageCanon func(key string, value, scratch []byte) []byte

type storeEntry struct {
	key   string
	value []byte
}

// storageBlock is a copy of a store of a few keys, in one allocation.
type storageBlock struct {
	s       Storage
	entries [4]storeEntry
	values  [64]byte
}

// storeSmallMax is the most keys a store holds as a slice.
const storeSmallMax = 32

// entryFingerprint hashes one stored key and value.
func entryFingerprint(key string, value []byte) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint64(key[i])) * 1099511628211
	}
	h = (h ^ 0xff) * 1099511628211
	for _, c := range value {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return mix64(h)
}

func newStorage() *Storage { return &Storage{} }

// copy returns a copy of the store that shares its values (marked shared;
// s itself is never written again: see Env.ownStore).
func (s *Storage) copy() *Storage { return s.copyInto(nil) }

// copyInto is copy, reusing the block of spare, a store copied by copy
// that nothing refers to any more (see Sim.ForkInto), if it has one.
func (s *Storage) copyInto(spare *Storage) *Storage {
	if s.data == nil && len(s.small) <= len(storageBlock{}.entries) {
		var b *storageBlock
		if spare != nil && spare.blk != nil && spare != s {
			b = spare.blk
		} else {
			b = &storageBlock{}
		}
		b.s = Storage{small: append(b.entries[:0], s.small...), bytes: s.bytes, shared: true, fp: s.fp, spare: b.values[:0], blk: b, canon: s.canon}
		return &b.s
	}
	return &Storage{small: slices.Clone(s.small), data: maps.Clone(s.data), bytes: s.bytes, shared: true, fp: s.fp, canon: s.canon}
}

func (s *Storage) find(key string) (int, bool) {
	lo, hi := 0, len(s.small)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.small[m].key < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(s.small) && s.small[lo].key == key
}

func (s *Storage) lookup(key string) ([]byte, bool) {
	if s.data != nil {
		v, ok := s.data[key]
		return v, ok
	}
	if i, ok := s.find(key); ok {
		return s.small[i].value, true
	}
	return nil, false
}

// set stores v (which the store now owns) under key.
func (s *Storage) set(key string, v []byte) {
	if s.data != nil {
		s.data[key] = v
		return
	}
	i, ok := s.find(key)
	switch {
	case ok:
		s.small[i].value = v
	case len(s.small) < storeSmallMax:
		s.small = slices.Insert(s.small, i, storeEntry{key: key, value: v})
	default:
		s.data = make(map[string][]byte, 2*storeSmallMax)
		for _, e := range s.small {
			s.data[e.key] = e.value
		}
		s.small = nil
		s.data[key] = v
	}
}

// Get returns a copy of the value stored under key.
func (s *Storage) Get(key string) ([]byte, bool) {
	v, ok := s.lookup(key)
	if !ok {
		return nil, false
	}
	return append([]byte(nil), v...), true
}

// Peek returns the value stored under key without copying it, for
// checkers that read stores after every event: the caller must not change
// it, nor keep it past the next event.
func (s *Storage) Peek(key string) ([]byte, bool) { return s.lookup(key) }

// Has reports whether key is stored.
func (s *Storage) Has(key string) bool {
	_, ok := s.lookup(key)
	return ok
}

// Keys returns the stored keys with the given prefix, in sorted order.
func (s *Storage) Keys(prefix string) []string {
	var out []string
	if s.data == nil {
		for _, e := range s.small {
			if strings.HasPrefix(e.key, prefix) {
				out = append(out, e.key)
			}
		}
		return out
	}
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// Len is the number of stored keys.
func (s *Storage) Len() int {
	if s.data == nil {
		return len(s.small)
	}
	return len(s.data)
}

// Bytes is the total size of stored values.
func (s *Storage) Bytes() int64 { return s.bytes }

// Fingerprint is a hash of the stored keys and values, in any order, kept
// up to date by every write: a checker may skip re-reading a store whose
// fingerprint has not changed since it last looked.
func (s *Storage) Fingerprint() uint64 { return s.fp }

// entryFP is an entry's part of fp.
func (s *Storage) entryFP(key string, value []byte) uint64 {
	if s.canon != nil {
		var arr [64]byte
		value = s.canon(key, value, arr[:0])
	}
	return entryFingerprint(key, value)
}

// setCanon sets canon and computes fp again with it.
func (s *Storage) setCanon(c StorageCanon) {
	s.canon = c
	s.fp = 0
	for _, k := range s.Keys("") {
		v, _ := s.lookup(k)
		s.fp += s.entryFP(k, v)
	}
}

func (s *Storage) put(key string, value []byte) {
	s.fp += s.entryFP(key, value)
	if old, ok := s.lookup(key); ok {
		s.fp -= s.entryFP(key, old)
		s.bytes -= int64(len(old))
		if cap(old) >= len(value) && !s.shared {
			old = old[:len(value)]
			copy(old, value)
			s.set(key, old)
			s.bytes += int64(len(value))
			return
		}
	}
	var v []byte
	if n := len(s.spare); len(value) <= cap(s.spare)-n {
		s.spare = append(s.spare, value...)
		v = s.spare[n:len(s.spare):len(s.spare)]
	} else {
		v = append([]byte(nil), value...)
	}
	s.set(key, v)
	s.bytes += int64(len(value))
}

func (s *Storage) del(key string) bool {
	old, ok := s.lookup(key)
	if !ok {
		return false
	}
	s.fp -= s.entryFP(key, old)
	s.bytes -= int64(len(old))
	if s.data != nil {
		delete(s.data, key)
	} else {
		i, _ := s.find(key)
		s.small = slices.Delete(s.small, i, i+1)
	}
	return true
}
