package tui

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	_ "github.com/synod-dev/synod/protocols/primarybackup"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// pbPartition is the shipped primary-backup run that is not linearizable
// (two primaries during a partition, then a primary restarted empty).
func pbPartition(tb testing.TB) *scenario.Scenario {
	tb.Helper()
	sc, err := scenario.Load("../testdata/scenarios/core/pb-partition.yaml")
	require.NoError(tb, err)
	return sc
}

// runCmd runs a command and the commands its messages give, on this
// goroutine, as bubbletea would (a linearizability check, a frame).
func runCmd(m *Model, cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			runCmd(m, c)
		}
	default:
		_, next := m.Update(msg)
		runCmd(m, next)
	}
}

// pressRun sends keys and runs the commands they give.
func pressRun(m *Model, keys ...string) {
	for _, k := range keys {
		_, cmd := m.Update(keyMsg(k))
		runCmd(m, cmd)
	}
}

func statusOf(s string) string {
	lines := strings.Split(s, "\n")
	return lines[len(lines)-2]
}

// opResult is what a client saw, as an explanation says it.
func opResult(r protocols.OpRecord) string {
	switch {
	case r.Status != protocols.OpOK:
		return "unknown"
	case r.Op.Kind == protocols.OpGet && !r.Found:
		return "(none)"
	case r.Op.Kind == protocols.OpGet:
		return fmt.Sprintf("%s = %q", r.Op.Key, r.Value)
	}
	return "ok"
}

func linOp(r protocols.OpRecord, role protocols.LinRole) protocols.LinOp {
	return protocols.LinOp{Client: r.Client, Op: r.Op, Result: opResult(r), Call: r.Call, Return: r.Return,
		CallEvent: r.CallEvent, ReturnEvent: r.ReturnEvent, Role: role}
}

// handExplanation builds an explanation from a real history, as the
// checker would tell one, so that its marks land on real events: on the
// busiest key, the last answered get cannot be placed, the operation
// that overlaps it (or, with one client, the next one) is concurrent, and
// the two that returned before it was invoked come before. The story is
// made up; the events are not.
func handExplanation(tb testing.TB, hist []protocols.OpRecord) *protocols.LinExplanation {
	tb.Helper()
	byKey := map[string][]protocols.OpRecord{}
	for _, r := range hist {
		if r.Status == protocols.OpOK && r.ReturnEvent >= 0 {
			byKey[r.Op.Key] = append(byKey[r.Op.Key], r)
		}
	}
	key := ""
	for k, ops := range byKey {
		if len(ops) > len(byKey[key]) || (len(ops) == len(byKey[key]) && k < key) {
			key = k
		}
	}
	ops := byKey[key]
	require.GreaterOrEqual(tb, len(ops), 5, "key %s", key)
	sort.Slice(ops, func(a, b int) bool { return ops[a].Call < ops[b].Call })
	fail := -1
	for i := len(ops) - 2; i >= 2 && fail < 0; i-- {
		if ops[i].Op.Kind == protocols.OpGet {
			fail = i
		}
	}
	require.GreaterOrEqual(tb, fail, 2, "a get on %s with two operations before it", key)
	f := ops[fail]
	conc := fail + 1
	for i, r := range ops {
		if i != fail && r.Client != f.Client && r.Call < f.Return && r.Return > f.Call {
			conc = i
			break
		}
	}
	var story []protocols.LinOp
	before := 0
	for i := fail - 1; i >= 0 && before < 2; i-- {
		if i != conc && ops[i].Return < f.Call {
			story = append([]protocols.LinOp{linOp(ops[i], protocols.RoleBefore)}, story...)
			before++
		}
	}
	require.Equal(tb, 2, before)
	story = append(story, linOp(f, protocols.RoleCannotPlace), linOp(ops[conc], protocols.RoleConcurrent))
	sort.SliceStable(story, func(a, b int) bool { return story[a].Call < story[b].Call })
	failing := 0
	for i, o := range story {
		if o.Role == protocols.RoleCannotPlace {
			failing = i
		}
	}
	return &protocols.LinExplanation{Key: key, Ops: story, Failing: failing, StatesBefore: []string{`"made-up"`},
		Omitted: len(ops) - len(story)}
}

// explainWith is a checker that says the history is not linearizable and
// tells e; calls counts its uses.
func explainWith(e *protocols.LinExplanation, calls *int) LinChecker {
	return func(h []protocols.OpRecord, _ sim.Time) LinVerdict {
		*calls++
		return LinVerdict{Result: protocols.LinViolation, Ops: len(h), Explanation: e}
	}
}

// historyAtEnd runs a scenario to its end and returns its history.
func historyAtEnd(tb testing.TB, sc *scenario.Scenario) []protocols.OpRecord {
	tb.Helper()
	inst, err := scenario.Build(sc)
	require.NoError(tb, err)
	require.NoError(tb, inst.Sim.RunChoices(nil))
	return inst.History()
}

