package synodtest_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/internal/checkertest"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/shrink"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
)

// busyAfterRestarts is a user's stateful checker, one tinykv's own
// checkers and linearizability know nothing about: it counts n1's
// restarts (down, then up again) and fails once n1 has applied three operations after its
// second. It keeps state, so every run needs a fresh one.
type busyAfterRestarts struct {
	down     bool
	restarts int
}

func (c *busyAfterRestarts) Name() string { return "busy-after-restarts" }

func (c *busyAfterRestarts) Check(s *sim.Sim, ev *sim.Event) error {
	down := !s.Up(1)
	if c.down && !down {
		c.restarts++
	}
	c.down = down
	if n, ok := s.Process(1).(*tinykv); ok && c.restarts >= 2 && n.applied >= 3 {
		return fmt.Errorf("n1 applied %d operations after restart %d", n.applied, c.restarts)
	}
	return nil
}

// TestShrinkKeepsAUserCheckerFailing: a failure that only the test's own
// checker sees is shrunk with that checker in every shrink run, and the
// shrunk trace, replayed with a fresh checker, fails it again, sooner.
func TestShrinkKeepsAUserCheckerFailing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SYNOD_FAILURES", dir)
	checkers := func() []sim.Checker { return []sim.Checker{&busyAfterRestarts{}} }

	// tinykv itself is correct under this scenario: only the user's
	// checker fails.
	rep, err := synodtest.Run(synodtest.Options{Protocol: TinySpec(), YAML: crashes, Seeds: 1}, true)
	require.NoError(t, err)
	require.Empty(t, rep.Failures)

	rep, err = synodtest.Run(synodtest.Options{Protocol: TinySpec(), YAML: crashes, Seeds: 1, Checkers: checkers}, true)
	require.NoError(t, err)
	require.Len(t, rep.Failures, 1)
	f := rep.Failures[0]
	require.Equal(t, "violation", f.Kind)
	require.Equal(t, "busy-after-restarts", f.Checker)
	require.True(t, f.TestChecker)
	require.NotEmpty(t, f.ShrunkTrace, "a user checker's failure is shrunk: %s", f.Text("TestX"))
	require.Less(t, f.ShrunkEvents, f.Events)
	t.Logf("%s", f.Text("TestShrinkKeepsAUserCheckerFailing"))

	// The shrunk trace fails the user's checker again, at the event the
	// report names.
	file, err := os.Open(f.ShrunkTrace)
	require.NoError(t, err)
	defer file.Close()
	tr, err := sim.ReadTrace(file, f.ShrunkTrace)
	require.NoError(t, err)
	sc, err := scenario.FromJSON(tr.Header.Run, f.ShrunkTrace)
	require.NoError(t, err)
	in, err := shrink.Build(sc, checkers)
	require.NoError(t, err)
	res, err := in.Execute(tr.Choices)
	require.NoError(t, err)
	require.NotNil(t, res.FirstViolation)
	require.Equal(t, "busy-after-restarts", res.FirstViolation.Checker)
	require.Equal(t, f.ShrunkAt, res.FirstViolation.Index)
	require.Equal(t, f.ShrunkEvents, res.Events)
	require.Less(t, res.Events, f.Events)
}

// TestUserCheckerOnABuiltInProtocol: a user checker's failure on a
// protocol cmd/synod knows is shrunk too, and the report keeps the
// cmd/synod watch command but not `synod replay` of the shrunk trace,
// which (without the user's checker) would not reproduce it.
func TestUserCheckerOnABuiltInProtocol(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	rep, err := synodtest.Run(synodtest.Options{Scenario: "../../testdata/scenarios/raft/chaos3.yaml", Seeds: 1,
		Checkers: func() []sim.Checker { return []sim.Checker{&checkertest.ThreeElections{}} }}, true)
	require.NoError(t, err)
	require.Len(t, rep.Failures, 1)
	f := rep.Failures[0]
	require.Equal(t, "three-elections", f.Checker)
	require.True(t, f.TestChecker)
	require.False(t, f.Local)
	require.NotEmpty(t, f.ShrunkTrace)
	require.Less(t, f.ShrunkEvents, f.Events)
	text := f.Text("TestRaft")
	// The test runs in its package's directory, not the user's: the
	// commands name the module's command and the trace absolutely.
	trace, err := filepath.Abs(f.ShrunkTrace)
	require.NoError(t, err)
	require.Contains(t, text, "  watch:  go run github.com/synod-dev/synod/cmd/synod tui "+trace+fmt.Sprintf(" --at %d\n", f.ShrunkAt))
	require.NotContains(t, text, "cmd/synod replay")
	require.Contains(t, text, "without flagging three-elections")
	require.Equal(t, fmt.Sprintf("go run github.com/synod-dev/synod/cmd/synod tui %s --at %d", trace, f.ShrunkAt), f.Watch("TestRaft"))
}
