// Package sim is synod's deterministic discrete-event simulator: a virtual
// clock, one event queue ordered by (time, insertion sequence), seeded random
// streams, a network and fault model, node lifecycle with stable storage,
// invariant hooks, traces and replay. It knows nothing of any protocol: it
// runs Process values and lets checkers and observers look at them.
//
// A run is a pure function of its Config, its Factory and the manual choices
// made through the control API (Deliver, Drop, Duplicate, Inject): the same
// inputs give the same events, byte for byte, on any machine.
package sim

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime/debug"
	"slices"
	"unsafe"
)

// Config is everything that determines a run, apart from the processes'
// code and options.
type Config struct {
	Seed    uint64 `json:"seed"`
	Nodes   int    `json:"nodes"`
	Clients int    `json:"clients"`
	// Duration bounds the run in simulated time, at most DurationMax. Zero
	// means no time bound: the run then stops only when its events run out
	// or at EventsMax (scenarios spell this "duration: unbounded" and must
	// give events_max; see docs/scenarios.md).
	Duration Time `json:"duration"`
	// EventsMax bounds the run's events; zero means DefaultEventsMax.
	EventsMax int64            `json:"events_max,omitempty"`
	Network   NetworkConfig    `json:"network"`
	Faults    []ScheduledFault `json:"faults,omitempty"`
	Nemesis   *NemesisConfig   `json:"nemesis,omitempty"`
	// FsyncDelay delays messages a process sends after it persisted in the
	// same step, as a disk write would.
	FsyncDelay Time `json:"fsync_delay,omitempty"`
	// CheckEvery runs the checkers after every N-th event; zero means 1.
	CheckEvery int `json:"check_every,omitempty"`
	// KeepGoing records violations and continues instead of stopping at the
	// first one.
	KeepGoing bool `json:"keep_going,omitempty"`
	// Down lists nodes that do not start with the run (spares a protocol
	// may add later; a restart fault starts them).
	Down []NodeID `json:"down,omitempty"`
}

// DefaultEventsMax bounds a run when Config.EventsMax is zero. It is the
// bound that stops a runaway run (a livelock, a retry storm, a run
// without a time bound): at the simulator's usual 100k-1M events per
// second of CPU it costs at most a couple of minutes, where the default
// scenario (10 simulated seconds) takes about 12,000 events.
const DefaultEventsMax = 10_000_000

// DurationMax bounds Config.Duration: a simulated day. Longer runs are
// almost surely a typo (2562047h is time.Duration's maximum) and would run
// into EventsMax long before their end anyway.
const DurationMax = 24 * 60 * 60 * Second

// Validate checks the configuration and names the offending field.
func (c *Config) Validate() error {
	if c.Nodes < 1 || c.Nodes > MaxNodes {
		return fmt.Errorf("nodes: %d is outside 1..%d", c.Nodes, MaxNodes)
	}
	if c.Clients < 0 || c.Clients > MaxClients {
		return fmt.Errorf("clients: %d is outside 0..%d", c.Clients, MaxClients)
	}
	if c.Duration < 0 {
		return fmt.Errorf("duration: %v is negative", c.Duration)
	}
	if c.Duration > DurationMax {
		return fmt.Errorf("duration: %v is over the maximum %v", c.Duration, DurationMax)
	}
	if c.EventsMax < 0 {
		return fmt.Errorf("events_max: %d is negative", c.EventsMax)
	}
	if c.FsyncDelay < 0 {
		return fmt.Errorf("fsync_delay: %v is negative", c.FsyncDelay)
	}
	if c.CheckEvery < 0 {
		return fmt.Errorf("check_every: %d is negative", c.CheckEvery)
	}
	if err := c.Network.Validate(c.Nodes); err != nil {
		return fmt.Errorf("network.%v", err)
	}
	for i := range c.Faults {
		if c.Faults[i].At < 0 {
			return fmt.Errorf("faults[%d].at: %v is negative", i, c.Faults[i].At)
		}
		if err := c.Faults[i].Validate(c.Nodes); err != nil {
			return fmt.Errorf("faults[%d].%v", i, err)
		}
	}
	if c.Nemesis != nil {
		if err := c.Nemesis.Validate(c.Nodes); err != nil {
			return fmt.Errorf("nemesis.%v", err)
		}
	}
	for i, id := range c.Down {
		if err := checkNode(id, c.Nodes, false); err != nil {
			return fmt.Errorf("down[%d]: %v", i, err)
		}
	}
	return nil
}

