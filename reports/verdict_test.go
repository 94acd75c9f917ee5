package reports

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// undecided is a scenario whose linearizability check cannot decide: its
// budget is far too small for any history.
const undecided = `# a budget no check can finish within
protocol: single
nodes: 3
duration: 1s
workload: {clients: 2}
checks: {lin_budget: 1ns}
`

// TestUnknownSeedsAreCountedApart: a seed the linearizability check could
// not decide is neither ok nor failing; it carries the reason and its
// replay command. Before the unknown outcome, such seeds were counted ok.
func TestUnknownSeedsAreCountedApart(t *testing.T) {
	sc, err := scenario.Parse([]byte(undecided), "u.yaml")
	require.NoError(t, err)
	res, err := Sweep(context.Background(), SweepConfig{Scenario: sc, File: "u.yaml", Seeds: Range{0, 3}, Workers: 2}, &bytes.Buffer{})
	require.NoError(t, err)
	abs, err := filepath.Abs("u.yaml")
	require.NoError(t, err)
	sum := Summarize(res)
	require.Len(t, sum.Unknown, 3)
	assert.Empty(t, sum.Failing)
	assert.Zero(t, sum.Outcomes[OutcomeOK], "unknown is never ok")
	assert.Equal(t, uint64(3), sum.Outcomes[OutcomeUnknown])
	for _, r := range sum.Unknown {
		assert.Equal(t, OutcomeUnknown, r.Outcome)
		assert.False(t, r.Failed())
		assert.True(t, r.Undecided())
		assert.Contains(t, r.LinReason, "lin_budget", "the reason names the setting that raises the budget")
		assert.Equal(t, fmt.Sprintf("go run github.com/synod-dev/synod/cmd/synod run --scenario %s --seed %d", abs, r.Seed), r.Replay)
	}
}

// fakeExplanation stands for the story protocols.CheckLinearizable tells
// of a violation.
func fakeExplanation() *protocols.LinExplanation {
	return &protocols.LinExplanation{
		Key: "k1",
		Ops: []protocols.LinOp{
			{Client: sim.ClientID(1), Op: protocols.Op{Kind: protocols.OpPut, Key: "k1", Value: "a"}, Result: "ok", Call: 10, Return: 20, CallEvent: 3, ReturnEvent: 9, Role: protocols.RoleBefore},
			{Client: sim.ClientID(2), Op: protocols.Op{Kind: protocols.OpGet, Key: "k1"}, Result: "(none)", Call: 30, Return: 40, CallEvent: 12, ReturnEvent: 15, Role: protocols.RoleCannotPlace},
		},
		Failing:      1,
		StatesBefore: []string{`"a"`},
	}
}

// TestNonLinearizableRowCarriesTheExplanation: the sweep row of a
// non-linearizable seed has the explanation's key, the operation that
// cannot be placed, and the whole story as a structured object.
func TestNonLinearizableRowCarriesTheExplanation(t *testing.T) {
	var r SeedResult
	r.fill(&RunData{Result: &scenario.Result{Linearizable: string(protocols.LinViolation), LinExplanation: fakeExplanation()}})
	require.Equal(t, OutcomeNonLinearizable, r.Outcome)
	assert.Equal(t, "k1", r.LinKey)
	assert.Contains(t, r.LinFailing, "get k1")
	assert.Contains(t, r.LinFailing, "(none)")
	line, err := json.Marshal(&r)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(line, &m))
	ex, ok := m["lin_explanation"].(map[string]any)
	require.True(t, ok, "lin_explanation is an object: %s", line)
	assert.Equal(t, "k1", ex["key"])
	assert.Len(t, ex["ops"], 2)

	// A malformed explanation (no failing operation) is carried without a
	// compact form rather than crashing the sweep.
	bad := fakeExplanation()
	bad.Failing = 7
	var r2 SeedResult
	r2.fill(&RunData{Result: &scenario.Result{Linearizable: string(protocols.LinViolation), LinExplanation: bad}})
	assert.Empty(t, r2.LinFailing)
	assert.Empty(t, bad.Story())
}

// TestOldUnknownRowsAreReclassified: a sweep written before the unknown
// outcome recorded an undecided seed as ok; reading it back (to resume or
// merge) counts it as unknown.
func TestOldUnknownRowsAreReclassified(t *testing.T) {
	old := `{"seed":4,"outcome":"ok","violations":0,"linearizable":"unknown","ops_ok":3}
{"seed":5,"outcome":"ok","violations":0,"linearizable":"ok","ops_ok":3}
`
	res, _, err := ReadResults(strings.NewReader(old))
	require.NoError(t, err)
	require.Len(t, res, 2)
	assert.Equal(t, OutcomeUnknown, res[0].Outcome)
	assert.Contains(t, res[0].LinReason, "lin_budget")
	assert.Equal(t, OutcomeOK, res[1].Outcome)
	sum := Summarize(res)
	assert.Equal(t, uint64(1), sum.Outcomes[OutcomeOK])
	assert.Len(t, sum.Unknown, 1)
}

// TestSweepReportShowsUnknownApart: the sweep report's table has an
// unknown column; undecided seeds are never under ok.
func TestSweepReportShowsUnknownApart(t *testing.T) {
	rows := []SeedResult{{Seed: 0, Outcome: OutcomeOK}, {Seed: 1, Outcome: OutcomeUnknown}, {Seed: 2, Outcome: OutcomeUnknown}, {Seed: 3, Outcome: OutcomeViolation}}
	rep := SweepReport([]string{"runs/sweep.jsonl"}, [][]SeedResult{rows})
	intro := strings.Join(rep.Intro, "\n")
	assert.Contains(t, intro, "| sweep | seeds | range | ok | unknown | failing |")
	assert.Contains(t, intro, "| runs | 4 | 0..3 | 1 | 2 | 1 |")
}

// TestRunReportStatesTheUnknownReason: a single run's report says why its
// verdict is unknown, and that it is not a pass.
func TestRunReportStatesTheUnknownReason(t *testing.T) {
	r := &Report{}
	linNote(r, &scenario.Result{Linearizable: string(protocols.LinUnknown), LinReason: "porcupine ran out of its 1ns budget (raise checks.lin_budget)"})
	require.Len(t, r.Intro, 1)
	assert.Contains(t, r.Intro[0], "unknown (not a pass): porcupine ran out of its 1ns budget (raise checks.lin_budget)")
	r = &Report{}
	linNote(r, &scenario.Result{Linearizable: string(protocols.LinViolation), LinExplanation: fakeExplanation()})
	require.Len(t, r.Intro, 1)
	assert.Contains(t, r.Intro[0], "key k1: no legal order places")
}
