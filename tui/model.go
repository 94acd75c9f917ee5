package tui

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Options configure the TUI.
type Options struct {
	// Keys replaces the default keymap (rebinding).
	Keys *KeyMap
	// NoColor renders without colour (NO_COLOR).
	NoColor bool
	// SaveDir is where `s` writes saved runs (default: the current directory).
	SaveDir string
	// At is the event to open at (0: the start).
	At int64
	// Command is the command line that rebuilds this run from its scenario
	// ("synod tui --protocol raft --seed 7", made by scenario.Command so
	// that it names the binary that runs); it is shown with --at when
	// saving a run without manual choices. Default: that binary's bare
	// `tui`.
	Command string
	// Repro, when set, makes the reproduce command instead (from the file
	// the run was last saved to, "" if none, and the current event): for
	// a protocol cmd/synod does not know (tui/tuitest).
	Repro func(saved string, at int64) string
	// FrameBudget bounds the simulation work per frame (default 25ms).
	// Tests set it high so that every move finishes within its key press.
	FrameBudget time.Duration
	// CheckLin decides linearizability (default: protocols.CheckLinearizable
	// with the scenario's lin_budget); it runs off the UI's goroutine.
	CheckLin LinChecker
	// LinSyncOpsMax: a history of at most this many operations is checked
	// at once, within the key press that asks (0: every check runs in the
	// background). Tests set it so that their screens do not depend on
	// when a check finishes, as they set FrameBudget.
	LinSyncOpsMax int
}

// focus order of the panes.
const (
	focusCluster = iota
	focusMessages
	focusLog
	focusDetails
	focusCount
)

// input modes.
const (
	modeNormal = iota
	modeSearch
	modeSplit
	modeCut
)

// speeds are simulated time per wall second when running.
var speeds = []sim.Time{sim.Millisecond, 2 * sim.Millisecond, 5 * sim.Millisecond, 10 * sim.Millisecond,
	20 * sim.Millisecond, 50 * sim.Millisecond, 100 * sim.Millisecond, 200 * sim.Millisecond,
	500 * sim.Millisecond, sim.Second, 2 * sim.Second, 5 * sim.Second, 10 * sim.Second}

const (
	speedDefault = 6 // 100ms per second
	// frameWall is the wall time between frames while running or seeking.
	frameWall = 33 * time.Millisecond
	// frameBudget bounds the simulation work done in one frame, so the UI
	// never freezes.
	frameBudget = 25 * time.Millisecond
	// jumpEvents and jumpTime are the sizes of the jump keys.
	jumpEvents = 100
	jumpTime   = 100 * sim.Millisecond
)

// job is work spread over frames: running at a speed, or seeking.
type job struct {
	label  string
	play   bool
	playAt sim.Time
	// target: stop at this index (-1: none).
	target int64
	// until: stop at the first time before which nothing is due.
	until sim.Time
	// after: stop after an event for which it holds.
	after func(e *Entry) bool
	from  int64
}

type tickMsg struct {
	gen int
	at  time.Time
}

// Model is the root of the TUI: it owns the panes, the focus and the
// layout, and it advances the simulation only from Update.
type Model struct {
	sess    *Session
	opts    Options
	keys    KeyMap
	st      Styles
	help    help.Model
	w, h    int
	focus   int
	cluster Cluster
	msgs    Messages
	log     EventLog
	details Details
	strip   Strip

	showHelp    bool
	showDetails bool
	// showVerdicts pins the details pane to the verdicts view (X).
	showVerdicts bool
	mode         int
	input        string
	splitA       map[sim.NodeID]bool
	speed        int
	job          *job
	tickGen      int
	lastTick     time.Time

	breakViolation bool
	breakLeader    bool
	breakType      string

	flash string
	saved string
}

