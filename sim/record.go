package sim

// EffectKind says what a process (or the simulator) did while handling an event.
type EffectKind uint8

// Effects recorded for observers and traces.
const (
	EffectSend   EffectKind = iota + 1 // a message was put on the network
	EffectDrop                         // a message was lost as it was sent (Name: reason)
	EffectTimer                        // a timer was set
	EffectCancel                       // a timer was canceled
	EffectStore                        // a key was persisted (Arg: bytes)
	EffectDelete                       // a key was deleted from storage
	EffectNote                         // a free-text note (Name)
)

var effectNames = [...]string{"", "send", "drop", "timer", "cancel", "store", "delete", "note"}

func (k EffectKind) String() string {
	if int(k) < len(effectNames) {
		return effectNames[k]
	}
	return "effect?"
}

// Effect is one thing done while handling an event.
type Effect struct {
	Kind EffectKind
	ID   EventID // the send's delivery event, or the timer
	To   NodeID
	At   Time
	Msg  Message
	Name string // timer name, storage key, drop reason or note text
	Arg  int64  // timer argument or stored bytes
	Dup  bool
}

// Record is one processed event with everything it caused. The simulator
// reuses one Record: observers must copy what they keep.
type Record struct {
	on         bool
	Index      int64
	Event      Event
	Effects    []Effect
	Outcome    string // "" when the event was handled; otherwise why not ("lost: n3 is down")
	violations []Violation
}

// Violations returns the violations this event's checks found.
func (r *Record) Violations() []Violation { return r.violations }

func (r *Record) reset(idx int64, ev *Event) {
	r.on = true
	r.Index = idx
	r.Event = *ev
	r.Effects = r.Effects[:0]
	r.Outcome = ""
	r.violations = r.violations[:0]
}

func (r *Record) effect(e Effect) {
	if r != nil && r.on {
		r.Effects = append(r.Effects, e)
	}
}

// recOn reports whether the current event's effects are recorded (the
// condition effect applies). A hot path asks it before building an
// Effect: the 80-byte literal is filled in on the stack before effect
// is called, wanted or not.
func (st *state) recOn() bool { return st.rec != nil && st.rec.on }

func (r *Record) outcome(s string) {
	if r != nil && r.on {
		r.Outcome = s
	}
}

// startRecording turns recording on, with a record of its own.
func (st *state) startRecording() {
	st.recording = true
	if st.rec == nil {
		st.rec = &Record{}
	}
}