// TestLinEventIndexes: an operation's CallEvent and ReturnEvent are the
// indexes of the log's entries where its client began and got its answer,
// so the marks point at the right lines.
func TestLinEventIndexes(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "G")
	require.NotEmpty(t, m.sess.Sim().Stopped())
	log := m.sess.Log()
	hist := m.sess.Inst.History()
	require.NotEmpty(t, hist)
	answered := 0
	for _, r := range hist {
		require.Less(t, r.CallEvent, int64(len(log)))
		assert.Equal(t, r.Client, log[r.CallEvent].To, "op %v %v invoked at event %d: %s", r.Client, r.Op, r.CallEvent, log[r.CallEvent].Text)
		if r.ReturnEvent >= 0 {
			answered++
			e := log[r.ReturnEvent]
			assert.Equal(t, r.Client, e.To, "op %v %v returned at event %d: %s", r.Client, r.Op, r.ReturnEvent, e.Text)
			assert.Equal(t, r.Return, e.At, "event %d", r.ReturnEvent)
		}
	}
	assert.Positive(t, answered)
}

// TestLinStatus walks the status bar's field through its states: not
// checked, checking (a check that has not answered), the verdict here,
// the verdict of another position named with it, unknown with its reason,
// skipped, and the check the end of the run starts by itself.
func TestLinStatus(t *testing.T) {
	sc := testScenario(t, "raft", 3, 1)
	release := make(chan LinVerdict, 1)
	blocking := func(h []protocols.OpRecord, _ sim.Time) LinVerdict { return <-release }
	m := newTestModel(t, sc, Options{CheckLin: blocking})
	press(m, "]")
	assert.Contains(t, statusOf(screen(m)), "lin not checked (X)")

	_, cmd := m.Update(keyMsg("X"))
	require.NotNil(t, cmd, "X starts a check")
	assert.Contains(t, statusOf(screen(m)), "lin checking…")
	assert.Contains(t, screen(m), "linearizability here: checking…")
	_, again := m.Update(keyMsg("X"))
	assert.Nil(t, again, "one check at a time")
	m.Update(keyMsg("X")) // open the view again
	release <- LinVerdict{Result: protocols.LinUnknown, Reason: "porcupine ran out of its 1ns budget (checks.lin_budget)"}
	runCmd(m, cmd)
	s := screen(m)
	assert.Contains(t, statusOf(s), "lin unknown")
	assert.Contains(t, s, "linearizability here: unknown")
	assert.Contains(t, s, "porcupine ran out of its 1ns budget")

	press(m, "l")
	assert.Contains(t, statusOf(screen(m)), "lin@100 unknown", "another position's verdict is named with it")
	press(m, "h")
	assert.Contains(t, statusOf(screen(m)), "lin unknown", "cached per position")

	// The end of the run checks by itself, with the real checker.
	real := newTestModel(t, sc, Options{})
	_, cmd = real.Update(keyMsg("G"))
	assert.Contains(t, statusOf(screen(real)), "lin checking…")
	runCmd(real, cmd)
	assert.Contains(t, statusOf(screen(real)), "lin ok")

	off := sc.Clone()
	no := false
	off.Checks.Linearizability = &no
	skip := newTestModel(t, off, Options{})
	pressRun(skip, "X")
	assert.Contains(t, statusOf(screen(skip)), "lin skipped")
}

// TestLinRealViolation: the shipped primary-backup partition run ends not
// linearizable, and the TUI says so at its end with the real checker.
// Its marks are checked once the checker explains (protocols/lin.go).
func TestLinRealViolation(t *testing.T) {
	m := newTestModel(t, pbPartition(t), Options{})
	pressRun(m, "G")
	assert.Contains(t, statusOf(screen(m)), "lin violation")
	v, ok := m.sess.lin.get(m.sess.Index())
	require.True(t, ok)
	assert.Equal(t, protocols.LinViolation, v.Result)
	if v.Explanation == nil {
		t.Log("the checker gives no explanation yet: marks not checked")
		return
	}
	e := v.Explanation
	f := e.Ops[e.Failing]
	require.Equal(t, protocols.RoleCannotPlace, f.Role)
	for _, o := range e.Ops {
		for _, i := range []int64{o.CallEvent, o.ReturnEvent} {
			if i >= 0 {
				assert.NotEmpty(t, m.log.Marks[i], "event %d of %s", i, o.Describe())
			}
		}
	}
	if f.ReturnEvent >= 0 {
		pressRun(m, "g")
		for range len(e.Ops) * 2 {
			if m.sess.Index()-1 == f.ReturnEvent {
				break
			}
			pressRun(m, "e")
		}
		assert.Equal(t, f.ReturnEvent, m.sess.Index()-1, "e reaches the failing operation's return")
	}
}

