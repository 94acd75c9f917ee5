package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

func newRunCmd() *cobra.Command {
	var sf scenarioFlags
	var asJSON bool
	var traceFile, linHTML string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run a simulated cluster and print a summary",
		Long: `Run a whole simulated cluster and print a summary: events, simulated and
wall time, messages, client operations, latency quantiles, invariant
violations and the linearizability verdict.

The linearizability verdict is ok, violation or unknown. A violation is
told as a short story under the verdict: the key, the operation no legal
order can place, and the operations concurrent with and before it, with
their trace event indexes (--json: lin_explanation). unknown means the
check could not decide (it ran out of its budget): the summary says why
and which setting raises the budget (--json: lin_reason). unknown is not
a pass.

Exit status: 0 every check decided and found nothing, 1 an invariant or
linearizability violation (or a protocol panic), 2 bad usage or bad
input, 3 undecided: a check could not decide (linearizability unknown).`,
		Example: `  synod run --protocol raft --nodes 5 --seed 42 --duration 10s
  synod run --scenario testdata/scenarios/core/pb-partition.yaml --json
  synod run --seed 7 --trace out.jsonl && synod replay out.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sf.load(cmd)
			if err != nil {
				return err
			}
			opts := scenario.RunOptions{NoHistory: true} // the summary needs no copy of the history
			var tf *os.File
			if traceFile != "" {
				tf, err = os.Create(traceFile)
				if err != nil {
					return inputErr(fmt.Errorf("--trace: %v", err))
				}
				defer tf.Close()
				opts.Trace = tf
			}
			start := time.Now()
			res, err := scenario.Run(sc, opts)
			if err != nil {
				return inputErr(err)
			}
			res.SetWall(time.Since(start))
			// --json carries the reason whenever the verdict is unknown,
			// the checker's own or the budget's.
			res.LinReason = res.UndecidedReason()
			if tf != nil {
				if err := tf.Close(); err != nil {
					return inputErr(fmt.Errorf("--trace: %v", err))
				}
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, _ := json.MarshalIndent(res, "", "  ")
				fmt.Fprintln(out, string(b))
			} else {
				printSummary(out, res)
			}
			if linHTML != "" {
				if err := res.WriteLinHTML(linHTML); err != nil {
					return inputErr(fmt.Errorf("--lin-html: %v", err))
				}
				if !asJSON {
					fmt.Fprintf(out, "linearizability visualization written to %s\n", linHTML)
				}
			}
			undecided := res.Linearizable == string(protocols.LinUnknown)
			// A run stopped by its events bound before its duration (a
			// livelock, a retry storm) never finished: not a pass.
			bounded := res.Stopped == sim.StopEventsMax && !sc.Unbounded
			if bounded && !res.Failed() {
				fmt.Fprintf(cmd.ErrOrStderr(), "stopped at the events bound after %d events, at %.3fs of %v simulated: not a pass (raise events_max if the run is legitimately busy)\n",
					res.Events, res.SimSeconds, sc.Duration)
			}
			if res.Failed() || undecided || bounded {
				fmt.Fprintf(cmd.ErrOrStderr(), "replay: %s\n", replayCommand(cmd, "run", sc))
				fmt.Fprintf(cmd.ErrOrStderr(), "watch:  %s%s\n", replayCommand(cmd, "tui", sc), atFlag(res))
			}
			switch {
			case res.Failed():
				return errFound
			case undecided, bounded:
				return errUndecided
			}
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as one JSON object")
	cmd.Flags().StringVar(&traceFile, "trace", "", "write the full trace (JSON lines) to this file")
	cmd.Flags().StringVar(&linHTML, "lin-html", "", "write porcupine's linearizability visualization (HTML) to this file")
	return cmd
}

// errUndecided is returned when a check could not decide (a
// linearizability verdict of unknown): exit status 3, neither a pass (0)
// nor a violation found (1). The summary says why.
var errUndecided = &exitError{code: 3, err: errors.New("")}

// atFlag points the TUI at the first violation or panic, or at the
// invocation of the operation a linearizability explanation cannot place.
func atFlag(res *scenario.Result) string {
	if res.FirstViolation != nil {
		return fmt.Sprintf(" --at %d", res.FirstViolation.Index)
	}
	if res.Panic != nil {
		return fmt.Sprintf(" --at %d", res.Panic.Index)
	}
	if e := res.LinExplanation; e.Story() != "" && e.Ops[e.Failing].CallEvent >= 0 {
		return fmt.Sprintf(" --at %d", e.Ops[e.Failing].CallEvent)
	}
	return ""
}

// indent prefixes every line of text.
func indent(text, prefix string) string {
	lines := strings.SplitAfter(text, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

func printSummary(w io.Writer, r *scenario.Result) {
	fmt.Fprintf(w, "synod run: protocol %s, %d nodes, seed %d\n", r.Protocol, r.Nodes, r.Seed)
	fmt.Fprintf(w, "  scenario      %s\n", r.Scenario)
	fmt.Fprintf(w, "  faults        %s\n", r.Faults)
	fmt.Fprintf(w, "  events        %d in %.3fs simulated, %.3fs wall (%.0f events/s)\n", r.Events, r.SimSeconds, r.WallSeconds, r.EventsPerSecond)
	fmt.Fprintf(w, "  messages      sent %d, delivered %d, dropped %d, duplicated %d\n", r.MessagesSent, r.MessagesDeliv, r.MessagesDropped, r.MessagesDup)
	fmt.Fprintf(w, "  client ops    ok %d, failed %d, timed out (unknown) %d\n", r.OpsOK, r.OpsFailed, r.OpsUnknown)
	fmt.Fprintf(w, "  latency       p50 %.2fms, p90 %.2fms, p99 %.2fms (simulated)\n", r.LatencyP50, r.LatencyP90, r.LatencyP99)
	if r.FirstViolation != nil {
		fmt.Fprintf(w, "  invariants    %d violation(s); first at event %d (t=%v): %s: %s\n", r.Violations, r.FirstViolation.Index, r.FirstViolation.Time, r.FirstViolation.Checker, r.FirstViolation.Message)
	} else {
		fmt.Fprintf(w, "  invariants    0 violations\n")
	}
	switch {
	case r.Linearizable == string(protocols.LinUnknown):
		fmt.Fprintf(w, "  linearizable  unknown: %s\n", r.UndecidedReason())
	case r.Linearizable == string(protocols.LinViolation) && r.LinExplanation.Story() != "":
		fmt.Fprintf(w, "  linearizable  violation\n%s", indent(r.LinExplanation.Story(), "    "))
	default:
		fmt.Fprintf(w, "  linearizable  %s\n", r.Linearizable)
	}
	for _, m := range r.Metrics {
		fmt.Fprintf(w, "  %-13s %s\n", m.Name+" ", m.Value)
	}
	fmt.Fprintf(w, "  stopped       %s\n", r.Stopped)
	if r.Panic != nil {
		fmt.Fprintf(w, "  PANIC         %v\n%s\n", r.Panic, r.Panic.Stack)
	}
}
