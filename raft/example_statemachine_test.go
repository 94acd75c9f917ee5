package raft_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/raft"
	"github.com/synod-dev/synod/sim"
)

// counter is a service with a state of its own: how many "incr" commands
// it has applied. It snapshots itself every 5 entries, in its own bytes.
// restored is the index of the last snapshot restored into it.
type counter struct{ count, since, restored int64 }

func (c *counter) Apply(index int64, e *raft.Entry) raft.ApplyResult {
	if e.Kind == raft.EntryCommand && e.Req.Op.Kind == "incr" {
		c.count++
	}
	// Every entry comes, no-ops included, so indexes have no gaps.
	if c.since++; c.since == 5 {
		c.since = 0
		return raft.ApplyResult{Snapshot: c.Snapshot()} // compact up to index
	}
	return raft.ApplyResult{}
}

func (c *counter) Snapshot() []byte { return binary.AppendVarint(nil, c.count) }

func (c *counter) Restore(index, term int64, data []byte) error {
	v, k := binary.Varint(data)
	if k <= 0 {
		return errors.New("corrupt counter snapshot")
	}
	c.count, c.since, c.restored = v, 0, index
	return nil
}

// host is the service's process: it hosts a Raft node and, while the node
// leads, proposes an increment every 100ms until 1.5s. It notes the first
// proposal of each term in firsts.
type host struct {
	node   *raft.Node
	firsts *[]string
	term   int64
}

func (h *host) Start(env *sim.Env) {
	h.node.Start(env)
	env.SetTimer(100*sim.Millisecond, "incr", 0)
}

func (h *host) Receive(env *sim.Env, from sim.NodeID, m sim.Message) { h.node.Receive(env, from, m) }

func (h *host) Timer(env *sim.Env, t sim.Timer) {
	if t.Name != "incr" {
		h.node.Timer(env, t) // Raft's own timers
		return
	}
	cmd := protocols.Request{Op: protocols.Op{Kind: "incr"}}
	if index, term, isLeader := h.node.Propose(env, cmd); isLeader && term != h.term {
		h.term = term
		*h.firsts = append(*h.firsts, fmt.Sprintf("%v leads: incr proposed at index %d in term %d", env.ID(), index, term))
	}
	if env.Now() < 1500*sim.Millisecond {
		env.SetTimer(100*sim.Millisecond, "incr", 0)
	}
}

// Example_stateMachine runs three Raft nodes serving the counter. n2, the
// first leader, crashes at 0.5s and restarts at 1s: its new counter
// restores the snapshot n2 took at index 5, and it catches up from the new
// leader. Index 1 holds the first leader's no-op, index 5 the second's:
// 14 entries applied, 12 of them increments.
func Example_stateMachine() {
	members := []sim.NodeID{1, 2, 3}
	opts := raft.DefaultOptions()
	opts.SnapshotEntries = 0 // only the service's own snapshots
	var firsts []string
	newNode := func(sim.NodeID) sim.Process {
		sm := func() raft.StateMachine { return &counter{} }
		return &host{node: raft.NewWithStateMachine(opts, members, sm), firsts: &firsts}
	}
	crash, _ := sim.ParseScheduledFault("500ms crash n2")
	restart, _ := sim.ParseScheduledFault("1s restart n2")
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 3, Duration: 2 * sim.Second,
		Network: sim.NetworkConfig{Latency: sim.DefaultLatency}, Faults: []sim.ScheduledFault{crash, restart}},
		sim.Factory{Node: newNode})
	if err != nil {
		panic(err)
	}
	s.Run()
	for _, line := range firsts {
		fmt.Println(line)
	}
	for _, id := range s.Nodes() {
		h := s.Process(id).(*host)
		v := h.node.Inspect()
		c := h.node.StateMachine().(*counter)
		fmt.Printf("%v: count %d, applied %d, snapshot at %d, restored at %d\n", id, c.count, v.Applied, v.Snapshot, c.restored)
	}
	// Output:
	// n2 leads: incr proposed at index 2 in term 1
	// n3 leads: incr proposed at index 6 in term 2
	// n1: count 12, applied 14, snapshot at 10, restored at 0
	// n2: count 12, applied 14, snapshot at 10, restored at 5
	// n3: count 12, applied 14, snapshot at 10, restored at 0
}

// TestDocsServingAnyStateMachine: docs/raft.md quotes this file's counter
// and Example_stateMachine's output; both quotes must be in this file as
// they are, so that the docs cannot go stale.
func TestDocsServingAnyStateMachine(t *testing.T) {
	doc, err := os.ReadFile("../docs/raft.md")
	require.NoError(t, err)
	src, err := os.ReadFile("example_statemachine_test.go")
	require.NoError(t, err)
	_, sec, ok := strings.Cut(string(doc), "## Serving any state machine")
	require.True(t, ok, "docs/raft.md has no section Serving any state machine")
	code := between(t, sec, "```go\nfunc (c *counter) Apply", "```\n")
	require.Contains(t, string(src), "func (c *counter) Apply"+code)
	out := between(t, sec, "```\nn2 leads", "```\n")
	var want strings.Builder
	for _, line := range strings.Split(strings.TrimSuffix("n2 leads"+out, "\n"), "\n") {
		want.WriteString("\t// " + line + "\n")
	}
	require.Contains(t, string(src), "\t// Output:\n"+want.String())
}

// between returns the text after start up to end, which must both be in s.
func between(t *testing.T, s, start, end string) string {
	t.Helper()
	_, rest, ok := strings.Cut(s, start)
	require.True(t, ok, "missing %q", start)
	got, _, ok := strings.Cut(rest, end)
	require.True(t, ok, "missing %q after %q", end, start)
	return got
}
