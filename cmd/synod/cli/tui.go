package cli

import (
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/tui"
)

func init() { extraCommands = append(extraCommands, newTUICmd) }

func newTUICmd() *cobra.Command {
	var sf scenarioFlags
	var at int64
	cmd := &cobra.Command{
		Use:   "tui [TRACE]",
		Short: "Step through a run in the terminal: forward and back, manual scheduling, faults",
		Long: `Open a run in a terminal UI: the cluster's nodes, the messages in flight, the
event log, a timeline strip and the details of the selected node or message.
Step forward and back, run at a chosen speed, schedule messages by hand and
inject faults; s saves the run to a file that reopens at the same point.

With a TRACE argument (a file written by s, or by synod run --trace) it
reopens that run, with its manual choices, at the saved position. With no
arguments it opens the default scenario. Press ? for the keys.`,
		Example: `  synod tui --protocol raft --nodes 5 --seed 7
  synod tui --scenario testdata/scenarios/core/pb-partition.yaml --at 1234
  synod tui synod-raft-seed7-at812.jsonl`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var sess *tui.Session
			var pos int64
			command := ""
			if len(args) == 1 {
				for _, name := range []string{"scenario", "protocol", "nodes", "seed", "duration", "clients", "loss", "duplicate", "fault", "keep-going", "no-lin"} {
					if cmd.Flags().Changed(name) {
						return usageErr("--%s: a saved trace carries its own scenario; give either a trace or scenario flags", name)
					}
				}
				t, sc, err := loadTrace(args[0])
				if err != nil {
					return err
				}
				sess, err = tui.NewSession(sc)
				if err != nil {
					return inputErr(err)
				}
				pos = tui.FromTrace(sess, t)
				command = scenario.Command("tui", scenario.CommandPath(args[0]))
			} else {
				sc, err := sf.load(cmd)
				if err != nil {
					return err
				}
				sess, err = tui.NewSession(sc)
				if err != nil {
					return inputErr(err)
				}
				command = replayCommand(cmd, "tui", sc)
			}
			if cmd.Flags().Changed("at") {
				pos = at
			}
			m := tui.New(sess, tui.Options{At: pos, Command: command, NoColor: os.Getenv("NO_COLOR") != ""})
			final, err := tea.NewProgram(m).Run()
			if err != nil {
				return fmt.Errorf("tui: %v", err)
			}
			if fm, ok := final.(*tui.Model); ok {
				fmt.Fprintf(cmd.OutOrStdout(), "synod tui: left at event %d; reproduce: %s\n", fm.Session().Index(), fm.ReproCommand())
			}
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().Int64Var(&at, "at", 0, "open at this event index")
	return cmd
}