// New returns the TUI over a session.
func New(s *Session, opts Options) *Model {
	keys := DefaultKeyMap()
	if opts.Keys != nil {
		keys = *opts.Keys
	}
	st := NewStyles(opts.NoColor)
	m := &Model{sess: s, opts: opts, keys: keys, st: st, help: help.New(), speed: speedDefault, breakViolation: true,
		cluster: NewCluster(s, st), msgs: NewMessages(s, st), log: NewEventLog(s, st), details: NewDetails(s, st), strip: NewStrip(s, st)}
	if opts.NoColor {
		m.help.Styles = help.Styles{}
	}
	m.cluster.Keys = SelectKeyMap{Up: keys.Up, Down: keys.Down}
	m.details.Keys = m.cluster.Keys
	m.msgs.Keys = MessagesKeyMap{Up: keys.Up, Down: keys.Down, ShowTimers: keys.ShowTimers}
	m.log.Keys = EventLogKeyMap{Up: keys.Up, Down: keys.Down, Filter: keys.Filter, FilterKind: keys.FilterKind, Clients: keys.Clients}
	m.setFocus(focusCluster)
	// A reopened trace that failed its check says so before anything.
	m.flash = s.Warning
	return m
}

// Session is the session the model shows.
func (m *Model) Session() *Session { return m.sess }

// Init starts at the requested position.
func (m *Model) Init() tea.Cmd {
	if m.opts.At > 0 {
		return m.seek(m.opts.At)
	}
	return nil
}

func (m *Model) tick() tea.Cmd {
	gen := m.tickGen
	return tea.Tick(frameWall, func(t time.Time) tea.Msg { return tickMsg{gen: gen, at: t} })
}

// startJob runs a first frame's worth now and schedules the rest.
func (m *Model) startJob(j *job) tea.Cmd {
	j.from = m.sess.Index()
	m.job = j
	m.tickGen++
	m.lastTick = time.Now()
	if !j.play && m.advance(m.budget()) {
		m.job = nil
		return nil
	}
	return m.tick()
}

func (m *Model) budget() time.Duration {
	if m.opts.FrameBudget > 0 {
		return m.opts.FrameBudget
	}
	return frameBudget
}

func (m *Model) stopJob() {
	m.job = nil
	m.tickGen++
}

// seek moves to position k: backward by restoring a checkpoint, forward in
// frames with progress shown.
func (m *Model) seek(k int64) tea.Cmd {
	if k <= m.sess.Index() {
		m.stopJob()
		if err := m.sess.GoTo(k); err != nil {
			m.flash = err.Error()
		}
		return nil
	}
	return m.startJob(&job{label: "replaying", target: k})
}

// advance does the current job's work for at most budget; it reports
// whether the job is finished.
func (m *Model) advance(budget time.Duration) bool {
	j := m.job
	s := m.sess
	deadline := time.Now().Add(budget)
	for n := 1; ; n++ {
		if n%32 == 0 && time.Now().After(deadline) {
			return false
		}
		sm := s.Sim()
		if j.play && sm.NextAt() > j.playAt {
			return false
		}
		if j.target >= 0 && s.Index() >= j.target {
			return true
		}
		if j.until > 0 && sm.NextAt() > j.until {
			return true
		}
		if !s.Step() {
			m.flash = stopReason(s.Sim())
			return true
		}
		i := s.Index() - 1
		if i < 0 || i >= int64(len(s.log)) {
			continue
		}
		e := &s.log[i]
		if j.after != nil && j.after(e) {
			return true
		}
		if j.play || j.target < 0 {
			if why := m.breakHit(e); why != "" {
				m.flash = fmt.Sprintf("breakpoint: %s at event %d", why, e.Index)
				m.noteViolation(e)
				return true
			}
		}
	}
}

// noteViolation says what an invariant violation found at an event the
// user just reached is, in the checker's own words, and shows the
// verdicts view that lists every violation so far: a ! alone tells nothing.
func (m *Model) noteViolation(e *Entry) {
	if len(e.Violations) == 0 {
		return
	}
	v := e.Violations[0]
	msg := fmt.Sprintf("event %d: invariant %s violated: %s", e.Index, v.Checker, v.Message)
	if strings.HasPrefix(m.flash, "breakpoint:") {
		msg = m.flash + ": " + v.Checker + ": " + v.Message
	}
	m.flash = msg
	m.showVerdicts = true
}

