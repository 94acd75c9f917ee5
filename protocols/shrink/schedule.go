package shrink

import (
	"fmt"
	"slices"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Fault by fault. A nemesis is a random process: removing it removes all of
// its faults at once, and a failure that needs two of its forty faults then
// keeps all forty. So the shrinker first writes the nemesis down as the
// explicit schedule of what it did in the failing run (sim.ScheduleRecorder)
// and from then on works on single faults: it removes them (a fault and the
// fault that undoes it as one unit, then alone), shortens their downtime and
// moves them earlier, keeping each change while the run still fails the same
// way and does not grow.

// Explicit returns sc with its nemesis replaced by the explicit schedule of
// the faults it applied in the run of sc with the steps (scripted faults
// first, then the nemesis's, each list in the order it was applied), and
// that schedule. The nemesis keeps only its clock drift and its heal
// (sim.Remainder). The replay is the same run but for bookkeeping: see
// sim.ScheduleRecorder.
func Explicit(sc *scenario.Scenario, choices []sim.Choice, checkers func() []sim.Checker) (*scenario.Scenario, []sim.ScheduledFault, error) {
	steps, err := stepsOf(sc, choices, checkers)
	if err != nil {
		return nil, nil, err
	}
	return explicit(sc, steps, checkers)
}

func explicit(sc *scenario.Scenario, steps []step, checkers func() []sim.Checker) (*scenario.Scenario, []sim.ScheduledFault, error) {
	inst, err := Build(sc, checkers)
	if err != nil {
		return nil, nil, err
	}
	rec := &sim.ScheduleRecorder{}
	inst.Sim.AddFaultObserver(rec)
	applySteps(inst.Sim, steps)
	inst.Sim.Run()
	out := sc.Clone()
	out.Nemesis = sim.Remainder(sc.Nemesis)
	for _, f := range rec.Faults {
		out.Faults = append(out.Faults, f.String())
	}
	if err := out.Revalidate(); err != nil {
		return nil, nil, fmt.Errorf("the explicit schedule does not validate: %v", err)
	}
	return out, rec.Faults, nil
}

// injects reports whether the nemesis injects faults (more than its
// remainder: drift and heal). A strike nemesis alone injects too: its
// strikes are written down like the rest, or a shrink could only keep or
// remove all of them.
func injects(n *sim.NemesisConfig) bool {
	return n != nil && (n.CrashEvery > 0 || n.PartitionEvery > 0 || n.CutEvery > 0 || n.PauseEvery > 0 || n.LossEvery > 0 ||
		n.Strike != nil)
}

// explicitPass replaces a nemesis that injects faults by its explicit
// schedule. It runs on the whole run (before the cut), so the schedule
// holds every fault a longer candidate may need.
func (sh *shrinker) explicitPass() bool {
	if !injects(sh.cur.sc.Nemesis) {
		return false
	}
	if planned(sh.cur.sc) && sh.draws < drawsMax {
		// A plan's strikes stay aimed (strike.go): they are written down
		// only once removing them had every draw.
		return false
	}
	sc, faults, err := explicit(sh.cur.sc, sh.cur.steps, sh.opts.Checkers)
	if err != nil {
		return false
	}
	c := sh.cur.clone()
	c.sc = sc
	return sh.tryExact(fmt.Sprintf("nemesis -> explicit schedule of %d faults", len(faults)), c)
}

// timed is one scripted fault and its place in the scenario's list.
type timed struct {
	i int
	f sim.ScheduledFault
}

// scheduleOf parses the scenario's scripted faults (ok false if one does
// not parse, which a validated scenario rules out).
func scheduleOf(sc *scenario.Scenario) ([]sim.ScheduledFault, bool) {
	out := make([]sim.ScheduledFault, 0, len(sc.Faults))
	for _, s := range sc.Faults {
		f, err := sim.ParseScheduledFault(s)
		if err != nil {
			return nil, false
		}
		out = append(out, f)
	}
	return out, true
}

func setSchedule(sc *scenario.Scenario, fs []sim.ScheduledFault) {
	sc.Faults = make([]string, len(fs))
	for i, f := range fs {
		sc.Faults[i] = f.String()
	}
}

// units groups a schedule into faults and what undoes them: a crash and the
// next restart of that node, a partition or isolation and the next heal, a
// cut and the next uncut of that link (or heal), a loss or duplication
// burst and the next setting of the same kind. Every fault is in exactly
// one unit; units are ordered by their first fault.
func units(fs []sim.ScheduledFault) [][]timed {
	used := make([]bool, len(fs))
	var out [][]timed
	for i, f := range fs {
		if used[i] {
			continue
		}
		used[i] = true
		u := []timed{{i, f}}
		if j := undoOf(fs, i, used); j >= 0 {
			used[j] = true
			u = append(u, timed{j, fs[j]})
		}
		out = append(out, u)
	}
	return out
}

// undoOf finds the fault that undoes fs[i] (-1: none).
func undoOf(fs []sim.ScheduledFault, i int, used []bool) int {
	f := fs[i].Fault
	for j := i + 1; j < len(fs); j++ {
		if used[j] {
			continue
		}
		g := fs[j].Fault
		switch f.Kind {
		case sim.FaultCrash:
			if g.Kind == sim.FaultRestart && g.Node == f.Node {
				return j
			}
		case sim.FaultPartition, sim.FaultIsolate:
			if g.Kind == sim.FaultHeal {
				return j
			}
		case sim.FaultCut:
			if (g.Kind == sim.FaultUncut && g.From == f.From && g.To == f.To) || g.Kind == sim.FaultHeal {
				return j
			}
		case sim.FaultLoss, sim.FaultDuplicate:
			if g.Kind == f.Kind {
				return j
			}
		default:
			return -1
		}
		if g.Kind == sim.FaultHealAll {
			return -1 // the heal-all undoes it, and stays on its own
		}
	}
	return -1
}

func flatten(us [][]timed) []sim.ScheduledFault {
	var all []timed
	for _, u := range us {
		all = append(all, u...)
	}
	slices.SortFunc(all, func(a, b timed) int { return a.i - b.i })
	out := make([]sim.ScheduledFault, len(all))
	for i, t := range all {
		out[i] = t.f
	}
	return out
}

// faultUnits removes faults together with what undoes them (delta
// debugging over units): a crash without its restart would leave the node
// down, a different run from the one without the crash.
func (sh *shrinker) faultUnits() bool {
	if len(sh.cur.sc.Faults) < 2 {
		return false
	}
	return removeChunks(sh, "faults (with their undo)",
		func(c candidate) [][]timed {
			fs, ok := scheduleOf(c.sc)
			if !ok {
				return nil
			}
			return units(fs)
		},
		func(c *candidate, us [][]timed) { setSchedule(c.sc, flatten(us)) })
}

// noFaults removes every scripted fault at once and moves the nemesis's
// heal (if any) to the start: with nothing to heal, the liveness
// checkers' bound counts from the first millisecond, so a liveness
// failure that needs only the network's own loss (an answer lost, a
// retry mishandled) shows as soon as it can. A safety failure keeps its
// heal where it was (the heal restarts crashed nodes, and drift stops
// there).
func (sh *shrinker) noFaults() bool {
	if len(sh.cur.sc.Faults) == 0 {
		return false
	}
	c := sh.cur.clone()
	c.sc.Faults = nil
	step := fmt.Sprintf("remove all %d faults", len(sh.cur.sc.Faults))
	if n := c.sc.Nemesis; n != nil && n.HealAt > sim.Millisecond && sh.want.Kind == "invariant" {
		step += fmt.Sprintf(", heal at %v -> %v", n.HealAt, sim.Millisecond)
		n.HealAt = sim.Millisecond
	}
	return sh.tryDraws(step, c)
}

// shortenMin is the shortest downtime the shorten pass tries.
const shortenMin = sim.Millisecond

// shortenRounds bounds the halvings of one fault's downtime.
const shortenRounds = 6

// shorten halves each fault's downtime (a crash to its restart, a
// partition to its heal, a pause's length), fault by fault, while the run
// still fails.
func (sh *shrinker) shorten() bool {
	changed := false
	for k := 0; ; k++ {
		fs, ok := scheduleOf(sh.cur.sc)
		if !ok {
			return changed
		}
		us := units(fs)
		if k >= len(us) {
			return changed
		}
		for range shortenRounds {
			fs, _ = scheduleOf(sh.cur.sc)
			us = units(fs)
			if k >= len(us) {
				break
			}
			u := us[k]
			var down sim.Time
			switch {
			case len(u) == 2:
				down = u[1].f.At - u[0].f.At
			case u[0].f.Kind == sim.FaultPause && u[0].f.For > 0:
				down = u[0].f.For
			default:
				down = 0
			}
			half := (down / 2 / shortenMin) * shortenMin
			if half < shortenMin {
				break
			}
			if len(u) == 2 {
				fs[u[1].i].At = u[0].f.At + half
			} else {
				fs[u[0].i].For = half
			}
			c := sh.cur.clone()
			setSchedule(c.sc, sortedByTime(fs))
			if !sh.try(fmt.Sprintf("shorten %s: down %v -> %v", u[0].f.String(), down, half), c) {
				break
			}
			changed = true
		}
		if sh.stopped != "" {
			return changed
		}
	}
}

// sortedByTime orders a schedule by time, keeping the order of faults at
// the same time (the order they are applied in).
func sortedByTime(fs []sim.ScheduledFault) []sim.ScheduledFault {
	slices.SortStableFunc(fs, func(a, b sim.ScheduledFault) int {
		switch {
		case a.At < b.At:
			return -1
		case a.At > b.At:
			return 1
		}
		return 0
	})
	return fs
}

// moveEarlier moves each fault (with what undoes it, keeping its downtime)
// earlier, to half its time, fault by fault, so that less happens before
// it.
func (sh *shrinker) moveEarlier() bool {
	changed := false
	for k := 0; ; k++ {
		fs, ok := scheduleOf(sh.cur.sc)
		if !ok {
			return changed
		}
		us := units(fs)
		if k >= len(us) {
			return changed
		}
		u := us[k]
		at := u[0].f.At
		to := (at / 2 / sim.Millisecond) * sim.Millisecond
		if to >= at {
			continue
		}
		for _, t := range u {
			fs[t.i].At -= at - to
		}
		c := sh.cur.clone()
		setSchedule(c.sc, sortedByTime(fs))
		if sh.try(fmt.Sprintf("move %s earlier: %v -> %v", u[0].f.String(), at, to), c) {
			changed = true
		}
		if sh.stopped != "" {
			return changed
		}
	}
}

// dropLate removes scripted faults after the run's end: they never fire,
// and the shrunk scenario should list only what happens. It runs last,
// once more than the budget (a longer candidate could still have needed
// them before).
func (sh *shrinker) dropLate() bool {
	stopped := sh.stopped
	sh.stopped, sh.opts.Budget = "", sh.opts.Budget+1
	defer func() { sh.stopped = stopped }()
	d := sh.cur.sc.Duration
	fs, ok := scheduleOf(sh.cur.sc)
	if !ok || d == 0 {
		return false
	}
	kept := slices.DeleteFunc(slices.Clone(fs), func(f sim.ScheduledFault) bool { return f.At > d })
	if len(kept) == len(fs) {
		return false
	}
	c := sh.cur.clone()
	setSchedule(c.sc, kept)
	return sh.tryExact(fmt.Sprintf("drop %d faults after the end (%v)", len(fs)-len(kept), d), c)
}

// gapRounds bounds the halvings of one gap between faults.
const gapRounds = 4

// closeGaps moves the run's later part earlier: for each gap between
// faults (and before the first), it shifts every fault from the gap's end
// on, and the nemesis's heal with them, earlier by half the gap, while the
// run still fails. Removing faults leaves long quiet stretches between the
// ones that matter; the failure then shows sooner and the cut shortens the
// run. Faults keep their order and what undoes them moves with them (a
// downtime that spans the gap shortens).
func (sh *shrinker) closeGaps() bool {
	changed := false
	for k := 0; ; k++ {
		points := sh.schedulePoints()
		if k >= len(points) {
			return changed
		}
		for range gapRounds {
			points = sh.schedulePoints()
			if k >= len(points) {
				break
			}
			prev := sim.Time(0)
			if k > 0 {
				prev = points[k-1]
			}
			from := points[k]
			by := ((from - prev) / 2 / sim.Millisecond) * sim.Millisecond
			if by <= 0 {
				break
			}
			c := sh.cur.clone()
			fs, ok := scheduleOf(c.sc)
			if !ok {
				return changed
			}
			for i := range fs {
				if fs[i].At >= from {
					fs[i].At -= by
				}
			}
			setSchedule(c.sc, fs)
			if n := c.sc.Nemesis; n != nil && n.HealAt >= from {
				n.HealAt -= by
			}
			if !sh.tryDraws(fmt.Sprintf("close the gap before %v by %v", from, by), c) {
				break
			}
			changed = true
		}
		if sh.stopped != "" {
			return changed
		}
	}
}

// schedulePoints lists the distinct times of the scripted faults and the
// nemesis's heal, in order.
func (sh *shrinker) schedulePoints() []sim.Time {
	fs, ok := scheduleOf(sh.cur.sc)
	if !ok {
		return nil
	}
	var ts []sim.Time
	for _, f := range fs {
		ts = append(ts, f.At)
	}
	if n := sh.cur.sc.Nemesis; n != nil && n.HealAt > 0 {
		ts = append(ts, n.HealAt)
	}
	slices.Sort(ts)
	return slices.Compact(ts)
}
