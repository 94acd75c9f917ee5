package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// The linearizability verdict of the run so far. Porcupine's check can be
// costly, so the TUI never runs it on the UI's goroutine: the history is
// copied at the current position (cheap), checked by a command on a
// goroutine of its own, and the verdict is cached by position. Until it is
// known the status bar says so ("lin checking…", "lin not checked (X)"):
// it never shows a verdict of another position without naming it.

// LinVerdict is the linearizability check of the history up to a position.
type LinVerdict struct {
	// At is the position checked: the history of events 0..At-1, with
	// operations still in flight counted as unknown.
	At int64
	// Result is ok, violation, unknown (the budget ran out: Reason says
	// which, and how to raise it) or skipped (the protocol or scenario
	// does not check linearizability).
	Result protocols.LinResult
	Reason string
	// Ops is the number of operations checked.
	Ops int
	// Explanation tells a violation as a short story; nil otherwise, or
	// when the checker could not explain it.
	Explanation *protocols.LinExplanation
}

// LinChecker decides a history. It runs on a goroutine of its own, so it
// must not touch the simulation: everything it needs is in its arguments
// (end is the simulated time of the position, after which the unanswered
// operations are taken to return). Options.CheckLin replaces the default,
// protocols.CheckLinearizable with the scenario's budget: tests inject a
// hand-built verdict through it.
type LinChecker func(history []protocols.OpRecord, end sim.Time) LinVerdict

// linCacheMax bounds the verdicts remembered per run: each holds at most a
// screenful of explanation, and a user checks a handful of positions.
const linCacheMax = 64

// linCache is the verdicts of one branch of the run, by position.
type linCache struct {
	byAt map[int64]LinVerdict
	// checking is the position being checked (-1: none) by the check
	// numbered inflight (0: none); seq numbers the checks started.
	checking      int64
	inflight, seq int
}

func newLinCache() linCache { return linCache{byAt: map[int64]LinVerdict{}, checking: -1} }

func (c *linCache) get(at int64) (LinVerdict, bool) {
	v, ok := c.byAt[at]
	return v, ok
}

func (c *linCache) put(v LinVerdict) {
	if _, ok := c.byAt[v.At]; !ok && len(c.byAt) >= linCacheMax {
		// Forget the earliest position: deterministic, and the furthest
		// one (the end of the run) is what the screen falls back on.
		drop := int64(-1)
		for at := range c.byAt {
			if drop < 0 || at < drop {
				drop = at
			}
		}
		delete(c.byAt, drop)
	}
	c.byAt[v.At] = v
}

// furthest is the verdict of the furthest position checked, among those
// that pass keep (nil: any): the run's end, usually, which the end of a
// run checks by itself.
func (c *linCache) furthest(keep func(*LinVerdict) bool) (LinVerdict, bool) {
	var best LinVerdict
	found := false
	for at, v := range c.byAt {
		if (keep == nil || keep(&v)) && (!found || at > best.At) {
			best, found = v, true
		}
	}
	return best, found
}

// forget drops the verdicts past position i: a manual choice made there
// changed the history that follows.
func (c *linCache) forget(i int64) {
	for at := range c.byAt {
		if at > i {
			delete(c.byAt, at)
		}
	}
	if c.checking > i {
		// The check in flight describes a future that no longer exists.
		c.checking, c.inflight = -1, 0
	}
}

// linDoneMsg carries a finished check back to Update.
type linDoneMsg struct {
	v  LinVerdict
	id int
}

// linEnabled says whether the run checks linearizability, as
// scenario.Instance.Summarize decides it: the protocol's operations are
// linearizable KV operations and the scenario did not turn the check off.
func (s *Session) linEnabled() bool {
	on := s.Scenario.Checks.Linearizability == nil || *s.Scenario.Checks.Linearizability
	_, panicked := s.Sim().Err().(*sim.PanicError)
	return s.Inst.Spec.Linearizable && on && !panicked
}

