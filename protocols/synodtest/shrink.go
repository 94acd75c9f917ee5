package synodtest

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/shrink"
	"github.com/synod-dev/synod/sim"
)

// ShrinkBudget bounds the shrinking of a failure, in runs (deterministic:
// the same failure shrinks to the same run on any machine).
const ShrinkBudget = 100

// shrinkFailure minimises a failing seed with protocols/shrink when the
// failure is one a run reproduces with its checkers: a panic, a violation
// of the protocol's own checkers or of the test's extra Checkers and
// Invariants (every shrink run gets a fresh set of them), linearizability.
// Failures found by Expect at the end of a run, livelocks and
// non-determinism are left unshrunk. On success it writes the shrunk trace
// and points the schedule and the commands at it.
func shrinkFailure(o *Options, sc *scenario.Scenario, f *Failure, dir, base string) {
	if o.NoShrink || os.Getenv("SYNOD_SHRINK") == "0" {
		return
	}
	want, ok := shrinkKind(f)
	if !ok {
		return
	}
	extra := o.extraCheckers()
	res, err := shrink.Run(sc, nil, shrink.Options{Budget: ShrinkBudget, Checkers: extra})
	if err != nil || res.Failure.Kind != want.Kind || res.Failure.Checker != want.Checker {
		return
	}
	in, err := shrink.Build(res.Scenario, extra)
	if err != nil {
		return
	}
	path := filepath.Join(dir, base+"-shrunk.jsonl")
	file, err := os.Create(path)
	if err != nil {
		return
	}
	defer file.Close()
	tw, err := in.TraceTo(file)
	if err != nil {
		return
	}
	tail := &tailObserver{max: scheduleMax, stop: -1}
	in.Sim.AddObserver(tail)
	if _, err := in.Execute(res.Choices); err != nil {
		return
	}
	if tw.Close(in.Sim) != nil || file.Close() != nil {
		return
	}
	f.Shrunk = fmt.Sprintf("%s -> %s (%d shrink runs)", res.Before, res.After, res.Runs)
	f.Schedule = tail.lines()
	f.ShrunkTrace = path
	f.ShrunkEvents = in.Sim.Index()
	if v := in.Sim.Violations(); len(v) > 0 {
		f.ShrunkAt = v[0].Index
	} else if pe, ok := in.Sim.Err().(*sim.PanicError); ok {
		f.ShrunkAt = pe.Index
	} else {
		f.ShrunkAt = -1
	}
}

// shrinkKind maps a failure to the shrinker's notion of the same failure.
func shrinkKind(f *Failure) (shrink.Failure, bool) {
	switch f.Kind {
	case "panic":
		return shrink.Failure{Kind: "panic"}, true
	case "linearizability":
		return shrink.Failure{Kind: "linearizability"}, true
	case "violation":
		if f.Checker != "" {
			return shrink.Failure{Kind: "invariant", Checker: f.Checker}, true
		}
	}
	return shrink.Failure{}, false
}