func stopReason(s *sim.Sim) string {
	if err := s.Err(); err != nil {
		return err.Error()
	}
	if r := s.Stopped(); r != "" {
		return "run stopped: " + r
	}
	return ""
}

// breakHit says which breakpoint the event hits, or "".
func (m *Model) breakHit(e *Entry) string {
	switch {
	case m.breakViolation && e.Flags&(flagViolation|flagPanic) != 0:
		return "invariant violated"
	case m.breakLeader && e.Flags&flagLeader != 0:
		return fmt.Sprintf("leader is now %v", e.Leader)
	case m.breakType != "" && e.MsgType == m.breakType:
		return "message " + m.breakType
	}
	return ""
}

func (m *Model) setFocus(f int) {
	m.focus = f
	m.cluster.SetFocus(f == focusCluster)
	m.msgs.SetFocus(f == focusMessages)
	m.log.SetFocus(f == focusLog)
	m.details.SetFocus(f == focusDetails)
	m.layout()
}

// wide reports whether the details pane gets a column of its own.
func (m *Model) wide() bool { return m.w >= 120 }

// layout sizes the panes for the terminal.
func (m *Model) layout() {
	w, h := m.w, m.h
	n := len(m.sess.Sim().Nodes())
	clusterH := min(n+1, max(3, h/3))
	stripH := 3
	midH := max(1, h-1-clusterH-stripH-2)
	m.cluster.SetSize(w, clusterH)
	m.strip.SetSize(w, stripH)
	switch {
	case m.showVerdicts:
		// The verdicts take the messages' place and more room: an
		// explanation's lines are long, and the log keeps its marks
		// and indexes at the left edge.
		lw := w * 2 / 5
		m.log.SetSize(lw, midH)
		m.msgs.SetSize(w-lw-1, midH)
		m.details.SetSize(w-lw-1, midH)
	case m.wide():
		lw := w * 2 / 5
		mw := (w - lw - 2) / 2
		m.log.SetSize(lw, midH)
		m.msgs.SetSize(mw, midH)
		m.details.SetSize(w-lw-mw-2, midH)
	default:
		lw := w / 2
		m.log.SetSize(lw, midH)
		m.msgs.SetSize(w-lw-1, midH)
		m.details.SetSize(w-lw-1, midH)
	}
	m.help.SetWidth(w)
}

// subject points the details pane at what the focused pane selects.
func (m *Model) subject() {
	switch m.focus {
	case focusCluster:
		m.details.Subject = Subject{Node: m.cluster.Node()}
	case focusMessages:
		if ev, ok := m.msgs.Current(); ok {
			m.details.Subject = Subject{Event: &ev}
		}
	case focusLog:
		i := m.log.cursor()
		if log := m.sess.Log(); i >= 0 && i < int64(len(log)) {
			e := log[i]
			m.details.Subject = Subject{Entry: &e}
		}
	}
}

// Update handles keys, ticks and resizes.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.layout()
	case tickMsg:
		cmd = m.onTick(msg)
	case linDoneMsg:
		m.onLinDone(msg)
	case tea.KeyPressMsg:
		cmd = m.onKey(msg)
	case tea.MouseMsg:
		if m.mode == modeNormal && !m.showHelp {
			m.onMouse(msg)
		}
	}
	before := m.details.Subject
	switch {
	case m.showVerdicts:
		m.details.Subject = Subject{Verdicts: true}
	case m.focus != focusDetails:
		m.subject()
	}
	if !before.same(m.details.Subject) {
		m.details.Offset = 0
	}
	if c := m.autoLinCheck(); c != nil {
		cmd = tea.Batch(cmd, c)
	}
	m.linMarks()
	m.layout() // the verdicts view may have opened or closed
	return m, cmd
}

