package main

import (
	"charm.land/bubbles/v2/progress"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/reports"
	"github.com/synod-dev/synod/sim"
)

func init() { extraCommands = append(extraCommands, newSweepCmd) }

func newSweepCmd() *cobra.Command {
	var sf scenarioFlags
	var seeds, shard, outDir, sample string
	var workers, shards int
	var quiet bool
	cmd := &cobra.Command{
		Use:   "sweep",
		Short: "Run many seeds of a scenario in parallel and record one JSON line per seed",
		Long: `Run the seeds of a range on all cores, each seed its own independent
simulation, and write one JSON line per seed to DIR/sweep.jsonl (or
DIR/shard-I-of-N.jsonl), in seed order whatever the number of workers.
Every field is a pure function of scenario and seed except wall_ms.

An interrupted sweep resumes: seeds already in the output are skipped.
--shard I/N runs the I-th of N contiguous slices of the range; with
--shards N the index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed
Jobs) or SLURM_ARRAY_TASK_ID (Slurm job arrays). Combine shard outputs with
synod report merge. Failing seeds are listed with their replay command in
DIR/sweep-failing.txt (DIR/shard-I-of-N-failing.txt).

A seed whose checks could not all decide (the linearizability check ran
out of its budget) has outcome unknown: it is counted apart from ok and
from the failing seeds, never as a pass, and listed with its replay
command and the reason in DIR/sweep-unknown.txt.

Exit status: 0 every seed decided and fine, 1 some seed failed, 2 bad
usage or input or an interrupted sweep, 3 no seed failed but some are
unknown.`,
		Example: `  synod sweep --scenario testdata/scenarios/raft/chaos5.yaml --seeds 0:10000 --out sweep/
  synod sweep --seeds 0:1000000 --shard 3/100 --out /data/sweep
  JOB_COMPLETION_INDEX=3 synod sweep --seeds 0:1000000 --shards 100 --out /data/sweep`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := sf.load(cmd)
			if err != nil {
				return err
			}
			rng, err := reports.ParseRange(seeds)
			if err != nil {
				return usageErr("--%v", err)
			}
			name := "sweep.jsonl"
			if shard != "" && shards > 0 {
				return usageErr("--shard and --shards are exclusive")
			}
			if shard != "" || shards > 0 {
				i, n := 0, shards
				if shard != "" {
					if i, n, err = reports.ParseShard(shard); err != nil {
						return usageErr("--%v", err)
					}
				} else {
					idx, src, ok, err := reports.ShardFromEnv(os.Getenv)
					if !ok {
						return usageErr("--shards %d: neither JOB_COMPLETION_INDEX nor SLURM_ARRAY_TASK_ID is set (use --shard I/N)", shards)
					}
					if err != nil || idx < 0 || idx >= n {
						return usageErr("%s: index %d is not in 0..%d", src, idx, n-1)
					}
					i = idx
				}
				rng = rng.Shard(i, n)
				name = fmt.Sprintf("shard-%d-of-%d.jsonl", i, n)
			}
			sampleEvery, err := sim.ParseTime(sample)
			if err != nil {
				return usageErr("--sample: %v", err)
			}
			if workers <= 0 {
				workers = runtime.NumCPU()
			}
			sweepGC()
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return inputErr(err)
			}
			path := filepath.Join(outDir, name)
			skip, prior, err := resumeFile(path)
			if err != nil {
				return inputErr(err)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				return inputErr(err)
			}
			defer f.Close()
			todo := int(rng.Len()) - countIn(skip, rng)
			errOut := cmd.ErrOrStderr()
			fmt.Fprintf(errOut, "sweep: %s, seeds %d:%d (%d to run, %d already done), %d workers -> %s\n",
				sc.Protocol, rng.Lo, rng.Hi, todo, len(skip), workers, path)
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			bar := newProgressLine(errOut, quiet)
			cfg := reports.SweepConfig{Scenario: sc, File: sf.file, Seeds: rng, Skip: skip, Workers: workers,
				SampleEvery: sampleEvery, Clock: time.Now, Progress: bar.update,
				ReplayPrefix: runPrefix(cmd, sc)}
			start := time.Now()
			res, err := reports.Sweep(ctx, cfg, f)
			bar.finish()
			if err != nil {
				return inputErr(fmt.Errorf("%s: %v", path, err))
			}
			elapsed := time.Since(start)
			all := append(prior, res...)
			for i := range all {
				// Rows of an older sweep, reclassified as unknown when
				// read, have no replay command yet.
				if all[i].NeedsReplay() && all[i].Replay == "" {
					all[i].Replay = fmt.Sprintf("%s --seed %d", cfg.ReplayPrefix, all[i].Seed)
				}
			}
			sum := reports.Summarize(all)
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "sweep: %d seeds in %s (%.1f seeds/s, %.1f seeds/s/worker); outcomes %s\n", len(res),
				elapsed.Round(time.Millisecond), float64(len(res))/elapsed.Seconds(), float64(len(res))/elapsed.Seconds()/float64(workers), formatOutcomes(sum.Outcomes))
			interrupted := ctx.Err() != nil
			stem := filepath.Join(outDir, strings.TrimSuffix(name, ".jsonl"))
			if err := writeSeedList(stem+"-failing.txt", sum.Failing); err != nil {
				return inputErr(err)
			}
			if err := writeSeedList(stem+"-unknown.txt", sum.Unknown); err != nil {
				return inputErr(err)
			}
			listSeeds(out, sum)
			if interrupted {
				// Not a finished sweep: a batch engine must not count it done.
				return inputErr(fmt.Errorf("interrupted after %d of %d seeds; run the same command again to resume", len(all), rng.Len()))
			}
			return sweepExit(sum)
		},
	}
	sf.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&seeds, "seeds", "0:100", "seed range LO:HI (HI exclusive)")
	fl.StringVar(&shard, "shard", "", "run slice I of N of the range (I/N, 0-based)")
	fl.IntVar(&shards, "shards", 0, "number of slices; the index comes from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID")
	fl.IntVar(&workers, "workers", 0, "parallel workers (default: number of CPUs)")
	fl.StringVar(&outDir, "out", "sweep", "output directory")
	fl.StringVar(&sample, "sample", "25ms", "leader sampling interval (simulated time); smaller is finer and slower")
	fl.BoolVar(&quiet, "quiet", false, "no progress display")
	return cmd
}

