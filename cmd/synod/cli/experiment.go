package cli

import (
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/reports"
)

func init() { extraCommands = append(extraCommands, newExperimentCmd) }

func newExperimentCmd() *cobra.Command {
	var full, list bool
	var outDir string
	var workers int
	cmd := &cobra.Command{
		Use:   "experiment NAME",
		Short: "Run an experiment that reproduces a published result; write figures and a report",
		Long: `Run a named experiment and write its figures (PNG, SVG, CSV) and report.md
into --out (default experiments/NAME). The default size runs in about a
minute on a laptop; --full runs the size of a real study.

Experiments:
` + experimentList(),
		Example: `  synod experiment raft-election-timeouts
  synod experiment partial-connectivity --full
  synod experiment raft-vs-paxos --full --out study/`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if list || len(args) == 0 {
				fmt.Fprint(cmd.OutOrStdout(), experimentList())
				return nil
			}
			e, err := reports.LookupExperiment(args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			size := reports.SizeSmall
			if full {
				size = reports.SizeFull
			}
			if cmd.Flags().Changed("workers") && (workers < 1 || workers > workersMax) {
				return usageErr("--workers %d: want 1..%d (leave it out for one per CPU, %d here)", workers, workersMax, runtime.NumCPU())
			}
			if workers <= 0 {
				workers = runtime.NumCPU()
			}
			sweepGC()
			if outDir == "" {
				outDir = "experiments/" + e.Name
			}
			if err := checkOutDir("--out", outDir); err != nil {
				return err
			}
			start := time.Now()
			rep, err := e.Execute(reports.ExpConfig{Size: size, Workers: workers, Log: cmd.ErrOrStderr()})
			if err != nil {
				return inputErr(err)
			}
			if err := rep.Write(outDir); err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "experiment %s: %d figures in %s (%s); see %s/report.md\n", e.Name, len(rep.Figures), outDir, time.Since(start).Round(time.Second), outDir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "run the full-size study")
	cmd.Flags().BoolVar(&list, "list", false, "list the experiments")
	cmd.Flags().StringVar(&outDir, "out", "", "output directory (default experiments/NAME)")
	cmd.Flags().IntVar(&workers, "workers", 0, "parallel workers (default: number of CPUs)")
	return cmd
}

func experimentList() string {
	var b strings.Builder
	for _, e := range reports.Experiments() {
		missing := ""
		if m := e.Missing(); len(m) > 0 {
			missing = " [needs " + strings.Join(m, ", ") + "]"
		}
		fmt.Fprintf(&b, "  %-24s %s%s\n", e.Name, e.Description, missing)
	}
	return b.String()
}
