package reports

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// SeedResult is one line of a sweep's output. Every field but WallMs is a
// pure function of the scenario and the seed; WallMs is the machine's time
// and is the only field that differs between two runs of the same sweep.
type SeedResult struct {
	Seed           uint64 `json:"seed"`
	Outcome        string `json:"outcome"` // ok, unknown, violation, nonlinearizable, panic, error
	Violations     int    `json:"violations"`
	FirstViolation string `json:"first_violation,omitempty"`
	Linearizable   string `json:"linearizable"`
	// LinReason says why the linearizability check could not decide
	// (outcome unknown), with the setting that raises its budget.
	LinReason string `json:"lin_reason,omitempty"`
	// LinKey and LinFailing are the compact form of a nonlinearizable
	// seed's explanation, for reading the rows by eye: the key and the
	// operation no legal order can place. LinExplanation is the whole
	// story, structured.
	LinKey         string                    `json:"lin_key,omitempty"`
	LinFailing     string                    `json:"lin_failing,omitempty"`
	LinExplanation *protocols.LinExplanation `json:"lin_explanation,omitempty"`
	OpsOK          int                       `json:"ops_ok"`
	OpsFailed      int                       `json:"ops_failed"`
	OpsUnknown     int                       `json:"ops_unknown"`
	LatencyP50     float64                   `json:"latency_p50_ms"`
	LatencyP90     float64                   `json:"latency_p90_ms"`
	LatencyP99     float64                   `json:"latency_p99_ms"`
	LatencyMax     float64                   `json:"latency_max_ms"`
	// AvailOps is the fraction of client operations that succeeded.
	AvailOps float64 `json:"avail_ops"`
	// AvailLeader is the fraction of sampled instants with a usable leader;
	// absent for protocols without a leader role.
	AvailLeader     *float64 `json:"avail_leader,omitempty"`
	LongestOutageMs float64  `json:"longest_outage_ms,omitempty"`
	Elections       int      `json:"elections"`
	Messages        int64    `json:"messages"`
	Events          int64    `json:"events"`
	Persists        int64    `json:"persists"`
	SimSeconds      float64  `json:"sim_seconds"`
	Error           string   `json:"error,omitempty"`
	Replay          string   `json:"replay,omitempty"`
	WallMs          float64  `json:"wall_ms"`
}

// Outcomes of a seed. OutcomeUnknown is neither a pass nor a failure: a
// check could not decide (the linearizability check ran out of its
// budget), so the seed proves nothing either way and is counted apart.
const (
	OutcomeOK              = "ok"
	OutcomeUnknown         = "unknown"
	OutcomeViolation       = "violation"
	OutcomeNonLinearizable = "nonlinearizable"
	OutcomePanic           = "panic"
	OutcomeError           = "error"
)

// Outcomes lists every outcome, ok and unknown first, for tallies.
var Outcomes = []string{OutcomeOK, OutcomeUnknown, OutcomeViolation, OutcomeNonLinearizable, OutcomePanic, OutcomeError}

// Failed says whether the seed found a problem: a violation, a
// non-linearizable history, a panic or an error. An undecided seed is not
// a failure (see Undecided), and not a pass either.
func (r *SeedResult) Failed() bool { return r.Outcome != OutcomeOK && r.Outcome != OutcomeUnknown }

// Undecided says whether a check could not decide the seed (outcome
// unknown): it must be rerun with a larger budget, never counted as ok.
func (r *SeedResult) Undecided() bool { return r.Outcome == OutcomeUnknown }

// NeedsReplay says whether the seed gets a replay command: it failed or
// is undecided.
func (r *SeedResult) NeedsReplay() bool { return r.Outcome != OutcomeOK }

// ReplayCommand is the one command that replays a seed of a scenario.
func ReplayCommand(sc *scenario.Scenario, file string, seed uint64) string {
	if file != "" {
		return fmt.Sprintf("go run ./cmd/synod run --scenario %s --seed %d", file, seed)
	}
	return fmt.Sprintf("go run ./cmd/synod run --protocol %s --nodes %d --seed %d --duration %v", sc.Protocol, sc.Nodes, seed, sc.Duration)
}