// defaultLinChecker is `synod run`'s check: porcupine within the
// scenario's budget (lin_budget, default 10s), so the TUI's verdict is the
// one `synod run` prints for the same history.
func (s *Session) defaultLinChecker() LinChecker {
	budget := time.Duration(s.Scenario.Checks.LinBudget)
	return func(h []protocols.OpRecord, end sim.Time) LinVerdict {
		c := protocols.CheckLinearizable(h, end, budget)
		return LinVerdict{Result: c.Result, Reason: c.Reason, Ops: c.Ops, Explanation: c.Explanation}
	}
}

// startLinCheck checks the history at the current position: at once when
// the run does not check linearizability, else on a goroutine. At most
// one check runs at a time.
func (m *Model) startLinCheck() tea.Cmd {
	s := m.sess
	at := s.Index()
	if !s.linEnabled() {
		s.lin.put(LinVerdict{At: at, Result: protocols.LinSkipped,
			Reason: fmt.Sprintf("protocol %s does not check linearizability here (its spec, the scenario's checks, or a panic)", s.Scenario.Protocol)})
		return nil
	}
	check := m.opts.CheckLin
	if check == nil {
		check = s.defaultLinChecker()
	}
	hist := s.Inst.History()
	end := s.Sim().Now()
	s.lin.seq++
	id := s.lin.seq
	s.lin.checking, s.lin.inflight = at, id
	cmd := func() (msg tea.Msg) {
		defer func() {
			// A checker that panics gives an unknown verdict, never a
			// dead UI.
			if r := recover(); r != nil {
				msg = linDoneMsg{v: LinVerdict{At: at, Result: protocols.LinUnknown, Reason: fmt.Sprintf("the check panicked: %v", r)}, id: id}
			}
		}()
		v := check(hist, end)
		v.At = at
		return linDoneMsg{v: v, id: id}
	}
	if len(hist) <= m.opts.LinSyncOpsMax {
		m.onLinDone(cmd().(linDoneMsg))
		return nil
	}
	return cmd
}

// onLinDone stores a finished check, unless a manual choice made before
// its position voided it meanwhile.
func (m *Model) onLinDone(d linDoneMsg) {
	s := m.sess
	if d.id != s.lin.inflight {
		m.flash = fmt.Sprintf("linearizability check of event %d dropped: the run branched before it (X checks again)", d.v.At)
		return
	}
	s.lin.checking, s.lin.inflight = -1, 0
	s.lin.put(d.v)
	m.linMarks()
	if d.v.Result == protocols.LinViolation && !m.showVerdicts {
		m.flash = "not linearizable: X shows why"
		if d.v.Explanation != nil {
			m.flash += ", e/E walk its operations on the event log"
		}
	}
}

// autoLinCheck checks the history when the run has reached its end and
// nothing is known there yet.
func (m *Model) autoLinCheck() tea.Cmd {
	s := m.sess
	if m.job != nil || s.lin.checking >= 0 || !m.atEnd() {
		return nil
	}
	if _, ok := s.lin.get(s.Index()); ok {
		return nil
	}
	return m.startLinCheck()
}

// atEnd reports whether the run has ended here: the simulator stopped (the
// scenario's duration, a violation, no more events) or a reopened trace
// is at its last event.
func (m *Model) atEnd() bool {
	s := m.sess
	return s.Sim().Stopped() != "" || (s.Total > 0 && s.Index() >= s.Total)
}

// verdictHere is the verdict of the current position, if checked.
func (m *Model) verdictHere() (LinVerdict, bool) { return m.sess.lin.get(m.sess.Index()) }

// otherVerdict is the one the screen falls back on, named with its
// position: the furthest position's.
func (m *Model) otherVerdict() (LinVerdict, bool) { return m.sess.lin.furthest(nil) }

// explained is the verdict whose explanation the event log marks: the
// current position's when it has one, else the furthest explained one
// (a failure found at the end is walked from anywhere in the run).
func (m *Model) explained() (LinVerdict, bool) {
	if v, ok := m.verdictHere(); ok && v.Explanation != nil {
		return v, true
	}
	return m.sess.lin.furthest(func(v *LinVerdict) bool { return v.Explanation != nil })
}

