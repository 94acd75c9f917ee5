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
	if old, ok := s.data[key]; ok {
		s.bytes -= int64(len(old))
		if cap(old) >= len(value) {
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
		s.bytes -= int64(len(old))
		delete(s.data, key)
	}
	return ok
}
