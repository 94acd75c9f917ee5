package synodtest_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	_ "github.com/synod-dev/synod/raft"
	// The TUI, linked into this test binary: a failure's watch command
	// (go test -synod.tui TRACE) opens tinykv's traces with it.
	_ "github.com/synod-dev/synod/tui/tuitest"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
)

// tinykv is the protocol of the docs/testing.md example: node n1 serves
// every request from its store and persists the store before it answers;
// the other nodes redirect clients to n1. With Forget set it answers
// before persisting, so a crash of n1 loses acknowledged writes: the bug
// the test must find.
type tinykv struct {
	forget  bool
	kv      *protocols.KV
	applied int64
}

// TinyOptions are tinykv's options (scenario `options:`).
type TinyOptions struct {
	Forget bool `yaml:"forget" json:"forget"`
}

// TinySpec describes tinykv to synod. It is not registered in init: the
// test hands it to synodtest, which registers it on first use.
func TinySpec() *protocols.Spec {
	return &protocols.Spec{
		Name:        "tinykv",
		Description: "the docs/testing.md example: one durable server, redirecting replicas",
		Options:     func() any { return &TinyOptions{} },
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := c.Options.(*TinyOptions)
			return func(sim.NodeID) protocols.Node { return &tinykv{forget: o.Forget} }, nil
		},
		Messages:     []sim.Message{&protocols.Request{}, &protocols.Response{}},
		Linearizable: true,
	}
}

func (n *tinykv) Start(env *sim.Env) {
	n.kv = protocols.NewKV()
	if b, ok := env.Load("kv"); ok {
		kv, err := protocols.DecodeKV(b)
		if err != nil {
			panic(fmt.Sprintf("tinykv: corrupt storage on %v: %v", env.ID(), err))
		}
		n.kv = kv
	}
}

func (n *tinykv) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	req, ok := m.(*protocols.Request)
	if !ok {
		return
	}
	if env.ID() != 1 {
		env.Send(from, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: 1})
		return
	}
	resp := n.kv.Apply(req)
	n.applied++
	if !n.forget {
		env.Store("kv", n.kv.Encode())
	}
	env.Send(from, resp)
}

func (n *tinykv) Timer(*sim.Env, sim.Timer) {}

func (n *tinykv) Inspect() sim.View {
	role := "redirector"
	if n.applied > 0 {
		role = "server"
	}
	return sim.View{Role: role, Leader: 1, Applied: n.applied, Commit: n.applied}
}

// onlyServerApplies is a user invariant over the true state: replicas
// other than n1 never apply anything.
var onlyServerApplies = synodtest.Invariant{Name: "only-n1-applies", Check: func(s *sim.Sim) error {
	for _, id := range s.Nodes()[1:] {
		if n, ok := s.Process(id).(*tinykv); ok && n.applied > 0 {
			return fmt.Errorf("%v applied %d operations; only n1 serves", id, n.applied)
		}
	}
	return nil
}}

// restartKeepsData is a user checker with state of its own (so the test
// hands synodtest a function that makes a fresh one per run): the most
// keys n1 has held, which a restart of n1 must recover from its storage.
type restartKeepsData struct{ held int }

func (c *restartKeepsData) Name() string { return "restart-keeps-data" }

func (c *restartKeepsData) Check(s *sim.Sim, ev *sim.Event) error {
	n, ok := s.Process(1).(*tinykv)
	if !ok || n.kv == nil {
		return nil // n1 is down, or not started yet
	}
	keys := len(n.kv.Keys())
	if ev.Kind == sim.KindStart && ev.To == 1 && keys < c.held {
		return fmt.Errorf("n1 restarted with %d keys, after holding %d", keys, c.held)
	}
	c.held = max(c.held, keys)
	return nil
}

func userCheckers() []sim.Checker { return []sim.Checker{&restartKeepsData{}} }

// crashes is the scenario: three nodes, n1 crashes and restarts twice.
const crashes = `# n1 crashes twice under a closed-loop workload
nodes: 3
duration: 2s
faults: ["500ms crash n1", "600ms restart n1", "1200ms crash n1", "1300ms restart n1"]
workload: {clients: 2, keys: 3, timeout: 50ms, op_timeout: 300ms}
`

// TestTinyKV is the whole example of docs/testing.md: tinykv under crashes
// for many seeds, with the built-in linearizability check, a user invariant
// and a liveness expectation.
func TestTinyKV(t *testing.T) {
	synodtest.Check(t, synodtest.Options{
		Protocol:    TinySpec(),
		YAML:        crashes,
		Invariants:  []synodtest.Invariant{onlyServerApplies},
		Checkers:    userCheckers,
		Determinism: true,
		Expect: func(_ *scenario.Instance, res *scenario.Result) error {
			if res.OpsOK < 10 {
				return fmt.Errorf("only %d operations completed, want at least 10", res.OpsOK)
			}
			return nil
		},
	})
}

