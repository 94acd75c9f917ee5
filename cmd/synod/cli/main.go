// Package cli is synod's command line as a library: every synod command
// (run, tui, sweep, report, explore, shrink, replay, grade, mutants,
// experiment, ...) for the protocols shipped with synod and for a module's
// own. A module that writes its own protocol gets the whole CLI from a
// main of a few lines:
//
//	func main() { cli.Main(mwabd.Spec()) }
//
// cmd/synod is that main with no protocols of its own.
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols"
	_ "github.com/synod-dev/synod/protocols/all" // the protocols shipped with synod
)

// exitError carries an exit status: 1 for a violation found (a failing
// seed), 2 for bad usage or bad input, 3 for a check that could not decide
// or a seed stopped at its events bound (not a pass), 4 for an
// interrupted sweep (resumable, worth retrying; 2 is not).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

func usageErr(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

func inputErr(err error) error { return &exitError{code: 2, err: err} }

// errFound is returned when a run found a violation; the summary was printed.
var errFound = &exitError{code: 1, err: errors.New("")}

// Main registers specs beside the protocols shipped with synod, runs the
// command named by os.Args and exits with its status: 0 every check
// decided and found nothing, 1 a violation, 2 bad usage or bad input, 3
// undecided, 4 an interrupted sweep. A Spec that cannot be registered (Register) exits 2 with the
// error before any command runs. Every command knows specs: --protocol
// selects them, scenario files name them, traces of them replay.
func Main(specs ...*protocols.Spec) {
	if err := Register(specs...); err != nil {
		fmt.Fprintln(os.Stderr, "synod:", err)
		os.Exit(2)
	}
	os.Exit(Execute(os.Args[1:], os.Stdout, os.Stderr))
}

// Register adds specs to the protocols every command knows
// (protocols.Add), stopping at the first that cannot be added: a nil
// Spec, a name already taken (by one of synod's own protocols too), or a
// Spec field at fault, named in the error. The pointers are those
// synodtest.Options.Protocol and tuitest.Options.Protocols take, so one
// Spec function serves the CLI, tests and the TUI.
func Register(specs ...*protocols.Spec) error {
	for i, s := range specs {
		if s == nil {
			return fmt.Errorf("cli.Register: spec %d of %d is nil", i+1, len(specs))
		}
		if err := protocols.Add(*s); err != nil {
			return err
		}
	}
	return nil
}

// Execute runs one synod command line (args without the program's name),
// printing to stdout and stderr, and returns its exit status. It is Main
// without the exit, for tests of a module's own protocol through the CLI.
func Execute(args []string, stdout, stderr io.Writer) int {
	return execute(args, stdout, stderr)
}

func execute(args []string, stdout, stderr io.Writer) int {
	root := newRoot()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err.Error() != "" {
			fmt.Fprintln(stderr, "synod:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "synod:", err)
	return 2
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:   "synod",
		Short: "synod: a deterministic simulator for consensus protocols",
		Long: `synod runs Raft, Paxos, two-phase commit and friends in a deterministic
discrete-event simulation with seeded faults: the same seed gives the same
run, byte for byte.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageErr("%v (see synod %s --help)", err, c.Name())
	})
	root.AddCommand(newRunCmd(), newReplayCmd(), newProtocolsCmd())
	for _, extra := range extraCommands {
		root.AddCommand(extra())
	}
	return root
}

// extraCommands lets other files of this command register subcommands.
var extraCommands []func() *cobra.Command

// checkOutDir makes an output directory and checks that a file can be
// written in it, so that a command fails before its work rather than
// after (an experiment computes for minutes before it writes).
func checkOutDir(flag, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return inputErr(fmt.Errorf("%s %s: cannot create it: %v", flag, dir, errors.Unwrap(err)))
	}
	f, err := os.CreateTemp(dir, ".synod-probe-*")
	if err != nil {
		return inputErr(fmt.Errorf("%s %s: cannot write there: %v", flag, dir, errors.Unwrap(err)))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
