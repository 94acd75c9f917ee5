package explore

// fpSet is the set of fingerprints a breadth-first search has seen: open
// addressing with linear probing over a power-of-two table of uint64s, 8
// bytes a slot, at most three quarters full. It is about twice as fast as
// a Go map for this one job (no hashing of a key that is already a hash,
// no control bytes) and no larger. 0 marks an empty slot; the fingerprint
// 0 is kept aside.
//
// Reads may run in parallel (a level's workers); add only between levels.
type fpSet struct {
	slots []uint64
	n     int
	zero  bool
	shift uint8 // 64 - log2(len(slots))
}

func newFPSet() *fpSet {
	s := &fpSet{}
	s.resize(1 << 10)
	return s
}

func (s *fpSet) resize(size int) {
	old := s.slots
	s.slots = make([]uint64, size)
	s.shift = uint8(64 - log2(size))
	for _, h := range old {
		if h != 0 {
			s.insert(h)
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

// home is h's first slot: the high bits of h times an odd constant, so
// that fingerprints that differ only in their low bits spread out.
func (s *fpSet) home(h uint64) uint64 { return (h * 0x9e3779b97f4a7c15) >> s.shift }

func (s *fpSet) has(h uint64) bool {
	if h == 0 {
		return s.zero
	}
	mask := uint64(len(s.slots) - 1)
	for i := s.home(h); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

// add adds h and reports whether it was new.
func (s *fpSet) add(h uint64) bool {
	if h == 0 {
		if s.zero {
			return false
		}
		s.zero = true
		s.n++
		return true
	}
	if (s.n+1)*4 > len(s.slots)*3 {
		s.resize(2 * len(s.slots))
	}
	if !s.insert(h) {
		return false
	}
	s.n++
	return true
}

func (s *fpSet) insert(h uint64) bool {
	mask := uint64(len(s.slots) - 1)
	for i := s.home(h); ; i = (i + 1) & mask {
		switch s.slots[i] {
		case h:
			return false
		case 0:
			s.slots[i] = h
			return true
		}
	}
}

// len is the number of fingerprints in the set.
func (s *fpSet) len() int { return s.n }
