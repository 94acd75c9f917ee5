package sim

import (
	"fmt"
)

// ChoiceAction is a manual scheduling decision.
type ChoiceAction string

// Manual choices; each is recorded so replay reproduces the run exactly.
const (
	ChoiceDeliver   ChoiceAction = "deliver"   // process a pending event now, out of turn
	ChoiceDrop      ChoiceAction = "drop"      // remove a pending message: it is lost
	ChoiceDuplicate ChoiceAction = "duplicate" // add a copy of a pending message, due at the same time
	ChoiceFault     ChoiceAction = "fault"     // apply a fault now
	ChoiceTimer     ChoiceAction = "timer"     // fire a named timer at a process now (a client's "submit")
)

// Choice is one manual decision, made before the event with index Before
// was processed, at simulated time At.
type Choice struct {
	Before int64        `json:"before"`
	At     Time         `json:"at"`
	Action ChoiceAction `json:"action"`
	ID     EventID      `json:"id,omitempty"`
	Fault  *Fault       `json:"fault,omitempty"`
	// Node, Name and Arg say which timer a "timer" choice fires.
	Node NodeID `json:"node,omitempty"`
	Name string `json:"name,omitempty"`
	Arg  int64  `json:"arg,omitempty"`
}

func (c Choice) String() string {
	if c.Action == ChoiceFault {
		return fmt.Sprintf("before event %d at %v: %v", c.Before, c.At, c.Fault)
	}
	if c.Action == ChoiceTimer {
		return fmt.Sprintf("before event %d at %v: fire %v timer %s(%d)", c.Before, c.At, c.Node, c.Name, c.Arg)
	}
	return fmt.Sprintf("before event %d at %v: %s event #%d", c.Before, c.At, c.Action, c.ID)
}

func (s *Sim) canChoose() error {
	if s.st.stopped != "" {
		return fmt.Errorf("the run has stopped: %s", s.st.stopped)
	}
	if s.st.index >= s.st.cfg.EventsMax {
		return fmt.Errorf("events bound %d reached", s.st.cfg.EventsMax)
	}
	return nil
}

// Deliver processes the pending event with the given id now, ahead of
// events due earlier; the clock does not go back, so it happens at the later
// of now and its due time. It works for messages, timers and faults.
func (s *Sim) Deliver(id EventID) error {
	if err := s.canChoose(); err != nil {
		return err
	}
	st := s.st
	i := st.q.find(id)
	if i < 0 {
		return fmt.Errorf("no pending event #%d", id)
	}
	ev := st.q.heap[i]
	slot := st.q.slab[ev.slot]
	if slot.Kind == KindTimer {
		if st.canceled.has(id) {
			return fmt.Errorf("event #%d is a canceled timer", id)
		}
	}
	c := Choice{Before: st.index, At: st.now, Action: ChoiceDeliver, ID: id}
	st.cur = st.q.remove(i)
	if st.skip(&st.cur) {
		return fmt.Errorf("event #%d is void (a dead timer, or held by a paused node)", id)
	}
	st.choices = append(st.choices, c)
	s.process(&st.cur)
	return nil
}

// Drop removes a pending message: the network loses it.
func (s *Sim) Drop(id EventID) error {
	if err := s.canChoose(); err != nil {
		return err
	}
	st := s.st
	i := st.q.find(id)
	if i < 0 {
		return fmt.Errorf("no pending event #%d", id)
	}
	if k := st.q.slab[st.q.heap[i].slot].Kind; k != KindDeliver && k != KindRequest {
		return fmt.Errorf("event #%d is a %v, not a message", id, k)
	}
	st.q.remove(i)
	st.stats.DroppedManual++
	st.choices = append(st.choices, Choice{Before: st.index, At: st.now, Action: ChoiceDrop, ID: id})
	return nil
}