// Stats counts what happened in a run.
type Stats struct {
	Events           int64 `json:"events"`
	Sent             int64 `json:"sent"`
	Delivered        int64 `json:"delivered"`
	Duplicated       int64 `json:"duplicated"`
	DroppedLoss      int64 `json:"dropped_loss"`
	DroppedPartition int64 `json:"dropped_partition"`
	DroppedCrashed   int64 `json:"dropped_crashed"`
	DroppedManual    int64 `json:"dropped_manual"`
	ClientMessages   int64 `json:"client_messages"`
	TimersSet        int64 `json:"timers_set"`
	TimersFired      int64 `json:"timers_fired"`
	TimersCanceled   int64 `json:"timers_canceled"`
	Persists         int64 `json:"persists"`
	PersistBytes     int64 `json:"persist_bytes"`
	Crashes          int64 `json:"crashes"`
	Restarts         int64 `json:"restarts"`
	Pauses           int64 `json:"pauses"`
	Faults           int64 `json:"faults"`
}

// Dropped is the total of messages lost for any reason.
func (s *Stats) Dropped() int64 {
	return s.DroppedLoss + s.DroppedPartition + s.DroppedCrashed + s.DroppedManual
}

// Violation is an invariant a checker found broken.
type Violation struct {
	Index   int64  `json:"index"`
	Time    Time   `json:"time"`
	Checker string `json:"checker"`
	Message string `json:"message"`
}

func (v Violation) String() string {
	return fmt.Sprintf("event %d at %v: %s: %s", v.Index, v.Time, v.Checker, v.Message)
}

// Checker is an invariant checked over the true state of the run after
// events. Checkers live outside the protocols and may keep state of their
// own (it is checkpointed with the run). Check must not change the run.
type Checker interface {
	Name() string
	Check(s *Sim, ev *Event) error
}

// Observer sees every processed event with its effects (traces, the TUI,
// statistics). Observers are not part of the run's state.
type Observer interface {
	Observe(s *Sim, r *Record)
}

// PanicError reports a panic inside a process's handler: the run stops and
// synod reports it with the seed, the event and the protocol's stack.
type PanicError struct {
	Seed  uint64
	Index int64
	Time  Time
	Node  NodeID
	Event string
	Value string
	Stack string
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("panic in %v at event %d (t=%v, seed %d) handling %s: %s", e.Node, e.Index, e.Time, e.Seed, e.Event, e.Value)
}

// Stop reasons.
const (
	StopDuration  = "duration reached"
	StopDrained   = "no events left"
	StopEventsMax = "events bound reached"
	StopViolation = "invariant violated"
	StopPanic     = "protocol panicked"
)

// Sim is one simulated run. It is not safe for concurrent use; separate
// Sims share nothing and may run in parallel goroutines.
type Sim struct {
	st        *state
	blk       *forkBlock // the memory of a small fork (see ForkInto)
	observers []Observer
	faultObs  []FaultObserver
}

// FaultObserver sees every fault as it is applied (nemesis ticks resolved to
// the concrete fault), without making the simulator record every event.
type FaultObserver interface {
	ObserveFault(s *Sim, index int64, f *Fault)
}

// AddFaultObserver adds an observer of faults.
func (s *Sim) AddFaultObserver(o FaultObserver) { s.faultObs = append(s.faultObs, o) }

