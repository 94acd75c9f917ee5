package sim

// Checkpoint is a frozen copy of a run's whole state: processes, storage,
// network, pending events, random streams and checkers. Restoring it and
// stepping on gives exactly the events the original run gave from there.
//
// A checkpoint is a copy-on-write fork (see Fork): taking one costs a copy
// of the event queue and a few small structs, and the run goes on sharing
// every process, store and checker with it until it changes one, which it
// then copies (a process by its ProcessCloner, so what only grows, like a
// log or a client's history, stays shared). A checkpoint's state is never
// stepped: Restore forks it again, so it stays usable for later restores.
type Checkpoint struct {
	st *state
}

// Index is the number of events processed when the checkpoint was taken.
func (c *Checkpoint) Index() int64 { return c.st.index }

// Checkpoint takes a copy-on-write copy of the run's state. Observers are
// not part of it.
func (s *Sim) Checkpoint() *Checkpoint {
	return &Checkpoint{st: s.Fork().st}
}

// Restore replaces the run's state with a copy-on-write copy of the
// checkpoint's, which stays usable for later restores.
func (s *Sim) Restore(c *Checkpoint) {
	st := (&Sim{st: c.st}).Fork().st
	if len(s.observers) > 0 {
		st.startRecording()
	}
	s.st = st
	s.blk = nil
}

// Clone returns an independent deep copy of the run without observers: it
// shares nothing with the original (a reference for tests of Fork and
// Checkpoint, and a model checker's root).
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
