package etcdraft

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/tui"
)

// The TUI's timeline steps back by restoring checkpoints (deep copies of
// the run) and replaying: after going back and forth, every etcd-raft
// node shows what a straight run shows at the same event, and the screen
// draws etcd-raft's views.
func TestTUITimelineStepsBack(t *testing.T) {
	views := func(s *sim.Sim) []sim.View {
		var out []sim.View
		for _, id := range s.Nodes() {
			v, _ := s.Inspect(id)
			out = append(out, v)
		}
		return out
	}
	sc := loadScenario(t, "chaos5.yaml")
	sess, err := tui.NewSession(sc)
	require.NoError(t, err)
	for sess.Index() < 3000 && sess.Step() {
	}
	want := views(sess.Sim())
	require.NoError(t, sess.GoTo(1200))
	require.NoError(t, sess.GoTo(3000))
	assert.Equal(t, want, views(sess.Sim()), "the nodes differ after stepping back and forth")

	m := tui.New(sess, tui.Options{NoColor: true, FrameBudget: time.Minute, Command: "go run ./cmd/synod tui --scenario testdata/scenarios/etcdraft/chaos5.yaml"})
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	screen := ansi.Strip(m.Render())
	assert.True(t, strings.Contains(screen, "leader") || strings.Contains(screen, "follower"), "screen:\n%s", screen)
}