// state is everything a checkpoint copies.
type state struct {
	cfg     *Config // never changed after New: forks share it
	factory Factory
	now     Time
	nextID  EventID
	index   int64
	q       queue
	// fpScratch is where pendingFP encodes an event: each state its own
	// (a fork's starts empty), so forks of one run may be fingerprinted
	// by several goroutines.
	fpScratch []byte
	// checkedIndex is Index when the checkers last ran (LastCheckIndex).
	checkedIndex int64
	// checkerSpace is memory for the checkers' copies (ownCheckers): the
	// array that already lists the checkers, in a fork's own block.
	checkerSpace []Checker
	canceled     idSet
	procs        []*Env
	nodes        int
	net          *network
	nemRng       *Rand
	strikeRng    *Rand      // the strike nemesis's stream; nil without one
	strikes      strikeBook // the strike nemesis's moments, aims and shots (strike.go)
	stats        Stats
	checkers     []Checker
	// sharers has bit i set when checkers[i] is a CheckerSharer, so that
	// runCheckers asks the others' type only once (the assertion per
	// checker per event was 3% of a Raft chaos run). Checkers from
	// sharerBits on are asked each time.
	sharers    uint64
	violations []Violation
	sinceCheck int
	stopped    string
	err        error
	choices    []Choice
	cow        uint8 // what this state shares with a fork (see Fork)
	fpSets     bool  // Fingerprint counts pending messages as a set
	ownChoices bool  // choices' array belongs to this state (see ForkInto)
	// deferChecks holds the checkers back after each event until
	// RunDeferredChecks; checkDue and checkIdx say what waits (the event
	// is cur).
	deferChecks bool
	checkDue    bool
	checkIdx    int64
	// rec is the record observers see; nil unless recording.
	rec       *Record
	cur       Event
	recording bool
	nodeIDs   []NodeID
	// msgTypes holds the type words (typeWord) of factory.Messages, the
	// only types a send may carry when checkTypes (else any may). Built
	// once by New and never changed, so forks share it. A send scans it
	// inline: it is a handful of words (etcd-raft 3, Raft 7), and calling
	// a function value over the list cost the call and a load of its
	// closure besides the scan.
	msgTypes   []unsafe.Pointer
	checkTypes bool
}

// New builds a run. Nothing happens until Step or Run.
func New(cfg Config, f Factory) (*Sim, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if f.Node == nil {
		return nil, errors.New("factory: Node is nil")
	}
	if cfg.Clients > 0 && f.Client == nil {
		return nil, errors.New("factory: Client is nil but clients > 0")
	}
	if cfg.EventsMax == 0 {
		cfg.EventsMax = DefaultEventsMax
	}
	if cfg.CheckEvery == 0 {
		cfg.CheckEvery = 1
	}
	st := &state{cfg: &cfg, factory: f, nodes: cfg.Nodes}
	if f.Messages != nil {
		// A run declares a handful of types (etcd-raft 3, Raft 7): a scan
		// comparing type words is much cheaper than hashing the type into
		// a map, and every send pays it.
		types := make([]unsafe.Pointer, 0, len(f.Messages))
		for i, m := range f.Messages {
			if m == nil {
				return nil, fmt.Errorf("factory: Messages[%d] is nil", i)
			}
			types = append(types, typeWord(m))
		}
		st.msgTypes, st.checkTypes = types, true
	}
	st.net = newNetwork(cfg.Network, cfg.Nodes, cfg.Clients, cfg.Seed)
	down := map[NodeID]bool{}
	for _, id := range cfg.Down {
		down[id] = true
	}
	for i := 1; i <= cfg.Nodes; i++ {
		id := NodeID(i)
		st.nodeIDs = append(st.nodeIDs, id)
		st.procs = append(st.procs, &Env{st: st, id: id, idx: i - 1, rng: NewRand(cfg.Seed, "node/"+id.String()), store: newStorage(), rate: 1})
	}
	for i := 1; i <= cfg.Clients; i++ {
		id := ClientID(i)
		st.procs = append(st.procs, &Env{st: st, id: id, idx: cfg.Nodes + i - 1, rng: NewRand(cfg.Seed, "client/"+id.String()), rate: 1})
	}
	for _, e := range st.procs {
		if !down[e.id] {
			st.push(Event{Kind: KindStart, To: e.id})
		}
	}
	for i := range cfg.Faults {
		f := cfg.Faults[i].Fault
		f.Source = "schedule"
		st.push(Event{Kind: KindFault, At: cfg.Faults[i].At, Fault: &f})
	}
	if n := cfg.Nemesis; n != nil {
		st.nemRng = NewRand(cfg.Seed, "nemesis")
		if n.DriftMax > 0 {
			for _, e := range st.procs[:cfg.Nodes] {
				e.rate = 1 + (st.nemRng.Float64()*2-1)*n.DriftMax
			}
		}
		for k, kind := range nemesisKinds {
			if every := n.every(kind); every > 0 {
				st.scheduleNemesis(k, 0)
			}
		}
		if n.HealAt > 0 {
			st.push(Event{Kind: KindFault, At: n.HealAt, Fault: &Fault{Kind: FaultHealAll, Source: "nemesis"}})
		}
		if n.Strike != nil {
			st.strikeRng = NewRand(cfg.Seed, "nemesis/strike")
		}
	}
	return &Sim{st: st}, nil
}

