package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// testScenario is the default chaos scenario shortened to 2 simulated
// seconds, on raft when it is registered and on primary-backup otherwise.
func testScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.LoadDefault()
	require.NoError(t, err)
	sc = sc.Clone()
	if _, err := protocols.Lookup("raft"); err != nil {
		sc.Protocol = "primary-backup"
		sc.RawOpts = nil
		sc.ResetOptions()
	}
	sc.Duration = 2 * sim.Second
	sc.Nemesis.HealAt = 1500 * sim.Millisecond
	require.NoError(t, sc.Revalidate())
	return sc
}

func sweepLines(t *testing.T, cfg SweepConfig) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := Sweep(context.Background(), cfg, &buf)
	require.NoError(t, err)
	return stripWall(t, buf.Bytes())
}

// stripWall zeroes wall_ms, the one field that depends on the machine.
func stripWall(t *testing.T, b []byte) []byte {
	t.Helper()
	res, _, err := ReadResults(bytes.NewReader(b))
	require.NoError(t, err)
	var out bytes.Buffer
	for _, r := range res {
		r.WallMs = 0
		j, _ := json.Marshal(r)
		out.Write(j)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func TestSweepSameWhateverTheWorkers(t *testing.T) {
	sc := testScenario(t)
	cfg := SweepConfig{Scenario: sc, File: "x.yaml", Seeds: Range{0, 8}, Workers: 1}
	one := sweepLines(t, cfg)
	cfg.Workers = 2
	two := sweepLines(t, cfg)
	cfg.Workers = 5
	five := sweepLines(t, cfg)
	require.Equal(t, string(one), string(two), "1 vs 2 workers")
	require.Equal(t, string(one), string(five), "1 vs 5 workers")
	require.Equal(t, 8, bytes.Count(one, []byte("\n")))
}

func TestShardsMergeToTheFullSweep(t *testing.T) {
	sc := testScenario(t)
	full := Range{10, 17}
	want := sweepLines(t, SweepConfig{Scenario: sc, Seeds: full, Workers: 2})
	var parts [][]SeedResult
	covered := uint64(0)
	// Merge the shards in reverse to show order does not matter.
	for i := 2; i >= 0; i-- {
		r := full.Shard(i, 3)
		covered += r.Len()
		b := sweepLines(t, SweepConfig{Scenario: sc, Seeds: r, Workers: 2})
		res, _, err := ReadResults(bytes.NewReader(b))
		require.NoError(t, err)
		parts = append(parts, res)
	}
	require.Equal(t, full.Len(), covered)
	merged, err := Merge(parts...)
	require.NoError(t, err)
	var got bytes.Buffer
	for _, r := range merged {
		j, _ := json.Marshal(r)
		got.Write(j)
		got.WriteByte('\n')
	}
	require.Equal(t, string(want), got.String())
	missing, n := Gaps(merged, full, 5)
	require.Zero(t, n, "missing %v", missing)
}

func TestShardsCoverTheRange(t *testing.T) {
	for _, tc := range []struct {
		r Range
		n int
	}{{Range{0, 10}, 3}, {Range{5, 6}, 4}, {Range{0, 1000003}, 17}} {
		next := tc.r.Lo
		for i := range tc.n {
			s := tc.r.Shard(i, tc.n)
			require.Equal(t, next, s.Lo, "shard %d/%d of %v", i, tc.n, tc.r)
			next = s.Hi
		}
		require.Equal(t, tc.r.Hi, next)
	}
}

func TestSweepResumes(t *testing.T) {
	sc := testScenario(t)
	want := sweepLines(t, SweepConfig{Scenario: sc, Seeds: Range{0, 6}, Workers: 2})
	// An interrupted sweep: three seeds and a torn fourth line.
	lines := bytes.SplitAfter(want, []byte("\n"))
	partial := append(bytes.Join(lines[:3], nil), lines[3][:10]...)
	done, good, err := ReadResults(bytes.NewReader(partial))
	require.NoError(t, err)
	require.Len(t, done, 3)
	skip := &SeedSet{}
	for _, r := range done {
		skip.Add(r.Seed)
	}
	var rest bytes.Buffer
	_, err = Sweep(context.Background(), SweepConfig{Scenario: sc, Seeds: Range{0, 6}, Workers: 2, Done: skip}, &rest)
	require.NoError(t, err)
	got := stripWall(t, append(partial[:good:good], rest.Bytes()...))
	require.Equal(t, string(want), string(got))
}

func TestSweepCanceledWritesAPrefix(t *testing.T) {
	sc := testScenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	var buf bytes.Buffer
	cfg := SweepConfig{Scenario: sc, Seeds: Range{0, 50}, Workers: 2,
		Progress: func(done, _ uint64, _ *SeedResult) {
			if done == 2 {
				cancel()
			}
		}}
	res, err := Sweep(ctx, cfg, &buf)
	require.NoError(t, err)
	require.Less(t, len(res), 50)
	for i, r := range res {
		require.Equal(t, uint64(i), r.Seed, "results must be a prefix of the range")
	}
}

func TestParseRangeAndShard(t *testing.T) {
	r, err := ParseRange("0:10000")
	require.NoError(t, err)
	require.Equal(t, Range{0, 10000}, r)
	r, err = ParseRange("7")
	require.NoError(t, err)
	require.Equal(t, Range{7, 8}, r)
	for _, bad := range []string{"", "a:b", "5:5", "9:3"} {
		_, err := ParseRange(bad)
		require.Error(t, err, bad)
	}
	i, n, err := ParseShard("3/16")
	require.NoError(t, err)
	require.Equal(t, [2]int{3, 16}, [2]int{i, n})
	for _, bad := range []string{"16/16", "-1/3", "3", "a/b", "0/0"} {
		_, _, err := ParseShard(bad)
		require.Error(t, err, bad)
	}
	env := map[string]string{"SLURM_ARRAY_TASK_ID": "12", "SLURM_ARRAY_TASK_MIN": "10"}
	i, src, ok, err := ShardFromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2, i, src)
	env["JOB_COMPLETION_INDEX"] = "5"
	i, src, _, _ = ShardFromEnv(func(k string) string { return env[k] })
	require.Equal(t, 5, i)
	require.Equal(t, "JOB_COMPLETION_INDEX", src)
}

func TestMergeRejectsConflicts(t *testing.T) {
	a := []SeedResult{{Seed: 1, Outcome: "ok", WallMs: 3}}
	b := []SeedResult{{Seed: 1, Outcome: "ok", WallMs: 9}}
	m, err := Merge(a, b)
	require.NoError(t, err, "the same seed twice differing only in wall time merges")
	require.Len(t, m, 1)
	_, err = Merge(a, []SeedResult{{Seed: 1, Outcome: "violation"}})
	require.Error(t, err)
}

// TestFailingSeedsCarryTheirReplayCommand sweeps the primary-backup
// scenario that loses linearizability under partitions.
func TestFailingSeedsCarryTheirReplayCommand(t *testing.T) {
	const file = "../testdata/scenarios/core/pb-partition.yaml"
	abs, err := filepath.Abs(file)
	require.NoError(t, err)
	sc, err := scenario.Load(file)
	require.NoError(t, err)
	res, err := Sweep(context.Background(), SweepConfig{Scenario: sc, File: file, Seeds: Range{0, 6}, Workers: 2}, &bytes.Buffer{})
	require.NoError(t, err)
	sum := Summarize(res)
	require.NotEmpty(t, sum.Failing, "primary-backup should fail some seed of %s", file)
	for _, f := range sum.Failing {
		require.Equal(t, OutcomeNonLinearizable, f.Outcome)
		// Under go test the file is absolute: the test's directory is
		// not the user's.
		require.Equal(t, fmt.Sprintf("go run github.com/synod-dev/synod/cmd/synod run --scenario %s --seed %d", abs, f.Seed), f.Replay)
	}
	for _, r := range res {
		if !r.Failed() {
			require.Empty(t, r.Replay)
		}
	}
}

// A sweep over the whole uint64 range starts at once and, canceled, stops
// at once: nothing is allocated per seed of the range.
func TestSweepHugeRangeStreamsAndStops(t *testing.T) {
	sc := testScenario(t)
	ctx, cancel := context.WithCancel(context.Background())
	var buf bytes.Buffer
	var n uint64
	cfg := SweepConfig{Scenario: sc, Seeds: Range{0, math.MaxUint64}, Workers: 2,
		Progress: func(done, total uint64, _ *SeedResult) {
			require.Equal(t, uint64(math.MaxUint64), total)
			if done == 3 {
				cancel()
			}
		}}
	err := SweepStream(ctx, cfg, &buf, func(r *SeedResult) { n++ })
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, uint64(3))
	res, _, err := ReadResults(&buf)
	require.NoError(t, err)
	for i, r := range res {
		require.Equal(t, uint64(i), r.Seed, "results must be a prefix of the range")
	}
	_, err = Sweep(context.Background(), cfg, &buf)
	require.ErrorContains(t, err, "over the 1000000 a sweep keeps in memory")
}