// linStatus is the status bar's field.
func (m *Model) linStatus() string {
	s := m.sess
	here := s.Index()
	if s.lin.checking == here {
		return "lin checking…"
	}
	v, ok := m.verdictHere()
	if !ok {
		v, ok = m.otherVerdict()
	}
	if !ok {
		if s.lin.checking >= 0 {
			return fmt.Sprintf("lin@%d checking…", s.lin.checking)
		}
		return "lin not checked (X)"
	}
	word := "lin " + string(v.Result)
	if v.At != here {
		word = fmt.Sprintf("lin@%d %s", v.At, v.Result)
	}
	switch v.Result {
	case protocols.LinViolation:
		return m.st.Bad.Render(word)
	case protocols.LinUnknown:
		return m.st.Bold.Render(word)
	}
	return word
}

// linMark is the part an event plays in the shown explanation: the
// invocation or the return of one of its operations.
type linMark struct {
	Op     int // index in Explanation.Ops
	Return bool
	Role   protocols.LinRole
}

// linSymbol is the event log's mark for a role, one cell wide.
func linSymbol(r protocols.LinRole) string {
	switch r {
	case protocols.RoleCannotPlace:
		return "✗"
	case protocols.RoleConcurrent:
		return "~"
	case protocols.RoleBefore:
		return "<"
	}
	return "?"
}

// linRank orders roles by how much they tell: the failing operation first.
func linRank(r protocols.LinRole) int {
	switch r {
	case protocols.RoleCannotPlace:
		return 0
	case protocols.RoleConcurrent:
		return 1
	}
	return 2
}

// linMarks rebuilds the event log's marks from the shown explanation.
func (m *Model) linMarks() {
	marks := map[int64][]linMark{}
	v, ok := m.explained()
	if ok {
		for i, o := range v.Explanation.Ops {
			if o.CallEvent >= 0 {
				marks[o.CallEvent] = append(marks[o.CallEvent], linMark{Op: i, Role: o.Role})
			}
			if o.ReturnEvent >= 0 {
				marks[o.ReturnEvent] = append(marks[o.ReturnEvent], linMark{Op: i, Return: true, Role: o.Role})
			}
		}
		for _, ms := range marks {
			sort.SliceStable(ms, func(a, b int) bool { return linRank(ms[a].Role) < linRank(ms[b].Role) })
		}
	}
	m.log.Marks = marks
	m.details.Marks = marks
	m.details.Lin = linView{Checking: m.sess.lin.checking}
	if here, ok := m.verdictHere(); ok {
		m.details.Lin.Here = &here
	}
	if other, ok := m.otherVerdict(); ok && other.At != m.sess.Index() {
		m.details.Lin.Other = &other
	}
	if ok {
		m.details.Lin.Explained = &v
	}
}

// linView is what the details pane shows of linearizability: the
// verdict here, the furthest one elsewhere, the check in flight, and the
// verdict whose explanation is marked.
type linView struct {
	Here, Other, Explained *LinVerdict
	Checking               int64
}