// typeWord is the first word of the interface value m: the runtime's
// descriptor of the pair (Message, m's dynamic type), one per pair, which
// the language's own == on interfaces compares first. Two messages have
// the same word if and only if they have the same type: comparing words
// is a send's registered-type check without reflect.TypeOf and a call to
// compare the reflect.Type values (0.8% of an etcd-raft chaos run).
func typeWord(m Message) unsafe.Pointer {
	return (*[2]unsafe.Pointer)(unsafe.Pointer(&m))[0]
}

// AddChecker adds an invariant checker; it runs after every CheckEvery-th event.
func (s *Sim) AddChecker(c Checker) {
	s.st.checkers = append(s.st.checkers, c)
	s.st.markSharer(len(s.st.checkers)-1, c)
}

// sharerBits is how many checkers state.sharers tells apart.
const sharerBits = 64

// markSharer records in sharers whether c, checkers[i], is a
// CheckerSharer.
func (st *state) markSharer(i int, c Checker) {
	if i >= sharerBits {
		return
	}
	if _, ok := c.(CheckerSharer); ok {
		st.sharers |= 1 << i
	} else {
		st.sharers &^= 1 << i
	}
}

// Checkers returns the run's checkers (their state may be queried; do not
// change them).
func (s *Sim) Checkers() []Checker { return s.st.checkers }

// AddObserver adds an observer of every event. Observers make the simulator
// record each event's effects, which costs time: runs without observers
// allocate nothing per event in the core loop.
func (s *Sim) AddObserver(o Observer) {
	s.observers = append(s.observers, o)
	s.st.startRecording()
}

// push schedules an event, giving it the next id.
func (st *state) push(ev Event) EventID {
	ev.ID = st.nextID
	st.nextID++
	st.q.push(ev)
	return ev.ID
}

// pushNew schedules an event due at `at`, giving it the next id, and
// returns it zero but for At and ID: the caller fills in the rest at once
// (see queue.pushNew).
func (st *state) pushNew(at Time) *Event {
	id := st.nextID
	st.nextID++
	return st.q.pushNew(at, id)
}

// Now is the current simulated time.
func (s *Sim) Now() Time { return s.st.now }

// Index is the number of events processed so far, which is also the index
// the next event will get.
func (s *Sim) Index() int64 { return s.st.index }

// Config returns the run's configuration (with defaults filled in).
func (s *Sim) Config() Config { return *s.st.cfg }

// Stats returns the counters so far.
func (s *Sim) Stats() Stats { st := s.st.stats; st.Events = s.st.index; return st }

// Violations returns the invariant violations found so far.
func (s *Sim) Violations() []Violation { return s.st.violations }

// Stopped returns why the run stopped, or "" if it can go on.
func (s *Sim) Stopped() string { return s.st.stopped }

// Err returns the panic that stopped the run, if any.
func (s *Sim) Err() error { return s.st.err }

// Choices returns the manual choices made so far, in order.
func (s *Sim) Choices() []Choice { return s.st.choices }

// Nodes returns the ids of the nodes, n1..nN.
func (s *Sim) Nodes() []NodeID { return s.st.nodeIDs }

// proc returns the Env of a process, or nil.
func (st *state) proc(id NodeID) *Env {
	switch {
	case id > 0 && int(id) <= st.nodes:
		return st.procs[id-1]
	case id < 0 && int(-id) <= st.cfg.Clients:
		return st.procs[st.nodes+int(-id)-1]
	}
	return nil
}

// Process returns the live process with the given id, or nil if it is down.
func (s *Sim) Process(id NodeID) Process {
	if e := s.st.proc(id); e != nil {
		return e.p
	}
	return nil
}

// Inspect returns the process's own view of its state; ok is false when the
// process is down or offers no view.
func (s *Sim) Inspect(id NodeID) (v View, ok bool) {
	if in, ok := s.Process(id).(Inspector); ok {
		return in.Inspect(), true
	}
	return View{}, false
}