// RunSeed runs one seed of a scenario (its Seed field is overridden) and
// summarizes it. file names the scenario for the replay command.
// It leaves WallMs zero: the simulation never reads the machine's clock,
// and Sweep measures wall time with the clock its caller gives it.
func RunSeed(base *scenario.Scenario, file string, seed uint64, sampleEvery sim.Time) SeedResult {
	sc := base.Clone()
	sc.Seed = seed
	r := SeedResult{Seed: seed}
	d, err := Observe(sc, sampleEvery)
	if err != nil {
		r.Outcome, r.Error = OutcomeError, err.Error()
	} else {
		r.fill(d)
	}
	if r.NeedsReplay() {
		r.Replay = ReplayCommand(base, file, seed)
	}
	return r
}

func (r *SeedResult) fill(d *RunData) {
	res := d.Result
	r.Outcome = OutcomeOK
	switch {
	case res.Panic != nil:
		r.Outcome = OutcomePanic
		r.Error = res.Panic.Error()
	case res.Violations > 0:
		r.Outcome = OutcomeViolation
	case res.Linearizable == string(protocols.LinViolation):
		r.Outcome = OutcomeNonLinearizable
		if e := res.LinExplanation; e != nil {
			r.LinKey, r.LinFailing, r.LinExplanation = e.Key, failingOp(e), e
		}
	case res.Linearizable == string(protocols.LinUnknown):
		r.Outcome = OutcomeUnknown
		r.LinReason = res.UndecidedReason()
	}
	r.Violations = res.Violations
	if res.FirstViolation != nil {
		r.FirstViolation = res.FirstViolation.String()
	}
	r.Linearizable = res.Linearizable
	r.OpsOK, r.OpsFailed, r.OpsUnknown = res.OpsOK, res.OpsFailed, res.OpsUnknown
	lat := LatenciesMs(res.History)
	q := Quantiles(lat, 0.5, 0.9, 0.99, 1)
	r.LatencyP50, r.LatencyP90, r.LatencyP99, r.LatencyMax = q[0], q[1], q[2], q[3]
	if all := res.OpsOK + res.OpsFailed + res.OpsUnknown; all > 0 {
		r.AvailOps = float64(res.OpsOK) / float64(all)
	}
	if d.HasLeaders {
		ls := SummarizeLeaders(d.Leaders, d.SampleEvery)
		r.AvailLeader = &ls.UsableFrac
		r.LongestOutageMs = ls.LongestOutage.Milliseconds()
		r.Elections = ls.Elections
	}
	r.Messages = res.MessagesSent
	r.Events = res.Events
	r.Persists = res.Stats.Persists
	r.SimSeconds = res.SimSeconds
}

// failingOp renders the operation of an explanation that no legal order
// can place, or "" when the explanation does not name one.
func failingOp(e *protocols.LinExplanation) string {
	if e == nil || e.Failing < 0 || e.Failing >= len(e.Ops) {
		return ""
	}
	return e.Ops[e.Failing].Describe()
}

// Range is a half-open range of seeds [Lo, Hi).
type Range struct{ Lo, Hi uint64 }

// Len is the number of seeds in the range.
func (r Range) Len() uint64 { return r.Hi - r.Lo }

// ParseRange reads "LO:HI" (HI exclusive) or a single seed "N".
func ParseRange(s string) (Range, error) {
	lo, hi, ok := strings.Cut(s, ":")
	a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
	if err != nil {
		return Range{}, fmt.Errorf("seeds %q: want LO:HI (HI exclusive), e.g. 0:10000", s)
	}
	if !ok {
		return Range{a, a + 1}, nil
	}
	b, err := strconv.ParseUint(strings.TrimSpace(hi), 10, 64)
	if err != nil || b <= a {
		return Range{}, fmt.Errorf("seeds %q: want LO:HI with HI > LO, e.g. 0:10000", s)
	}
	return Range{a, b}, nil
}