func (m *Model) onTick(t tickMsg) tea.Cmd {
	if m.job == nil || t.gen != m.tickGen {
		return nil
	}
	if m.job.play {
		dt := min(t.at.Sub(m.lastTick), 100*time.Millisecond)
		m.job.playAt += sim.Time(float64(speeds[m.speed]) * dt.Seconds())
	}
	m.lastTick = t.at
	if m.advance(m.budget()) {
		m.stopJob()
		return nil
	}
	return m.tick()
}

func (m *Model) onKey(k tea.KeyPressMsg) tea.Cmd {
	if key.Matches(k, m.keys.Quit) && (m.mode == modeNormal || k.String() == "ctrl+c") {
		return tea.Quit
	}
	if m.showHelp {
		m.showHelp = false
		return nil
	}
	switch m.mode {
	case modeSearch:
		return m.onSearchKey(k)
	case modeSplit:
		return m.onSplitKey(k)
	case modeCut:
		return m.onCutKey(k)
	}
	m.flash = ""
	km := m.keys
	s := m.sess
	// Any move or manual action pauses a run in progress first.
	moving := []key.Binding{km.GoToCursor, km.Step, km.Back, km.JumpFwd, km.JumpBack, km.TimeFwd, km.TimeBack, km.Start, km.End,
		km.NextMark, km.PrevMark, km.NextLin, km.PrevLin, km.Deliver, km.Drop, km.Duplicate, km.Crash, km.Restart, km.Pause, km.Isolate,
		km.Split, km.Cut, km.Heal, km.Request}
	if key.Matches(k, moving...) && m.job != nil {
		m.stopJob()
	}
	switch {
	case key.Matches(k, km.Help):
		m.showHelp = true
	case key.Matches(k, km.Step):
		if !s.Step() {
			m.flash = stopReason(s.Sim())
		} else if i := s.Index() - 1; i >= 0 && i < int64(len(s.log)) {
			m.noteViolation(&s.log[i])
		}
	case key.Matches(k, km.Back):
		return m.seek(s.Index() - 1)
	case key.Matches(k, km.JumpFwd):
		return m.seek(s.Index() + jumpEvents)
	case key.Matches(k, km.JumpBack):
		return m.seek(s.Index() - jumpEvents)
	case key.Matches(k, km.TimeFwd):
		return m.startJob(&job{label: "running", target: -1, until: s.Sim().Now() + jumpTime})
	case key.Matches(k, km.TimeBack):
		return m.seek(m.indexAt(s.Sim().Now() - jumpTime))
	case key.Matches(k, km.Start):
		return m.seek(0)
	case key.Matches(k, km.End):
		return m.startJob(&job{label: "to the end", target: -1})
	case key.Matches(k, km.Run):
		if m.job != nil {
			m.stopJob()
			return nil
		}
		return m.startJob(&job{label: "running", play: true, target: -1, playAt: s.Sim().Now()})
	case key.Matches(k, km.Faster):
		m.speed = min(m.speed+1, len(speeds)-1)
	case key.Matches(k, km.Slower):
		m.speed = max(m.speed-1, 0)
	case key.Matches(k, km.NextMark):
		return m.startJob(&job{label: "searching", target: -1, after: (*Entry).Interesting})
	case key.Matches(k, km.PrevMark):
		return m.seek(m.prevMark())
	case key.Matches(k, km.NextLin):
		return m.jumpLin(1)
	case key.Matches(k, km.PrevLin):
		return m.jumpLin(-1)
	case key.Matches(k, km.CheckLin):
		return m.verdicts()
	case key.Matches(k, km.BreakViolation):
		m.breakViolation = !m.breakViolation
	case key.Matches(k, km.BreakLeader):
		m.breakLeader = !m.breakLeader
	case key.Matches(k, km.BreakOn):
		m.toggleBreakType()
	case key.Matches(k, km.Focus):
		f := (m.focus + 1) % focusCount
		if f == focusMessages && m.showVerdicts {
			f++ // not on screen: the verdicts take its place
		}
		m.setFocus(f)
	case key.Matches(k, km.Details):
		switch {
		case m.showVerdicts:
			m.showVerdicts = false
		case m.wide():
			m.flash = "the details column is always shown at this width"
		default:
			m.showDetails = !m.showDetails
		}
	case key.Matches(k, km.GoToCursor):
		if m.log.Cursor < 0 {
			m.flash = "o goes to the event under the log cursor: tab to the event log and move it with ↑/↓ first"
			return nil
		}
		at := m.log.Cursor + 1
		m.log.Cursor = -1
		return m.seek(at)
	case key.Matches(k, km.Filter, km.FilterKind, km.Clients):
		// The log's filters act from any pane: the log is always shown.
		m.log, _ = m.log.Update(k)
	case key.Matches(k, km.ShowTimers):
		m.msgs, _ = m.msgs.Update(k)
	case key.Matches(k, km.Search):
		m.mode, m.input = modeSearch, m.log.Query
	case key.Matches(k, km.Deliver, km.Drop, km.Duplicate):
		m.schedule(k)
	case key.Matches(k, km.Crash):
		m.inject(sim.Fault{Kind: sim.FaultCrash, Node: m.cluster.Node()})
	case key.Matches(k, km.Restart):
		m.inject(sim.Fault{Kind: sim.FaultRestart, Node: m.cluster.Node()})
	case key.Matches(k, km.Pause):
		if s.Sim().Paused(m.cluster.Node()) {
			m.inject(sim.Fault{Kind: sim.FaultResume, Node: m.cluster.Node()})
		} else {
			m.inject(sim.Fault{Kind: sim.FaultPause, Node: m.cluster.Node()})
		}
	case key.Matches(k, km.Isolate):
		m.inject(sim.Fault{Kind: sim.FaultIsolate, Node: m.cluster.Node()})
	case key.Matches(k, km.Heal):
		m.inject(sim.Fault{Kind: sim.FaultHealAll})
	case key.Matches(k, km.Split):
		m.mode, m.splitA = modeSplit, map[sim.NodeID]bool{}
	case key.Matches(k, km.Cut):
		m.mode = modeCut
	case key.Matches(k, km.Request):
		m.request()
	case key.Matches(k, km.Save):
		m.save()
	case key.Matches(k, km.Up, km.Down):
		m.dispatch(k)
	default:
		m.flash = fmt.Sprintf("%s: no such key (? lists the keys)", k.String())
	}
	return nil
}

