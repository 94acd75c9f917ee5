package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/reports"
	"github.com/synod-dev/synod/sim"
)

// undecidedScenario writes a scenario whose linearizability check cannot
// decide (a 1ns budget) and returns its path.
func undecidedScenario(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "undecided.yaml")
	require.NoError(t, os.WriteFile(path, []byte("# a budget no check finishes within\nprotocol: single\nnodes: 3\nduration: 1s\nworkload: {clients: 2}\nchecks: {lin_budget: 1ns}\n"), 0o644))
	return path
}

// TestRunUnknownExitsThree: an undecided linearizability check is exit
// status 3 (not 0: it is not a pass), with the reason in the summary and
// in --json, and the replay command. It used to exit 0.
func TestRunUnknownExitsThree(t *testing.T) {
	file := undecidedScenario(t)
	code, out, errs := run(t, "run", "--scenario", file)
	require.Equal(t, 3, code, "%s%s", out, errs)
	assert.Contains(t, out, "  linearizable  unknown: ")
	assert.Contains(t, out, "lin_budget", "the summary names the setting that raises the budget")
	assert.Contains(t, errs, "replay: "+synodGoRun+" run --scenario "+file+" --seed 1")
	assert.NotContains(t, errs, "synod: ", "no error line: the summary says it")

	code, out, _ = run(t, "run", "--scenario", file, "--json")
	require.Equal(t, 3, code)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	assert.Equal(t, "unknown", m["linearizable"])
	assert.Contains(t, m["lin_reason"], "lin_budget")
}

// TestRunStoppedByTheEventsBoundExitsThree: a run that hits its events
// bound before its duration never finished, so it is not a pass (it used
// to exit 0); an explicitly unbounded one ends there by design.
func TestRunStoppedByTheEventsBoundExitsThree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bound.yaml")
	require.NoError(t, os.WriteFile(path, []byte("protocol: raft\nnodes: 3\nduration: 10s\nevents_max: 200\n"), 0o644))
	code, out, errs := run(t, "run", "--scenario", path)
	require.Equal(t, 3, code, "%s%s", out, errs)
	assert.Contains(t, out, "events bound reached")
	assert.Contains(t, errs, "stopped at the events bound after 200 events")
	assert.Contains(t, errs, "replay: ")

	require.NoError(t, os.WriteFile(path, []byte("protocol: raft\nnodes: 3\nduration: unbounded\nevents_max: 200\n"), 0o644))
	code, out, errs = run(t, "run", "--scenario", path)
	require.Equal(t, 0, code, "%s%s", out, errs)
}

// TestRunSummaryTellsTheViolation: a linearizability violation prints its
// explanation under the verdict line, and --json carries it structured.
// (The explanation is built here: the checker fills it in.)
func TestRunSummaryTellsTheViolation(t *testing.T) {
	ex := &protocols.LinExplanation{Key: "k2", Failing: 1, Ops: []protocols.LinOp{
		{Client: sim.ClientID(1), Op: protocols.Op{Kind: protocols.OpPut, Key: "k2", Value: "x"}, Result: "ok", Call: 5, Return: 9, CallEvent: 4, ReturnEvent: 8, Role: protocols.RoleBefore},
		{Client: sim.ClientID(2), Op: protocols.Op{Kind: protocols.OpGet, Key: "k2"}, Result: "(none)", Call: 12, Return: 20, CallEvent: 11, ReturnEvent: 19, Role: protocols.RoleCannotPlace},
	}}
	res := &scenario.Result{Protocol: "p", Linearizable: string(protocols.LinViolation), LinExplanation: ex, Stopped: "duration reached"}
	var b bytes.Buffer
	printSummary(&b, res)
	out := b.String()
	assert.Contains(t, out, "  linearizable  violation\n    not linearizable: key k2: no legal order places ")
	assert.Contains(t, out, "#19]", "the trace event indexes are shown")
	assert.Contains(t, out, "\n  stopped       duration reached\n", "the summary goes on after the story")
	assert.Equal(t, " --at 11", atFlag(res), "the TUI opens at the invocation that cannot be placed")

	j, err := json.Marshal(res)
	require.NoError(t, err)
	var m struct {
		Ex *protocols.LinExplanation `json:"lin_explanation"`
	}
	require.NoError(t, json.Unmarshal(j, &m))
	require.NotNil(t, m.Ex)
	assert.Equal(t, *ex, *m.Ex)

	// Without an explanation (or with one naming no failing operation),
	// the verdict line stays as it was.
	b.Reset()
	ex.Failing = 5
	printSummary(&b, res)
	assert.Contains(t, b.String(), "  linearizable  violation\n  stopped")
}

