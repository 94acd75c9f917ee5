package shrink

import (
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// step is a manual choice described by what it chose rather than by event
// id and index, so that it still means the same thing after other choices,
// faults or clients were removed (ids and indexes shift then).
type step struct {
	// gap is the number of events the run processed on its own since the
	// previous choice (or the start).
	gap int64
	// choice is the original choice: faults and timer firings are applied
	// as they are; deliver, drop and duplicate are bound by key.
	choice sim.Choice
	// key describes the chosen pending event ("" for faults and timers).
	key string
}

// eventKey describes a pending event by content: kind, ends, message (or
// timer name and argument), not by id or time.
func eventKey(ev *sim.Event) string {
	k := ev.Kind.String() + " " + ev.From.String() + "->" + ev.To.String()
	switch ev.Kind {
	case sim.KindDeliver, sim.KindRequest:
		k += " " + ev.Msg.MessageType() + " " + sim.Describe(ev.Msg)
	case sim.KindTimer:
		k += " " + ev.Timer.Name + "(" + strconv.FormatInt(ev.Timer.Arg, 10) + ")"
	case sim.KindFault:
		if ev.Fault != nil {
			k += " " + ev.Fault.String()
		}
	}
	return k
}

// consumes reports whether applying the choice processed an event (and so
// used an event index).
func consumes(c sim.Choice) bool {
	return c.Action != sim.ChoiceDrop && c.Action != sim.ChoiceDuplicate
}

// evaluate runs the scenario applying the steps: before each, it lets the
// run process gap events on its own; a step whose event is not pending
// (its cause was removed) is skipped. It returns the result, the concrete
// choices made (which replay exactly through scenario.Run) and the steps
// that applied. The checkers (may be nil) are the caller's extra ones.
func evaluate(sc *scenario.Scenario, steps []step, checkers func() []sim.Checker) (*scenario.Result, []sim.Choice, []step, error) {
	inst, err := Build(sc, checkers)
	if err != nil {
		return nil, nil, nil, err
	}
	done := applySteps(inst.Sim, steps)
	res, err := inst.Execute(nil)
	if err != nil {
		return nil, nil, nil, err
	}
	return res, append([]sim.Choice(nil), inst.Sim.Choices()...), done, nil
}

// runUntil runs the scenario applying the steps, then on its own until it
// ends or, checked every linCheckEvery events, until the history so far
// (operations in flight are pending) satisfies done. It returns that
// history.
func runUntil(sc *scenario.Scenario, steps []step, checkers func() []sim.Checker,
	done func(records []protocols.OpRecord, now sim.Time) bool) ([]protocols.OpRecord, error) {
	inst, err := Build(sc, checkers)
	if err != nil {
		return nil, err
	}
	s := inst.Sim
	applySteps(s, steps)
	returned := -1 // operations answered at the last check
	for s.Stopped() == "" {
		for range linCheckEvery {
			if !s.Step() {
				break
			}
		}
		records := inst.History()
		n := 0
		for i := range records {
			if records[i].Status == protocols.OpOK {
				n++
			}
		}
		if n != returned {
			returned = n
			if done(records, s.Now()) {
				return records, nil
			}
		}
	}
	return inst.History(), nil
}

// applySteps lets the run process each step's gap of events on its own,
// then applies the step; a step whose event is not pending (its cause was
// removed) is skipped. It returns the steps that applied.
func applySteps(s *sim.Sim, steps []step) []step {
	var done []step
	for _, st := range steps {
		for range st.gap {
			if !s.Step() {
				break
			}
		}
		if s.Stopped() != "" {
			break
		}
		before := len(s.Choices())
		if applyStep(s, st) == nil && len(s.Choices()) > before {
			done = append(done, st)
		}
	}
	return done
}

func applyStep(s *sim.Sim, st step) error {
	c := st.choice
	switch c.Action {
	case sim.ChoiceFault:
		return s.Inject(*c.Fault)
	case sim.ChoiceTimer:
		return s.Fire(c.Node, c.Name, c.Arg)
	}
	for _, ev := range s.Pending() {
		if eventKey(&ev) != st.key {
			continue
		}
		switch c.Action {
		case sim.ChoiceDeliver:
			return s.Deliver(ev.ID)
		case sim.ChoiceDrop:
			return s.Drop(ev.ID)
		case sim.ChoiceDuplicate:
			_, err := s.Duplicate(ev.ID)
			return err
		}
	}
	return errNotPending
}

type shrinkError string

func (e shrinkError) Error() string { return string(e) }

const errNotPending = shrinkError("the chosen event is not pending")

// stepsOf describes recorded choices as steps by replaying them.
func stepsOf(sc *scenario.Scenario, choices []sim.Choice, checkers func() []sim.Checker) ([]step, error) {
	inst, err := Build(sc, checkers)
	if err != nil {
		return nil, err
	}
	s := inst.Sim
	out := make([]step, 0, len(choices))
	var next int64
	for _, c := range choices {
		if _, err := s.RunTo(c.Before, nil); err != nil {
			return nil, err
		}
		st := step{gap: c.Before - next, choice: c}
		if c.Action == sim.ChoiceDeliver || c.Action == sim.ChoiceDrop || c.Action == sim.ChoiceDuplicate {
			for _, ev := range s.Pending() {
				if ev.ID == c.ID {
					st.key = eventKey(&ev)
					break
				}
			}
		}
		if err := s.Apply(c); err != nil {
			return nil, err
		}
		next = c.Before
		if consumes(c) {
			next++
		}
		out = append(out, st)
	}
	return out, nil
}
