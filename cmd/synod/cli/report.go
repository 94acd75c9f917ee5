package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/reports"
	"github.com/synod-dev/synod/sim"
)

func init() { extraCommands = append(extraCommands, newReportCmd) }

func newReportCmd() *cobra.Command {
	var sf scenarioFlags
	var outDir, window string
	var compare []string
	cmd := &cobra.Command{
		Use:   "report [SWEEP.jsonl ...]",
		Short: "Draw figures (PNG, SVG, CSV and report.md) of a run or of sweeps",
		Long: `With sweep outputs as arguments, draw per-seed latency, availability and
election distributions, one curve per sweep. Without arguments, run the
scenario given by the scenario flags once and draw its latency CDF and
histogram, latency over time, availability over time and leader election
times. Every figure is written as PNG, SVG and CSV, with captions in
DIR/report.md.`,
		Example: `  synod report --scenario testdata/scenarios/raft/chaos5.yaml --seed 3 --out rep/
  synod report --compare raft,paxos,etcd-raft --seed 3 --out cmp/
  synod report sweep-a/sweep.jsonl sweep-b/sweep.jsonl --out rep/
  synod report merge --out all.jsonl shards/*.jsonl
  synod report diagram trace.jsonl --from 100 --to 160 --out diag`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutDir("--out", outDir); err != nil {
				return err
			}
			var rep *reports.Report
			if len(args) > 0 {
				var sets [][]reports.SeedResult
				for _, p := range args {
					res, err := reports.ReadResultsFile(p)
					if err != nil {
						return inputErr(err)
					}
					sets = append(sets, res)
				}
				rep = reports.SweepReport(args, sets)
			} else {
				sc, err := sf.load(cmd)
				if err != nil {
					return err
				}
				w, err := sim.ParseTime(window)
				if err != nil || w <= 0 {
					return usageErr("--window %q: want a positive duration such as 250ms", window)
				}
				if len(compare) > 0 {
					var scs []*scenario.Scenario
					for _, p := range compare {
						c := sc.Clone()
						if p != c.Protocol {
							c.Protocol, c.RawOpts = p, nil
							c.ResetOptions()
						}
						if err := c.Revalidate(); err != nil {
							return inputErr(fmt.Errorf("--compare %s: %v", p, err))
						}
						scs = append(scs, c)
					}
					rep, err = reports.CompareReport(scs, sf.file, replayCommand(cmd, "report", sc)+" --compare "+strings.Join(compare, ","))
				} else {
					rep, _, err = reports.RunReport(sc, sf.file, replayCommand(cmd, "run", sc), w)
				}
				if err != nil {
					return inputErr(err)
				}
			}
			if err := rep.Write(outDir); err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "report: %d figures written to %s (see %s/report.md)\n", len(rep.Figures), outDir, outDir)
			return nil
		},
	}
	sf.register(cmd)
	cmd.Flags().StringVar(&outDir, "out", "report", "output directory")
	cmd.Flags().StringVar(&window, "window", "250ms", "availability window (simulated time)")
	cmd.Flags().StringSliceVar(&compare, "compare", nil, "run the scenario under each of these protocols and overlay them, e.g. raft,paxos,etcd-raft")
	cmd.AddCommand(newMergeCmd(), newDiagramCmd())
	return cmd
}