func TestSeedSet(t *testing.T) {
	var s SeedSet
	for _, x := range []uint64{5, 3, 4, 10, 0, 1, 2, 11, 7} {
		s.Add(x)
	}
	s.Add(4)
	require.Equal(t, []Range{{0, 6}, {7, 8}, {10, 12}}, s.runs)
	require.Equal(t, uint64(9), s.Len())
	require.True(t, s.Has(7))
	require.False(t, s.Has(6))
	require.False(t, s.Has(12))
	require.Equal(t, uint64(4), s.CountIn(Range{4, 11}))
	s.Add(6)
	require.Equal(t, []Range{{0, 8}, {10, 12}}, s.runs)
}

func TestGapsCostsTheResultsNotTheRange(t *testing.T) {
	res := []SeedResult{{Seed: 1}, {Seed: 2}, {Seed: 5}}
	missing, n := Gaps(res, Range{0, 7}, 10)
	require.Equal(t, []uint64{0, 3, 4, 6}, missing)
	require.Equal(t, uint64(4), n)
	missing, n = Gaps(res, Range{0, math.MaxUint64}, 2)
	require.Equal(t, []uint64{0, 3}, missing)
	require.Equal(t, uint64(math.MaxUint64-3), n)
}

// A sweep output says what made it; outputs of two experiments are told
// apart by what differs, and a trace is not a sweep output.
func TestSweepMetaAndStrictRows(t *testing.T) {
	sc := testScenario(t)
	a := NewSweepMeta(sc, 25*sim.Millisecond, "synod sweep")
	other := sc.Clone()
	other.Nodes = 3
	require.NoError(t, other.Revalidate())
	b := NewSweepMeta(other, 25*sim.Millisecond, "synod sweep --nodes 3")
	require.Empty(t, a.Differences(&a))
	d := a.Differences(&b)
	require.Len(t, d, 1)
	require.Contains(t, d[0], "scenario (nodes) differs")
	seeded := sc.Clone()
	seeded.Seed = 99
	c := NewSweepMeta(seeded, 25*sim.Millisecond, "")
	require.Empty(t, a.Differences(&c), "the seed is not part of the experiment")

	for _, bad := range []struct{ text, want string }{
		{`{"synod":"trace","format":1}` + "\n", "this is a synod trace"},
		{`{"i":0,"t":0,"k":"start","id":1}` + "\n", "looks like a synod trace"},
		{`{"outcome":"ok"}` + "\n", `field "seed": missing`},
		{`{"seed":1,"outcome":"great"}` + "\n", `field "outcome": "great" is not one of`},
		{`{"seed":1,"outcome":"ok","colour":1}` + "\n", `unknown field "colour"`},
	} {
		_, _, err := ReadResults(strings.NewReader(bad.text))
		require.ErrorContains(t, err, bad.want, bad.text)
	}
}

