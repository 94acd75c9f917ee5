package scenario_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	_ "github.com/synod-dev/synod/protocols/all"
	"github.com/synod-dev/synod/protocols/scenario"
)

func TestBadInputNamesFileLineField(t *testing.T) {
	cases := []struct {
		name, yaml, want string
	}{
		{"unknown protocol", "# x\nprotocol: zab\n", `bad.yaml:2: field "protocol": unknown protocol "zab"`},
		{"unknown field", "# x\nprotocol: single\nnodez: 3\n", `bad.yaml:3: field "nodez": unknown field`},
		{"nodes zero", "# x\nprotocol: single\nnodes: 0\n", `bad.yaml:3: field "nodes": 0 is outside 1..64`},
		{"nodes big", "# x\nprotocol: single\nnodes: 65\n", `bad.yaml:3: field "nodes": 65 is outside 1..64`},
		{"negative duration", "# x\nprotocol: single\nduration: -3s\n", `bad.yaml:3: `},
		{"unparsable duration", "# x\nprotocol: single\nduration: soon\n", `bad.yaml:3: `},
		{"probability", "# x\nprotocol: single\nnetwork:\n  latency: {dist: constant, min: 1ms}\n  loss: 1.5\n", `bad.yaml:5: field "network.loss": 1.5 is outside [0,1]`},
		{"latency dist", "# x\nprotocol: single\nnetwork:\n  latency: {dist: gamma, min: 1ms}\n", `bad.yaml:4: field "network.latency.dist"`},
		{"fault node", "# x\nprotocol: single\nnodes: 3\nfaults:\n  - 1s crash n1\n  - 2s crash n9\n", `bad.yaml:6: field "faults[1].node": node n9 does not exist`},
		{"fault syntax", "# x\nprotocol: single\nfaults:\n  - 1s explode n1\n", `bad.yaml:4: field "faults[0]": "explode n1": "explode" is not a fault`},
		{"fault time", "# x\nprotocol: single\nfaults:\n  - soon crash n1\n", `bad.yaml:4: field "faults[0]": time:`},
		{"options unknown", "# x\nprotocol: primary-backup\noptions:\n  heartbeat: 10ms\n  colour: red\n", `bad.yaml:5: field "options.colour": unknown field`},
		{"options on optionless", "# x\nprotocol: single\noptions: {a: 1}\n", `bad.yaml:3: field "options": protocol single has no options`},
		{"workload mode", "# x\nprotocol: single\nworkload:\n  mode: sometimes\n", `bad.yaml:4: field "workload.mode": "sometimes" is not closed or open`},
		{"nemesis", "# x\nprotocol: single\nnemesis:\n  loss_burst: 2\n", `bad.yaml:4: field "nemesis.loss_burst": 2 is outside [0,1]`},
		{"not a mapping", "- a\n- b\n", `bad.yaml:1: a scenario is a mapping`},
		{"empty", "", `bad.yaml:1: empty scenario`},
		{"missing protocol", "# x\nnodes: 3\n", `field "protocol": missing`},
		{"yaml syntax", "# x\nprotocol: [single\n", `bad.yaml:`},
		{"wrong type", "# x\nprotocol: single\nnodes: many\n", `bad.yaml:3: field "nodes": many is not a valid int`},
		{"option negative", "# x\nprotocol: raft\noptions:\n  election_timeout_min: -5ms\n", `bad.yaml:4: field "options.election_timeout_min": duration -5ms is negative`},
		{"second document", "# x\nprotocol: raft\n---\nprotocol: paxos\n", `bad.yaml:4: a second YAML document`},
		{"duration zero", "# x\nprotocol: single\nduration: 0\n", `bad.yaml:3: field "duration": 0s is not a bound`},
		{"duration huge", "# x\nprotocol: single\nduration: 2562047h\n", `bad.yaml:3: field "duration": 2562047h0m0s is over the maximum 24h0m0s`},
		{"unbounded without events", "# x\nprotocol: single\nduration: unbounded\n", `bad.yaml:3: field "events_max": missing`},
		{"events_max huge", "# x\nprotocol: single\nevents_max: 1000000000000\n", `bad.yaml:3: field "events_max": 1000000000000 is outside 1..1000000000`},
		{"open rate huge", "# x\nprotocol: raft\nworkload:\n  mode: open\n  rate: 1e9\n", `bad.yaml:5: field "workload.rate": 1e+09 arrivals per second per client is over the maximum 100000`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc, err := scenario.Parse([]byte(c.yaml), "bad.yaml")
			require.Error(t, err)
			assert.Nil(t, sc)
			assert.Contains(t, err.Error(), c.want)
			assert.NotContains(t, err.Error(), "goroutine", "no stack traces in errors")
		})
	}
}