// TestLinMarksAndJumps: the explanation's invocations and returns are
// marked with their roles, e and E go to them in order, and the details
// of a marked event say which operation it belongs to.
func TestLinMarksAndJumps(t *testing.T) {
	sc := testScenario(t, "raft", 3, 1)
	e := handExplanation(t, historyAtEnd(t, sc))
	calls := 0
	m := newTestModel(t, sc, Options{CheckLin: explainWith(e, &calls)})
	pressRun(m, "e")
	assert.Contains(t, m.flash, "no marks: X checks linearizability here")
	pressRun(m, "G")
	require.Equal(t, 1, calls, "checked once, at the end")
	assert.Contains(t, statusOf(screen(m)), "lin violation")

	var want []int64
	for _, o := range e.Ops {
		want = append(want, o.CallEvent, o.ReturnEvent)
	}
	sort.Slice(want, func(a, b int) bool { return want[a] < want[b] })
	require.Len(t, m.log.Marks, len(want))
	pressRun(m, "g")
	for _, i := range want {
		pressRun(m, "e")
		require.Equal(t, i+1, m.sess.Index(), "e goes to event %d", i)
		assert.Contains(t, m.flash, fmt.Sprintf("event %d: ", i))
	}
	pressRun(m, "e")
	assert.Contains(t, m.flash, "no marked event after")
	for k := len(want) - 2; k >= 0; k-- {
		pressRun(m, "E")
		require.Equal(t, want[k]+1, m.sess.Index(), "E goes to event %d", want[k])
	}
	assert.Equal(t, 1, calls, "the verdict at the end is reused: it is cached")

	f := e.Ops[e.Failing]
	pressRun(m, "g")
	for m.sess.Index()-1 != f.ReturnEvent {
		pressRun(m, "e")
	}
	s := screen(m)
	assert.Contains(t, s, "✗"+fmt.Sprintf("%5d", f.ReturnEvent), "the failing return is marked ✗")
	assert.Contains(t, statusOf(s), fmt.Sprintf("lin@%d violation", m.sess.Furthest()))
	pressRun(m, "tab", "tab") // the event log: details of the marked event
	pressRun(m, "enter")
	assert.Contains(t, screen(m), "✗ lin cannot-place: returned here")
}

// TestLinBranchForgets: a manual choice forgets the verdicts past it and
// voids a check in flight there.
func TestLinBranchForgets(t *testing.T) {
	sc := testScenario(t, "raft", 3, 1)
	release := make(chan LinVerdict, 1)
	m := newTestModel(t, sc, Options{CheckLin: func([]protocols.OpRecord, sim.Time) LinVerdict { return <-release }})
	press(m, "]", "]")
	_, cmd := m.Update(keyMsg("X"))
	press(m, "[", "c") // back to 100 and crash n1 there: a new branch
	release <- LinVerdict{Result: protocols.LinOK}
	runCmd(m, cmd)
	assert.Contains(t, m.flash, "linearizability check of event 200 dropped")
	_, ok := m.sess.lin.get(200)
	assert.False(t, ok)
	assert.Contains(t, statusOf(screen(m)), "lin not checked (X)")
}

// commitBound is an invariant for the tests: no node commits past max.
type commitBound struct{ max int64 }

func (c commitBound) Name() string { return "commit-bound" }

func (c commitBound) Check(s *sim.Sim, _ *sim.Event) error {
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && s.Up(id) && v.Commit > c.max {
			return fmt.Errorf("commit %d > %d on %v", v.Commit, c.max, id)
		}
	}
	return nil
}

// withChecker adds an invariant to a session, as tuitest does.
func withChecker(tb testing.TB, sc *scenario.Scenario, c sim.Checker, opts Options) *Model {
	tb.Helper()
	m := newTestModel(tb, sc, opts)
	m.sess.Inst.Sim.AddChecker(c)
	m.sess.TL = sim.NewTimeline(m.sess.Inst.Sim, DefaultInterval)
	return m
}

// TestInvariantViolationMessage: the checker's message is in the hint
// line when the run stops on it and in the details pane, not only a !.
func TestInvariantViolationMessage(t *testing.T) {
	m := withChecker(t, testScenario(t, "raft", 3, 1), commitBound{max: 3}, Options{CheckLin: explainWith(nil, new(int))})
	pressRun(m, "G")
	s := screen(m)
	at := m.sess.Index() - 1
	assert.Contains(t, m.flash, fmt.Sprintf("breakpoint: invariant violated at event %d: commit-bound: commit 4 > 3 on", at))
	assert.Contains(t, s, "details: verdicts")
	assert.Contains(t, s, fmt.Sprintf("! event %d at", at))
	assert.Contains(t, s, "commit-bound: commit 4 > 3 on")
	assert.Contains(t, s, "!"+fmt.Sprintf("%5d", at))

	pressRun(m, "X", "tab", "tab", "enter") // close the view; the details of the log's current event
	assert.Contains(t, m.details.Lines(), "! invariant commit-bound violated: commit 4 > 3 on n2")
	assert.Contains(t, screen(m), "commit 4 > 3 on n2")
	// Stepping onto it says so too.
	pressRun(m, "h", "l")
	assert.Contains(t, m.flash, fmt.Sprintf("event %d: invariant commit-bound violated: commit 4 > 3", at))
}

