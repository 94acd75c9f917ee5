package tuitest

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/tui"
)

// beacon is a protocol of this test only, registered nowhere else (not in
// protocols/all, which cmd/synod links): every node pings its peers every
// 10ms and counts the pings it sent.
type beacon struct{ sent int64 }

// ping is beacon's one message.
type ping struct{ N int64 }

func (*ping) MessageType() string { return "beacon.Ping" }

func (b *beacon) Start(env *sim.Env) { env.SetTimer(10*sim.Millisecond, "ping", 0) }

func (b *beacon) Receive(*sim.Env, sim.NodeID, sim.Message) {}

func (b *beacon) Timer(env *sim.Env, _ sim.Timer) {
	b.sent++
	for _, id := range env.Nodes() {
		if id != env.ID() {
			env.Send(id, &ping{N: b.sent})
		}
	}
	env.SetTimer(10*sim.Millisecond, "ping", 0)
}

func (b *beacon) Inspect() sim.View {
	return sim.View{Role: "beacon", Term: b.sent, TermLabel: "pings"}
}

func beaconSpec() *protocols.Spec {
	return &protocols.Spec{
		Name:        "tuitest-beacon",
		Description: "tui/tuitest's test protocol: nodes that ping each other",
		New: func(protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			return func(sim.NodeID) protocols.Node { return &beacon{} }, nil
		},
		Messages: []sim.Message{&ping{}},
	}
}

const beaconYAML = "# three beacons\nnodes: 3\nduration: 200ms\nworkload: {clients: 0}\n"

// fewPings is the test's own invariant: no node sends a fifth ping.
var fewPings = synodtest.Invariant{Name: "few-pings", Check: func(s *sim.Sim) error {
	for _, id := range s.Nodes() {
		if b, ok := s.Process(id).(*beacon); ok && b.sent >= 5 {
			return fmt.Errorf("%v sent %d pings", id, b.sent)
		}
	}
	return nil
}}

func keyMsg(s string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: []rune(s)[0], Text: s} }

// drive runs the model through teatest at 100x30, sends the keys and q,
// and returns the final model.
func drive(t *testing.T, m *tui.Model, keys ...string) *tui.Model {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
	tm.Send(keyMsg("q"))
	fm, ok := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*tui.Model)
	require.True(t, ok)
	return fm
}

// TestModelShowsALocalProtocol opens a trace of a protocol that only this
// test binary knows and checks that the screen shows its nodes.
func TestModelShowsALocalProtocol(t *testing.T) {
	spec := beaconSpec()
	spec.Name = "tuitest-beacon-model"
	_, err := protocols.Lookup(spec.Name)
	require.Error(t, err, "the protocol is registered nowhere before the test registers it")

	path := filepath.Join(t.TempDir(), "beacon.jsonl")
	_, err = NewModel(path, Options{})
	require.Error(t, err, "no trace yet")

	_, err = synodtest.Use(spec)
	require.NoError(t, err)
	sc, err := scenario.Parse([]byte(beaconYAML+"protocol: "+spec.Name+"\n"), "beacon.yaml")
	require.NoError(t, err)
	f, err := os.Create(path)
	require.NoError(t, err)
	_, err = scenario.Run(sc, scenario.RunOptions{Trace: f})
	require.NoError(t, err)
	require.NoError(t, f.Close())

	m, err := NewModel(path, Options{Protocols: []*protocols.Spec{spec}, At: 10, NoColor: true})
	require.NoError(t, err)
	fm := drive(t, m, "l", "l")
	assert.Equal(t, int64(12), fm.Session().Index(), "opened at event 10, two steps on")
	screen := ansi.Strip(fm.Render())
	t.Logf("\n%s", screen)
	assert.Contains(t, screen, "synod · "+spec.Name+" · 3 nodes · seed 1")
	for _, n := range []string{"n1", "n2", "n3"} {
		assert.Regexp(t, n+" . beacon", screen, "node %s is drawn with beacon's role", n)
	}
	assert.Contains(t, screen, "Ping", "beacon's messages are in flight (without their package at 80 columns)")
	// The command works where it is printed: under go test it names synod
	// by its import path and the trace by its absolute path.
	assert.Equal(t, scenario.Command("tui", path, "--at", "12"), fm.ReproCommand())
	assert.Contains(t, fm.ReproCommand(), "go run github.com/synod-dev/synod/cmd/synod tui /")
}

// fakeT records what synodtest.Check reports.
type fakeT struct {
	name   string
	logs   []string
	errors []string
}

func (f *fakeT) Helper()      {}
func (f *fakeT) Name() string { return f.name }
func (f *fakeT) Logf(format string, a ...any) {
	f.logs = append(f.logs, fmt.Sprintf(format, a...))
}
func (f *fakeT) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeT) Fatalf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeT) Failed() bool { return len(f.errors) > 0 }