// "duration: unbounded" is the one way to run without a time bound, and it
// needs an events bound; the run stops there.
func TestUnboundedNeedsEventsBound(t *testing.T) {
	sc, err := scenario.Parse([]byte("# x\nprotocol: raft\nduration: unbounded  # events only\nevents_max: 3000\n"), "u.yaml")
	require.NoError(t, err)
	assert.True(t, sc.Unbounded)
	assert.Zero(t, sc.Duration)
	c := sc.Clone()
	assert.True(t, c.Unbounded, "the word survives the JSON of a trace header")
	no := false
	sc.Checks.Linearizability = &no
	res, err := scenario.Run(sc, scenario.RunOptions{})
	require.NoError(t, err)
	assert.Equal(t, int64(3000), res.Events)
	assert.Equal(t, "events bound reached", res.Stopped)
}

func TestLoadMissingFile(t *testing.T) {
	_, err := scenario.Load("testdata/nope.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "testdata/nope.yaml: cannot read")
}

// Every scenario file under testdata/scenarios/core and every example in
// docs/scenarios.md is a file a test runs.
func TestExampleScenariosRun(t *testing.T) {
	files, err := filepath.Glob("../../testdata/scenarios/core/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(data, []byte("#")), "a scenario opens with a comment saying what it shows")
			sc, err := scenario.Load(f)
			require.NoError(t, err)
			res, err := scenario.Run(sc, scenario.RunOptions{})
			require.NoError(t, err)
			assert.Greater(t, res.Events, int64(0))
		})
	}
}

func TestSingleServerIsLinearizable(t *testing.T) {
	sc, err := scenario.Load("../../testdata/scenarios/core/single.yaml")
	require.NoError(t, err)
	for seed := uint64(1); seed <= 20; seed++ {
		c := sc.Clone()
		c.Seed = seed
		require.NoError(t, c.Revalidate())
		res, err := scenario.Run(c, scenario.RunOptions{})
		require.NoError(t, err)
		require.Equal(t, "ok", res.Linearizable, "seed %d; replay: go run ./cmd/synod run --scenario testdata/scenarios/core/single.yaml --seed %d", seed, seed)
		require.Greater(t, res.OpsOK, 100)
		require.False(t, res.Failed())
	}
}

// The naive primary-backup store is caught losing writes and serving stale
// reads: seed 1 of this scenario is a kept counterexample.
func TestPrimaryBackupCaught(t *testing.T) {
	sc, err := scenario.Load("../../testdata/scenarios/core/pb-partition.yaml")
	require.NoError(t, err)
	res, err := scenario.Run(sc, scenario.RunOptions{})
	require.NoError(t, err)
	assert.Equal(t, "violation", res.Linearizable, "replay: go run ./cmd/synod run --scenario testdata/scenarios/core/pb-partition.yaml --seed 1")
	assert.True(t, res.Failed())
	html := filepath.Join(t.TempDir(), "lin.html")
	require.NoError(t, res.WriteLinHTML(html))
	b, err := os.ReadFile(html)
	require.NoError(t, err)
	assert.Contains(t, string(b), "partition n1|n2,n3", "faults are annotated")
}