// Storage returns a node's stable storage (read-only for callers), crashed
// nodes included.
func (s *Sim) Storage(id NodeID) *Storage {
	if e := s.st.proc(id); e != nil {
		return e.store
	}
	return nil
}

// Up reports whether the process is running (not crashed).
func (s *Sim) Up(id NodeID) bool { e := s.st.proc(id); return e != nil && e.up }

// Started reports whether the process has ever started (a spare that
// never started is down but not crashed).
func (s *Sim) Started(id NodeID) bool { e := s.st.proc(id); return e != nil && e.started }

// Paused reports whether the process is paused.
func (s *Sim) Paused(id NodeID) bool { e := s.st.proc(id); return e != nil && e.paused }

// Drift returns the clock rate of a process (1 is exact).
func (s *Sim) Drift(id NodeID) float64 {
	if e := s.st.proc(id); e != nil {
		return e.rate
	}
	return 1
}

// Blocked reports whether messages from one node cannot reach another now
// (a partition or a one-way cut).
func (s *Sim) Blocked(from, to NodeID) bool {
	f, t := s.st.proc(from), s.st.proc(to)
	if f == nil || t == nil {
		return false
	}
	return s.st.net.blocked(f.idx, t.idx)
}

// Group returns the partition group of a node (all zero when unpartitioned).
func (s *Sim) Group(id NodeID) int {
	if id < 1 || int(id) > s.st.nodes {
		return 0
	}
	return s.st.net.group[id-1]
}

// Partitioned reports whether any partition or cut is in force.
func (s *Sim) Partitioned() bool { return s.st.net.partitioned() }

// Step processes the next event. It returns false when the run has stopped.
func (s *Sim) Step() bool { return s.stepBefore(TimeMax) }

// stepBefore processes the next event if it is due at or before limit. It
// returns false when the run stopped or the next event is later than limit.
func (s *Sim) stepBefore(limit Time) bool {
	st := s.st
	for st.stopped == "" {
		if st.q.len() == 0 {
			st.stopped = StopDrained
			return false
		}
		next := st.q.heap[0].at
		if st.cfg.Duration > 0 && next > st.cfg.Duration {
			if st.now < st.cfg.Duration {
				st.now = st.cfg.Duration
			}
			st.stopped = StopDuration
			return false
		}
		if next > limit {
			return false
		}
		if st.index >= st.cfg.EventsMax {
			st.stopped = StopEventsMax
			return false
		}
		// The event lives in the state, not on the heap: handlers may
		// take its address, and a local would escape and allocate.
		st.q.popInto(&st.cur)
		if st.skip(&st.cur) {
			continue
		}
		s.process(&st.cur)
		return true
	}
	return false
}

// skip reports whether a popped event is void: a canceled timer, a timer
// of an earlier incarnation, or an event held for a paused process.
func (st *state) skip(ev *Event) bool {
	switch ev.Kind {
	case KindTimer:
		if st.canceled.has(ev.ID) {
			st.ownCanceled()
			st.canceled.del(ev.ID)
			return true
		}
		e := st.proc(ev.To)
		if e.epoch != ev.epoch || !e.up {
			return true
		}
		if e.paused {
			e.held = append(e.held, *ev)
			return true
		}
		e.ownTimers()
		e.timers.del(ev.ID)
	case KindStart:
		e := st.proc(ev.To)
		return e.epoch != ev.epoch || e.up
	case KindDeliver, KindRequest:
		if e := st.proc(ev.To); e.up && e.paused {
			e.held = append(e.held, *ev)
			return true
		}
	}
	return false
}

// voidTimer reports whether a pending timer event will never fire: it was
// canceled, or set by an earlier incarnation of its process.
func (st *state) voidTimer(ev *Event) bool {
	if st.canceled.has(ev.ID) {
		return true
	}
	e := st.proc(ev.To)
	return e.epoch != ev.epoch || !e.up
}

