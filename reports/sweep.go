package reports

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/bits"
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
	Outcome        string `json:"outcome"` // ok, unknown, bound, violation, nonlinearizable, panic, error
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
	// BoundReason says which bound stopped a seed of outcome bound.
	BoundReason string  `json:"bound_reason,omitempty"`
	Replay      string  `json:"replay,omitempty"`
	WallMs      float64 `json:"wall_ms"`
}

// Outcomes of a seed. OutcomeUnknown is neither a pass nor a failure: a
// check could not decide (the linearizability check ran out of its
// budget), so the seed proves nothing either way and is counted apart.
// OutcomeBound is a seed stopped by its events bound before its duration
// (a livelock, a retry storm, a bound set too low): no check failed up to
// there, but the run never finished, so it is not a pass either.
const (
	OutcomeOK              = "ok"
	OutcomeUnknown         = "unknown"
	OutcomeBound           = "bound"
	OutcomeViolation       = "violation"
	OutcomeNonLinearizable = "nonlinearizable"
	OutcomePanic           = "panic"
	OutcomeError           = "error"
)

// Outcomes lists every outcome, ok and unknown first, for tallies.
var Outcomes = []string{OutcomeOK, OutcomeUnknown, OutcomeBound, OutcomeViolation, OutcomeNonLinearizable, OutcomePanic, OutcomeError}

// Failed says whether the seed found a problem: a violation, a
// non-linearizable history, a panic or an error. An undecided seed is not
// a failure (see Undecided), and not a pass either.
func (r *SeedResult) Failed() bool {
	return r.Outcome != OutcomeOK && r.Outcome != OutcomeUnknown && r.Outcome != OutcomeBound
}

// Undecided says whether a check could not decide the seed (outcome
// unknown): it must be rerun with a larger budget, never counted as ok.
func (r *SeedResult) Undecided() bool { return r.Outcome == OutcomeUnknown }

// Bounded says whether the seed stopped at its events bound before its
// duration (outcome bound).
func (r *SeedResult) Bounded() bool { return r.Outcome == OutcomeBound }

// NeedsReplay says whether the seed gets a replay command: it failed or
// is undecided.
func (r *SeedResult) NeedsReplay() bool { return r.Outcome != OutcomeOK }

