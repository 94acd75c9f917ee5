package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := execute(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestProtocolsListsOneALine(t *testing.T) {
	code, out, _ := run(t, "protocols")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "single ")
	assert.Contains(t, out, "primary-backup ")
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Fields(l)
		require.GreaterOrEqual(t, len(f), 2, "name then description: %q", l)
	}
}

func TestRunJSONHasTheFields(t *testing.T) {
	code, out, errs := run(t, "run", "--protocol", "single", "--nodes", "3", "--seed", "42", "--duration", "2s", "--json")
	require.Equal(t, 0, code, errs)
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &m))
	for _, f := range []string{"protocol", "seed", "nodes", "events", "sim_seconds", "wall_seconds", "events_per_second",
		"messages_sent", "messages_delivered", "messages_dropped", "messages_duplicated", "ops_ok", "ops_failed", "ops_unknown",
		"latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "violations", "linearizable"} {
		assert.Contains(t, m, f)
	}
	assert.Equal(t, "single", m["protocol"])
	assert.EqualValues(t, 42, m["seed"])
	assert.Equal(t, "ok", m["linearizable"])
}

func TestRunViolationExitsOne(t *testing.T) {
	code, out, errs := run(t, "run", "--scenario", "../../../testdata/scenarios/core/pb-partition.yaml")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "linearizable  violation")
	abs, err := filepath.Abs("../../../testdata/scenarios/core/pb-partition.yaml")
	require.NoError(t, err)
	assert.Contains(t, errs, "replay: "+synodGoRun+" run --scenario "+abs+" --seed 1")
	assert.Contains(t, errs, synodGoRun+" tui")
}

func TestBadUsageExitsTwo(t *testing.T) {
	cases := [][]string{
		{"run", "--protocol", "zab"},
		{"run", "--protocol", "single", "--nodes", "0"},
		{"run", "--protocol", "single", "--nodes", "65"},
		{"run", "--protocol", "single", "--duration", "-1s"},
		{"run", "--protocol", "single", "--duration", "soon"},
		{"run", "--protocol", "single", "--loss", "1.5"},
		{"run", "--protocol", "single", "--fault", "1s crash n9"},
		{"run", "--scenario", "does-not-exist.yaml"},
		{"run", "--frobnicate"},
		{"replay"},
		{"replay", "does-not-exist.jsonl"},
		{"nonsense"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c, " "), func(t *testing.T) {
			code, _, errs := run(t, c...)
			assert.Equal(t, 2, code, errs)
			assert.True(t, strings.HasPrefix(errs, "synod: "), "one clear error line: %q", errs)
			assert.NotContains(t, errs, "goroutine")
		})
	}
}

func TestTraceIsByteIdenticalAndReplays(t *testing.T) {
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a.jsonl"), filepath.Join(dir, "b.jsonl"), filepath.Join(dir, "c.jsonl")
	args := []string{"run", "--scenario", "../../../testdata/scenarios/core/single.yaml", "--seed", "9", "--trace"}
	code, _, errs := run(t, append(args, a)...)
	require.Equal(t, 0, code, errs)
	code, _, _ = run(t, append(args, b)...)
	require.Equal(t, 0, code)
	ab, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	require.Equal(t, string(ab), string(bb), "same seed, same bytes")

	code, out, errs := run(t, "replay", a)
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "reproduced exactly")

	// A tampered trace is caught by its digest before anything runs:
	// bad input, naming the file, the end line and the field.
	lines := strings.Split(string(ab), "\n")
	lines[40] = strings.Replace(lines[40], `"t":`, `"t":1`, 1)
	require.NoError(t, os.WriteFile(c, []byte(strings.Join(lines, "\n")), 0o644))
	code, out, errs = run(t, "replay", c)
	assert.Equal(t, 2, code, out)
	assert.Contains(t, errs, fmt.Sprintf(`%s:%d: field "end.digest": tampered`, c, len(lines)-1))

	// A truncated trace is bad input.
	require.NoError(t, os.WriteFile(c, ab[:len(ab)/2], 0o644))
	code, _, errs = run(t, "replay", c)
	assert.Equal(t, 2, code)
	assert.Contains(t, errs, c+":")
}

// bomb is a student's protocol with a bug: it panics on its first timer.
type bomb struct{}

func (bomb) Start(env *sim.Env)                        { env.SetTimer(sim.Millisecond, "boom", 0) }
func (bomb) Receive(*sim.Env, sim.NodeID, sim.Message) {}
func (bomb) Timer(*sim.Env, sim.Timer) {
	var log []int
	_ = log[3] // index out of range
}
func (bomb) Inspect() sim.View { return sim.View{Role: "bomb"} }

func init() {
	protocols.Register(protocols.Spec{Name: "test-bomb", Description: "panics (test only)",
		New: func(protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			return func(sim.NodeID) protocols.Node { return bomb{} }, nil
		}})
}

func TestProtocolPanicIsReportedNotCrashed(t *testing.T) {
	code, out, errs := run(t, "run", "--protocol", "test-bomb", "--nodes", "3", "--seed", "5", "--clients", "0")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "PANIC")
	assert.Contains(t, out, "seed 5")
	assert.Contains(t, out, "at event 3")
	assert.Contains(t, out, "index out of range")
	assert.Contains(t, out, "main_test.go", "the protocol's stack is shown")
	assert.Contains(t, errs, "--at 3")
}
