package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/shrink"
)

func init() { extraCommands = append(extraCommands, newShrinkCmd) }

func newShrinkCmd() *cobra.Command {
	var (
		out     string
		budget  int
		timeMax time.Duration
		verbose bool
	)
	cmd := &cobra.Command{
		Use:   "shrink TRACE",
		Short: "Minimise a failing trace while the same failure still happens",
		Long: `Shrink the failing run a trace records (its scenario and manual choices):
remove the nemesis, scheduled faults, manual choices and clients, lower the
operations per client, and shorten the run and its delays, keeping each
reduction only while the same failure still happens (the same invariant, a
panic, or the history of the same key still not linearizable) and the run
does not grow. The smallest run is written as a trace that synod replay
reproduces and synod tui opens.

A linearizability failure is cut at the end of its story: the first instant
the key's history could no longer be linearized. Each candidate runs until
its own story ends there, and one with fewer clients is kept even if it
runs longer. When nothing else shrinks it, other seeds of the same scenario
are tried, and one is kept only if its run is smaller (the steps say so).

Shrinking is deterministic for a given --budget (a count of runs);
--max-time adds a wall-clock cap, which makes the result depend on the
machine. Exit status 0 when a shrunk trace was written, 2 when the trace is
invalid or does not fail.`,
		Example: `  synod shrink counterexample.jsonl --out small.jsonl
  synod run --scenario testdata/scenarios/core/pb-partition.yaml --trace pb.jsonl; synod shrink pb.jsonl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if out == "" {
				out = trimJSONL(path) + ".small.jsonl"
			}
			if timeMax < 0 {
				return usageErr("--max-time: %v is negative", timeMax)
			}
			t, sc, err := loadTrace(path)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			opts := shrink.Options{Budget: budget}
			if timeMax > 0 {
				start := time.Now()
				opts.Stop = func() bool { return time.Since(start) > timeMax }
			}
			if verbose {
				opts.Log = func(s string) { fmt.Fprintln(cmd.ErrOrStderr(), "shrink:", s) }
			}
			r, err := shrink.Run(sc, t.Choices, opts)
			if err != nil {
				return inputErr(fmt.Errorf("%s: %v", path, err))
			}
			if err := writeChoicesTrace(out, r.Scenario, r.Choices); err != nil {
				return err
			}
			fmt.Fprintf(w, "%s fails: %v\n  before: %v\n  after:  %v\n  %d runs, %d reductions kept", path, r.Failure, r.Before, r.After, r.Runs, len(r.Steps))
			if r.Stopped != "" {
				fmt.Fprintf(w, " (stopped: %s)", r.Stopped)
			}
			if r.Scenario.Seed != sc.Seed {
				fmt.Fprintf(w, "\n  seed %d -> %d: the shrunk run is the scenario under another seed (a reduction was kept under it)", sc.Seed, r.Scenario.Seed)
			}
			writeStory(w, r)
			p := scenario.CommandPath(out)
			fmt.Fprintf(w, "\nwrote %s\n  replay: %s\n  view:   %s\n", out, scenario.Command("replay", p), scenario.Command("tui", p))
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&out, "out", "", "shrunk trace (default: TRACE with .small.jsonl)")
	fl.IntVar(&budget, "budget", shrink.DefaultBudget, "most evaluation runs")
	fl.DurationVar(&timeMax, "max-time", 0, "wall-clock cap (0: none; makes the result machine-dependent)")
	fl.BoolVar(&verbose, "verbose", false, "print each reduction kept")
	return cmd
}

func trimJSONL(p string) string {
	for _, ext := range []string{".jsonl", ".json"} {
		if len(p) > len(ext) && p[len(p)-len(ext):] == ext {
			return p[:len(p)-len(ext)]
		}
	}
	return p
}

// writeStory prints what the shrunk run shows: for a linearizability
// failure its explanation (or, without one, the key and where the story
// ends).
func writeStory(w io.Writer, r *shrink.Result) {
	if r.Failure.Kind != "linearizability" {
		return
	}
	if e := r.Explanation; e != nil {
		fmt.Fprintf(w, "\n%s", strings.TrimRight(e.Text(), "\n"))
		return
	}
	if r.Failure.Key != "" {
		fmt.Fprintf(w, "\n  key %s: the history is not linearizable from %v on (the run ends there)", r.Failure.Key, r.StoryEnd)
	}
}
