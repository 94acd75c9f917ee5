package tui

import (
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

func TestKeyNames(t *testing.T) {
	for _, name := range []string{"l", "G", "space", "right", "ctrl+c", "?", "]", "{"} {
		assert.Equal(t, name, keyMsg(name).String())
	}
}

// TestUpdateMoves checks the moving keys, each from a fresh model.
func TestUpdateMoves(t *testing.T) {
	sc := testScenario(t, "raft", 3, 1)
	cases := []struct {
		name string
		keys []string
		want int64
	}{
		{"step", []string{"l", "l", "right"}, 3},
		{"step back", []string{"l", "l", "l", "h"}, 2},
		{"back at start stays", []string{"left"}, 0},
		{"jump forward", []string{"]"}, jumpEvents},
		{"jump back", []string{"]", "]", "["}, jumpEvents},
		{"start", []string{"]", "g"}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := newTestModel(t, sc, Options{})
			press(m, c.keys...)
			assert.Equal(t, c.want, m.sess.Index(), "keys %v", c.keys)
		})
	}
}

func TestUpdateTimeJump(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "]")
	t0 := m.sess.Sim().Now()
	press(m, "}")
	s := m.sess.Sim()
	assert.LessOrEqual(t, s.Now(), t0+jumpTime)
	assert.Greater(t, s.NextAt(), t0+jumpTime, "every event due by now+%v is done", jumpTime)
	t1 := s.Now()
	press(m, "{")
	assert.LessOrEqual(t, m.sess.Sim().Now(), t1-jumpTime, "{ goes back 100ms of simulated time")
	log := m.sess.Log()
	assert.Greater(t, log[m.sess.Index()].At, t1-jumpTime, "and no further than that")
}

func TestUpdateInterestingMarks(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "]", "]", "]")
	for range 3 {
		before := m.sess.Index()
		press(m, "n")
		i := m.sess.Index()
		require.Greater(t, i, before)
		assert.True(t, m.sess.Log()[i-1].Interesting(), "event %d", i-1)
	}
	at := m.sess.Index()
	press(m, "N")
	i := m.sess.Index()
	require.Less(t, i, at)
	assert.True(t, i == 0 || m.sess.Log()[i-1].Interesting())
}

func TestUpdateFocusAndSpeed(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	for want := 1; want <= focusCount; want++ {
		press(m, "tab")
		assert.Equal(t, want%focusCount, m.focus)
	}
	press(m, "+", "+")
	assert.Equal(t, speedDefault+2, m.speed)
	for range 20 {
		press(m, "-")
	}
	assert.Equal(t, 0, m.speed)
	press(m, "space")
	require.NotNil(t, m.job)
	assert.True(t, m.job.play)
	press(m, "space")
	assert.Nil(t, m.job)
}

func TestUpdateFaults(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "]")
	s := func() *sim.Sim { return m.sess.Sim() }
	press(m, "c")
	assert.False(t, s().Up(1), "c crashes the selected node n1")
	press(m, "r", "l", "l", "l")
	assert.True(t, s().Up(1), "r restarts it")
	press(m, "j", "p")
	assert.True(t, s().Paused(2), "p pauses n2")
	press(m, "p")
	assert.False(t, s().Paused(2), "p again resumes it")
	press(m, "x", "3")
	assert.True(t, s().Blocked(2, 3), "x 3 cuts n2->n3")
	assert.False(t, s().Blocked(3, 2), "the cut is one way")
	press(m, "H")
	assert.False(t, s().Partitioned(), "H heals all")
	press(m, "S", "1", "2", "enter")
	assert.True(t, s().Blocked(1, 3) && s().Blocked(3, 2) && !s().Blocked(1, 2), "S 1 2 enter splits {n1 n2} | {n3}")
	press(m, "i")
	assert.True(t, s().Blocked(2, 1), "i isolates n2")
	assert.Len(t, m.sess.TL.Choices(), 8)
	for _, c := range m.sess.TL.Choices() {
		assert.Equal(t, sim.ChoiceFault, c.Action)
	}
}

func TestUpdateManualScheduling(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "]", "tab")
	for len(m.msgs.Items()) < 3 {
		press(m, "l")
	}
	press(m, "j")
	require.Equal(t, focusMessages, m.focus)
	start := m.sess.Index()
	ev, ok := m.msgs.Current()
	require.True(t, ok)
	press(m, "a")
	cs := m.sess.TL.Choices()
	require.Len(t, cs, 1)
	assert.Equal(t, sim.ChoiceDeliver, cs[0].Action)
	assert.Equal(t, ev.ID, cs[0].ID)
	assert.Equal(t, start+1, m.sess.Index(), "delivering processes the event")

	press(m, "down")
	ev, _ = m.msgs.Current()
	press(m, "u")
	require.Len(t, m.sess.TL.Choices(), 2)
	assert.Equal(t, sim.ChoiceDuplicate, m.sess.TL.Choices()[1].Action)
	for _, p := range m.sess.Sim().Pending() {
		if p.ID == ev.ID {
			press(m, "d")
			break
		}
	}
	assert.Equal(t, sim.ChoiceDrop, m.sess.TL.Choices()[len(m.sess.TL.Choices())-1].Action)

	// Stepping back and forward over the choices replays them.
	at := m.sess.Index()
	want := screen(m)
	press(m, "[", "]")
	require.Equal(t, at, m.sess.Index())
	assert.Equal(t, clusterOf(want), clusterOf(screen(m)))
}