// TestSweepCountsUnknownApart: undecided seeds are counted apart from ok
// and failing, listed with the reason and the replay command (and in
// sweep-unknown.txt), and the sweep exits 3. They used to be counted ok.
func TestSweepCountsUnknownApart(t *testing.T) {
	file := undecidedScenario(t)
	dir := t.TempDir()
	code, out, errs := run(t, "sweep", "--scenario", file, "--seeds", "0:2", "--workers", "1", "--out", dir, "--quiet")
	require.Equal(t, 3, code, "%s%s", out, errs)
	assert.Contains(t, out, "outcomes unknown 2\n")
	assert.NotContains(t, out, "ok 2")
	for _, seed := range []string{"0", "1"} {
		assert.Contains(t, out, "  UNKNOWN seed "+seed+": ")
		assert.Contains(t, out, "replay: "+synodGoRun+" run --scenario "+file+" --seed "+seed+"\n")
	}
	list, err := os.ReadFile(filepath.Join(dir, "sweep-unknown.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(list), "seed 1 unknown: ")
	assert.Contains(t, string(list), "lin_budget")
	assert.NoFileExists(t, filepath.Join(dir, "sweep-failing.txt"))

	// synod report draws the sweep with unknown apart, never under ok.
	rep := t.TempDir()
	code, _, errs = run(t, "report", filepath.Join(dir, "sweep.jsonl"), "--out", rep)
	require.Equal(t, 0, code, errs)
	md, err := os.ReadFile(filepath.Join(rep, "report.md"))
	require.NoError(t, err)
	assert.Contains(t, string(md), "| ok | unknown | failing |")
	assert.Contains(t, string(md), " | 2 | 0..1 | 0 | 2 | 0 |")

	// Merging keeps them apart too, and exits 3.
	code, out, _ = run(t, "report", "merge", "--out", filepath.Join(t.TempDir(), "m.jsonl"), filepath.Join(dir, "sweep.jsonl"))
	assert.Equal(t, 3, code)
	assert.Contains(t, out, "outcomes unknown 2\n")
	assert.Contains(t, out, "  UNKNOWN seed 0: ")
}

// TestSweepOldOutputIsReadNotResumed: an output written before sweeps
// recorded what made them cannot be resumed (mixing experiments could not
// be ruled out), but merge and report still read it, counting a row that
// recorded an undecided seed as ok as unknown, with a replay command.
func TestSweepOldOutputIsReadNotResumed(t *testing.T) {
	dir := t.TempDir()
	const file = "../../../testdata/scenarios/core/single.yaml"
	old := `{"seed":0,"outcome":"ok","violations":0,"linearizable":"unknown","ops_ok":3,"replay":"go run ./cmd/synod run --scenario x --seed 0"}` + "\n"
	path := filepath.Join(dir, "sweep.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(old), 0o644))
	code, out, errs := run(t, "sweep", "--scenario", file, "--seeds", "0:2", "--workers", "1", "--out", dir, "--quiet")
	require.Equal(t, 2, code, "%s%s", out, errs)
	assert.Contains(t, errs, "cannot resume: it has no header line recording what made it")
	code, out, errs = run(t, "report", "merge", "--out", filepath.Join(t.TempDir(), "m.jsonl"), path)
	require.Equal(t, 3, code, "%s%s", out, errs)
	assert.Contains(t, out, "outcomes unknown 1\n")
	assert.Contains(t, out, "  UNKNOWN seed 0: ")
}

// TestSweepExitStatus: a failing seed is 1 whatever else; otherwise an
// undecided seed is 3; only a sweep whose every seed decided and passed
// is 0.
func TestSweepExitStatus(t *testing.T) {
	code := func(outcomes ...string) int {
		var rows []reports.SeedResult
		for i, o := range outcomes {
			rows = append(rows, reports.SeedResult{Seed: uint64(i), Outcome: o})
		}
		err := sweepExit(reports.Summarize(rows))
		if err == nil {
			return 0
		}
		return err.(*exitError).code
	}
	assert.Equal(t, 0, code("ok", "ok"))
	assert.Equal(t, 3, code("ok", "unknown"))
	assert.Equal(t, 1, code("unknown", "nonlinearizable", "ok"))
	assert.Equal(t, 1, code("panic"))
	assert.Equal(t, 3, code("ok", "bound"), "a seed stopped at its bound is not a pass")
	assert.Equal(t, 1, code("bound", "violation"))
}

// TestExitCodesAreDocumented: the run command's help and the README give
// the same four exit codes.
func TestExitCodesAreDocumented(t *testing.T) {
	code, out, _ := run(t, "run", "--help")
	require.Equal(t, 0, code)
	assert.Contains(t, strings.Join(strings.Fields(out), " "), "3 undecided: a check could not decide")
	readme, err := os.ReadFile("../../../README.md")
	require.NoError(t, err)
	text := strings.Join(strings.Fields(string(readme)), " ")
	for _, want := range []string{"`synod run` exits 0 when every check decided", "and 3 when a check could not decide", "`unknown` is never a pass"} {
		assert.True(t, strings.Contains(text, want), "README lacks %q", want)
	}
}

// TestOutcomesSampleInDocs: the outcome tally quoted in docs/reports.md is
// what a sweep prints.
func TestOutcomesSampleInDocs(t *testing.T) {
	got := formatOutcomes(map[string]uint64{reports.OutcomeOK: 95, reports.OutcomeUnknown: 3, reports.OutcomeNonLinearizable: 2})
	require.Equal(t, "ok 95, unknown 3, nonlinearizable 2", got)
	doc, err := os.ReadFile("../../../docs/reports.md")
	require.NoError(t, err)
	assert.Contains(t, string(doc), "(`outcomes "+got+"`)")
}
