package sim

import (
	"fmt"
	"slices"
)

// Timeline lets a viewer move through a run forward and back. It keeps
// checkpoints every Interval events, so going back one event restores the
// nearest earlier checkpoint and replays at most Interval events (further
// back than timelineDense checkpoints from the newest, at most
// timelineThin times Interval: older checkpoints are thinned, so that a
// long run's memory goes mostly to the run, not to its copies), and it
// keeps the manual choices of the branch being viewed, so that stepping
// forward again over a visited stretch replays them. A new manual choice
// made in the past starts a new branch: later choices and checkpoints are
// dropped.
type Timeline struct {
	s        *Sim
	cps      []*Checkpoint
	choices  []Choice
	interval int64
	furthest int64
}

// DefaultCheckpointInterval is the default distance between checkpoints.
const DefaultCheckpointInterval = 1000

// The newest timelineDense checkpoints are Interval apart; older ones are
// thinned to at most timelineThin*Interval apart. A checkpoint is a
// copy-on-write fork, but the run copies each process, store and checker
// it changes after one, so each costs memory of the order of the state's
// size: thinning keeps their number linear in the run's length with a
// small factor, and a step back in the thinned part replays at most
// timelineThin*Interval events.
const (
	timelineDense = 64
	timelineThin  = 8
)

// NewTimeline wraps a run that has not processed any event yet.
func NewTimeline(s *Sim, interval int64) *Timeline {
	if interval <= 0 {
		interval = DefaultCheckpointInterval
	}
	t := &Timeline{s: s, interval: interval}
	t.cps = append(t.cps, s.Checkpoint())
	return t
}

// Sim is the live run at the current position.
func (t *Timeline) Sim() *Sim { return t.s }

// Index is the current position: the number of events processed.
func (t *Timeline) Index() int64 { return t.s.Index() }

// Furthest is the furthest position reached on this branch.
func (t *Timeline) Furthest() int64 { return t.furthest }

// Choices returns the manual choices of this branch.
func (t *Timeline) Choices() []Choice { return t.choices }

// SetChoices replaces the branch's choices (to replay a saved run).
func (t *Timeline) SetChoices(cs []Choice) { t.choices = append([]Choice(nil), cs...) }

// pending returns the recorded choices not applied yet: those after the
// current index, and those at it that the run has not applied (a manual
// drop, duplicate or fault is made at an index without moving past it).
func (t *Timeline) pending() []Choice {
	i := t.s.Index()
	done := 0
	applied := t.s.Choices()
	for k := len(applied) - 1; k >= 0 && applied[k].Before == i; k-- {
		done++
	}
	for j, c := range t.choices {
		if c.Before >= i {
			// choices before i were applied already on the way here
			return t.choices[min(j+done, len(t.choices)):]
		}
	}
	return nil
}

// Step moves one event forward, applying any recorded choices due first.
// It returns false when the run has stopped.
func (t *Timeline) Step() bool {
	before := t.s.Index()
	if _, err := t.s.RunTo(before+1, t.pending()); err != nil {
		return false
	}
	t.after()
	return t.s.Index() > before
}

func (t *Timeline) after() {
	i := t.s.Index()
	if i > t.furthest {
		t.furthest = i
	}
	last := t.cps[len(t.cps)-1].Index()
	if i >= last+t.interval && t.s.Stopped() == "" {
		t.cps = append(t.cps, t.s.Checkpoint())
		t.thin()
	}
}

// thin settles the checkpoint that has just left the dense part: it is
// dropped if its neighbours are close enough without it. The first
// checkpoint (event 0) always stays.
func (t *Timeline) thin() {
	k := len(t.cps) - timelineDense - 1
	if k < 1 {
		return
	}
	if t.cps[k+1].Index()-t.cps[k-1].Index() <= t.interval*timelineThin {
		t.cps = slices.Delete(t.cps, k, k+1)
	}
	for j := 1; j < len(t.cps); j++ {
		if t.cps[j].Index() <= t.cps[j-1].Index() {
			panic(fmt.Sprintf("sim: timeline checkpoints out of order: %d then %d", t.cps[j-1].Index(), t.cps[j].Index()))
		}
	}
}

// GoTo moves to position k (clamped to what the run allows). Going back
// restores the nearest checkpoint at or before k and replays from there.
func (t *Timeline) GoTo(k int64) error {
	if k < 0 {
		k = 0
	}
	if k < t.s.Index() {
		j := len(t.cps) - 1
		for j > 0 && t.cps[j].Index() > k {
			j--
		}
		t.s.Restore(t.cps[j])
	}
	for t.s.Index() < k {
		if !t.Step() {
			if err := t.s.Err(); err != nil && t.s.Index() < k {
				return err
			}
			break
		}
	}
	return nil
}

// Back moves n events back.
func (t *Timeline) Back(n int64) error { return t.GoTo(t.s.Index() - n) }

// branch records a manual choice made at the current position, dropping
// the choices and checkpoints that belonged to the old future.
func (t *Timeline) branch(do func() error) error {
	i := t.s.Index()
	keep := t.choices[:0:0]
	for _, c := range t.choices {
		if c.Before < i {
			keep = append(keep, c)
		}
	}
	// Choices already made at this same index (before this one) stay.
	for _, c := range t.s.Choices() {
		if c.Before == i && !containsChoice(keep, c) {
			keep = append(keep, c)
		}
	}
	n := len(t.s.Choices())
	if err := do(); err != nil {
		return err
	}
	keep = append(keep, t.s.Choices()[n:]...)
	t.choices = keep
	j := len(t.cps)
	for j > 1 && t.cps[j-1].Index() > i {
		j--
	}
	t.cps = t.cps[:j]
	t.furthest = t.s.Index()
	t.after()
	return nil
}

func containsChoice(cs []Choice, c Choice) bool {
	for _, x := range cs {
		if x.Before == c.Before && x.Action == c.Action && x.ID == c.ID && x.At == c.At {
			return true
		}
	}
	return false
}

// Deliver processes a pending event now, out of turn (a recorded choice).
func (t *Timeline) Deliver(id EventID) error {
	return t.branch(func() error { return t.s.Deliver(id) })
}

// Drop loses a pending message (a recorded choice).
func (t *Timeline) Drop(id EventID) error { return t.branch(func() error { return t.s.Drop(id) }) }

// Duplicate copies a pending message (a recorded choice).
func (t *Timeline) Duplicate(id EventID) error {
	return t.branch(func() error { _, err := t.s.Duplicate(id); return err })
}

// Inject applies a fault now (a recorded choice).
func (t *Timeline) Inject(f Fault) error { return t.branch(func() error { return t.s.Inject(f) }) }

// Fire fires a named timer at a process now (a recorded choice).
func (t *Timeline) Fire(id NodeID, name string, arg int64) error {
	return t.branch(func() error { return t.s.Fire(id, name, arg) })
}

// String describes the position.
func (t *Timeline) String() string {
	return fmt.Sprintf("event %d of %d (%d checkpoints, %d choices)", t.s.Index(), t.furthest, len(t.cps), len(t.choices))
}
