package shrink

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// traceOf runs a scenario and returns its trace.
func traceOf(t *testing.T, sc *scenario.Scenario) []byte {
	t.Helper()
	var buf bytes.Buffer
	_, err := scenario.Run(sc, scenario.RunOptions{Trace: &buf})
	require.NoError(t, err)
	return buf.Bytes()
}

var (
	reIndex  = regexp.MustCompile(`^\{"i":\d+,`)
	reID     = regexp.MustCompile(`"id":(\d+)`)
	reSource = regexp.MustCompile(`"source":"(nemesis|schedule)"`)
	reTime   = regexp.MustCompile(`^\{"i":\d+,"t":(\d+),"k":"fault"`)
	reEnd    = regexp.MustCompile(`^\{"end":`)
)

// bookkeeping reduces a trace to what a replay by the explicit schedule
// must reproduce byte for byte: every event line but the header, with what
// sim.ScheduleRecorder says differs taken out: the nemesis's idle ticks
// and its undos clamped to the heal are dropped (a pause's resume is not
// one: the pause's For brings it back in the replay too), event indexes and ids are
// renumbered in order of appearance, and a fault's source (the nemesis or
// the schedule) is left out. The end line keeps the run's time, why it
// stopped and its violations' checker, time and message.
func bookkeeping(t *testing.T, trace []byte, healAt sim.Time) string {
	t.Helper()
	lines := bytes.Split(bytes.TrimSpace(trace), []byte("\n"))
	require.NotEmpty(t, lines)
	ids := map[string]int{}
	var b strings.Builder
	i := 0
	for _, line := range lines[1:] {
		s := string(line)
		if reEnd.MatchString(s) {
			tr, err := sim.ReadTrace(bytes.NewReader(trace), "trace.jsonl")
			require.NoError(t, err)
			fmt.Fprintf(&b, "end t=%d stopped=%q", tr.End.Time, tr.End.Stopped)
			for _, v := range tr.End.Violations {
				fmt.Fprintf(&b, " violation %s at %v: %s", v.Checker, v.Time, v.Message)
			}
			b.WriteByte('\n')
			continue
		}
		if strings.Contains(s, `"outcome":"nemesis: nothing to do"`) {
			continue
		}
		if m := reTime.FindStringSubmatch(s); m != nil && healAt > 0 && strings.Contains(s, `"source":"nemesis"`) &&
			!strings.Contains(s, `"kind":"heal-all"`) && !strings.Contains(s, `"kind":"resume"`) {
			at, _ := strconv.ParseInt(m[1], 10, 64)
			if sim.Time(at) >= healAt {
				continue // an undo the nemesis clamped to its heal
			}
		}
		s = reIndex.ReplaceAllString(s, `{"i":`+strconv.Itoa(i)+`,`)
		i++
		s = reID.ReplaceAllStringFunc(s, func(m string) string {
			id := m[len(`"id":`):]
			n, ok := ids[id]
			if !ok {
				n = len(ids)
				ids[id] = n
			}
			return `"id":` + strconv.Itoa(n)
		})
		s = reSource.ReplaceAllString(s, `"source":"fault"`)
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// TestExplicitScheduleReplaysTheRun: the explicit schedule of a nemesis
// run, replayed as scripted faults instead of the random nemesis, is the
// same run: the same events at the same times with the same messages,
// effects, outcomes and violations, byte for byte once the bookkeeping
// sim.ScheduleRecorder names is taken out.
func TestExplicitScheduleReplaysTheRun(t *testing.T) {
	files := []string{
		"../../testdata/scenarios/core/nemesis.yaml",
		"../../testdata/scenarios/raft/chaos5.yaml",
		"../../testdata/scenarios/raft/chaos5-reads.yaml",
		"../../testdata/scenarios/raft/chaos5-leaders.yaml", // strikes at leaders
		"../../testdata/scenarios/paxos/chaos5.yaml",
		"../../testdata/scenarios/twopc/property-2pc.yaml",
	}
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, file := range files {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("%s/seed%d", file[len("../../testdata/scenarios/"):], seed), func(t *testing.T) {
				sc, err := scenario.Load(file)
				require.NoError(t, err)
				sc.Seed = seed
				require.NoError(t, sc.Revalidate())
				sc, err = sc.Unswarm() // as Run does: the seed's nemesis written out
				require.NoError(t, err)
				ex, faults, err := Explicit(sc, nil, nil)
				require.NoError(t, err)
				require.NotEmpty(t, faults, "the nemesis did something")
				assert.Equal(t, len(sc.Faults)+len(faults), len(ex.Faults))
				assert.Equal(t, sim.Remainder(sc.Nemesis), ex.Nemesis)

				want := traceOf(t, sc)
				got := traceOf(t, ex)
				heal := sc.Nemesis.HealAt
				a, b := bookkeeping(t, want, heal), bookkeeping(t, got, heal)
				require.Greater(t, strings.Count(a, "\n"), 50)
				if a != b {
					al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
					for i := range min(len(al), len(bl)) {
						if al[i] != bl[i] {
							t.Fatalf("the replay differs at line %d:\nnemesis:  %s\nschedule: %s", i, al[i], bl[i])
						}
					}
					t.Fatalf("the replay has %d lines, the nemesis run %d", len(bl), len(al))
				}
				// The schedule's text reads back as written.
				for i, s := range ex.Faults[len(sc.Faults):] {
					f, err := sim.ParseScheduledFault(s)
					require.NoError(t, err)
					assert.Equal(t, faults[i].String(), f.String())
				}
			})
		}
	}
}

// TestStrikeOnlyNemesisInjects: a nemesis that only strikes at leaders
// still injects faults, so the shrinker writes its strikes down as an
// explicit schedule (and removes them one by one) rather than keeping or
// dropping the whole nemesis; its remainder strikes no more.
func TestStrikeOnlyNemesisInjects(t *testing.T) {
	n := &sim.NemesisConfig{HealAt: 3 * sim.Second, Strike: &sim.StrikeConfig{Elected: 1}}
	assert.True(t, injects(n))
	assert.False(t, injects(sim.Remainder(n)), "the remainder keeps the heal only")
	assert.Nil(t, sim.Remainder(n).Strike)
}
