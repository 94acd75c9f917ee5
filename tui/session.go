// Package tui is synod's terminal user interface: it steps through any run
// of any registered protocol, forward and back, lets the user schedule
// messages by hand and inject faults, and saves the run so that it reopens
// at the same point.
//
// The simulation lives in a Session (a scenario instance driven through a
// sim.Timeline, so every manual choice is recorded); the bubbletea Model
// only renders it and drives it from Update.
package tui

import (
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Entry flags mark interesting events.
const (
	flagRole      uint8 = 1 << iota // some node's role changed
	flagLeader                      // the cluster's leader changed
	flagCommit                      // the highest commit index grew
	flagFault                       // a fault was applied
	flagViolation                   // an invariant was found broken
	flagPanic                       // a protocol panicked
)

// TimerNamer is a process that names its timers for a reader: a timer's
// argument is a protocol's own value (2PC's is a transaction id, which
// the simulator's renderer prints as work(4294967302); the node says
// "work t1.6"). TimerName must depend on the timer alone.
type TimerNamer interface {
	TimerName(t sim.Timer) string
}

// describe is the one renderer, (*sim.Event).Describe, with a timer
// named by its process when the process can (TimerNamer).
func describe(sm *sim.Sim, ev *sim.Event) string {
	if ev.Kind == sim.KindTimer {
		if tn, ok := sm.Process(ev.To).(TimerNamer); ok {
			return fmt.Sprintf("t=%v %v timer %s", ev.At, ev.To, tn.TimerName(ev.Timer))
		}
	}
	return ev.Describe()
}

// timerName is a timer's name as the cards show it.
func timerName(sm *sim.Sim, ev *sim.Event) string {
	if tn, ok := sm.Process(ev.To).(TimerNamer); ok {
		return tn.TimerName(ev.Timer)
	}
	return ev.Timer.Name
}

// RoleCommitter is a process that reports its role and commit index
// without building its whole sim.View (a Raft node's view renders its last
// log entries): the event log asks after every event. Both must be what
// Inspect reports.
type RoleCommitter interface {
	RoleCommit() (role string, commit int64)
}

// Entry is one processed event as the event log and the timeline strip
// show it. Entries are copied out of the simulator's reused Record.
type Entry struct {
	Index    int64
	At       sim.Time
	Kind     sim.EventKind
	From, To sim.NodeID
	MsgType  string
	Text     string // the one renderer: (*sim.Event).Describe
	Outcome  string
	// Note explains an event that changed nothing visible (noopTimer).
	Note    string
	Effects int
	Flags   uint8
	// Roles holds each node's role code after the event; it is shared with
	// the previous entry when no role changed.
	Roles  []uint8
	Leader sim.NodeID
	// Commit is the highest commit index any node reported so far.
	Commit int64
	// Faulty is true while some node is down or paused or the network is
	// partitioned: the timeline strip shades it.
	Faulty     bool
	ClientOK   bool
	ClientFail bool
	// Violations are the invariant violations the checkers found after
	// this event (nil almost always): the details pane shows their
	// messages, also from the visited future.
	Violations []sim.Violation
}

// leaderRoles are the roles the timeline strip shows as the leader: the one
// node that orders or decides for the others.
var leaderRoles = map[string]bool{"leader": true, "coordinator": true, "primary": true, "server": true}

// Interesting reports whether the event changed a role or a leader,
// committed, applied a fault or broke an invariant.
func (e *Entry) Interesting() bool { return e.Flags != 0 }

// Session is one run being viewed: the scenario, the live instance and the
// timeline through which every move and manual choice goes.
type Session struct {
	Scenario *scenario.Scenario
	Inst     *scenario.Instance
	TL       *sim.Timeline
	// Total is the length of the run when known (a reopened trace).
	Total int64
	// Warning is what the viewer must hear before trusting the run: a
	// reopened trace that failed its check (FromTrace). The TUI shows it
	// in the status line until the first key.
	Warning string

	log []Entry
	// protoIdx indexes the entries between nodes (no client in them):
	// the event log folds client traffic by default, and drawing it must
	// not walk the whole log.
	protoIdx  []int64
	roleNames []string
	roleCodes map[string]uint8
	// lin holds the linearizability verdicts computed on this branch, by
	// position (see lin.go); a manual choice forgets those past it.
	lin linCache
}

// DefaultInterval is the checkpoint interval of the viewer's timeline:
// stepping back one event replays at most this many events.
const DefaultInterval = 1000

// NewSession builds a run from the scenario, at position 0.
func NewSession(sc *scenario.Scenario) (*Session, error) {
	inst, err := scenario.Build(sc)
	if err != nil {
		return nil, err
	}
	s := &Session{Scenario: sc, Inst: inst, roleNames: []string{""}, roleCodes: map[string]uint8{"": 0}, lin: newLinCache()}
	inst.Sim.AddObserver(s)
	s.TL = sim.NewTimeline(inst.Sim, DefaultInterval)
	return s, nil
}

// Sim is the live run at the current position.
func (s *Session) Sim() *sim.Sim { return s.TL.Sim() }

// Index is the current position.
func (s *Session) Index() int64 { return s.TL.Index() }

// Furthest is the furthest position known on this branch.
func (s *Session) Furthest() int64 { return max(s.TL.Furthest(), s.Total, int64(len(s.log))) }

// Log returns the entries of the events seen so far on this branch, index
// order; entries past the current position belong to the visited future.
func (s *Session) Log() []Entry { return s.log }

// RoleName returns the role a code stands for.
func (s *Session) RoleName(c uint8) string { return s.roleNames[c] }

func (s *Session) roleCode(r string) uint8 {
	if c, ok := s.roleCodes[r]; ok {
		return c
	}
	if len(s.roleNames) >= 255 {
		return 0
	}
	c := uint8(len(s.roleNames))
	s.roleNames = append(s.roleNames, r)
	s.roleCodes[r] = c
	return c
}

// Observe records a processed event. Events replayed after a restore are
// already known (the run is deterministic) and are skipped.
func (s *Session) Observe(sm *sim.Sim, r *sim.Record) {
	i := r.Index
	if i < int64(len(s.log)) || i > int64(len(s.log)) {
		return
	}
	ev := &r.Event
	e := Entry{Index: i, At: ev.At, Kind: ev.Kind, From: ev.From, To: ev.To, Text: describe(sm, ev), Outcome: r.Outcome, Effects: len(r.Effects)}
	if ev.Msg != nil {
		e.MsgType = ev.Msg.MessageType()
	}
	n := len(sm.Nodes())
	var prev *Entry
	if i > 0 {
		prev = &s.log[i-1]
		e.Roles, e.Leader, e.Commit = prev.Roles, prev.Leader, prev.Commit
	} else {
		e.Roles = make([]uint8, n)
	}
	changed := false
	setRole := func(id sim.NodeID) {
		role := "down"
		if sm.Up(id) {
			role = ""
			var commit int64
			if rc, ok := sm.Process(id).(RoleCommitter); ok {
				role, commit = rc.RoleCommit()
			} else if v, ok := sm.Inspect(id); ok {
				role, commit = v.Role, v.Commit
			}
			if commit > e.Commit {
				e.Commit = commit
				e.Flags |= flagCommit
			}
		}
		c := s.roleCode(role)
		if role == "down" && e.Roles[id-1] == 0 {
			return // not started yet: not down
		}
		if e.Roles[id-1] != c {
			if !changed {
				e.Roles = append([]uint8(nil), e.Roles...)
				changed = true
			}
			e.Roles[id-1] = c
		}
	}
	if ev.Kind == sim.KindFault {
		for _, id := range sm.Nodes() {
			setRole(id)
		}
	} else if ev.To.IsNode() {
		setRole(ev.To)
	}
	if changed {
		e.Flags |= flagRole
		e.Leader = 0
		for k, c := range e.Roles {
			if leaderRoles[s.roleNames[c]] {
				e.Leader = sim.NodeID(k + 1)
				break
			}
		}
		if (prev == nil && e.Leader != 0) || (prev != nil && prev.Leader != e.Leader) {
			e.Flags |= flagLeader
		}
	}
	if ev.Kind == sim.KindFault {
		e.Flags |= flagFault
	}
	if vs := r.Violations(); len(vs) > 0 {
		e.Flags |= flagViolation
		e.Violations = append([]sim.Violation(nil), vs...)
	}
	if sm.Err() != nil {
		e.Flags |= flagPanic
	}
	// Nodes not started yet are not a fault: only crashed ones ("down").
	e.Faulty = sm.Partitioned()
	down := s.roleCode("down")
	for k, id := range sm.Nodes() {
		if e.Faulty {
			break
		}
		e.Faulty = e.Roles[k] == down || sm.Paused(id)
	}
	if resp, ok := ev.Msg.(*protocols.Response); ok && ev.To.IsClient() && r.Outcome == "" {
		e.ClientOK = resp.Status == protocols.StatusOK
		e.ClientFail = resp.Status == protocols.StatusFail
	}
	if ev.Kind == sim.KindTimer && r.Outcome == "" && !changed {
		e.Note = timerNote(ev, r.Effects)
	}
	if len(s.log) == cap(s.log) {
		// Doubling, not append's gentler growth for large slices: a run
		// of a million events would otherwise copy its log several times.
		s.log = append(make([]Entry, 0, max(2*cap(s.log), 1024)), s.log...)
	}
	s.log = append(s.log, e)
	if !e.client() {
		s.protoIdx = append(s.protoIdx, i)
	}
}

// client reports whether a client sent, receives or owns the event (a
// request, a reply, a retry timer).
func (e *Entry) client() bool { return e.From.IsClient() || e.To.IsClient() }

// Notes on timers that fired and did nothing a reader can see.
const (
	noopTimer  = "no-op: nothing due yet, so it only re-armed (its deadline moved since it was set: the node heard from a leader or granted a vote)"
	staleTimer = "no-op: a timer of an earlier role or term, ignored"
)

// timerNote explains a timer that fired and did nothing but set itself
// again (a lazy timer whose deadline moved: Raft's election timer after a
// heartbeat), or nothing at all (a stale timer); otherwise "".
func timerNote(ev *sim.Event, effects []sim.Effect) string {
	if len(effects) == 0 {
		return staleTimer
	}
	for _, f := range effects {
		if f.Kind != sim.EffectTimer || f.Name != ev.Timer.Name {
			return ""
		}
	}
	return noopTimer
}

// Step moves one event forward; it returns false when the run has stopped.
func (s *Session) Step() bool { return s.TL.Step() }

// GoTo moves to position k; forward moves replay recorded choices.
func (s *Session) GoTo(k int64) error { return s.TL.GoTo(k) }

// truncate forgets the log past the current position: a manual choice
// starts a new branch.
func (s *Session) truncate() {
	if i := s.Index(); i < int64(len(s.log)) {
		s.log = s.log[:i]
		k := sort.Search(len(s.protoIdx), func(j int) bool { return s.protoIdx[j] >= i })
		s.protoIdx = s.protoIdx[:k]
	}
	s.Total = 0
	s.lin.forget(s.Index())
}

// Deliver makes a pending event happen now (a recorded choice).
func (s *Session) Deliver(id sim.EventID) error { s.truncate(); return s.TL.Deliver(id) }

// Drop loses a pending message (a recorded choice).
func (s *Session) Drop(id sim.EventID) error { s.truncate(); return s.TL.Drop(id) }

// Duplicate copies a pending message (a recorded choice).
func (s *Session) Duplicate(id sim.EventID) error { s.truncate(); return s.TL.Duplicate(id) }

// Inject applies a fault now (a recorded choice).
func (s *Session) Inject(f sim.Fault) error { s.truncate(); return s.TL.Inject(f) }

// Fire fires a named timer at a process now (a recorded choice), e.g. a
// client's "submit".
func (s *Session) Fire(id sim.NodeID, name string, arg int64) error {
	s.truncate()
	return s.TL.Fire(id, name, arg)
}

// Save writes the whole run of this branch, with its manual choices, as a
// trace whose end line records the current position: `synod tui FILE`
// reopens it there, and `synod replay FILE` re-runs it and checks that it
// reproduces byte for byte. The run goes on to its end (the scenario's
// duration) so that the file is a complete trace.
func (s *Session) Save(path string) error {
	inst, err := scenario.Build(s.Scenario)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tw, err := inst.TraceTo(f)
	if err != nil {
		return err
	}
	tw.Position = s.Index()
	if err := inst.Sim.RunChoices(s.TL.Choices()); err != nil {
		return fmt.Errorf("replaying the choices: %v", err)
	}
	if err := tw.Close(inst.Sim); err != nil {
		return err
	}
	return f.Close()
}

// Open reads a saved trace and builds its session; it returns the
// position the trace was saved at.
func Open(path string) (*Session, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	t, err := sim.ReadTrace(f, path)
	if err != nil {
		return nil, 0, err
	}
	// A tampered trace is refused here, naming the file and field; an
	// unsigned one (an older synod) opens with FromTrace's warning.
	sc, err := scenario.FromTrace(t)
	if err != nil {
		return nil, 0, err
	}
	s, err := NewSession(sc)
	if err != nil {
		return nil, 0, err
	}
	return s, FromTrace(s, t), nil
}

// FromTrace loads a read trace's choices into a fresh session and returns
// the position it was saved at. It checks the trace first: a trace that
// fails t.Verify (edited after it was written, or unsigned) sets
// s.Warning, which the TUI shows before anything else. Callers should
// have built the scenario with scenario.FromTrace, which refuses a
// tampered trace outright; the warning is the second line of defence.
func FromTrace(s *Session, t *sim.Trace) int64 {
	switch err := t.Verify(); {
	case errors.Is(err, sim.ErrTraceUnsigned):
		s.Warning = fmt.Sprintf("note: %s is unsigned (an older synod wrote it): edits to it cannot be detected", t.Name)
	case err != nil:
		s.Warning = "warning: not the run it claims to be: " + err.Error()
	}
	s.TL.SetChoices(t.Choices)
	s.Total = t.End.Events
	if t.End.Position >= 0 {
		return t.End.Position
	}
	return t.End.Events
}
