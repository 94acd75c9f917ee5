package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	_ "github.com/synod-dev/synod/protocols/single"
	_ "github.com/synod-dev/synod/raft"
)

// testScenario is a small, calm raft cluster: three nodes, one client, a
// LAN-like network and no faults, so the screens stay readable.
func testScenario(tb testing.TB, protocol string, nodes int, seed uint64) *scenario.Scenario {
	tb.Helper()
	y := fmt.Sprintf(`# a calm cluster for the TUI's tests
protocol: %s
nodes: %d
seed: %d
duration: 5s
network: {latency: {dist: uniform, min: 1ms, max: 5ms}}
workload: {clients: 1, think: 20ms}
`, protocol, nodes, seed)
	sc, err := scenario.Parse([]byte(y), "calm.yaml")
	require.NoError(tb, err)
	return sc
}

func newTestModel(tb testing.TB, sc *scenario.Scenario, opts Options) *Model {
	tb.Helper()
	s, err := NewSession(sc)
	require.NoError(tb, err)
	opts.NoColor = true
	opts.FrameBudget = time.Minute
	if opts.Command == "" {
		opts.Command = "go run ./cmd/synod tui --scenario calm.yaml"
	}
	m := New(s, opts)
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	return m
}

// keyMsg builds a key press from its name as key bindings spell it.
func keyMsg(s string) tea.KeyPressMsg {
	switch s {
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// press sends keys to the model through Update, synchronously.
func press(m *Model, keys ...string) {
	for _, k := range keys {
		m.Update(keyMsg(k))
	}
}

func screen(m *Model) string { return ansi.Strip(m.Render()) }

// leaderOf returns the leader a screen's cluster pane shows, or "".
func leaderOf(s string) string {
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(strings.TrimPrefix(l, "▸"))
		if len(f) >= 3 && f[2] == "leader" {
			return f[0]
		}
	}
	return ""
}

func keySize(w, h int) tea.WindowSizeMsg { return tea.WindowSizeMsg{Width: w, Height: h} }
