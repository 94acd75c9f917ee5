package explore

import (
	"encoding/binary"
	"slices"

	"github.com/synod-dev/synod/sim"
)

// Coverage search (Options.Coverage). A schedule is followed only while it
// brings the nodes to a combination of roles, terms, leaders, commit
// indexes and log terms not reached before: states are recognised by a
// coverage key instead of their whole state. The key reads the core of
// each up node's Inspect view (what sim.View shows of any protocol) and
// ranks the terms: the terms and log terms of all nodes are replaced by
// their order among the distinct terms of the state, so that "n1 leads
// the term after n2's, whose entry n3 lacks" is one key whether the terms
// are 1 and 3 or 4 and 7. Elections that only raise terms then lead
// nowhere new, and a breadth-first search spends its levels on new shapes
// of the cluster: who leads, who holds whose entries, what is committed
// (the shapes of Raft's Figure 8, 15 branches deep, within a minute).
// Messages in flight, votes, timers and everything else a view does not
// show are left out: two runs with one key are one state, and the first
// found is the one expanded. The search is guided, not exhaustive.

// coverageScratch is a worker's memory for coverage keys.
type coverageScratch struct {
	views []sim.View
	terms []int64
}

// coverageKey returns the coverage key of s.
func coverageKey(s *sim.Sim, buf []byte, sc *coverageScratch) (uint64, []byte) {
	ids := s.Nodes()
	sc.views = sc.views[:0]
	sc.terms = sc.terms[:0]
	for _, id := range ids {
		v, ok := s.Inspect(id)
		if !ok || !s.Up(id) {
			v = sim.View{Role: "down"}
		}
		sc.views = append(sc.views, v)
		sc.terms = append(sc.terms, v.Term)
		for _, l := range v.Log {
			sc.terms = append(sc.terms, l.Term)
		}
	}
	slices.Sort(sc.terms)
	terms := slices.Compact(sc.terms)
	rank := func(t int64) int64 {
		i, _ := slices.BinarySearch(terms, t)
		return int64(i)
	}
	b := buf[:0]
	for i := range sc.views {
		v := &sc.views[i]
		b = append(b, v.Role...)
		b = append(b, 0)
		b = binary.AppendVarint(b, rank(v.Term))
		b = binary.AppendVarint(b, v.Commit)
		b = binary.AppendVarint(b, v.LogLen)
		for _, l := range v.Log {
			b = binary.AppendVarint(b, l.Index)
			b = binary.AppendVarint(b, rank(l.Term))
		}
		b = append(b, 0xff)
	}
	return mix(hashBytes(b)) | 1, b
}

// coverage counts the runs kept of each coverage key.
type coverage struct {
	runs   map[uint64]int
	perKey int
}

func newCoverage(root *sim.Sim, perKey int) *coverage {
	c := &coverage{runs: map[uint64]int{}, perKey: perKey}
	var sc coverageScratch
	k, _ := coverageKey(root, nil, &sc)
	c.runs[k] = 1
	return c
}

// admit reports whether a new run of key k is kept: while its key has
// fewer than perKey runs.
func (c *coverage) admit(k uint64) bool {
	if c.runs[k] >= c.perKey {
		return false
	}
	c.runs[k]++
	return true
}
