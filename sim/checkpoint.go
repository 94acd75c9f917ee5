package sim

// Checkpoint is a frozen copy of a run's whole state: processes, storage,
// network, pending events, random streams and checkers. Restoring it and
// stepping on gives exactly the events the original run gave from there.
type Checkpoint struct {
	st *state
}

// Index is the number of events processed when the checkpoint was taken.
func (c *Checkpoint) Index() int64 { return c.st.index }

// Checkpoint copies the run's state. Observers are not part of it.
func (s *Sim) Checkpoint() *Checkpoint {
	return &Checkpoint{st: s.cloneState()}
}

// Restore replaces the run's state with a copy of the checkpoint's, which
// stays usable for later restores.
func (s *Sim) Restore(c *Checkpoint) {
	st := deepCopy(c.st)
	st.recording = false
	if len(s.observers) > 0 {
		st.startRecording()
	}
	s.st = st
}

// Clone returns an independent copy of the run without observers.
func (s *Sim) Clone() *Sim {
	st := s.cloneState()
	st.recording = false
	return &Sim{st: st}
}

func (s *Sim) cloneState() *state {
	st := deepCopy(s.st)
	st.rec = nil
	return st
}
