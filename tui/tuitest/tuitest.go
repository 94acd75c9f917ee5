// Package tuitest opens synod's terminal UI from a binary of your own: a
// Go test binary or a main of your module, for a protocol that cmd/synod
// does not know (cmd/synod links only the protocols in protocols/all).
//
// Importing it for its side effect links the TUI into a test binary and
// registers it with protocols/synodtest, so that the watch command a
// failure of your own protocol prints works:
//
//	import _ "github.com/synod-dev/synod/tui/tuitest"
//
//	cd /src/mykv && go test -run '^TestMyKV$' -timeout 0 -synod.tui testdata/failures/mykv-seed4-shrunk.jsonl
//
// synodtest cannot import the TUI itself: packages under protocols/ sit
// below tui/, which imports them. From a main, call Open:
//
//	err := tuitest.Open(path, tuitest.Options{Protocols: []*protocols.Spec{mykv.Spec()}})
package tuitest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/tui"
)

func init() { synodtest.RegisterTUI(openRequest) }

// Options say what to open the trace with.
type Options struct {
	// Protocols are registered (synodtest.Use) before the trace is read:
	// the protocols of your own package that no init registers.
	Protocols []*protocols.Spec
	// At is the event to open at (0: where the trace was saved; the end
	// of a trace synodtest or synod run wrote).
	At int64
	// Checkers returns fresh extra checkers for the run (your test's
	// own invariants), added to the protocol's, so the TUI flags their
	// violations too.
	Checkers func() []sim.Checker
	// Command gives the command that opens a trace at an event (0: where
	// it was saved); the TUI shows it as the way to come back, and Open
	// prints it on exit. Default: synod's `tui TRACE --at N`, as scenario.Command names the binary.
	Command func(trace string, at int64) string
	// NoColor renders without colour (also the NO_COLOR variable).
	NoColor bool
}

// ErrNoTerminal is returned by Open when the output is not a terminal:
// the TUI would draw into a pipe or a file and wait for keys forever.
var ErrNoTerminal = errors.New("the TUI needs a terminal, and standard output is not one")

// openRequest opens what a synodtest check under -synod.tui asks for.
func openRequest(r synodtest.TUIRequest) error {
	err := Open(r.Trace, Options{At: r.At, Checkers: r.Checkers, Command: r.Command})
	if errors.Is(err, ErrNoTerminal) {
		return fmt.Errorf("%w: run go test in the package's directory with no package argument (go test captures the output of listed packages), from a terminal", err)
	}
	return err
}

// Open opens the trace in the TUI on this terminal and returns when the
// user quits, printing where they left and the command that comes back
// there. It returns ErrNoTerminal, at once, when standard output is not a
// terminal.
func Open(path string, opts Options) error {
	if !isTerminal(stdout) {
		return ErrNoTerminal
	}
	m, err := NewModel(path, opts)
	if err != nil {
		return err
	}
	final, err := run(m)
	if err != nil {
		return fmt.Errorf("tui: %v", err)
	}
	if fm, ok := final.(*tui.Model); ok {
		fmt.Fprintf(stdout, "synod tui: left at event %d; reopen: %s\n", fm.Session().Index(), fm.ReproCommand())
	}
	return nil
}

// stdout is the terminal Open draws on, isTerminal checks it, and run is
// the program that draws: tests replace them (a pipe, teatest).
var (
	stdout     = os.Stdout
	isTerminal = func(f *os.File) bool { return term.IsTerminal(f.Fd()) }
	run        = func(m *tui.Model) (tea.Model, error) { return tea.NewProgram(m, tea.WithOutput(stdout)).Run() }
)

// NewModel builds the TUI's model over a trace, with the options'
// protocols registered and their checkers added, without a terminal:
// Open runs it in a bubbletea program, tests drive it with teatest.
func NewModel(path string, opts Options) (*tui.Model, error) {
	if opts.At < 0 {
		return nil, fmt.Errorf("open %s at event %d: want an event index >= 0", path, opts.At)
	}
	for _, spec := range opts.Protocols {
		if _, err := synodtest.Use(spec); err != nil {
			return nil, err
		}
	}
	t, sc, err := readTrace(path)
	if err != nil {
		return nil, err
	}
	sess, err := tui.NewSession(sc)
	if err != nil {
		return nil, err
	}
	if opts.Checkers != nil {
		for _, c := range opts.Checkers() {
			sess.Inst.Sim.AddChecker(c)
		}
		// The timeline's first checkpoint was taken without the checkers:
		// take it again, at event 0, with them (stepping back restores
		// checkpoints, checkers included).
		sess.TL = sim.NewTimeline(sess.Inst.Sim, tui.DefaultInterval)
	}
	pos := tui.FromTrace(sess, t)
	if opts.At > 0 {
		pos = opts.At
	}
	command := opts.Command
	if command == nil {
		// One helper names the binary and the file so that the command
		// works where it is printed (scenario.Command).
		command = func(trace string, at int64) string {
			if at > 0 {
				return scenario.Command("tui", scenario.CommandPath(trace), "--at", strconv.FormatInt(at, 10))
			}
			return scenario.Command("tui", scenario.CommandPath(trace))
		}
	}
	repro := func(saved string, at int64) string {
		if saved != "" {
			return command(saved, 0)
		}
		c := command(path, at)
		if !reflect.DeepEqual(sess.TL.Choices(), t.Choices) && len(sess.TL.Choices())+len(t.Choices) > 0 {
			c += "  (plus manual choices: press s to save them)"
		}
		return c
	}
	return tui.New(sess, tui.Options{At: pos, Repro: repro, NoColor: opts.NoColor || os.Getenv("NO_COLOR") != ""}), nil
}

// readTrace reads a trace file and the scenario it records.
func readTrace(path string) (*sim.Trace, *scenario.Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	t, err := sim.ReadTrace(f, path)
	if err != nil {
		return nil, nil, err
	}
	var head struct{ Protocol string }
	if json.Unmarshal(t.Header.Run, &head) == nil && head.Protocol != "" {
		if _, err := protocols.Lookup(head.Protocol); err != nil {
			return nil, nil, fmt.Errorf("%s: a run of protocol %q, which this binary does not know: hand its Spec in Options.Protocols, or register it in an init of a package the binary imports", path, head.Protocol)
		}
	}
	// scenario.FromTrace checks the trace's digest: a tampered trace is
	// refused, an unsigned one gets tui.FromTrace's warning.
	sc, err := scenario.FromTrace(t)
	if err != nil {
		return nil, nil, err
	}
	return t, sc, nil
}