// markedEvents are the marked events in index order.
func (m *Model) markedEvents() []int64 {
	out := make([]int64, 0, len(m.log.Marks))
	for i := range m.log.Marks {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// jumpLin goes to the next (dir 1) or previous (dir -1) marked event: the
// position just after it, so that it is the current event.
func (m *Model) jumpLin(dir int) tea.Cmd {
	ev := m.markedEvents()
	if len(ev) == 0 {
		v, ok := m.verdictHere()
		if !ok {
			v, ok = m.otherVerdict()
		}
		switch {
		case m.sess.lin.checking >= 0:
			m.flash = "no marks yet: the linearizability check is running"
		case !ok:
			m.flash = "no marks: X checks linearizability here (G runs to the end, where it is checked)"
		case v.Result == protocols.LinViolation:
			m.flash = "no marks: the checker gave no explanation of this violation"
		default:
			m.flash = fmt.Sprintf("no marks: the history at event %d is %s", v.At, v.Result)
		}
		return nil
	}
	cur := m.sess.Index() - 1
	k := -1
	if dir > 0 {
		k = sort.Search(len(ev), func(i int) bool { return ev[i] > cur })
		if k == len(ev) {
			m.flash = fmt.Sprintf("no marked event after %d (E goes back)", cur)
			return nil
		}
	} else {
		k = sort.Search(len(ev), func(i int) bool { return ev[i] >= cur }) - 1
		if k < 0 {
			m.flash = fmt.Sprintf("no marked event before %d (e goes forward)", max(cur, 0))
			return nil
		}
	}
	at := ev[k]
	m.flash = fmt.Sprintf("mark %d/%d, event %d: %s", k+1, len(ev), at, m.describeMarks(at))
	return m.seek(at + 1)
}

// describeMarks says what an event is in the explanation: "return of c2
// get k1 (cannot-place)".
func (m *Model) describeMarks(i int64) string {
	v, ok := m.explained()
	if !ok {
		return ""
	}
	var parts []string
	for _, mk := range m.log.Marks[i] {
		o := v.Explanation.Ops[mk.Op]
		what := "invocation"
		if mk.Return {
			what = "return"
		}
		parts = append(parts, fmt.Sprintf("%s of %v %v (%s)", what, o.Client, o.Op, o.Role))
	}
	return strings.Join(parts, "; ")
}

// verdictLines is the details pane's verdicts view: the invariant
// violations so far with their checkers' messages, and the
// linearizability verdicts, here and at the furthest position checked,
// with the reason of an unknown and the explanation of a violation.
func verdictLines(s *Session, lv linView) []string {
	sm := s.Sim()
	out := []string{fmt.Sprintf("verdicts at event %d (%v)", s.Index(), sm.Now())}
	vs := sm.Violations()
	noun := "violations"
	if len(vs) == 1 {
		noun = "violation"
	}
	out = append(out, fmt.Sprintf("invariants: %d %s", len(vs), noun))
	for _, x := range vs {
		out = append(out, "  ! "+x.String())
	}
	switch {
	case lv.Checking == s.Index():
		out = append(out, "linearizability here: checking…")
	case lv.Here == nil:
		out = append(out, "linearizability here: not checked (X)")
	default:
		out = append(out, verdictLine("here", lv.Here)...)
	}
	if lv.Checking >= 0 && lv.Checking != s.Index() {
		out = append(out, fmt.Sprintf("linearizability at %d: checking…", lv.Checking))
	}
	if lv.Other != nil {
		out = append(out, verdictLine(fmt.Sprintf("at %d", lv.Other.At), lv.Other)...)
	}
	if v := lv.Explained; v != nil && len(v.Explanation.Ops) > 0 {
		if v.At != s.Index() && (lv.Other == nil || v.At != lv.Other.At) {
			out = append(out, fmt.Sprintf("the failure found at %d:", v.At))
		}
		out = append(out, strings.Split(strings.TrimRight(v.Explanation.Text(), "\n"), "\n")...)
		out = append(out, "on the event log: "+linSymbol(protocols.RoleCannotPlace)+" cannot-place, "+
			linSymbol(protocols.RoleConcurrent)+" concurrent, "+linSymbol(protocols.RoleBefore)+" before; e/E go to the next/previous one")
	}
	return out
}

// verdictLine says one verdict: its result, the operations checked, and
// the reason of an unknown (or the missing explanation of a violation).
func verdictLine(where string, v *LinVerdict) []string {
	out := []string{fmt.Sprintf("linearizability %s: %s (%d ops)", where, v.Result, v.Ops)}
	if v.Reason != "" {
		out = append(out, "  "+v.Reason)
	}
	if v.Result == protocols.LinViolation && v.Explanation == nil {
		out = append(out, "  (no explanation: the checker did not give one)")
	}
	return out
}
