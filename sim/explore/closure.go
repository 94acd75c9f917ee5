package explore

import (
	"errors"
	"fmt"

	"github.com/synod-dev/synod/sim"
)

// ClosureReport is what SymmetryClosure found.
type ClosureReport struct {
	// Problems are the first few (closureProblemsMax) disagreements, each
	// naming the states' fingerprints and the permutation.
	Problems []string
	// States is the number of distinct states the search reached.
	States int
	// Renamed counts the renamings (by a permutation other than the
	// identity, and different from the state) that the search reached too.
	Renamed int
}

// closureProblemsMax bounds the problems a closure check reports.
const closureProblemsMax = 5

// SymmetryClosure checks a protocol's permuted encodings
// (sim.SymmetricProcess) against the states a search really reaches, for
// whoever writes one. It searches every state from root within opts
// (depth-first and with one worker, whatever opts says, so that every
// state is built) and checks, for each state reached and each
// permutation p of its group (sim.Sim.SymmetryGroup, taken at the first
// state checked):
//   - the identity's renaming is the state itself;
//   - if closed, the renaming by p is a state the search reaches too (the
//     root is symmetric and so is the protocol, so the renamed schedule
//     leads there as fast);
//   - two states share a canonical fingerprint (CanonicalFingerprint)
//     exactly when one is a renaming of the other.
//
// closed is false for a workload that singles nodes out (say, a transfer
// between two participants), whose renamings are not reached: the other
// two checks still hold. A state in which the group cannot be formed (a
// protocol whose classes need every node up, with one crashed) is checked
// for its renamings only. opts.Goal is taken for the check's own.
func SymmetryClosure(root *sim.Sim, opts Options, closed bool) (ClosureReport, error) {
	type seen struct {
		renamed []uint64 // by permutation; [0] is the identity's
		canon   uint64   // 0 when the group could not be formed
	}
	var rep ClosureReport
	var perms []sim.Permutation // the group, from the first state checked (a root's processes may not exist yet)
	reached := map[uint64]seen{}
	var failed error
	opts.Mode, opts.Workers = DFS, 1
	opts.Goal = func(s *sim.Sim) bool {
		if perms == nil {
			perms = s.SymmetryGroup()
		}
		fp, _ := s.Fingerprint(nil)
		st := seen{renamed: make([]uint64, len(perms))}
		for q, p := range perms {
			h, err := s.PermutedFingerprint(p)
			if err != nil && failed == nil {
				failed = fmt.Errorf("state %#x renamed by %v: %w", fp, p, err)
			}
			st.renamed[q] = h
		}
		c, err := CanonicalFingerprint(s)
		switch {
		case err == nil:
			st.canon = c
		case s.Symmetry() == nil && failed == nil:
			failed = fmt.Errorf("state %#x: canonical fingerprint: %w", fp, err)
		}
		reached[fp] = st
		return false
	}
	r, err := Run(root, opts)
	if err != nil {
		return rep, err
	}
	if failed != nil {
		return rep, failed
	}
	if r.Found != FoundNothing {
		return rep, fmt.Errorf("symmetry closure: the search stopped early: %v", r)
	}
	if int(r.States) != len(reached) {
		return rep, fmt.Errorf("symmetry closure: the search built %d states and the check saw %d", r.States, len(reached))
	}
	if len(perms) == 0 {
		return rep, errors.New("symmetry closure: no symmetry group")
	}
	if !perms[0].Identity() {
		return rep, fmt.Errorf("symmetry closure: the group's first permutation %v is not the identity", perms[0])
	}
	class := map[uint64]map[uint64]bool{} // canonical -> the states with it
	for fp, st := range reached {
		if st.canon == 0 {
			continue
		}
		if class[st.canon] == nil {
			class[st.canon] = map[uint64]bool{}
		}
		class[st.canon][fp] = true
	}
	note := func(format string, args ...any) {
		if len(rep.Problems) < closureProblemsMax {
			rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...))
		}
	}
	for fp, st := range reached {
		if st.renamed[0] != fp {
			note("state %#x renamed by the identity is %#x", fp, st.renamed[0])
		}
		orbit := map[uint64]bool{}
		for q, h := range st.renamed {
			orbit[h] = true
			_, ok := reached[h]
			if ok && q > 0 && h != fp {
				rep.Renamed++
			}
			if !ok && closed {
				note("state %#x renamed by %v is %#x, which the search never reached", fp, perms[q], h)
			}
		}
		if st.canon == 0 {
			continue
		}
		for other := range class[st.canon] {
			if !orbit[other] {
				note("states %#x and %#x share the canonical fingerprint %#x but neither is a renaming of the other", fp, other, st.canon)
			}
		}
		for h := range orbit {
			if o, ok := reached[h]; ok && o.canon != 0 && o.canon != st.canon {
				note("state %#x and its renaming %#x have canonical fingerprints %#x and %#x", fp, h, st.canon, o.canon)
			}
		}
	}
	rep.States = len(reached)
	return rep, nil
}

// SymmetryVerdicts runs the search opts describes twice, on runs build
// makes, without and with Options.Symmetry, and reports the first way
// their verdicts differ: what was found, at which depth (breadth-first:
// the shortest, and a renaming of a state is as far), which checker, the
// bound that stopped the search, and whether it was exhaustive. When
// nothing was found it also checks the counts: the plain search reaches
// at least as many states as the symmetric one and at most groupSize
// times as many (a renaming of a state is a state). It returns both
// results.
func SymmetryVerdicts(build func() *sim.Sim, opts Options, groupSize int) (plain, sym *Result, err error) {
	var rs [2]*Result
	for i, on := range []bool{false, true} {
		o := opts
		o.Symmetry = on
		r, err := Run(build(), o)
		if err != nil {
			return nil, nil, fmt.Errorf("symmetry %v: %w", on, err)
		}
		rs[i] = r
	}
	p, s := rs[0], rs[1]
	differ := func(what string, a, b any) error {
		return fmt.Errorf("%s differs: %v without symmetry, %v with\nplain: %v\nsymmetry: %v", what, a, b, p, s)
	}
	switch {
	case p.Found != s.Found:
		return p, s, differ("what was found", p.Found, s.Found)
	case p.Depth != s.Depth:
		return p, s, differ("the depth", p.Depth, s.Depth)
	case p.Bound != s.Bound:
		return p, s, differ("the bound", p.Bound, s.Bound)
	case p.Exhaustive() != s.Exhaustive():
		return p, s, differ("exhaustiveness", p.Exhaustive(), s.Exhaustive())
	case (p.Violation == nil) != (s.Violation == nil):
		return p, s, differ("the violation", p.Violation, s.Violation)
	case p.Violation != nil && p.Violation.Checker != s.Violation.Checker:
		return p, s, differ("the checker", p.Violation.Checker, s.Violation.Checker)
	}
	if p.Found == FoundNothing {
		pn, sn := p.States+p.QuietStates, s.States+s.QuietStates
		if sn > pn || pn > int64(groupSize)*sn {
			return p, s, fmt.Errorf("states reached: %d without symmetry, %d with: not within a factor of 1 to %d\nplain: %v\nsymmetry: %v", pn, sn, groupSize, p, s)
		}
	}
	return p, s, nil
}
