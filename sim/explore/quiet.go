package explore

import (
	"github.com/synod-dev/synod/sim"
)

// Quiet steps. A state at the depth bound is made only to be checked: it
// is never expanded, so all that matters of it is whether a checker finds
// a violation there. When every checker of a run is local
// (sim.CheckerLocal: after an event at a process it looks at that process
// only), that verdict, after a local step, depends only on what the
// checkers remember and on the step (the process's state, the event and
// the process's pending timers: the step cache's key), the encoding being
// exact. A step taken for real under checkers that remember something and
// found nothing is quiet: taken again under checkers that remember the
// same, it finds nothing again. A state at the bound reached by a quiet
// step from a checked parent is then checked without being made.
//
// What checkers remember is told by their encodings
// (sim.CheckerLocal.AppendCheckerState), hashed into a "set"; a quiet
// step is remembered by its key and its set. Like the step cache, what a
// level reads is frozen while it is expanded (the quiet steps seen are
// added, in the frontier's order, when it ends), so the search does not
// depend on the number of workers; and a spot check takes one use in
// sixteen for real: a quiet step that finds something after all is
// poisoned and counted (Result.StepMismatches).
type verdicts struct {
	// quiet holds quietKey(step key, checker set) of the quiet steps.
	quiet *table[struct{}]
	// off: the run's checkers are not all local, or a goal is searched
	// for (a goal looks at the whole state): states are made.
	off bool
}

// quietMax bounds the quiet steps remembered (8 bytes each, with the
// table's room 16 to 32).
const quietMax = 1 << 23

// quietSteps turns quiet steps on (tests turn them off).
var quietSteps = true

func newVerdicts(root *sim.Sim, opts *Options) *verdicts {
	v := &verdicts{quiet: newTable[struct{}]()}
	v.off = !quietSteps || opts.Goal != nil || opts.NoStepCache || root.Config().CheckEvery > 1 || len(root.Checkers()) == 0
	return v
}

// set returns a fingerprint of what s's checkers remember (their "set"),
// or false when s's steps are not to be judged by it: a checker is not
// local, or s is not checked.
func (v *verdicts) set(s *sim.Sim, w *scratch) (uint64, bool) {
	if v.off || s.LastCheckIndex() != s.Index() || s.Stopped() != "" || len(s.Violations()) > 0 {
		return 0, false
	}
	cs := s.Checkers()
	h := uint64(len(cs))
	for _, c := range cs {
		l, ok := c.(sim.CheckerLocal)
		if !ok {
			return 0, false
		}
		w.buf = append(append(w.buf[:0], c.Name()...), 0)
		w.buf = l.AppendCheckerState(w.buf)
		h = mix(h ^ hashBytes(w.buf))
	}
	return h, true
}

// hashBytes is 64-bit FNV-1a.
func hashBytes(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h = (h ^ uint64(c)) * 1099511628211
	}
	return h
}

// quietKey is the key of step key under the checker set set.
func quietKey(key, set uint64) uint64 { return mix(key^mix(set)) | 1 }

func (v *verdicts) has(key uint64) bool { _, ok := v.quiet.get(key); return ok }

// add remembers the quiet steps a chunk saw (between levels).
func (v *verdicts) add(keys []uint64) {
	for _, k := range keys {
		if v.quiet.len() >= quietMax {
			return
		}
		v.quiet.put(k, struct{}{})
	}
}