// verdicts shows the verdicts view in the details pane, checking
// linearizability at the current position first when it is not known
// there; pressed again on the view, it closes it.
func (m *Model) verdicts() tea.Cmd {
	s := m.sess
	_, known := s.lin.get(s.Index())
	if m.showVerdicts && (known || s.lin.checking == s.Index()) {
		m.showVerdicts = false
		return nil
	}
	m.showVerdicts = true
	switch {
	case known, s.lin.checking == s.Index():
		return nil
	case s.lin.checking >= 0:
		m.flash = fmt.Sprintf("a check of event %d is running: X again when it is done", s.lin.checking)
		return nil
	}
	return m.startLinCheck()
}

// dispatch hands a key to the focused pane.
func (m *Model) dispatch(k tea.KeyPressMsg) {
	switch m.focus {
	case focusCluster:
		m.cluster, _ = m.cluster.Update(k)
	case focusMessages:
		m.msgs, _ = m.msgs.Update(k)
	case focusLog:
		m.log, _ = m.log.Update(k)
	case focusDetails:
		m.details, _ = m.details.Update(k)
	}
}

// indexAt is the position at simulated time t: every event due by then done.
func (m *Model) indexAt(t sim.Time) int64 {
	log := m.sess.Log()
	for i := min(m.sess.Index(), int64(len(log))) - 1; i >= 0; i-- {
		if log[i].At <= t {
			return i + 1
		}
	}
	return 0
}

// prevMark is the position just after the previous interesting event.
func (m *Model) prevMark() int64 {
	log := m.sess.Log()
	for i := min(m.sess.Index(), int64(len(log))) - 2; i >= 0; i-- {
		if log[i].Interesting() {
			return i + 1
		}
	}
	return 0
}