// fakeT records what synodtest reports, to test the reports themselves.
type fakeT struct {
	errors []string
	fatal  bool
}

func (f *fakeT) Helper()             {}
func (f *fakeT) Name() string        { return "TestFake" }
func (f *fakeT) Logf(string, ...any) {}
func (f *fakeT) Errorf(format string, a ...any) {
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeT) Fatalf(format string, a ...any) {
	f.fatal = true
	f.errors = append(f.errors, fmt.Sprintf(format, a...))
}
func (f *fakeT) Failed() bool { return len(f.errors) > 0 }

// TestTinyKVForgetfulFails checks the failure report: the forgetful
// variant loses acknowledged writes at n1's crash, and the report names
// the seed, the schedule, the trace file and the commands that replay it.
func TestTinyKVForgetfulFails(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SYNOD_FAILURES", dir)
	ft := &fakeT{}
	rep := synodtest.Check(ft, synodtest.Options{
		Protocol: TinySpec(),
		YAML:     crashes + "options: {forget: true}\n",
		Seeds:    3,
	})
	require.NotEmpty(t, rep.Failures, "the forgetful server must fail")
	f := rep.Failures[0]
	require.Equal(t, "linearizability", f.Kind)
	require.Len(t, ft.errors, 1)
	msg := ft.errors[0]
	require.NotEmpty(t, f.ShrunkTrace, "a linearizability failure of the scenario alone is shrunk")
	require.Less(t, f.ShrunkEvents, f.Events)
	require.FileExists(t, f.ShrunkTrace)
	// tinykv is the test's own protocol: cmd/synod does not know it, so
	// the watch commands open the traces through this test binary.
	pkg, err := os.Getwd()
	require.NoError(t, err)
	watch := "cd " + pkg + " && go test -run '^TestFake$' -timeout 0 -synod.tui "
	for _, want := range []string{fmt.Sprintf("seed %d", f.Seed), "shrunk: ", "schedule (shrunk", "fault crash n1",
		"shrunk trace: " + dir, "  watch:  " + watch + f.ShrunkTrace + "\n",
		"trace:  " + dir, "\nwatch:  " + watch + f.Trace + "\n",
		fmt.Sprintf("retest: go test -C %s -run '^TestFake$' -synod.seed %d", pkg, f.Seed)} {
		require.Contains(t, msg, want)
	}
	require.NotContains(t, msg, "go run ./cmd/synod")
	require.Equal(t, watch+f.ShrunkTrace, f.Watch("TestFake"))
	require.FileExists(t, f.Trace)
	require.FileExists(t, f.Scenario)
}

// TestTinyKVForgetfulLosesData is the failing run of docs/testing.md:
// the forgetful server loses its data at a restart, which the user's own
// checker sees first (at the restart, before any read shows it to the
// linearizability check). The failure is shrunk with that checker in every
// shrink run, and the watch command opens the shrunk trace through this
// test binary.
func TestTinyKVForgetfulLosesData(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SYNOD_FAILURES", dir)
	ft := &fakeT{}
	rep := synodtest.Check(ft, synodtest.Options{
		Protocol: TinySpec(),
		YAML:     crashes + "options: {forget: true}\n",
		Checkers: userCheckers,
		Seeds:    3,
	})
	require.Len(t, rep.Failures, 1)
	f := rep.Failures[0]
	t.Logf("%s", ft.errors[0])
	require.Equal(t, "violation", f.Kind)
	require.Equal(t, "restart-keeps-data", f.Checker)
	require.NotEmpty(t, f.ShrunkTrace)
	require.Less(t, f.ShrunkEvents, f.Events)
	pkg, err := os.Getwd()
	require.NoError(t, err)
	watch := fmt.Sprintf("cd %s && go test -run '^TestFake$' -timeout 0 -synod.tui %s -synod.at %d", pkg, f.ShrunkTrace, f.ShrunkAt)
	require.Equal(t, watch, f.Watch("TestFake"))
	require.Contains(t, ft.errors[0], "restart-keeps-data: n1 restarted with 0 keys")
	require.Contains(t, ft.errors[0], "  watch:  "+watch+"\n")
}

// panicky panics on its third request: synodtest reports the panic with
// its event, never crashing the test binary.
type panicky struct{ n int }