// process runs one event: it advances the clock, gives the event its index,
// dispatches it, and runs checkers and observers.
func (s *Sim) process(ev *Event) {
	st := s.st
	if ev.At > st.now {
		st.now = ev.At
	}
	idx := st.index
	st.index++
	if st.recording {
		st.rec.reset(idx, ev)
	}
	switch ev.Kind {
	case KindStart:
		e := st.proc(ev.To)
		e.up = true
		e.started = true
		e.starting = false
		var p Process
		if ev.To.IsClient() {
			p = st.factory.Client(ev.To)
		} else {
			p = st.factory.Node(ev.To)
		}
		e.p = p
		e.timers = nil
		e.cow &^= cowProcess | cowTimers
		e.fpOK = false
		st.dispatch(e, ev)
	case KindDeliver, KindRequest:
		e := st.proc(ev.To)
		f := st.proc(ev.From)
		switch {
		case !e.up:
			st.stats.DroppedCrashed++
			st.rec.outcome("lost: " + ev.To.String() + " is down")
		case st.net.blocked(f.idx, e.idx):
			st.stats.DroppedPartition++
			st.rec.outcome("lost: partition")
		default:
			st.stats.Delivered++
			st.dispatch(e, ev)
		}
	case KindTimer:
		st.stats.TimersFired++
		st.dispatch(st.proc(ev.To), ev)
	case KindFault:
		st.stats.Faults++
		st.applyFault(ev)
		if ev.Fault.Kind != faultNemesis && ev.Fault.Kind != faultStrike {
			for _, o := range s.faultObs {
				o.ObserveFault(s, idx, ev.Fault)
			}
		}
	}
	if st.strikeRng != nil && ev.Kind != KindFault && ev.To > 0 && st.err == nil {
		st.watchLeader(st.proc(ev.To))
	}
	if len(st.checkers) > 0 && st.err == nil {
		st.sinceCheck++
		if st.sinceCheck >= st.cfg.CheckEvery {
			st.sinceCheck = 0
			if st.deferChecks {
				st.checkDue, st.checkIdx = true, idx
			} else {
				s.check(idx, ev)
			}
		}
	}
	if st.recording {
		for _, o := range s.observers {
			o.Observe(s, st.rec)
		}
	}
}

// Check runs every checker now, whatever CheckEvery says, and returns the
// number of new violations.
func (s *Sim) Check() int {
	n := len(s.st.violations)
	s.check(s.st.index-1, &Event{})
	return len(s.st.violations) - n
}

func (s *Sim) check(idx int64, ev *Event) {
	st := s.st
	st.ownCheckers()
	defer func() { st.checkedIndex = st.index }()
	for i := 0; i < len(st.checkers); i++ {
		var c Checker
		var err error
		if i, c, err = s.runCheckers(i, ev); err == nil {
			return // every checker from i on passed
		}
		v := Violation{Index: idx, Time: st.now, Checker: c.Name(), Message: err.Error()}
		st.violations = append(st.violations, v)
		if st.recording {
			st.rec.violations = append(st.rec.violations, v)
		}
		if !st.cfg.KeepGoing {
			st.stopped = StopViolation
			return
		}
	}
}

// runCheckers runs the checkers from checker from on and stops at the
// first that fails or panics: it returns that checker's index, the
// checker and its error, or a nil error once all passed. One deferred recover covers them all, since a
// recover per checker per event cost 3% of a chaos run; i is the checker
// running when a panic comes, so the panic is still its violation. The
// deferred function calls recover only when the loop did not return (done):
// recover is a call into the runtime, made after every event for nothing.
func (s *Sim) runCheckers(from int, ev *Event) (i int, c Checker, err error) {
	done := false
	defer func() {
		if done {
			return
		}
		if r := recover(); r != nil {
			err = fmt.Errorf("checker panicked: %v", r)
		}
	}()
	st := s.st
	for i = from; i < len(st.checkers); i++ {
		c = st.checkers[i]
		var sh CheckerSharer
		if i >= sharerBits || st.sharers&(1<<i) != 0 {
			sh, _ = c.(CheckerSharer)
		}
		if sh != nil {
			var next Checker
			next, err = sh.CheckShared(s, ev)
			if next != nil {
				st.checkers[i] = next // the list is this run's (ownCheckers)
				st.markSharer(i, next)
			}
		} else {
			err = c.Check(s, ev)
		}
		if err != nil {
			done = true
			return i, c, err
		}
	}
	done = true
	return i, nil, nil
}