// Duplicate adds a copy of a pending message, due at the same time, and
// returns the copy's id.
func (s *Sim) Duplicate(id EventID) (EventID, error) {
	if err := s.canChoose(); err != nil {
		return 0, err
	}
	st := s.st
	i := st.q.find(id)
	if i < 0 {
		return 0, fmt.Errorf("no pending event #%d", id)
	}
	ev := st.q.slab[st.q.heap[i].slot]
	if ev.Kind != KindDeliver && ev.Kind != KindRequest {
		return 0, fmt.Errorf("event #%d is a %v, not a message", id, ev.Kind)
	}
	ev.Dup = true
	st.stats.Duplicated++
	st.choices = append(st.choices, Choice{Before: st.index, At: st.now, Action: ChoiceDuplicate, ID: id})
	return st.push(ev), nil
}

// Inject applies a fault now, as an event of its own.
func (s *Sim) Inject(f Fault) error {
	if err := s.canChoose(); err != nil {
		return err
	}
	if err := f.Validate(s.st.nodes); err != nil {
		return err
	}
	st := s.st
	f.Source = "manual"
	st.choices = append(st.choices, Choice{Before: st.index, At: st.now, Action: ChoiceFault, Fault: &f})
	fc := f
	id := st.push(Event{Kind: KindFault, At: st.now, Fault: &fc})
	st.cur = st.q.remove(st.q.find(id))
	s.process(&st.cur)
	return nil
}

// Fire fires a timer named name at process id now, as if the process had
// set it and it came due: a way to prod a process from outside, recorded
// so replay does the same. The workload's clients start an operation now
// when their "submit" timer fires.
func (s *Sim) Fire(id NodeID, name string, arg int64) error {
	if err := s.canChoose(); err != nil {
		return err
	}
	st := s.st
	e := st.proc(id)
	if e == nil {
		return fmt.Errorf("%v does not exist", id)
	}
	if !e.up {
		return fmt.Errorf("%v is down", id)
	}
	if e.paused {
		return fmt.Errorf("%v is paused", id)
	}
	if name == "" {
		return fmt.Errorf("a timer needs a name")
	}
	st.choices = append(st.choices, Choice{Before: st.index, At: st.now, Action: ChoiceTimer, Node: id, Name: name, Arg: arg})
	tid := st.nextID
	st.push(Event{Kind: KindTimer, At: st.now, To: id, Timer: Timer{ID: tid, Name: name, Arg: arg}, epoch: e.epoch})
	e.ownTimers()
	e.timers.add(tid)
	st.cur = st.q.remove(st.q.find(tid))
	if st.skip(&st.cur) {
		return fmt.Errorf("timer at %v could not fire", id)
	}
	s.process(&st.cur)
	return nil
}

// Apply carries out a recorded choice, as replay does. The clock first moves
// to the choice's time, as it had when the choice was made.
func (s *Sim) Apply(c Choice) error {
	if s.st.index != c.Before {
		return fmt.Errorf("choice %v applied before event %d", c, s.st.index)
	}
	if c.At > s.st.now {
		s.st.now = c.At
	}
	switch c.Action {
	case ChoiceDeliver:
		return s.Deliver(c.ID)
	case ChoiceDrop:
		return s.Drop(c.ID)
	case ChoiceDuplicate:
		_, err := s.Duplicate(c.ID)
		return err
	case ChoiceFault:
		if c.Fault == nil {
			return fmt.Errorf("choice %d: fault missing", c.Before)
		}
		return s.Inject(*c.Fault)
	case ChoiceTimer:
		return s.Fire(c.Node, c.Name, c.Arg)
	}
	return fmt.Errorf("choice action %q is unknown", c.Action)
}

// RunChoices runs to the end, applying each recorded choice just before the
// event index it was made at.
func (s *Sim) RunChoices(choices []Choice) error {
	_, err := s.RunTo(-1, choices)
	return err
}

// RunTo steps until Index() == k (k < 0: until the run stops), applying the
// recorded choices at their places. It returns the number of choices used.
func (s *Sim) RunTo(k int64, choices []Choice) (int, error) {
	used := 0
	for k < 0 || s.st.index < k {
		if used < len(choices) && choices[used].Before == s.st.index {
			if err := s.Apply(choices[used]); err != nil {
				return used, err
			}
			used++
			continue
		}
		if used < len(choices) && choices[used].Before < s.st.index {
			return used, fmt.Errorf("choice %v was skipped: the run is at event %d", choices[used], s.st.index)
		}
		if !s.Step() {
			break
		}
	}
	return used, nil
}
