package tui

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest/v2"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// The golden tests run the real bubbletea program through teatest at a
// fixed terminal size, send the keys of one flow, quit, and compare the
// final screen (ANSI stripped) with testdata/<test>.golden. Rewrite the
// files with `go test ./tui -run Golden -update` and review the diff.

// flow runs keys through a real program and returns the final model.
func flow(t *testing.T, m *Model, w, h int, keys ...string) *Model {
	t.Helper()
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
	tm.Send(keyMsg("q"))
	fm, ok := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*Model)
	require.True(t, ok)
	return fm
}

func repeat(k string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = k
	}
	return out
}

func TestGoldenOpen(t *testing.T) {
	m := flow(t, newTestModel(t, testScenario(t, "raft", 3, 1), Options{}), 80, 24)
	golden.RequireEqual(t, screen(m))
}

func TestGoldenStep(t *testing.T) {
	m := flow(t, newTestModel(t, testScenario(t, "raft", 3, 1), Options{}), 80, 24, repeat("l", 40)...)
	assert.Equal(t, int64(40), m.sess.Index())
	golden.RequireEqual(t, screen(m))
}

func TestGoldenStepBack(t *testing.T) {
	keys := append(repeat("l", 40), repeat("h", 15)...)
	m := flow(t, newTestModel(t, testScenario(t, "raft", 3, 1), Options{}), 80, 24, keys...)
	assert.Equal(t, int64(25), m.sess.Index())
	// The state after stepping back is the state of going there directly.
	direct := newTestModel(t, testScenario(t, "raft", 3, 1), Options{})
	press(direct, repeat("l", 25)...)
	assert.Equal(t, clusterOf(screen(direct)), clusterOf(screen(m)))
	golden.RequireEqual(t, screen(m))
}

// TestGoldenCrashLeader crashes the elected leader, then runs with the
// leader-change breakpoint on until another node leads.
func TestGoldenCrashLeader(t *testing.T) {
	sc := testScenario(t, "raft", 3, 1)
	probe := newTestModel(t, sc, Options{})
	press(probe, "L", "G")
	leader := leaderOf(screen(probe))
	require.NotEmpty(t, leader)
	n, err := sim.ParseNodeID(leader)
	require.NoError(t, err)

	keys := []string{"L", "G"}
	keys = append(keys, repeat("j", int(n)-1)...)
	keys = append(keys, "c", "G")
	m := flow(t, newTestModel(t, sc, Options{}), 80, 24, keys...)
	s := screen(m)
	assert.Contains(t, s, leader+" ✗ crashed")
	now := leaderOf(s)
	assert.NotEmpty(t, now)
	assert.NotEqual(t, leader, now, "a new leader")
	golden.RequireEqual(t, s)
}

func TestGoldenManualDelivery(t *testing.T) {
	sc := testScenario(t, "raft", 3, 1)
	// Find a point with a few messages in flight.
	probe := newTestModel(t, sc, Options{})
	press(probe, "]", "tab")
	steps := 0
	for len(probe.msgs.Items()) < 3 {
		press(probe, "l")
		steps++
	}
	keys := append([]string{"]", "tab"}, repeat("l", steps)...)
	keys = append(keys, "j", "j", "a")
	m := flow(t, newTestModel(t, sc, Options{}), 80, 24, keys...)
	require.Len(t, m.sess.TL.Choices(), 1)
	assert.Equal(t, probe.msgs.Items()[2].ID, m.sess.TL.Choices()[0].ID)
	golden.RequireEqual(t, screen(m))
}