func (m *Model) toggleBreakType() {
	if m.breakType != "" {
		m.breakType = ""
		return
	}
	if ev, ok := m.msgs.Current(); ok && ev.Msg != nil {
		m.breakType = ev.Msg.MessageType()
		return
	}
	m.flash = "select a message in the messages pane first (tab)"
}

// schedule applies a manual scheduling choice to the selected pending event.
func (m *Model) schedule(k tea.KeyPressMsg) {
	ev, ok := m.msgs.Current()
	if !ok {
		m.flash = "nothing pending"
		return
	}
	var err error
	verb := ""
	switch {
	case key.Matches(k, m.keys.Deliver):
		err, verb = m.sess.Deliver(ev.ID), "delivered"
	case key.Matches(k, m.keys.Drop):
		err, verb = m.sess.Drop(ev.ID), "dropped"
	default:
		err, verb = m.sess.Duplicate(ev.ID), "duplicated"
	}
	if err != nil {
		m.flash = err.Error()
		return
	}
	m.flash = fmt.Sprintf("%s #%d now: %s", verb, ev.ID, describe(m.sess.Sim(), &ev))
	m.msgs, _ = m.msgs.Update(nil)
}

func (m *Model) inject(f sim.Fault) {
	if err := m.sess.Inject(f); err != nil {
		m.flash = err.Error()
		return
	}
	f.Source = "manual"
	m.flash = "injected " + f.String()
}

// request asks the first idle client to submit a new operation now (a
// recorded "submit" timer choice); with every client busy, the first one
// queues it behind its operation in flight.
func (m *Model) request() {
	s := m.sess.Sim()
	n := s.Config().Clients
	if n == 0 {
		m.flash = "the scenario has no clients"
		return
	}
	pick := sim.ClientID(1)
	for i := 1; i <= n; i++ {
		id := sim.ClientID(i)
		if v, ok := s.Inspect(id); ok && v.Get("in flight") == "" {
			pick = id
			break
		}
	}
	if err := m.sess.Fire(pick, protocols.SubmitTimer, 0); err != nil {
		m.flash = err.Error()
		return
	}
	m.flash = "asked " + pick.String() + " to submit a request now"
}

func (m *Model) onSearchKey(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "enter":
		m.log.Query, m.mode = m.input, modeNormal
	case "esc":
		m.mode = modeNormal
	case "backspace":
		if r := []rune(m.input); len(r) > 0 {
			m.input = string(r[:len(r)-1])
		}
	default:
		if k.Text != "" {
			m.input += k.Text
		}
	}
	return nil
}

func nodeKey(k tea.KeyPressMsg, n int) (sim.NodeID, bool) {
	if len(k.Text) == 1 && k.Text[0] >= '1' && k.Text[0] <= '9' {
		if id := int(k.Text[0] - '0'); id <= n {
			return sim.NodeID(id), true
		}
	}
	return 0, false
}

func (m *Model) onSplitKey(k tea.KeyPressMsg) tea.Cmd {
	n := len(m.sess.Sim().Nodes())
	if id, ok := nodeKey(k, n); ok {
		m.splitA[id] = !m.splitA[id]
		return nil
	}
	switch {
	case k.String() == "esc":
		m.mode = modeNormal
	case k.String() == "space":
		id := m.cluster.Node()
		m.splitA[id] = !m.splitA[id]
	case k.String() == "enter":
		var a, b []sim.NodeID
		for _, id := range m.sess.Sim().Nodes() {
			if m.splitA[id] {
				a = append(a, id)
			} else {
				b = append(b, id)
			}
		}
		m.mode = modeNormal
		if len(a) == 0 || len(b) == 0 {
			m.flash = "split: choose some but not all nodes for the first group"
			return nil
		}
		m.inject(sim.Fault{Kind: sim.FaultPartition, Groups: [][]sim.NodeID{a, b}})
	default:
		m.cluster.focused = true
		m.cluster, _ = m.cluster.Update(k)
		m.cluster.focused = m.focus == focusCluster
	}
	return nil
}

