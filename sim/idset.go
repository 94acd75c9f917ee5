package sim

import "slices"

// idSet is a set of event ids kept sorted: a process's pending timers, a
// run's canceled ones. Sets are small, and a fork copies one with a single
// allocation (a map would be rebuilt bucket by bucket). Ids are handed out
// in increasing order, so an insertion is nearly always an append.
type idSet []EventID

func (s idSet) has(id EventID) bool {
	_, ok := slices.BinarySearch(s, id)
	return ok
}

func (s *idSet) add(id EventID) {
	n := len(*s)
	if n == 0 || (*s)[n-1] < id {
		*s = append(*s, id)
		return
	}
	if i, ok := slices.BinarySearch(*s, id); !ok {
		*s = slices.Insert(*s, i, id)
	}
}

// del removes id and reports whether it was there.
func (s *idSet) del(id EventID) bool {
	i, ok := slices.BinarySearch(*s, id)
	if ok {
		*s = slices.Delete(*s, i, i+1)
	}
	return ok
}