func TestTraceDeterministicThroughScenario(t *testing.T) {
	sc, err := scenario.Load("../../testdata/scenarios/core/pb-partition.yaml")
	require.NoError(t, err)
	run := func(seed uint64) string {
		c := sc.Clone()
		c.Seed = seed
		require.NoError(t, c.Revalidate())
		var buf bytes.Buffer
		_, err := scenario.Run(c, scenario.RunOptions{Trace: &buf})
		require.NoError(t, err)
		return buf.String()
	}
	a, b := run(5), run(5)
	assert.Equal(t, a, b)
	assert.NotEqual(t, a, run(6))
}

func TestJSONRoundTrip(t *testing.T) {
	sc, err := scenario.Parse([]byte("# x\nprotocol: primary-backup\noptions: {heartbeat: 7ms}\nfaults: [1s crash n1]\n"), "x.yaml")
	require.NoError(t, err)
	back, err := scenario.FromJSON(sc.JSON(), "trace.jsonl")
	require.NoError(t, err)
	assert.Equal(t, string(sc.JSON()), string(back.JSON()))
	assert.Contains(t, string(sc.JSON()), `"heartbeat":"7ms"`)
}

func TestUnknownOutcomeIsNotAPass(t *testing.T) {
	// An operation whose answer never came may have been applied: a later
	// read of its value is linearizable, and so is a read that misses it.
	put := protocols.OpRecord{Client: -1, Seq: 1, Op: protocols.Op{Kind: protocols.OpPut, Key: "k", Value: "v"}, Call: 0, Status: protocols.OpUnknown}
	got := protocols.OpRecord{Client: -2, Seq: 1, Op: protocols.Op{Kind: protocols.OpGet, Key: "k"}, Call: 10, Return: 20, Status: protocols.OpOK, Value: "v", Found: true}
	miss := protocols.OpRecord{Client: -2, Seq: 2, Op: protocols.Op{Kind: protocols.OpGet, Key: "k"}, Call: 30, Return: 40, Status: protocols.OpOK}
	assert.Equal(t, protocols.LinOK, protocols.CheckLinearizable([]protocols.OpRecord{put, got}, 100, 0).Result)
	assert.Equal(t, protocols.LinOK, protocols.CheckLinearizable([]protocols.OpRecord{put, miss}, 100, 0).Result)
	// But it cannot be applied and then un-applied.
	assert.Equal(t, protocols.LinViolation, protocols.CheckLinearizable([]protocols.OpRecord{put, got, miss}, 100, 0).Result)
	// A failed operation did not take effect.
	failed := put
	failed.Status = protocols.OpFailed
	assert.Equal(t, protocols.LinViolation, protocols.CheckLinearizable([]protocols.OpRecord{failed, got}, 100, 0).Result)
}

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../../testdata/scenarios/*/*.yaml")
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("protocol: single\nnodes: 3\nfaults: [\"1s partition n1|n2,n3\"]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := scenario.Parse(data, "fuzz.yaml")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		if _, err := scenario.Build(sc); err != nil && !strings.Contains(err.Error(), "fuzz.yaml") {
			t.Fatalf("build error does not name the file: %v", err)
		}
	})
}

// Every example in docs/scenarios.md is a file a test runs.
func TestDocExamplesAreFiles(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scenarios.md")
	require.NoError(t, err)
	re := regexp.MustCompile("(?s)<!-- example: (\\S+) -->\n```yaml\n(.*?)```")
	ms := re.FindAllSubmatch(doc, -1)
	require.NotEmpty(t, ms)
	for _, m := range ms {
		path := "../../" + string(m[1])
		file, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, string(file), string(m[2]), "docs/scenarios.md differs from %s", m[1])
		_, err = scenario.Load(path)
		assert.NoError(t, err)
	}
}

func TestSetOption(t *testing.T) {
	sc, err := scenario.Parse([]byte("# x\nprotocol: primary-backup\noptions: {heartbeat: 7ms}\n"), "x.yaml")
	require.NoError(t, err)
	require.NoError(t, sc.SetOption("suspect=90ms"))
	assert.Contains(t, string(sc.JSON()), `"heartbeat":"7ms","suspect":"90ms"`)
	err = sc.SetOption("colour=red")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `field "options.colour": unknown option (options of primary-backup: heartbeat, suspect)`)
	assert.Error(t, sc.SetOption("suspect"))
	assert.Error(t, sc.SetOption("heartbeat=soon"))
	assert.Error(t, sc.SetOption("heartbeat=200ms"), "heartbeat above suspect is rejected by the protocol")
}

func TestMetricsAppearInResult(t *testing.T) {
	sc, err := scenario.Parse([]byte("# x\nprotocol: 2pc\nduration: 2s\n"), "x.yaml")
	require.NoError(t, err)
	res, err := scenario.Run(sc, scenario.RunOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, res.Metrics)
	assert.Zero(t, res.OpsUnknown, "clients stop in time for their last operation to finish")
}

func TestMixIsDecodedWhole(t *testing.T) {
	sc, err := scenario.Parse([]byte("# x\nprotocol: single\nworkload:\n  mix: {get: 0.9, put: 0.1}\n"), "x.yaml")
	require.NoError(t, err)
	assert.Equal(t, protocols.Mix{Get: 0.9, Put: 0.1}, sc.Workload.Mix)
	_, err = scenario.Parse([]byte("# x\nprotocol: single\nworkload:\n  mix: {get: 0.9, delete: 0.1}\n"), "x.yaml")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "x.yaml:4:")
	assert.Contains(t, err.Error(), "mix.delete: unknown operation")
}

func TestSetOptionsKeepsEdits(t *testing.T) {
	sc, err := scenario.Parse([]byte("# x\nprotocol: primary-backup\n"), "x.yaml")
	require.NoError(t, err)
	o := sc.ProtocolOptions()
	require.NoError(t, sc.SetOptions(o))
	assert.Contains(t, string(sc.JSON()), `"heartbeat":"20ms"`)
}

// TestLinBudgetMustBePositive: a linearizability budget written as zero or
// negative is bad input naming file, line and field; left out, the
// checker's default applies. An explicit zero used to mean the default
// silently.
func TestLinBudgetMustBePositive(t *testing.T) {
	bad := []struct{ name, yaml, want string }{
		{"zero", "# x\nprotocol: single\nchecks:\n  every: 1\n  lin_budget: 0\n", `bad.yaml:5: field "checks.lin_budget": 0s is not a positive duration`},
		{"zero with unit", "# x\nprotocol: single\nchecks: {lin_budget: 0ms}\n", `bad.yaml:3: field "checks.lin_budget": 0s is not a positive duration`},
		{"negative", "# x\nprotocol: single\nchecks:\n  lin_budget: -2s\n", `bad.yaml:4: field "checks.lin_budget": duration -2s is negative`},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := scenario.Parse([]byte(c.yaml), "bad.yaml")
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	for _, good := range []string{"# x\nprotocol: single\n", "# x\nprotocol: single\nchecks: {every: 2}\n", "# x\nprotocol: single\nchecks: {lin_budget: 1ns}\n"} {
		_, err := scenario.Parse([]byte(good), "good.yaml")
		require.NoError(t, err, good)
	}
	// A budget set by a program is checked when the scenario is.
	sc, err := scenario.Parse([]byte("# x\nprotocol: single\n"), "p.yaml")
	require.NoError(t, err)
	sc.Checks.LinBudget = -5
	err = sc.Revalidate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), `field "checks.lin_budget": -5ns is not a positive duration`)
}