// TestWatchCommandOpensTheTUI follows a failure of the test's own
// protocol from its report to the TUI: the report's watch command is the
// go test form, and what it runs (the test's Check under -synod.tui, here
// SYNOD_TUI and SYNOD_AT) opens the shrunk trace with the test's own
// invariant, at the event before the violation.
func TestWatchCommandOpensTheTUI(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	opts := synodtest.Options{Protocol: beaconSpec(), YAML: beaconYAML, Seeds: 1, Invariants: []synodtest.Invariant{fewPings}}
	rep, err := synodtest.Run(opts, true)
	require.NoError(t, err)
	require.Len(t, rep.Failures, 1)
	f := rep.Failures[0]
	require.True(t, f.Local)
	require.Equal(t, "few-pings", f.Checker)
	require.NotEmpty(t, f.ShrunkTrace)
	require.Positive(t, f.ShrunkAt)

	dir, err := os.Getwd()
	require.NoError(t, err)
	watch := fmt.Sprintf("cd %s && go test -run '^TestWatch$' -timeout 0 -synod.tui %s -synod.at %d", dir, f.ShrunkTrace, f.ShrunkAt)
	assert.Equal(t, watch, f.Watch("TestWatch"))
	text := f.Text("TestWatch")
	assert.Contains(t, text, "  watch:  "+watch+"\n")
	assert.NotContains(t, text, "go run ./cmd/synod", "cmd/synod does not know the test's protocol")
	assert.NotContains(t, text, "import _", "this binary links the TUI: no hint needed")

	// What the watch command runs: the same Check, with -synod.tui.
	var got *tui.Model
	run = func(m *tui.Model) (tea.Model, error) {
		got = drive(t, m, "l")
		return got, nil
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	require.NoError(t, err)
	stdout, isTerminal = out, func(*os.File) bool { return true }
	t.Cleanup(func() { restore(); out.Close() })
	t.Setenv("SYNOD_TUI", f.ShrunkTrace)
	t.Setenv("SYNOD_AT", strconv.FormatInt(f.ShrunkAt, 10))
	ft := &fakeT{name: "TestWatch"}
	rep = synodtest.Check(ft, opts)
	require.Empty(t, ft.errors)
	require.Zero(t, rep.Seeds, "under -synod.tui no seeds run")
	require.NotNil(t, got, "the TUI was opened")

	s := got.Session()
	assert.Equal(t, f.ShrunkAt+1, s.Index(), "opened before the violation, one step on")
	v := s.Sim().Violations()
	require.Len(t, v, 1, "the TUI's run checks the test's own invariant")
	assert.Equal(t, "few-pings", v[0].Checker)
	screen := ansi.Strip(got.Render())
	assert.Contains(t, screen, "viol 1")
	assert.Contains(t, screen, "tuitest-beacon")
	assert.Equal(t, fmt.Sprintf("cd %s && go test -run '^TestWatch$' -timeout 0 -synod.tui %s -synod.at %d", dir, f.ShrunkTrace, s.Index()), got.ReproCommand())
	printed, err := os.ReadFile(out.Name())
	require.NoError(t, err)
	assert.Contains(t, string(printed), "synod tui: left at event")

	// A second check of the same run does not open it again.
	got = nil
	synodtest.Check(ft, opts)
	assert.Nil(t, got)
	require.Empty(t, ft.errors)
}

// TestNoTerminal: with standard output not a terminal, the TUI is not
// started (it would wait for keys forever); the error says what to do.
func TestNoTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	stdout = w
	t.Cleanup(restore)
	run = func(*tui.Model) (tea.Model, error) { t.Fatal("the program must not start"); return nil, nil }

	err = Open("no-such.jsonl", Options{})
	require.ErrorIs(t, err, ErrNoTerminal)

	t.Setenv("SYNOD_FAILURES", t.TempDir())
	opts := synodtest.Options{Protocol: beaconSpec(), YAML: beaconYAML, Seeds: 1, Invariants: []synodtest.Invariant{fewPings}}
	rep, err := synodtest.Run(opts, true)
	require.NoError(t, err)
	require.Len(t, rep.Failures, 1)
	t.Setenv("SYNOD_TUI", rep.Failures[0].Trace)
	ft := &fakeT{name: "TestNoTerm"}
	synodtest.Check(ft, opts)
	require.Len(t, ft.errors, 1)
	assert.Contains(t, ft.errors[0], "needs a terminal")
	assert.Contains(t, ft.errors[0], "no package argument")
}

// TestUnknownProtocol: a trace of a protocol the binary does not know is
// an error that says how to hand it in.
func TestUnknownProtocol(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.jsonl")
	spec := beaconSpec()
	spec.Name = "tuitest-beacon-unknown"
	_, err := synodtest.Use(spec)
	require.NoError(t, err)
	sc, err := scenario.Parse([]byte(beaconYAML+"protocol: "+spec.Name+"\n"), "x.yaml")
	require.NoError(t, err)
	var b strings.Builder
	_, err = scenario.Run(sc, scenario.RunOptions{Trace: &b})
	require.NoError(t, err)
	text := strings.Replace(b.String(), spec.Name, "nobody-knows-me", 1)
	require.NoError(t, os.WriteFile(path, []byte(text), 0o644))
	_, err = NewModel(path, Options{})
	require.Error(t, err)
	t.Log(err)
	assert.Contains(t, err.Error(), `protocol "nobody-knows-me", which this binary does not know`)
}

var (
	origStdout     = stdout
	origIsTerminal = isTerminal
	origRun        = run
)

func restore() { stdout, isTerminal, run = origStdout, origIsTerminal, origRun }