func (m *Model) onCutKey(k tea.KeyPressMsg) tea.Cmd {
	m.mode = modeNormal
	if id, ok := nodeKey(k, len(m.sess.Sim().Nodes())); ok {
		m.inject(sim.Fault{Kind: sim.FaultCut, From: m.cluster.Node(), To: id})
	}
	return nil
}

// SavePath is where `s` saves the run at the current position.
func (m *Model) SavePath() string {
	sc := m.sess.Scenario
	return filepath.Join(m.opts.SaveDir, fmt.Sprintf("synod-%s-seed%d-at%d.jsonl", sc.Protocol, sc.Seed, m.sess.Index()))
}

func (m *Model) save() {
	path := m.SavePath()
	if err := m.sess.Save(path); err != nil {
		m.flash = "save: " + err.Error()
		return
	}
	m.saved = path
	m.flash = "saved; reopen with: " + m.ReproCommand()
}

// ReproCommand is the one command that reproduces the run at the current
// position: the saved file when there is one, else the scenario flags.
func (m *Model) ReproCommand() string {
	if m.opts.Repro != nil {
		return m.opts.Repro(m.saved, m.sess.Index())
	}
	if m.saved != "" {
		return scenario.Command("tui", scenario.CommandPath(m.saved))
	}
	c := m.opts.Command
	if c == "" {
		c = scenario.Command("tui")
	}
	if len(m.sess.TL.Choices()) > 0 {
		return c + "  (plus manual choices: press s to save them)"
	}
	return fmt.Sprintf("%s --at %d", c, m.sess.Index())
}

// View renders the whole screen: a pure function of the model.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.MouseMode = tea.MouseModeCellMotion
	return v
}

// Render is the screen as a string.
func (m *Model) Render() string {
	if m.w <= 0 || m.h <= 0 {
		return "synod: starting…"
	}
	if m.showHelp {
		return m.helpView()
	}
	if pe, ok := m.sess.Sim().Err().(*sim.PanicError); ok {
		return m.panicView(pe)
	}
	sc := m.sess.Scenario
	head := m.st.Title.Render("synod") + fmt.Sprintf(" · %s · %d nodes · seed %d", sc.Protocol, sc.Nodes, sc.Seed)
	if sc.File != "" && !strings.HasPrefix(sc.File, "--") {
		head += " · " + filepath.Base(sc.File)
	}
	var right string
	if m.showVerdicts {
		right = joinCols(m.log.View(), m.details.View())
	} else if m.wide() {
		right = joinCols(m.msgs.View(), m.details.View())
		right = joinCols(m.log.View(), right)
	} else if m.showDetails || m.focus == focusDetails {
		right = joinCols(m.log.View(), m.details.View())
	} else {
		right = joinCols(m.log.View(), m.msgs.View())
	}
	parts := []string{fit(head, m.w), m.cluster.View(), m.strip.View(), right, m.statusLine(), m.hintLine()}
	return box(strings.Split(strings.Join(parts, "\n"), "\n"), m.w, m.h)
}

// joinCols puts two blocks of equal height side by side with a rule.
func joinCols(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	out := make([]string, max(len(al), len(bl)))
	for i := range out {
		var l, r string
		if i < len(al) {
			l = al[i]
		}
		if i < len(bl) {
			r = bl[i]
		}
		out[i] = l + "│" + r
	}
	return strings.Join(out, "\n")
}

func (m *Model) statusLine() string {
	s := m.sess.Sim()
	var state string
	switch {
	case m.job == nil:
		state = fmt.Sprintf("‖ %v/s", speeds[m.speed])
	case m.job.play:
		state = fmt.Sprintf("▶ %v/s", speeds[m.speed])
	default:
		state = m.progress()
	}
	var brk []string
	if m.breakViolation {
		brk = append(brk, "V")
	}
	if m.breakLeader {
		brk = append(brk, "L")
	}
	if m.breakType != "" {
		brk = append(brk, "T:"+m.breakType)
	}
	viol := fmt.Sprintf("viol %d", len(s.Violations()))
	if len(s.Violations()) > 0 {
		viol = m.st.Bad.Render(viol)
	}
	line := fmt.Sprintf(" %.3fms  ev %d/%d  %s  %s  %s  brk %s", s.Now().Milliseconds(), m.sess.Index(), m.sess.Furthest(),
		state, viol, m.linStatus(), strings.Join(brk, ","))
	if n := len(m.sess.TL.Choices()); n > 0 {
		line += fmt.Sprintf("  manual %d", n)
	}
	line += fmt.Sprintf("  %s seed %d", m.sess.Scenario.Protocol, m.sess.Scenario.Seed)
	return m.st.Status.Render(fit(line, m.w))
}