// TestKeysInAnyPane: every key acts whatever pane has the focus, or says
// why it does not.
func TestKeysInAnyPane(t *testing.T) {
	sc := testScenario(t, "raft", 3, 1)
	for f := range focusCount {
		t.Run(fmt.Sprint("focus ", f), func(t *testing.T) {
			m := newTestModel(t, sc, Options{})
			press(m, "]")
			m.setFocus(f)
			press(m, "f")
			assert.Equal(t, sim.NodeID(1), m.log.Node, "f filters the log")
			press(m, "F")
			assert.Equal(t, sim.EventKind(1), m.log.Kind, "F filters the log by kind")
			press(m, "t")
			assert.True(t, m.msgs.Timers, "t shows timers")
			m.log.Node, m.log.Kind = 0, 0
			if f != focusLog {
				press(m, "o")
				assert.Contains(t, m.flash, "o goes to the event under the log cursor")
			}
			press(m, "e")
			assert.Contains(t, m.flash, "no marks")
			press(m, "z")
			assert.Contains(t, m.flash, "z: no such key")
		})
	}
	m := newTestModel(t, sc, Options{})
	m.Update(keySize(120, 40))
	press(m, "enter")
	assert.Contains(t, m.flash, "always shown at this width")
}

// TestLinCheckPanics: a checker that panics gives unknown, not a dead UI.
func TestLinCheckPanics(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{CheckLin: func([]protocols.OpRecord, sim.Time) LinVerdict {
		panic(errors.New("boom"))
	}})
	pressRun(m, "X")
	assert.Contains(t, statusOf(screen(m)), "lin unknown")
	assert.Contains(t, screen(m), "the check panicked: boom")
}

// staleRead finds a real linearizability failure in a history, the kind
// the primary-backup partition makes: an answered get that misses the
// value of an append on its key which returned before the get was
// invoked, with no put on the key that could have erased it (every put
// invoked before the get returned had returned before the append was
// invoked). It tells it as the checker would: the append before, the get
// that cannot be placed, and up to three operations on the key concurrent
// with the get. The TUI's tests inject it to show a failure whose events
// are real whatever protocols/lin.go explains.
func staleRead(tb testing.TB, hist []protocols.OpRecord) *protocols.LinExplanation {
	tb.Helper()
	ok := func(r protocols.OpRecord) bool { return r.Status == protocols.OpOK && r.ReturnEvent >= 0 }
	byKey := map[string][]protocols.OpRecord{}
	for _, r := range hist {
		byKey[r.Op.Key] = append(byKey[r.Op.Key], r)
	}
	var best *protocols.LinExplanation
	var bestCall sim.Time
	for key, ops := range byKey {
		sort.SliceStable(ops, func(a, b int) bool { return ops[a].Call < ops[b].Call })
		for _, g := range ops {
			if !ok(g) || g.Op.Kind != protocols.OpGet || (best != nil && g.Call >= bestCall) {
				continue
			}
			// A put that may have taken effect before the get did.
			var putReturnMax sim.Time
			for _, p := range ops {
				if p.Op.Kind == protocols.OpPut && p.Call < g.Return {
					putReturnMax = max(putReturnMax, p.Return)
				}
			}
			for _, w := range ops {
				if !ok(w) || w.Op.Kind != protocols.OpAppend || w.Return >= g.Call || w.Call <= putReturnMax ||
					strings.Contains(g.Value, w.Op.Value) {
					continue
				}
				story := []protocols.LinOp{linOp(w, protocols.RoleBefore), linOp(g, protocols.RoleCannotPlace)}
				for _, c := range ops {
					if c.Client != g.Client && c.Call < g.Return && c.Return > g.Call && len(story) < 5 {
						story = append(story, linOp(c, protocols.RoleConcurrent))
					}
				}
				sort.SliceStable(story, func(a, b int) bool { return story[a].Call < story[b].Call })
				failing := 0
				for i, o := range story {
					if o.Role == protocols.RoleCannotPlace {
						failing = i
					}
				}
				best, bestCall = &protocols.LinExplanation{Key: key, Ops: story, Failing: failing, Omitted: len(ops) - len(story)}, g.Call
				break
			}
		}
	}
	require.NotNil(tb, best, "a stale read in the history")
	return best
}