func (p *panicky) Start(*sim.Env) {}
func (p *panicky) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	p.n++
	if p.n == 3 {
		panic("third request")
	}
	if req, ok := m.(*protocols.Request); ok {
		env.Send(from, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusFail})
	}
}
func (p *panicky) Timer(*sim.Env, sim.Timer) {}
func (p *panicky) Inspect() sim.View         { return sim.View{} }

// looper sets a zero-length timer forever: simulated time stands still.
type looper struct{}

func (looper) Start(env *sim.Env)                        { env.SetTimer(0, "spin", 0) }
func (looper) Receive(*sim.Env, sim.NodeID, sim.Message) {}
func (looper) Timer(env *sim.Env, _ sim.Timer)           { env.SetTimer(0, "spin", 0) }
func (looper) Inspect() sim.View                         { return sim.View{} }

// mapOrder sends to its peers in map order: non-deterministic.
type mapOrder struct{}

func (mapOrder) Start(env *sim.Env) {
	peers := map[sim.NodeID]bool{}
	for _, id := range env.Nodes() {
		peers[id] = true
	}
	for id := range peers {
		env.Send(id, &protocols.Response{Seq: int64(id)})
	}
}
func (mapOrder) Receive(*sim.Env, sim.NodeID, sim.Message) {}
func (mapOrder) Timer(*sim.Env, sim.Timer)                 {}
func (mapOrder) Inspect() sim.View                         { return sim.View{} }

func specOf(name string, mk func() protocols.Node) *protocols.Spec {
	return &protocols.Spec{Name: name, Messages: []sim.Message{&protocols.Request{}, &protocols.Response{}},
		New: func(protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			return func(sim.NodeID) protocols.Node { return mk() }, nil
		}}
}

// TestReportsKinds checks that a panic, a livelock and non-determinism
// are each reported as such.
func TestReportsKinds(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	cases := []struct {
		name string
		spec *protocols.Spec
		yaml string
		kind string
		want string
	}{
		{"panic", specOf("synodtest-panicky", func() protocols.Node { return &panicky{} }), "# p\nnodes: 1\nduration: 1s\nworkload: {clients: 1}\n", "panic", "third request"},
		{"livelock", specOf("synodtest-looper", func() protocols.Node { return looper{} }), "# l\nnodes: 1\nduration: 1s\nevents_max: 5000\nworkload: {clients: 0}\n", "livelock", "events bound 5000 reached at t=0s"},
		{"nondeterminism", specOf("synodtest-maporder", func() protocols.Node { return mapOrder{} }), "# m\nnodes: 8\nduration: 10ms\nworkload: {clients: 0}\n", "nondeterminism", "different traces"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := synodtest.Run(synodtest.Options{Protocol: c.spec, YAML: c.yaml, Seeds: 1, Determinism: true}, true)
			require.NoError(t, err)
			require.Len(t, rep.Failures, 1)
			require.Equal(t, c.kind, rep.Failures[0].Kind)
			require.True(t, strings.Contains(rep.Failures[0].Message, c.want), "got %q, want it to contain %q", rep.Failures[0].Message, c.want)
		})
	}
}

// TestScript runs the stepwise script of docs/testing.md on tinykv.
func TestScript(t *testing.T) {
	synodtest.RunScript(t, "testdata/tinykv.txt", synodtest.ScriptOptions{Options: synodtest.Options{
		Protocol: TinySpec(),
		YAML:     "# three nodes, one scripted client\nnodes: 3\nduration: 10s\nworkload: {clients: 1}\n",
	}})
}

// TestRaftScript walks the reference Raft through an election, a
// partition and a heal, one command at a time (testdata/raft-election.txt).
func TestRaftScript(t *testing.T) {
	synodtest.RunScript(t, "testdata/raft-election.txt", synodtest.ScriptOptions{Options: synodtest.Options{
		YAML: "# three raft nodes, one scripted client\nprotocol: raft\nnodes: 3\nduration: 10s\nnetwork: {latency: {dist: constant, min: 2ms}}\nworkload: {clients: 1}\n",
	}})
}

// TestRegisteredRaftChaos runs a registered protocol from a scenario file
// of the repository, as a protocol's own property test would: Raft under
// chaos3.yaml, its own checkers and linearizability, for a few seeds (more
// with -synod.seeds or SYNOD_SEEDS).
func TestRegisteredRaftChaos(t *testing.T) {
	rep := synodtest.Check(t, synodtest.Options{Scenario: "../../testdata/scenarios/raft/chaos3.yaml", Seeds: 3})
	require.Equal(t, 3, rep.Seeds)
}
