package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// scripted is a fake acceptor that persists the accepted records it is
// given at start, and reports learned commands, to exercise the checker.
type scripted struct {
	acc     []Entry
	later   []Entry // accepted 10ms after start
	learned []Entry
	journal journal
}

func (n *scripted) Journal() *journal { return &n.journal }

func (n *scripted) Start(env *sim.Env) {
	for _, e := range n.acc {
		var enc protocols.Encoder
		encodeAccepted(&enc, e.Ballot, &e.Cmd)
		env.Store(accKey(e.Slot), enc.B)
		n.journal.addAccepted(e.Slot, e.Ballot, &e.Cmd)
	}
	for _, e := range n.learned {
		n.journal.add(changeLearned, e.Slot, &e.Cmd)
	}
	if len(n.later) > 0 {
		env.SetTimer(10*sim.Millisecond, "later", 0)
	}
}
func (n *scripted) Receive(*sim.Env, sim.NodeID, sim.Message) {}
func (n *scripted) Timer(env *sim.Env, _ sim.Timer) {
	for _, e := range n.later {
		var enc protocols.Encoder
		encodeAccepted(&enc, e.Ballot, &e.Cmd)
		env.Store(accKey(e.Slot), enc.B)
		n.journal.addAccepted(e.Slot, e.Ballot, &e.Cmd)
	}
}

// runScripted starts five scripted acceptors and returns the violations.
func runScripted(t *testing.T, nodes [5]*scripted) []sim.Violation {
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 5, Duration: sim.Second, KeepGoing: true,
		Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
		sim.Factory{Node: func(id sim.NodeID) sim.Process { return nodes[id-1] }})
	require.NoError(t, err)
	s.AddChecker(NewChecker(5))
	s.Run()
	require.NoError(t, s.Err())
	return s.Violations()
}

func TestCheckerCatches(t *testing.T) {
	a := protocols.Request{Client: -1, Seq: 1, Op: protocols.Op{Kind: protocols.OpPut, Key: "x", Value: "a"}}
	b := protocols.Request{Client: -2, Seq: 1, Op: protocols.Op{Kind: protocols.OpPut, Key: "x", Value: "b"}}
	b11, b22 := Ballot{1, 1}, Ballot{2, 2}
	acc := func(es ...Entry) *scripted { return &scripted{acc: es} }
	for _, c := range []struct {
		name  string
		nodes [5]*scripted
		want  string
	}{
		{"one value chosen is fine", [5]*scripted{acc(Entry{1, b11, noop, false}), acc(Entry{1, b11, noop, false}), acc(Entry{1, b11, noop, false}), acc(), acc()}, ""},
		{"a minority of a later ballot is no choice", [5]*scripted{acc(Entry{1, b11, noop, false}), acc(Entry{1, b11, noop, false}), acc(Entry{1, b11, noop, false}),
			acc(Entry{1, b22, a, false}), acc(Entry{1, b22, a, false})}, ""},
		{"two values in one ballot", [5]*scripted{acc(Entry{1, b11, a, false}), acc(Entry{1, b11, b, false}), acc(), acc(), acc()}, "has two values"},
		{"chosen value never proposed", [5]*scripted{acc(Entry{2, b22, a, false}), acc(Entry{2, b22, a, false}), acc(Entry{2, b22, a, false}), acc(), acc()}, "never proposed"},
		{"learners disagree", [5]*scripted{{learned: []Entry{{Slot: 3, Cmd: a}}}, {learned: []Entry{{Slot: 3, Cmd: b}}}, acc(), acc(), acc()}, "another node learned"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vs := runScripted(t, c.nodes)
			if c.want == "" {
				// Slot 1: noop chosen in 1.1 by n1-n3; a quorum of n3-n5
				// never formed for ballot 2.2, so this is still safe.
				require.Empty(t, vs)
				return
			}
			require.NotEmpty(t, vs)
			require.Contains(t, vs[0].Message, c.want)
		})
	}
}

// The checker counts a value chosen from the acceptors' storage, so it
// sees two values chosen even when a node that accepted one has crashed.
func TestCheckerTwoValuesChosen(t *testing.T) {
	// Both values are no-ops (with different keys) so that no client
	// needs to have proposed them.
	b11, b22 := Ballot{1, 1}, Ballot{2, 2}
	x := protocols.Request{Op: protocols.Op{Kind: protocols.OpNoop, Key: "x"}}
	nodes := [5]*scripted{
		{acc: []Entry{{1, b11, noop, false}}}, {acc: []Entry{{1, b11, noop, false}}}, {acc: []Entry{{1, b11, noop, false}}},
		{acc: []Entry{{1, b22, x, false}}}, {acc: []Entry{{1, b22, x, false}}},
	}
	// n3 later accepts x in 2.2 too: x has n3, n4, n5.
	nodes[2].later = []Entry{{1, b22, x, false}}
	vs := runScripted(t, nodes)
	require.NotEmpty(t, vs)
	require.Contains(t, vs[0].Message, "two values chosen")
}