// A seed stopped by its events bound before its duration is an outcome
// of its own, with its replay command; an unbounded scenario ends at its
// events bound by design and is ok there.
func TestSeedAtItsEventsBoundIsBound(t *testing.T) {
	sc := testScenario(t)
	sc.EventsMax = 500
	no := false
	sc.Checks.Linearizability = &no
	require.NoError(t, sc.Revalidate())
	r := RunSeed(sc, "b.yaml", 4, 0)
	require.Equal(t, OutcomeBound, r.Outcome)
	require.True(t, r.Bounded())
	require.False(t, r.Failed())
	require.Contains(t, r.BoundReason, "after 500 events")
	abs, err := filepath.Abs("b.yaml")
	require.NoError(t, err)
	require.Equal(t, "go run github.com/synod-dev/synod/cmd/synod run --scenario "+abs+" --seed 4", r.Replay)
	sum := Summarize([]SeedResult{r})
	require.Len(t, sum.Bound, 1)
	require.Equal(t, uint64(1), sum.Count(OutcomeBound))

	sc.Duration, sc.Unbounded = 0, true
	require.NoError(t, sc.Revalidate())
	r = RunSeed(sc, "b.yaml", 4, 0)
	require.Equal(t, OutcomeOK, r.Outcome)
	require.Equal(t, int64(500), r.Events)
}