func TestUpdateRequest(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "]", "R")
	require.Len(t, m.sess.TL.Choices(), 1)
	c := m.sess.TL.Choices()[0]
	assert.Equal(t, sim.ChoiceTimer, c.Action)
	assert.Equal(t, "submit", c.Name)
	assert.True(t, c.Node.IsClient())
	assert.Contains(t, m.flash, "submit a request now")
	// The client has a new operation in flight, sent at once.
	v, ok := m.sess.Sim().Inspect(c.Node)
	require.True(t, ok)
	assert.NotEmpty(t, v.Get("in flight"))
}

func TestUpdateLogFilters(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "]", "tab", "tab")
	require.Equal(t, focusLog, m.focus)
	press(m, "f", "F", "F", "F", "F")
	assert.Equal(t, sim.NodeID(1), m.log.Node)
	assert.Equal(t, sim.KindTimer, m.log.Kind)
	press(m, "/", "e", "l", "e", "c", "enter")
	assert.Equal(t, "elec", m.log.Query)
	for _, l := range strings.Split(screen(m), "\n")[11:20] {
		if strings.Contains(l, "│") && strings.TrimSpace(strings.Split(l, "│")[0]) != "" {
			assert.Contains(t, l, "election", "filtered log line")
		}
	}
	press(m, "up", "up")
	assert.GreaterOrEqual(t, m.log.Cursor, int64(0))
}

func TestUpdateBreakpointLeader(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "L", "G")
	assert.Contains(t, m.flash, "breakpoint: leader is now")
	e := m.sess.Log()[m.sess.Index()-1]
	assert.NotZero(t, e.Flags&flagLeader)
	assert.NotEmpty(t, leaderOf(screen(m)))
}

func TestUpdateHelpAndQuit(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "?")
	assert.True(t, m.showHelp)
	assert.Contains(t, screen(m), "step forward")
	press(m, "l")
	assert.False(t, m.showHelp, "any key closes help")
	assert.Zero(t, m.sess.Index(), "the key that closes help does nothing else")
	_, cmd := m.Update(keyMsg("q"))
	require.NotNil(t, cmd)
	assert.IsType(t, tea.QuitMsg{}, cmd())
	_, cmd = m.Update(keyMsg("ctrl+c"))
	require.NotNil(t, cmd)
	assert.IsType(t, tea.QuitMsg{}, cmd())
}

func TestUpdateRebind(t *testing.T) {
	keys := DefaultKeyMap()
	keys.Step = key.NewBinding(key.WithKeys("z"), key.WithHelp("z", "step forward"))
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{Keys: &keys})
	press(m, "l", "z", "z")
	assert.Equal(t, int64(2), m.sess.Index())
	assert.Contains(t, screen(m), "z step forward")
}

func TestUpdateResize(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 5, 1), Options{})
	press(m, "]")
	for _, sz := range [][2]int{{80, 24}, {60, 15}, {160, 50}, {40, 10}} {
		m.Update(tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		lines := strings.Split(screen(m), "\n")
		assert.Len(t, lines, sz[1])
		for _, l := range lines {
			assert.LessOrEqual(t, len([]rune(l)), sz[0], "line %q", l)
		}
	}
}

// clusterOf is the cluster pane of a screen (lines 2..).
func clusterOf(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "leader") {
			break
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestUpdateMouse(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "C", "]") // client traffic shown: the wheel walks every event
	m.Update(tea.MouseClickMsg{X: 3, Y: 4, Button: tea.MouseLeft})
	assert.Equal(t, sim.NodeID(3), m.cluster.Node(), "a click on n3's card selects n3")
	for len(m.msgs.Items()) < 2 {
		press(m, "l")
	}
	top := m.middleTop()
	m.Update(tea.MouseClickMsg{X: m.log.w + 5, Y: top + 2, Button: tea.MouseLeft})
	assert.Equal(t, focusMessages, m.focus)
	assert.Equal(t, 1, m.msgs.Selected, "a click on the second message selects it")
	m.Update(tea.MouseWheelMsg{X: 2, Y: top + 3, Button: tea.MouseWheelUp})
	assert.Equal(t, focusLog, m.focus)
	assert.Equal(t, m.sess.Index()-2, m.log.Cursor, "the wheel scrolls the log")

	// With the verdicts shown, the messages are not on screen: a click
	// there selects nothing, and the wheel scrolls the verdicts.
	pressRun(m, "X")
	sel := m.msgs.Selected
	m.Update(tea.MouseClickMsg{X: m.log.w + 5, Y: top + 1, Button: tea.MouseLeft})
	assert.Equal(t, sel, m.msgs.Selected)
	m.Update(tea.MouseWheelMsg{X: m.log.w + 5, Y: top + 3, Button: tea.MouseWheelDown})
	assert.Equal(t, focusDetails, m.focus)
	assert.Equal(t, 1, m.details.Offset, "the wheel scrolls the verdicts")
}