// LastCheckIndex returns what Index was when the checkers last ran
// before the check running now (0 if they never ran). A checker that sees
// it equal to Index()-1 saw every event before the current one.
func (s *Sim) LastCheckIndex() int64 { return s.st.checkedIndex }

// dispatch calls the process's handler for ev, catching a panic.
func (st *state) dispatch(e *Env, ev *Event) {
	defer func() {
		if r := recover(); r != nil {
			st.err = &PanicError{Seed: st.cfg.Seed, Index: st.index - 1, Time: st.now, Node: e.id,
				Event: ev.Describe(), Value: fmt.Sprint(r), Stack: string(debug.Stack())}
			st.stopped = StopPanic
			st.rec.outcome("panic: " + fmt.Sprint(r))
		}
	}()
	e.persisted = false
	if ev.Kind != KindStart {
		e.ownProcess()
	}
	switch ev.Kind {
	case KindStart:
		e.p.Start(e)
	case KindDeliver, KindRequest:
		e.p.Receive(e, ev.From, ev.Msg)
	case KindTimer:
		e.p.Timer(e, ev.Timer)
	}
}

// send carries a message from e to the process to through the network model.
func (st *state) send(e *Env, to NodeID, msg Message) {
	t := st.proc(to)
	if t == nil {
		panic(fmt.Sprintf("%v sent %s to %v, which does not exist", e.id, Describe(msg), to))
	}
	if msg == nil {
		panic(fmt.Sprintf("%v sent a nil message to %v", e.id, to))
	}
	if st.checkTypes && !slices.Contains(st.msgTypes, typeWord(msg)) {
		panic(st.unregistered(e, to, msg))
	}
	kind := KindDeliver
	if e.id.IsClient() {
		kind = KindRequest
	}
	if kind == KindRequest || to.IsClient() {
		st.stats.ClientMessages++
	} else {
		st.stats.Sent++
	}
	depart := st.now
	if e.persisted {
		depart += st.cfg.FsyncDelay
	}
	// Effects are built only when recorded: an Effect literal is filled
	// in on the stack before Record.effect looks whether it is wanted.
	rec := st.recOn()
	if t == e {
		id := st.pushSend(kind, depart, e.id, to, msg, false)
		if rec {
			st.rec.effect(Effect{Kind: EffectSend, ID: id, To: to, At: depart, Msg: msg})
		}
		return
	}
	net := st.net
	if net.blocked(e.idx, t.idx) {
		st.stats.DroppedPartition++
		if rec {
			st.rec.effect(Effect{Kind: EffectDrop, To: to, Msg: msg, Name: "partition"})
		}
		return
	}
	li := e.idx*net.procs + t.idx
	link := &net.links[li]
	random := link.random()
	if random || net.fifo {
		// The link's stream or its FIFO clock changes: a fork copies the
		// network first. A fixed, lossless link changes nothing.
		st.ownNet()
		net = st.net
		link = &net.links[li]
	}
	var r *Rand
	if random {
		if r = net.rng[li]; r == nil {
			r = net.newLinkRand(e.idx, t.idx)
		}
	}
	if r.Chance(link.Loss) {
		st.stats.DroppedLoss++
		if rec {
			st.rec.effect(Effect{Kind: EffectDrop, To: to, Msg: msg, Name: "loss"})
		}
		return
	}
	at := st.arrival(li, depart, link, r)
	id := st.pushSend(kind, at, e.id, to, msg, false)
	if rec {
		st.rec.effect(Effect{Kind: EffectSend, ID: id, To: to, At: at, Msg: msg})
	}
	if r.Chance(link.Duplicate) {
		st.stats.Duplicated++
		at := st.arrival(li, depart, link, r)
		id := st.pushSend(kind, at, e.id, to, msg, true)
		if rec {
			st.rec.effect(Effect{Kind: EffectSend, ID: id, To: to, At: at, Msg: msg, Dup: true})
		}
	}
}

// pushSend queues the delivery of msg from from to to at at, sent now.
func (st *state) pushSend(kind EventKind, at Time, from, to NodeID, msg Message, dup bool) EventID {
	ev := st.pushNew(at)
	ev.Kind, ev.From, ev.To, ev.Msg, ev.Sent, ev.Dup = kind, from, to, msg, st.now, dup
	return ev.ID
}