// TestGoldenSaveReopen saves a run with a manual choice and a fault, then
// reopens the file: the screen is the same at the same position.
func TestGoldenSaveReopen(t *testing.T) {
	dir := t.TempDir()
	sc := testScenario(t, "raft", 3, 1)
	keys := []string{"]", "j", "c", "l", "l", "tab", "t", "a", "]", "[", "s"}
	m := flow(t, newTestModel(t, sc, Options{SaveDir: dir}), 80, 24, keys...)
	path := m.saved
	require.FileExists(t, path)
	before := screen(m)
	assert.Contains(t, m.flash, "reopen with: go run github.com/synod-dev/synod/cmd/synod tui "+path, "the command names synod as scenario.Command does (under go test: go run of its import path) and works from any directory")

	s, pos, err := Open(path)
	require.NoError(t, err)
	assert.Equal(t, m.sess.Index(), pos)
	r := flow(t, New(s, Options{At: pos, NoColor: true, FrameBudget: time.Minute}), 80, 24)
	after := screen(r)
	assert.Equal(t, m.sess.Index(), r.sess.Index())
	unselect := func(s string) string { return strings.ReplaceAll(s, "▸", " ") }
	assert.Equal(t, unselect(clusterOf(before)), unselect(clusterOf(after)))
	assert.Equal(t, m.sess.TL.Choices(), r.sess.TL.Choices())
	golden.RequireEqual(t, after)

	// The saved file is a complete trace that replays exactly, as
	// `synod replay` checks it.
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tr, err := sim.ReadTrace(f, path)
	require.NoError(t, err)
	assert.Equal(t, m.sess.Index(), tr.End.Position)
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	var buf bytes.Buffer
	tw, err := inst.TraceTo(&buf)
	require.NoError(t, err)
	require.NoError(t, inst.Sim.RunChoices(tr.Choices))
	tw.Position = tr.End.Position
	require.NoError(t, tw.Close(inst.Sim))
	got := bytes.Split(bytes.TrimSuffix(buf.Bytes(), []byte("\n")), []byte("\n"))[1:]
	i, want, have := sim.FirstDifference(tr.Lines, got)
	assert.Equal(t, -1, i, "replay differs:\n%s\n%s", want, have)
}

func TestGoldenHelp(t *testing.T) {
	m := flow(t, newTestModel(t, testScenario(t, "raft", 3, 1), Options{}), 80, 24, "?")
	golden.RequireEqual(t, screen(m))
}

// TestGoldenWide shows a larger terminal: details get their own column.
func TestGoldenWide(t *testing.T) {
	m := flow(t, newTestModel(t, testScenario(t, "raft", 5, 2), Options{}), 140, 40, "]", "]", "]", "j")
	golden.RequireEqual(t, screen(m))
}

// linFlow opens the primary-backup partition run with a stale read of its
// own history injected as the checker's explanation, runs it to its end
// (where the check runs by itself, in the background: the flow waits for
// the verdict as a user would), shows the verdicts (X), and walks back
// with E to the return of the operation that cannot be placed.
func linFlow(t *testing.T, w, h int) (*Model, *protocols.LinExplanation) {
	t.Helper()
	sc := pbPartition(t)
	e := staleRead(t, historyAtEnd(t, sc))
	m := newTestModel(t, sc, Options{CheckLin: explainWith(e, new(int))})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(w, h))
	tm.Send(keyMsg("G"))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("X shows why")) },
		teatest.WithDuration(30*time.Second))
	// E from the end: once per marked event at or after the failing return.
	f := e.Ops[e.Failing]
	n := 0
	for _, o := range e.Ops {
		for _, i := range []int64{o.CallEvent, o.ReturnEvent} {
			if i >= f.ReturnEvent {
				n++
			}
		}
	}
	tm.Send(keyMsg("X"))
	for range n {
		tm.Send(keyMsg("E"))
	}
	tm.Send(keyMsg("q"))
	fm, ok := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*Model)
	require.True(t, ok)
	assert.Equal(t, f.ReturnEvent, fm.sess.Index()-1, "at the failing operation's return")
	return fm, e
}

// TestGoldenLinViolation: at 80x24, the status bar's verdict of the end
// (named with its position: the flow stepped back from there), the marks
// around the failing return, and the explanation beside the log.
func TestGoldenLinViolation(t *testing.T) {
	m, e := linFlow(t, 80, 24)
	s := screen(m)
	assert.Contains(t, statusOf(s), fmt.Sprintf("lin@%d violation", m.sess.Furthest()))
	assert.Contains(t, s, fmt.Sprintf("✗%5d", e.Ops[e.Failing].ReturnEvent))
	golden.RequireEqual(t, s)
}