// ReplayCommand is the one command that replays a seed of a scenario.
func ReplayCommand(sc *scenario.Scenario, file string, seed uint64) string {
	s := strconv.FormatUint(seed, 10)
	if file != "" {
		return scenario.Command("run", "--scenario", scenario.CommandPath(file), "--seed", s)
	}
	return scenario.Command("run", "--protocol", sc.Protocol, "--nodes", strconv.Itoa(sc.Nodes), "--seed", s, "--duration", sc.Duration.String())
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
	case res.Stopped == sim.StopEventsMax && !d.Scenario.Unbounded:
		// An unbounded scenario ends at its events bound by design;
		// any other run that stops there never reached its duration.
		r.Outcome = OutcomeBound
		r.BoundReason = fmt.Sprintf("stopped at the events bound after %d events, at %v of %v simulated (raise events_max if the run is legitimately busy)",
			res.Events, sim.Time(res.SimSeconds*float64(sim.Second)), d.Scenario.Duration)
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

// ParseRange reads "LO:HI" (HI exclusive) or a single seed "N". Seeds
// are uint64s, so HI is at most 18446744073709551615 and a single seed
// at most one less.
func ParseRange(s string) (Range, error) {
	lo, hi, ok := strings.Cut(s, ":")
	num := func(what, v string) (uint64, error) {
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if ne, isNum := err.(*strconv.NumError); isNum && ne.Err == strconv.ErrRange {
			return 0, fmt.Errorf("seeds %q: %s %s is over the largest seed bound, %d", s, what, v, uint64(math.MaxUint64))
		}
		if err != nil {
			return 0, fmt.Errorf("seeds %q: %s %q is not a seed (want LO:HI, HI exclusive, e.g. 0:10000)", s, what, v)
		}
		return n, nil
	}
	a, err := num("LO", lo)
	if err != nil {
		return Range{}, err
	}
	if !ok {
		if a == math.MaxUint64 {
			return Range{}, fmt.Errorf("seeds %q: a single seed is at most %d (ranges are half-open)", s, uint64(math.MaxUint64-1))
		}
		return Range{a, a + 1}, nil
	}
	b, err := num("HI", hi)
	if err != nil {
		return Range{}, err
	}
	if b <= a {
		return Range{}, fmt.Errorf("seeds %q: HI %d is not above LO %d (HI is exclusive: 5:6 is seed 5 alone)", s, b, a)
	}
	return Range{a, b}, nil
}

// Shard returns the i-th of n contiguous, nearly equal slices of the
// range. The slices cover the range exactly, whatever n is; the
// arithmetic is done in 128 bits, so a range of 2^64 seeds does not
// overflow.
func (r Range) Shard(i, n int) Range {
	total := r.Len()
	at := func(k int) uint64 {
		hi, lo := bits.Mul64(total, uint64(k))
		q, _ := bits.Div64(hi, lo, uint64(n))
		return r.Lo + q
	}
	return Range{at(i), at(i + 1)}
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
	index := func(name string) (int, error) {
		v := getenv(name)
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("%s=%q is not a shard index (want a whole number)", name, v)
		}
		return n, nil
	}
	if getenv("JOB_COMPLETION_INDEX") != "" {
		i, err = index("JOB_COMPLETION_INDEX")
		return i, "JOB_COMPLETION_INDEX", true, err
	}
	if getenv("SLURM_ARRAY_TASK_ID") != "" {
		i, err = index("SLURM_ARRAY_TASK_ID")
		if err == nil && getenv("SLURM_ARRAY_TASK_MIN") != "" {
			var lo int
			lo, err = index("SLURM_ARRAY_TASK_MIN")
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
	// Done holds seeds already done (a resumed sweep); they are skipped.
	Done *SeedSet
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
	// Progress, when set, is called after each seed is written, with the
	// number written and the number this sweep has to run.
	Progress func(done, total uint64, r *SeedResult)
}

// reorderPerWorker bounds how far finished seeds may run ahead of the
// oldest unfinished one, so memory stays bounded when one seed is slow.
const reorderPerWorker = 16

// SweepCollectMax bounds the seeds Sweep keeps in memory; larger sweeps
// stream their results with SweepStream.
const SweepCollectMax = 1_000_000

// Sweep runs the seeds like SweepStream and also returns the results it
// wrote (without the history), for sweeps small enough to hold in memory.
func Sweep(ctx context.Context, cfg SweepConfig, w io.Writer) ([]SeedResult, error) {
	if n := cfg.Seeds.Len(); n > SweepCollectMax {
		return nil, fmt.Errorf("seeds %d:%d: %d seeds is over the %d a sweep keeps in memory (stream them with SweepStream)", cfg.Seeds.Lo, cfg.Seeds.Hi, n, SweepCollectMax)
	}
	var out []SeedResult
	err := SweepStream(ctx, cfg, w, func(r *SeedResult) { out = append(out, *r) })
	return out, err
}

// SweepStream runs the seeds and writes one JSON line per seed to w, in
// seed order whatever the number of workers, calling emit (when not nil)
// with each result after it is written. Its memory does not depend on the
// size of the range: seeds are generated as they are dispatched and at
// most reorderPerWorker per worker wait to be written. When ctx is
// canceled it returns at once (without error), having written every seed
// before the first unfinished one, so the output is a prefix a later run
// can resume from; seeds still running are abandoned.
func SweepStream(ctx context.Context, cfg SweepConfig, w io.Writer, emit func(*SeedResult)) error {
	done := cfg.Done
	if done == nil {
		done = &SeedSet{}
	}
	total := cfg.Seeds.Len() - done.CountIn(cfg.Seeds)
	workers := max(cfg.Workers, 1)
	window := make(chan struct{}, workers*reorderPerWorker)
	type job struct{ k, seed uint64 }
	type result struct {
		k uint64
		r SeedResult
	}
	jobs := make(chan job)
	results := make(chan result, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				var start time.Time
				if cfg.Clock != nil {
					start = cfg.Clock()
				}
				r := RunSeed(cfg.Scenario, cfg.File, j.seed, cfg.SampleEvery)
				if r.NeedsReplay() && cfg.ReplayPrefix != "" {
					r.Replay = fmt.Sprintf("%s --seed %d", cfg.ReplayPrefix, j.seed)
				}
				if cfg.Clock != nil {
					r.WallMs = float64(cfg.Clock().Sub(start).Microseconds()) / 1000
				}
				select {
				case results <- result{j.k, r}:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(jobs)
		var k uint64
		// s < Hi never overflows: Hi is at most the largest uint64.
		for s := cfg.Seeds.Lo; s < cfg.Seeds.Hi; s++ {
			if done.Has(s) {
				continue
			}
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{k, s}:
				k++
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	bw := bufio.NewWriter(w)
	pending := map[uint64]SeedResult{}
	var next uint64
	var werr error
	for {
		var d result
		var ok bool
		select {
		case d, ok = <-results:
		case <-ctx.Done():
			return werr
		}
		if !ok {
			return werr
		}
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
			if emit != nil {
				emit(&r)
			}
			if cfg.Progress != nil {
				cfg.Progress(next, total, &r)
			}
		}
	}
}

// Gaps lists the seeds of a range missing from results sorted by seed, at
// most maxGaps of them, and counts them all. Its cost is the number of
// results, whatever the size of the range.
func Gaps(res []SeedResult, r Range, maxGaps int) (missing []uint64, count uint64) {
	next := r.Lo // the first seed not yet accounted for
	note := func(lo, hi uint64) {
		count += hi - lo
		for s := lo; s < hi && len(missing) < maxGaps; s++ {
			missing = append(missing, s)
		}
	}
	for _, x := range res {
		if x.Seed < next || x.Seed >= r.Hi {
			continue
		}
		note(next, x.Seed)
		next = x.Seed + 1
	}
	note(next, r.Hi)
	return missing, count
}

// SweepSummary counts a sweep's outcomes.
type SweepSummary struct {
	Seeds    uint64
	Outcomes map[string]uint64
	// Failing are the seeds that found a problem, Unknown the seeds a
	// check could not decide, Bound the seeds stopped by their events
	// bound. None counts as ok. Each list holds at most the first
	// ListMax seeds of its kind (all of them when ListMax is zero); the
	// counts are in Outcomes.
	Failing []SeedResult
	Unknown []SeedResult
	Bound   []SeedResult
	ListMax int
	WallMs  float64
}

// Summarize counts outcomes and lists failing, undecided and bounded
// seeds.
func Summarize(res []SeedResult) SweepSummary {
	s := NewSummary(0)
	for i := range res {
		s.Add(&res[i])
	}
	return s
}

// NewSummary is an empty summary whose lists keep at most listMax seeds
// each (zero: all), for sweeps too large to list in memory.
func NewSummary(listMax int) SweepSummary {
	return SweepSummary{Outcomes: map[string]uint64{}, ListMax: listMax}
}

// Add counts one seed.
func (s *SweepSummary) Add(r *SeedResult) {
	s.Seeds++
	s.Outcomes[r.Outcome]++
	s.WallMs += r.WallMs
	keep := func(l []SeedResult) []SeedResult {
		if s.ListMax > 0 && len(l) >= s.ListMax {
			return l
		}
		return append(l, *r)
	}
	switch {
	case r.Failed():
		s.Failing = keep(s.Failing)
	case r.Undecided():
		s.Unknown = keep(s.Unknown)
	case r.Bounded():
		s.Bound = keep(s.Bound)
	}
}

// Count is the number of seeds of the kinds a list holds: failing,
// unknown or bound.
func (s *SweepSummary) Count(kind string) uint64 {
	switch kind {
	case OutcomeUnknown, OutcomeBound:
		return s.Outcomes[kind]
	}
	var n uint64
	for k, v := range s.Outcomes {
		if k != OutcomeOK && k != OutcomeUnknown && k != OutcomeBound {
			n += v
		}
	}
	return n
}
