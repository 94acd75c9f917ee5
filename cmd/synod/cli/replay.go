package cli

import (
	"bufio"
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

func newReplayCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "replay TRACE",
		Short: "Re-run a trace's configuration and check that it reproduces the trace exactly",
		Long: `Re-run the configuration recorded in a trace file (and any manual scheduling
choices it recorded) and compare the new trace with it line by line.

The trace is checked before it is trusted: its digest (the end line's
"digest", a SHA-256 of every line before it) must match its contents and
its header's simulator configuration must be the one its run builds;
otherwise it was edited and is reported as tampered. The replay runs at
most one event past the trace's own last event, whatever its header
claims, so its cost is bounded by the trace's length.

Exit status 0 when it reproduces exactly, 1 when it differs (the first
differing event is named), 2 when the file is not a valid trace or is
tampered.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			t, sc, err := loadTrace(path)
			if err != nil {
				return err
			}
			if err := t.Verify(); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "synod: note: %v\n", err)
			}
			// A faithful replay stops where the trace did, for the same
			// reason; one that does not is cut one event past the
			// recorded end, which is enough to show where it differs.
			if bound := t.Events + 1; sc.EventsMax == 0 || sc.EventsMax > bound {
				sc.EventsMax = bound
			}
			r, err := scenario.Build(sc)
			if err != nil {
				return inputErr(err)
			}
			var buf bytes.Buffer
			tw, err := r.TraceTo(&buf)
			if err != nil {
				return inputErr(err)
			}
			if err := r.Sim.RunChoices(t.Choices); err != nil {
				return inputErr(fmt.Errorf("%s: recorded choices do not apply: %v", path, err))
			}
			tw.Position = t.End.Position
			if err := tw.Close(r.Sim); err != nil {
				return err
			}
			got := splitLines(buf.Bytes())
			if len(got) > 0 {
				got = got[1:] // the header was compared when it was parsed
			}
			out := cmd.OutOrStdout()
			i, want, have := sim.FirstDifference(t.Lines, got)
			if i < 0 {
				fmt.Fprintf(out, "%s: reproduced exactly (%d events, %d manual choices, %v simulated)\n", path, t.Events, len(t.Choices), t.End.Time)
				return nil
			}
			fmt.Fprintf(out, "%s: DIFFERS at line %d (%s)\n  recorded: %s\n  replayed: %s\n", path, i+2, eventOf(want, have), clip(want), clip(have))
			if t.Header.Version != sim.Version {
				fmt.Fprintf(out, "  note: the trace was written by synod %s; this is synod %s\n", t.Header.Version, sim.Version)
			}
			return errFound
		},
	}
}

// loadTrace reads a trace and the scenario recorded in its header.
func loadTrace(path string) (*sim.Trace, *scenario.Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, inputErr(fmt.Errorf("%s: cannot open: %v", path, err))
	}
	defer f.Close()
	t, err := sim.ReadTrace(bufio.NewReader(f), path)
	if err != nil {
		return nil, nil, inputErr(err)
	}
	sc, err := scenario.FromTrace(t)
	if err != nil {
		return nil, nil, inputErr(err)
	}
	return t, sc, nil
}

func splitLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i])
		b = b[i+1:]
	}
	return out
}

func eventOf(a, b []byte) string {
	for _, l := range [][]byte{a, b} {
		var ev struct {
			I *int64 `json:"i"`
		}
		if jsonUnmarshal(l, &ev) == nil && ev.I != nil {
			return fmt.Sprintf("event %d", *ev.I)
		}
	}
	return "after the last event"
}

func clip(b []byte) string {
	if b == nil {
		return "(nothing)"
	}
	if len(b) > 300 {
		return string(b[:300]) + "..."
	}
	return string(b)
}