func TestUpdateGoToCursor(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "C", "]", "tab", "tab", "up", "up", "up", "o")
	assert.Equal(t, int64(jumpEvents-3), m.sess.Index(), "o goes to just after the event under the cursor")
	assert.Equal(t, int64(-1), m.log.Cursor, "the cursor follows the position again")
}

// TestUpdateFoldsClients: client traffic is folded by default (it drowned
// the election, issue 24), C shows it from any pane, and the cursor then
// walks the client events too.
func TestUpdateFoldsClients(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "]")
	clients := 0
	for _, e := range m.sess.Log() {
		if e.client() {
			clients++
		}
	}
	require.Greater(t, clients, 0, "the first %d events have client traffic", jumpEvents)
	folded := screen(m)
	assert.Contains(t, folded, "clients folded: C")
	assert.NotContains(t, folded, "Req c", "no client request is listed")
	assert.NotRegexp(t, `c\d->n\d|n\d->c\d`, folded, "no client message is listed")
	press(m, "C")
	shown := screen(m)
	assert.NotContains(t, shown, "clients folded")
	assert.Regexp(t, `c\d->n\d|n\d->c\d`, shown, "client messages are listed")
	assert.Len(t, m.log.visible(), 0, "nothing filtered: the window stands in for the list")
	press(m, "C")
	assert.Len(t, m.log.visible(), jumpEvents-clients, "folded, the log lists the events between nodes")
}

// TestUpdateSeekInFrames opens far into a run with a tiny frame budget: the
// replay is spread over ticks and the status bar shows its progress.
func TestUpdateSeekInFrames(t *testing.T) {
	s, err := NewSession(testScenario(t, "raft", 3, 1))
	require.NoError(t, err)
	m := New(s, Options{At: 1000, NoColor: true, FrameBudget: time.Nanosecond})
	m.Update(keySize(80, 24))
	require.NotNil(t, m.Init())
	require.NotNil(t, m.job)
	assert.Contains(t, screen(m), "replaying")
	frames := 0
	for m.job != nil && frames < 10_000 {
		m.Update(tickMsg{gen: m.tickGen, at: time.Now()})
		frames++
	}
	assert.Equal(t, int64(1000), s.Index())
	assert.Greater(t, frames, 10, "the replay took several frames")
	assert.NotContains(t, screen(m), "replaying")
}

// TestUpdateRunAtSpeed runs for one frame: the simulation advances by the
// speed times the wall time elapsed (at most 100ms of wall time a frame).
func TestUpdateRunAtSpeed(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "]", "space")
	require.NotNil(t, m.job)
	t0 := m.sess.Sim().Now()
	at := m.lastTick.Add(time.Second)
	m.Update(tickMsg{gen: m.tickGen, at: at})
	limit := t0 + speeds[speedDefault]/10
	assert.Greater(t, m.sess.Index(), int64(jumpEvents))
	assert.LessOrEqual(t, m.sess.Sim().Now(), limit)
	assert.Greater(t, m.sess.Sim().NextAt(), limit)
	assert.Contains(t, screen(m), "▶ 100ms/s")
	m.Update(tickMsg{gen: m.tickGen - 1, at: at})
	press(m, "space")
	assert.Nil(t, m.job, "space pauses")
}

// TestUpdateStatesExplained: a node that has not started yet, a crashed
// one and a paused one each say what they are in the details, and a timer
// that fires and only re-arms is marked a no-op (issue 24: a node not
// started read "crashed" in its details while its card said starting).
func TestUpdateStatesExplained(t *testing.T) {
	m := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(m, "enter")
	s := screen(m)
	assert.Contains(t, s, "○ starting")
	assert.Contains(t, s, "not started yet: it starts at")
	assert.NotContains(t, s, "crashed")

	press(m, "]", "c")
	assert.Contains(t, screen(m), "crashed: only its stable storage")
	press(m, "r", "l", "p") // the restart's start event, then pause
	assert.Contains(t, screen(m), "‖ paused")
	assert.Contains(t, screen(m), "paused: it handles nothing")

	noop := 0
	for _, e := range m.sess.Log() {
		if e.Note == noopTimer {
			noop++
			assert.Equal(t, sim.KindTimer, e.Kind, "event %d", e.Index)
			assert.Equal(t, 1, e.Effects, "event %d only re-armed", e.Index)
		}
	}
	assert.Greater(t, noop, 0, "followers' election timers fire and re-arm in the first %d events", jumpEvents)
	press(m, "C", "tab", "tab")
	for m.details.Subject.Entry == nil || m.details.Subject.Entry.Note != noopTimer {
		require.Greater(t, m.log.cursor(), int64(0), "a no-op timer under the cursor")
		press(m, "up")
	}
	assert.Contains(t, screen(m), "no-op: nothing due yet")
}