// Shard returns the i-th of n contiguous, nearly equal slices of the
// range. The slices cover the range exactly, whatever n is.
func (r Range) Shard(i, n int) Range {
	total := r.Len()
	lo := r.Lo + total*uint64(i)/uint64(n)
	hi := r.Lo + total*uint64(i+1)/uint64(n)
	return Range{lo, hi}
}

// ParseShard reads "I/N" (0 <= I < N).
func ParseShard(s string) (i, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	if ok {
		i, err = strconv.Atoi(a)
		if err == nil {
			n, err = strconv.Atoi(b)
		}
	}
	if !ok || err != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("shard %q: want I/N with 0 <= I < N, e.g. 3/16", s)
	}
	return i, n, nil
}

// ShardFromEnv returns the shard index a batch engine gave this process:
// JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs), else SLURM_ARRAY_TASK_ID
// (Slurm job arrays, counted from SLURM_ARRAY_TASK_MIN when set). ok is
// false when neither is set.
func ShardFromEnv(getenv func(string) string) (i int, source string, ok bool, err error) {
	if v := getenv("JOB_COMPLETION_INDEX"); v != "" {
		i, err = strconv.Atoi(v)
		return i, "JOB_COMPLETION_INDEX", true, err
	}
	if v := getenv("SLURM_ARRAY_TASK_ID"); v != "" {
		i, err = strconv.Atoi(v)
		if m := getenv("SLURM_ARRAY_TASK_MIN"); m != "" && err == nil {
			var lo int
			lo, err = strconv.Atoi(m)
			i -= lo
		}
		return i, "SLURM_ARRAY_TASK_ID", true, err
	}
	return 0, "", false, nil
}

// SweepConfig describes a sweep.
type SweepConfig struct {
	Scenario *scenario.Scenario
	// File is the scenario's path, for replay commands ("" for flags).
	File  string
	Seeds Range
	// Skip holds seeds already done (a resumed sweep).
	Skip map[uint64]bool
	// Workers run seeds in parallel; each seed is its own Sim.
	Workers int
	// SampleEvery is the leader sampling interval (zero: 10ms).
	SampleEvery sim.Time
	// ReplayPrefix, when set, replaces the replay command of failing seeds
	// by this prefix plus " --seed N" (the CLI passes the exact flags the
	// sweep was given, so the command rebuilds the same scenario).
	ReplayPrefix string
	// Clock, when set, reads the machine's time to fill WallMs (cmd passes
	// the machine clock; the library never reads the clock itself).
	Clock func() time.Time
	// Progress, when set, is called after each seed is written.
	Progress func(done, total int, r *SeedResult)
}

// reorderMax bounds how far finished seeds may run ahead of the oldest
// unfinished one, so memory stays bounded when one seed is slow.
const reorderPerWorker = 16

// Sweep runs the seeds and writes one JSON line per seed to w, in seed
// order whatever the number of workers. It stops early (without error) when
// ctx is canceled, after writing every seed before the first unfinished one,
// so the output is a prefix a later run can resume from. It returns the
// results it wrote, without the history.
func Sweep(ctx context.Context, cfg SweepConfig, w io.Writer) ([]SeedResult, error) {
	var seeds []uint64
	for s := cfg.Seeds.Lo; s < cfg.Seeds.Hi; s++ {
		if !cfg.Skip[s] {
			seeds = append(seeds, s)
		}
	}
	workers := max(cfg.Workers, 1)
	window := make(chan struct{}, workers*reorderPerWorker)
	jobs := make(chan int)
	type done struct {
		k int
		r SeedResult
	}
	results := make(chan done, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				var start time.Time
				if cfg.Clock != nil {
					start = cfg.Clock()
				}
				r := RunSeed(cfg.Scenario, cfg.File, seeds[k], cfg.SampleEvery)
				if r.NeedsReplay() && cfg.ReplayPrefix != "" {
					r.Replay = fmt.Sprintf("%s --seed %d", cfg.ReplayPrefix, seeds[k])
				}
				if cfg.Clock != nil {
					r.WallMs = float64(cfg.Clock().Sub(start).Microseconds()) / 1000
				}
				results <- done{k, r}
			}
		}()
	}
	go func() {
		defer close(jobs)
		for k := range seeds {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	bw := bufio.NewWriter(w)
	pending := map[int]SeedResult{}
	var out []SeedResult
	next := 0
	var werr error
	for d := range results {
		pending[d.k] = d.r
		for {
			r, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			<-window
			if werr == nil {
				b, _ := json.Marshal(&r)
				bw.Write(b)
				bw.WriteByte('\n')
				// Flush each line so an interrupted sweep keeps its work.
				werr = bw.Flush()
			}
			out = append(out, r)
			if cfg.Progress != nil {
				cfg.Progress(next, len(seeds), &r)
			}
		}
	}
	return out, werr
}

// ReadResults reads a sweep output. A final line without its newline (an
// interrupted write) is ignored, and its offset returned as good, so a
// resumed sweep can truncate the file there and append.
func ReadResults(r io.Reader) (res []SeedResult, good int64, err error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, err
	}
	line := 0
	for len(data[good:]) > 0 {
		rest := data[good:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break // torn last line
		}
		line++
		var sr SeedResult
		if err := json.Unmarshal(rest[:i], &sr); err != nil {
			return res, good, fmt.Errorf("line %d: %v", line, err)
		}
		sr.upgrade()
		res = append(res, sr)
		good += int64(i + 1)
	}
	return res, good, nil
}