// unregistered explains a send of a message type the run did not declare.
func (st *state) unregistered(e *Env, to NodeID, msg Message) string {
	from := st.factory.MessagesFrom
	if from == "" {
		from = "the run's Factory.Messages"
	}
	return fmt.Sprintf("%v sent %s to %v: message type %q (%T) is not registered in %s; add %s to it, or no trace of this run can be replayed",
		e.id, Describe(msg), to, msg.MessageType(), msg, from, example(msg))
}

// example renders how a message type is listed: &pkg.T{} or pkg.T{}.
func example(msg Message) string {
	t := reflect.TypeOf(msg)
	if t.Kind() == reflect.Pointer {
		return "&" + t.Elem().String() + "{}"
	}
	return t.String() + "{}"
}

func (st *state) arrival(li int, depart Time, link *Link, r *Rand) Time {
	at := depart + link.Latency.sample(link.dist, r)
	if st.net.fifo {
		if at < st.net.last[li] {
			at = st.net.last[li]
		}
		st.net.last[li] = at
	}
	return at
}

// Pending returns the events waiting in the queue, earliest first, without
// canceled or dead timers. Held events of paused processes are not pending.
func (s *Sim) Pending() []Event {
	st := s.st
	out := make([]Event, 0, st.q.len())
	for _, qe := range st.q.heap {
		ev := st.q.slab[qe.slot]
		if ev.Kind == KindTimer && st.voidTimer(&ev) {
			continue
		}
		out = append(out, ev)
	}
	slices.SortFunc(out, func(a, b Event) int {
		if a.At != b.At {
			if a.At < b.At {
				return -1
			}
			return 1
		}
		if a.ID < b.ID {
			return -1
		}
		return 1
	})
	return out
}

// AppendPending appends the pending events to buf in the order Pending
// gives them, without allocating when buf is large enough.
func (s *Sim) AppendPending(buf []Event) []Event {
	st := s.st
	n0 := len(buf)
	for _, qe := range st.q.heap {
		ev := &st.q.slab[qe.slot]
		if ev.Kind == KindTimer && st.voidTimer(ev) {
			continue
		}
		buf = append(buf, *ev)
	}
	// Insertion sort by (At, ID): queues a search branches on are short.
	out := buf[n0:]
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].At < out[j-1].At || out[j].At == out[j-1].At && out[j].ID < out[j-1].ID); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return buf
}

// Held returns the events held for a paused process, in order.
func (s *Sim) Held(id NodeID) []Event {
	if e := s.st.proc(id); e != nil {
		return append([]Event(nil), e.held...)
	}
	return nil
}

// NextAt returns the time of the next pending event, or TimeMax.
func (s *Sim) NextAt() Time {
	if s.st.q.len() == 0 {
		return TimeMax
	}
	return s.st.q.heap[0].at
}

// RunUntil processes events due at or before t, then moves the clock to t.
// It returns false if the run stopped.
func (s *Sim) RunUntil(t Time) bool {
	for s.stepBefore(t) {
	}
	if s.st.stopped != "" {
		return false
	}
	if t > s.st.now && (s.st.cfg.Duration == 0 || t <= s.st.cfg.Duration) {
		s.st.now = t
	}
	return true
}

// RunWhile steps while cond holds, at most max events (max <= 0: no bound).
// It returns the number of events processed.
func (s *Sim) RunWhile(cond func(*Sim) bool, max int64) int64 {
	var n int64
	for (max <= 0 || n < max) && cond(s) && s.Step() {
		n++
	}
	return n
}

// RunUntilCond steps until pred holds (checked before each step), at most
// max events (max <= 0: no bound). It reports whether pred came to hold.
func (s *Sim) RunUntilCond(pred func(*Sim) bool, max int64) bool {
	var n int64
	for !pred(s) {
		if (max > 0 && n >= max) || !s.Step() {
			return pred(s)
		}
		n++
	}
	return true
}

// Run processes events until the run stops, and returns why it stopped.
func (s *Sim) Run() string {
	for s.Step() {
	}
	return s.st.stopped
}

// timeout converts a local-clock duration of process e to true time.
func (e *Env) toTrue(d Time) Time {
	if e.rate == 1 {
		return d
	}
	return Time(math.Round(float64(d) / e.rate))
}