// TestGoldenLinViolationWide is the same flow at 120x40.
func TestGoldenLinViolationWide(t *testing.T) {
	m, e := linFlow(t, 120, 40)
	s := screen(m)
	assert.Contains(t, s, "no legal order places "+e.Ops[e.Failing].Client.String())
	golden.RequireEqual(t, s)
}

// TestGoldenInvariantViolation: a run that stops on an invariant shows the
// checker's message in the hint line and the verdicts view, at 80x24 and
// 120x40.
func TestGoldenInvariantViolation(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := withChecker(t, testScenario(t, "raft", 3, 1), commitBound{max: 3}, Options{LinSyncOpsMax: 1 << 20})
			m = flow(t, m, size[0], size[1], "G")
			s := screen(m)
			assert.Contains(t, s, "commit-bound: commit 4 > 3 on n2")
			assert.Contains(t, statusOf(s), "viol 1  lin ok")
			golden.RequireEqual(t, s)
		})
	}
}

// electionCandidateN is how many times the walkthrough in docs/tui.md
// presses n (next interesting) to reach the first candidate of the
// default five-node run (seed 7); the test holds the page to it.
const electionCandidateN = 6

// TestGoldenElection is docs/tui.md's Raft election walkthrough, at 80x24
// and 120x40: n to the first candidate, its votes in the details (enter
// at 80 columns), then L G to the new leader and whom it was elected by.
func TestGoldenElection(t *testing.T) {
	// What `synod tui --protocol raft --nodes 5 --seed 7` opens.
	sc := scenario.Default("raft")
	sc.Seed = 7
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		name := fmt.Sprintf("%dx%d", size[0], size[1])
		cand := repeat("n", electionCandidateN)
		// The candidate's card: select it (↓ from n1).
		probe := newTestModel(t, sc, Options{})
		press(probe, cand...)
		node := candidateOf(screen(probe))
		require.NotEmpty(t, node, "a candidate after %d presses of n:\n%s", electionCandidateN, screen(probe))
		id, err := sim.ParseNodeID(node)
		require.NoError(t, err)
		keys := append(cand, repeat("j", int(id)-1)...)
		if size[0] < 120 {
			keys = append(keys, "enter")
		}
		t.Run(name+"/candidate", func(t *testing.T) {
			m := flow(t, newTestModel(t, sc, Options{}), size[0], size[1], keys...)
			s := screen(m)
			assert.Contains(t, s, "votes for term", "the candidate's votes, per peer")
			golden.RequireEqual(t, s)
		})
		t.Run(name+"/leader", func(t *testing.T) {
			m := flow(t, newTestModel(t, sc, Options{}), size[0], size[1], append(keys, "L", "G")...)
			s := screen(m)
			assert.Equal(t, node, leaderOf(s), "the candidate won")
			assert.Contains(t, s, "elected by", "the leader's view says who voted for it")
			golden.RequireEqual(t, s)
		})
	}
}

// candidateOf returns the first candidate a screen's cluster pane shows.
func candidateOf(s string) string {
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(strings.TrimPrefix(l, "▸"))
		if len(f) >= 3 && f[2] == "candidate" {
			return f[0]
		}
	}
	return ""
}

// TestGoldenDefaultScreen is docs/tui.md's first screen: `synod tui --at
// 3000` on the embedded default scenario (Raft under the nemesis), 80x24.
func TestGoldenDefaultScreen(t *testing.T) {
	sc, err := scenario.Parse(scenario.DefaultYAML(), scenario.DefaultName)
	require.NoError(t, err)
	m := flow(t, newTestModel(t, sc, Options{At: 3000}), 80, 24)
	assert.Equal(t, int64(3000), m.sess.Index())
	golden.RequireEqual(t, screen(m))
}

// TestGoldenReelection is docs/tui.md's second screen, 100x30: L G stops
// at the first leader, j j c crashes it, G runs (the breakpoint still on)
// to the next one.
func TestGoldenReelection(t *testing.T) {
	sc := scenario.Default("raft")
	sc.Seed = 7
	m := flow(t, newTestModel(t, sc, Options{}), 100, 30, "L", "G", "j", "j", "c", "G")
	s := screen(m)
	assert.Contains(t, s, "n3 ✗ crashed")
	assert.Equal(t, "n5", leaderOf(s))
	golden.RequireEqual(t, s)
}