// resumeFile reads what an earlier run of the sweep wrote, truncating a
// torn last line, and returns the seeds done.
func resumeFile(path string) (map[uint64]bool, []reports.SeedResult, error) {
	skip := map[uint64]bool{}
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return skip, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	res, good, err := reports.ReadResults(f)
	f.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: cannot resume: %v", path, err)
	}
	if err := os.Truncate(path, good); err != nil {
		return nil, nil, err
	}
	for _, r := range res {
		skip[r.Seed] = true
	}
	return skip, res, nil
}

func countIn(skip map[uint64]bool, r reports.Range) int {
	n := 0
	for s := range skip {
		if s >= r.Lo && s < r.Hi {
			n++
		}
	}
	return n
}

func formatOutcomes(m map[string]int) string {
	var parts []string
	for _, k := range reports.Outcomes {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "(none)"
	}
	return strings.Join(parts, ", ")
}

// seedListMax bounds the seeds of each kind a sweep prints; the files
// list them all.
const seedListMax = 20

// listSeeds prints the failing seeds, then the undecided ones, each with
// its replay command.
func listSeeds(w io.Writer, sum reports.SweepSummary) {
	for _, l := range []struct {
		label, file string
		seeds       []reports.SeedResult
	}{{"FAIL", "-failing.txt", sum.Failing}, {"UNKNOWN", "-unknown.txt", sum.Unknown}} {
		for i, r := range l.seeds {
			if i == seedListMax {
				fmt.Fprintf(w, "  ... and %d more (see the %s file)\n", len(l.seeds)-seedListMax, l.file)
				break
			}
			fmt.Fprintf(w, "  %s seed %d: %s  replay: %s\n", l.label, r.Seed, seedWhy(&r), r.Replay)
		}
	}
}

// sweepExit is a finished sweep's exit status: 1 when a seed failed, else
// 3 when a seed is undecided (not a pass), else 0.
func sweepExit(sum reports.SweepSummary) error {
	switch {
	case len(sum.Failing) > 0:
		return errFound
	case len(sum.Unknown) > 0:
		return errUndecided
	}
	return nil
}

