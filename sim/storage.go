package sim

import (
	"sort"
	"strings"
)

// Storage is a node's stable storage: a map from keys to byte strings that
// survives crashes. Values are copied on the way in and on the way out, so a
// node cannot change what it persisted except by persisting again.
type Storage struct {
	data  map[string][]byte
	bytes int64
	// shared: the values may be shared with a fork's copy (see Fork), so
	// put never writes into an old value's array.
	shared bool
	// fp is the sum of the entries' hashes, kept up to date by put and
	// del: the storage's part of Sim.Fingerprint, in any key order.
	fp uint64
}

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

func newStorage() *Storage { return &Storage{data: map[string][]byte{}} }

// Get returns a copy of the value stored under key.
func (s *Storage) Get(key string) ([]byte, bool) {
	v, ok := s.data[key]
	if !ok {
		return nil, false
	}
	return append([]byte(nil), v...), true
}

// Has reports whether key is stored.
func (s *Storage) Has(key string) bool {
	_, ok := s.data[key]
	return ok
}

// Keys returns the stored keys with the given prefix, in sorted order.
func (s *Storage) Keys(prefix string) []string {
	var out []string
	for k := range s.data {
		if strings.HasPrefix(k, prefix) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// Len is the number of stored keys.
func (s *Storage) Len() int { return len(s.data) }

// Bytes is the total size of stored values.
func (s *Storage) Bytes() int64 { return s.bytes }

func (s *Storage) put(key string, value []byte) {
	s.fp += entryFingerprint(key, value)
	if old, ok := s.data[key]; ok {
		s.fp -= entryFingerprint(key, old)
		s.bytes -= int64(len(old))
		if cap(old) >= len(value) && !s.shared {
			old = old[:len(value)]
			copy(old, value)
			s.data[key] = old
			s.bytes += int64(len(value))
			return
		}
	}
	s.data[key] = append([]byte(nil), value...)
	s.bytes += int64(len(value))
}

func (s *Storage) del(key string) bool {
	old, ok := s.data[key]
	if ok {
		s.fp -= entryFingerprint(key, old)
		s.bytes -= int64(len(old))
		delete(s.data, key)
	}
	return ok
}