// progress describes a seek in progress.
func (m *Model) progress() string {
	j := m.job
	i := m.sess.Index()
	if j.target > 0 {
		return fmt.Sprintf("%s %d%% (%d/%d)", j.label, 100*(i-j.from)/max(1, j.target-j.from), i, j.target)
	}
	if d := m.sess.Sim().Config().Duration; d > 0 {
		return fmt.Sprintf("%s %d%%", j.label, int64(100*m.sess.Sim().Now()/d))
	}
	return j.label + "…"
}

func (m *Model) hintLine() string {
	switch m.mode {
	case modeSearch:
		return fit("search log: "+m.input+"▏ (enter apply, esc cancel, empty clears)", m.w)
	case modeSplit:
		var a []string
		for _, id := range m.sess.Sim().Nodes() {
			if m.splitA[id] {
				a = append(a, id.String())
			}
		}
		return fit(fmt.Sprintf("split: group A = {%s}; 1-9 or space toggle, enter apply, esc cancel", strings.Join(a, " ")), m.w)
	case modeCut:
		return fit(fmt.Sprintf("cut: %v -/-> which node? (1-9, other key cancels)", m.cluster.Node()), m.w)
	}
	if m.flash != "" {
		return fit(m.flash, m.w)
	}
	return fit(m.help.ShortHelpView(m.keys.ShortHelp()), m.w)
}

// helpView lists every key in as many columns as fit, from the one keymap.
func (m *Model) helpView() string {
	var items []string
	keyW := 0
	for _, g := range m.keys.FullHelp() {
		for _, b := range g {
			keyW = max(keyW, ansi.StringWidth(b.Help().Key))
		}
	}
	for _, g := range m.keys.FullHelp() {
		for _, b := range g {
			if b.Enabled() {
				h := b.Help()
				items = append(items, m.st.Bold.Render(fit(h.Key, keyW))+" "+h.Desc)
			}
		}
	}
	rows := max(1, m.h-7)
	cols := (len(items) + rows - 1) / rows
	colW := max(1, (m.w-cols+1)/cols)
	rows = (len(items) + cols - 1) / cols
	lines := []string{m.st.Title.Render("synod tui — keys") + "  (any key closes)", ""}
	for r := range rows {
		var b strings.Builder
		for c := range cols {
			if i := c*rows + r; i < len(items) {
				if c > 0 {
					b.WriteString(" ")
				}
				b.WriteString(fit(items[i], colW))
			}
		}
		lines = append(lines, b.String())
	}
	lines = append(lines, "",
		"tab moves the focus: cluster → messages → event log → details; ↑/↓ select.",
		"Faults act on the selected node; a/d/u on the selected pending message.",
		"Every choice is recorded: s saves a file that reopens here and replays exactly.")
	return box(lines, m.w, m.h)
}

func (m *Model) panicView(pe *sim.PanicError) string {
	lines := []string{
		m.st.Bad.Render("the protocol panicked"),
		"",
		fmt.Sprintf("seed %d, event %d, t=%v, node %v", pe.Seed, pe.Index, pe.Time, pe.Node),
		"handling: " + pe.Event,
		"panic: " + pe.Value,
		"",
		"reproduce: " + m.ReproCommand(),
		"← steps back to before the panic; q quits.",
		"",
	}
	lines = append(lines, strings.Split(pe.Stack, "\n")...)
	return box(lines, m.w, m.h)
}
