package explore

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Measures a predicate can test, computed from the nodes' views (Inspect)
// and their up/down state, so that they work for any protocol.
var measures = map[string]func(s *sim.Sim) int64{
	// leaders counts up nodes whose role is "leader".
	"leaders": func(s *sim.Sim) int64 {
		return count(s, func(v *sim.View) bool { return v.Role == "leader" })
	},
	// leader_term is the highest term (ballot) of an up leader, 0 if none.
	"leader_term": func(s *sim.Sim) int64 {
		return maxOf(s, func(v *sim.View) (int64, bool) { return v.Term, v.Role == "leader" })
	},
	// term is the highest term (ballot) of an up node.
	"term": func(s *sim.Sim) int64 { return maxOf(s, func(v *sim.View) (int64, bool) { return v.Term, true }) },
	// commit is the highest commit index of an up node.
	"commit": func(s *sim.Sim) int64 { return maxOf(s, func(v *sim.View) (int64, bool) { return v.Commit, true }) },
	// log is the longest log of an up node.
	"log": func(s *sim.Sim) int64 { return maxOf(s, func(v *sim.View) (int64, bool) { return v.LogLen, true }) },
	// down counts crashed nodes.
	"down": func(s *sim.Sim) int64 {
		var n int64
		for _, id := range s.Nodes() {
			if !s.Up(id) {
				n++
			}
		}
		return n
	},
	// choices is the number of choices made (the depth).
	"choices": func(s *sim.Sim) int64 { return int64(len(s.Choices())) },
	// diverged counts the log indexes at which two up nodes hold entries
	// of different terms (in the tails their views show).
	"diverged": diverged,
}

func diverged(s *sim.Sim) int64 {
	terms := map[int64]int64{}
	bad := map[int64]bool{}
	for _, id := range s.Nodes() {
		v, ok := s.Inspect(id)
		if !ok || !s.Up(id) {
			continue
		}
		for _, l := range v.Log {
			if t, ok := terms[l.Index]; ok && t != l.Term {
				bad[l.Index] = true
			} else if !ok {
				terms[l.Index] = l.Term
			}
		}
	}
	return int64(len(bad))
}

func count(s *sim.Sim, f func(*sim.View) bool) int64 {
	var n int64
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && s.Up(id) && f(&v) {
			n++
		}
	}
	return n
}

func maxOf(s *sim.Sim, f func(*sim.View) (int64, bool)) int64 {
	var m int64
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && s.Up(id) {
			if x, ok := f(&v); ok && x > m {
				m = x
			}
		}
	}
	return m
}

// MeasureNames lists the measures ParsePredicate knows, for help texts.
func MeasureNames() []string {
	return []string{"leaders", "leader_term", "term", "commit", "log", "diverged", "down", "choices"}
}

// ParsePredicate parses a conjunction of comparisons over the measures,
// separated by commas: "leaders>=2", "leader_term>=3", "term>2,down>=1".
// Operators: >=, <=, >, <, ==, !=.
func ParsePredicate(expr string) (Predicate, error) {
	var terms []Predicate
	for _, part := range strings.Split(expr, ",") {
		part = strings.TrimSpace(part)
		p, err := parseComparison(part)
		if err != nil {
			return nil, fmt.Errorf("%q: %v", expr, err)
		}
		terms = append(terms, p)
	}
	return func(s *sim.Sim) bool {
		for _, t := range terms {
			if !t(s) {
				return false
			}
		}
		return true
	}, nil
}

func parseComparison(part string) (Predicate, error) {
	for _, op := range []string{">=", "<=", "==", "!=", ">", "<"} {
		name, val, ok := strings.Cut(part, op)
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		m, known := measures[name]
		if !known {
			return nil, fmt.Errorf("unknown measure %q (measures: %s)", name, strings.Join(MeasureNames(), ", "))
		}
		n, err := strconv.ParseInt(strings.TrimSpace(val), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q: want an integer after %s", val, op)
		}
		cmp := map[string]func(a, b int64) bool{
			">=": func(a, b int64) bool { return a >= b }, "<=": func(a, b int64) bool { return a <= b },
			"==": func(a, b int64) bool { return a == b }, "!=": func(a, b int64) bool { return a != b },
			">": func(a, b int64) bool { return a > b }, "<": func(a, b int64) bool { return a < b },
		}[op]
		return func(s *sim.Sim) bool { return cmp(m(s), n) }, nil
	}
	return nil, fmt.Errorf("%q: want MEASURE OP INTEGER, e.g. leaders>=2", part)
}