// upgrade reclassifies a row written before the unknown outcome existed:
// such sweeps wrote an undecided linearizability check as outcome ok, and
// a resumed or merged sweep must not count it as a pass.
func (r *SeedResult) upgrade() {
	if r.Outcome == OutcomeOK && r.Linearizable == string(protocols.LinUnknown) {
		r.Outcome = OutcomeUnknown
		if r.LinReason == "" {
			r.LinReason = (&scenario.Result{Linearizable: r.Linearizable}).UndecidedReason()
		}
	}
}

// ReadResultsFile reads a sweep output file.
func ReadResultsFile(path string) ([]SeedResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, _, err := ReadResults(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return res, nil
}

// Merge combines shard outputs into one seed-ordered list. A seed present
// twice must have the same result (wall time aside); otherwise it is an
// error, as is any shard line that is not a result.
func Merge(parts ...[]SeedResult) ([]SeedResult, error) {
	var all []SeedResult
	for _, p := range parts {
		all = append(all, p...)
	}
	slices.SortStableFunc(all, func(a, b SeedResult) int {
		switch {
		case a.Seed < b.Seed:
			return -1
		case a.Seed > b.Seed:
			return 1
		}
		return 0
	})
	out := all[:0]
	for i, r := range all {
		if i > 0 && r.Seed == all[i-1].Seed {
			a, b := r, all[i-1]
			a.WallMs, b.WallMs = 0, 0
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if !bytes.Equal(ja, jb) {
				return nil, fmt.Errorf("seed %d appears twice with different results", r.Seed)
			}
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// Gaps lists the seeds of a range missing from sorted results, at most max.
func Gaps(res []SeedResult, r Range, maxGaps int) (missing []uint64, count uint64) {
	k := 0
	for s := r.Lo; s < r.Hi; s++ {
		for k < len(res) && res[k].Seed < s {
			k++
		}
		if k < len(res) && res[k].Seed == s {
			continue
		}
		count++
		if len(missing) < maxGaps {
			missing = append(missing, s)
		}
	}
	return missing, count
}

// SweepSummary counts a sweep's outcomes.
type SweepSummary struct {
	Seeds    int
	Outcomes map[string]int
	// Failing are the seeds that found a problem; Unknown the seeds a
	// check could not decide. Neither counts as ok.
	Failing []SeedResult
	Unknown []SeedResult
	WallMs  float64
}

// Summarize counts outcomes and lists failing and undecided seeds.
func Summarize(res []SeedResult) SweepSummary {
	s := SweepSummary{Seeds: len(res), Outcomes: map[string]int{}}
	for _, r := range res {
		s.Outcomes[r.Outcome]++
		s.WallMs += r.WallMs
		switch {
		case r.Failed():
			s.Failing = append(s.Failing, r)
		case r.Undecided():
			s.Unknown = append(s.Unknown, r)
		}
	}
	return s
}
