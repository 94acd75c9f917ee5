package sim

// A nemesis run's faults, written down as an explicit schedule: the timed
// faults it applied, in the order it applied them. Listed as a scenario's
// scripted faults, with the nemesis cut down to its clock drift (which it
// draws first from its stream, so the replay draws the same rates) and its
// heal (which the liveness checkers read), the schedule replays the run:
// the same events at the same times with the same effects. What differs is
// bookkeeping, and ScheduleRecorder says what. A shrinker can then remove,
// shorten and move faults one at a time instead of the nemesis as a whole.

// String renders the scheduled fault as a scenario's `faults:` entry
// ("1.234567s crash n3"), which ParseScheduledFault reads back exactly:
// times print to the nanosecond.
func (sf ScheduledFault) String() string {
	f := sf.Fault
	f.Source = "" // the scenario syntax has no source
	return sf.At.String() + " " + f.String()
}

// ScheduleRecorder is a FaultObserver that writes down the faults the
// nemesis applies, for a replay by scripted faults beside Remainder(the
// nemesis). Left out, and so not events of the replay:
//   - the nemesis's idle ticks ("nemesis: nothing to do"), which do nothing;
//   - a pause's automatic resume (the pause's For brings it back);
//   - the heal-all at HealAt (the remainder brings it back, queued as the
//     nemesis queues it), and the undos the nemesis clamped to HealAt,
//     which come after the heal-all and find nothing left to undo.
//
// The replay's faults are queued when the run is built rather than one by
// one as the nemesis goes, so event ids are numbered differently.
type ScheduleRecorder struct {
	// Faults are the nemesis's faults in the order they were applied.
	Faults []ScheduledFault
}

// Remainder is what of a nemesis a replay by its explicit schedule keeps:
// its clock drift and its heal (nil when it has neither).
func Remainder(n *NemesisConfig) *NemesisConfig {
	if n == nil || (n.DriftMax == 0 && n.HealAt == 0) {
		return nil
	}
	return &NemesisConfig{DriftMax: n.DriftMax, HealAt: n.HealAt}
}

// ObserveFault records a nemesis fault.
func (r *ScheduleRecorder) ObserveFault(s *Sim, _ int64, f *Fault) {
	if f.Source != "nemesis" || f.Kind == FaultResume {
		return // the nemesis resumes only through a pause's For
	}
	if n := s.st.cfg.Nemesis; n != nil && n.HealAt > 0 && s.Now() >= n.HealAt {
		return // the heal-all, and undos clamped to it
	}
	g := *f
	g.Source = ""
	g.Groups = clonePartition(f.Groups)
	r.Faults = append(r.Faults, ScheduledFault{At: s.Now(), Fault: g})
}

func clonePartition(gs [][]NodeID) [][]NodeID {
	if gs == nil {
		return nil
	}
	out := make([][]NodeID, len(gs))
	for i, g := range gs {
		out[i] = append([]NodeID(nil), g...)
	}
	return out
}