func newMergeCmd() *cobra.Command {
	var out, seeds string
	cmd := &cobra.Command{
		Use:   "merge SHARD.jsonl...",
		Short: "Combine sweep shard outputs into one seed-ordered file",
		Long: `Combine the outputs of sweep shards into one file in seed order. A seed
present in two shards must agree (wall time aside). Failing and unknown
seeds (a check could not decide) are listed with their replay commands.
With --seeds, missing seeds of the range are reported.

Exit status: 0 every seed decided and fine, 1 a failing seed or missing
seeds, 2 bad usage or input, 3 no failing seed but some unknown.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rng *reports.Range
			if seeds != "" {
				r, err := reports.ParseRange(seeds)
				if err != nil {
					return usageErr("--%v", err)
				}
				rng = &r
			}
			if err := checkOutDir("--out", filepath.Dir(out)); err != nil {
				return err
			}
			var files []*reports.SweepFile
			var parts [][]reports.SeedResult
			for _, p := range args {
				sf, err := reports.ReadSweepFile(p)
				if err != nil {
					return inputErr(err)
				}
				files = append(files, sf)
				parts = append(parts, sf.Results)
			}
			meta, err := reports.SameExperiment(files)
			if err != nil {
				return inputErr(fmt.Errorf("will not merge: %v", err))
			}
			merged, err := reports.Merge(parts...)
			if err != nil {
				return inputErr(err)
			}
			if err := writeMerged(out, meta, merged); err != nil {
				return inputErr(err)
			}
			sum := reports.NewSummary(seedListMax)
			for i := range merged {
				sum.Add(&merged[i])
			}
			o := cmd.OutOrStdout()
			fmt.Fprintf(o, "merge: %d seeds from %d files -> %s; outcomes %s\n", len(merged), len(args), out, formatOutcomes(sum.Outcomes))
			listSeeds(o, sum, "", out)
			if rng != nil {
				missing, n := reports.Gaps(merged, *rng, 10)
				if n > 0 {
					fmt.Fprintf(o, "merge: %d seeds of %d:%d missing, first %v\n", n, rng.Lo, rng.Hi, missing)
					return errFound
				}
			}
			return sweepExit(sum)
		},
	}
	cmd.Flags().StringVar(&out, "out", "sweep.jsonl", "merged output file")
	cmd.Flags().StringVar(&seeds, "seeds", "", "expected seed range LO:HI; report missing seeds")
	return cmd
}

// checkWindow checks a diagram's --from and --to against the events the
// trace holds, before anything runs.
func checkWindow(path string, events, from, to int64, toSet bool) error {
	switch {
	case from < 0 || from >= events:
		return usageErr("--from %d: %s holds events 0..%d", from, path, events-1)
	case toSet && (to <= from || to > events):
		return usageErr("--to %d: %s holds events 0..%d, so --to is %d..%d (exclusive) after --from %d", to, path, events-1, from+1, events, from)
	}
	return nil
}

// writeMerged writes a merged output: the experiment's header line (when
// the shards had one), then the rows.
func writeMerged(path string, meta *reports.SweepMeta, rows []reports.SeedResult) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	if meta != nil {
		b, _ := json.Marshal(meta)
		bw.Write(append(b, '\n'))
	}
	for _, r := range rows {
		b, _ := json.Marshal(&r)
		bw.Write(b)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func newDiagramCmd() *cobra.Command {
	var from, to int64
	var out string
	cmd := &cobra.Command{
		Use:   "diagram TRACE",
		Short: "Draw a space-time (Lamport) diagram of a trace's events [from, to)",
		Long: `Re-run the trace's configuration (and its manual choices) and draw events
--from K up to --to M (exclusive): one line per node and per client seen,
messages as arrows from send to delivery, lost messages red and dashed,
faults as red marks and role changes as green labels. Writes OUT.png,
OUT.svg and OUT.csv.`,
		Example: `  synod run --seed 7 --trace t.jsonl && synod report diagram t.jsonl --from 0 --to 80 --out diag`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir, name := filepath.Split(out)
			if dir == "" {
				dir = "."
			}
			if err := checkOutDir("--out", dir); err != nil {
				return err
			}
			t, sc, err := loadTrace(args[0])
			if err != nil {
				return err
			}
			if err := checkWindow(args[0], t.Events, from, to, cmd.Flags().Changed("to")); err != nil {
				return err
			}
			d, err := reports.BuildDiagram(sc, t.Choices, from, to)
			if err != nil {
				return inputErr(fmt.Errorf("%s: %v", args[0], err))
			}
			fig := d.Figure(name, fmt.Sprintf("Events %d to %d of %s.", from, d.To-1, args[0]))
			if err := fig.Save(dir); err != nil {
				return inputErr(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "diagram: %d messages, %d marks -> %s.png, %s.svg, %s.csv\n", len(d.Arrows), len(d.Marks), out, out, out)
			return nil
		},
	}
	cmd.Flags().Int64Var(&from, "from", 0, "first event index")
	cmd.Flags().Int64Var(&to, "to", 0, "event index after the last (default: from+100)")
	cmd.Flags().StringVar(&out, "out", "diagram", "output path without extension")
	return cmd
}