// seedWhy says in one line what a seed found: its outcome and, for an
// undecided seed, the reason; for a non-linearizable one, the operation
// no legal order places.
func seedWhy(r *reports.SeedResult) string {
	switch {
	case r.Undecided():
		return firstNonEmpty(r.LinReason, "the linearizability check could not decide")
	case r.LinFailing != "":
		return fmt.Sprintf("%s: key %s: no legal order places %s", r.Outcome, r.LinKey, r.LinFailing)
	}
	return r.Outcome
}

// writeSeedList writes one entry per seed, what it found and its replay
// command, or removes the file when there are none.
func writeSeedList(path string, seeds []reports.SeedResult) error {
	if len(seeds) == 0 {
		os.Remove(path)
		return nil
	}
	var b strings.Builder
	for _, r := range seeds {
		why := firstNonEmpty(r.FirstViolation, r.Error, r.LinReason)
		if why == "" && r.LinFailing != "" {
			why = fmt.Sprintf("key %s: no legal order places %s", r.LinKey, r.LinFailing)
		}
		fmt.Fprintf(&b, "seed %d %s: %s\n  %s\n", r.Seed, r.Outcome, firstNonEmpty(why, "linearizable="+r.Linearizable), r.Replay)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// progressLine shows a sweep's progress with an ETA: a bar redrawn in
// place on a terminal (drawn here: bubbles/progress needs
// github.com/charmbracelet/harmonica, which go.sum lacks), a plain line every few seconds
// otherwise (logs of batch jobs).
type progressLine struct {
	w       io.Writer
	tty     bool
	off     bool
	start   time.Time
	last    time.Time
	failing int
	unknown int
}

func newProgressLine(w io.Writer, quiet bool) *progressLine {
	p := &progressLine{w: w, off: quiet, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(f.Fd()) {
		p.tty = true
	}
	return p
}

func (p *progressLine) update(done, total int, r *reports.SeedResult) {
	if r.Failed() {
		p.failing++
	}
	if r.Undecided() {
		p.unknown++
	}
	if p.off {
		return
	}
	now := time.Now()
	every := 5 * time.Second
	if p.tty {
		every = 100 * time.Millisecond
	}
	if done < total && now.Sub(p.last) < every {
		return
	}
	p.last = now
	el := now.Sub(p.start)
	eta := time.Duration(0)
	if done > 0 {
		eta = time.Duration(float64(el) / float64(done) * float64(total-done))
	}
	frac := 1.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	text := fmt.Sprintf("%d/%d seeds  %.1f/s  failing %d  unknown %d  elapsed %s  ETA %s", done, total,
		float64(done)/max(el.Seconds(), 1e-9), p.failing, p.unknown, el.Round(time.Second), eta.Round(time.Second))
	if p.tty {
		fmt.Fprintf(p.w, "\r\x1b[K%s %s", barView(frac, 30), text)
	} else {
		fmt.Fprintf(p.w, "progress: %5.1f%% %s\n", 100*frac, text)
	}
}

func (p *progressLine) finish() {
	if p.tty && !p.off {
		fmt.Fprintln(p.w)
	}
}

// barView draws the terminal bar with bubbles/progress (a static render:
// the sweep is not a bubbletea program, so the bar is redrawn in place).
func barView(frac float64, width int) string {
	bar := progress.New(progress.WithWidth(width+5), progress.WithoutPercentage())
	return bar.ViewAs(frac) + fmt.Sprintf(" %3.0f%%", 100*frac)
}

// sweepGCPercent is the garbage collector's target during sweeps. Each
// seed allocates a lot of short-lived garbage and keeps little, so the
// default (100) spends much of a second core collecting: 800 brings the
// 2-worker speedup from about 1.4x to 1.8x for a few more MB of heap.
const sweepGCPercent = 800

// sweepGC raises the GC target unless the user set GOGC.
func sweepGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(sweepGCPercent)
	}
}

// runPrefix is the synod run command, without --seed, that rebuilds the
// scenario the sweep's flags built (replayCommand, seed cut off).
func runPrefix(cmd *cobra.Command, sc *scenario.Scenario) string {
	return strings.TrimSuffix(replayCommand(cmd, "run", sc), fmt.Sprintf(" --seed %d", sc.Seed))
}
