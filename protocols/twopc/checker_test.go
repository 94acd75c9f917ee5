package twopc

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// scripted writes given log records, prepared records at start and the
// others 10ms later: a way to feed the checkers states no correct node
// would produce.
type scripted struct {
	recs []record
	w    wal
}

func (p *scripted) Start(env *sim.Env) {
	p.write(env, true)
	env.SetTimer(10*sim.Millisecond, "rest", 0)
}
func (p *scripted) write(env *sim.Env, prepared bool) {
	for i := range p.recs {
		if (p.recs[i].Kind == recPrepared) == prepared {
			p.w.append(env, &p.recs[i])
		}
	}
}
func (p *scripted) Receive(*sim.Env, sim.NodeID, sim.Message) {}
func (p *scripted) Timer(env *sim.Env, _ sim.Timer)           { p.write(env, false) }

// TestCheckersCatch feeds each checker a broken history and expects it to
// be named in the first violation.
func TestCheckersCatch(t *testing.T) {
	tx := newTxnID(1, 1)
	parts := []sim.NodeID{2, 3}
	debit := []Op{{Kind: OpAdd, Key: "a0", Delta: -10}}
	credit := []Op{{Kind: OpAdd, Key: "a1", Delta: 10}}
	prep := func(ops []Op) record { return record{Kind: recPrepared, Txn: tx, Parts: parts, Ops: ops} }
	out := func(o Outcome) record { return record{Kind: recOutcome, Txn: tx, Outcome: o} }
	dec := func(o Outcome) record { return record{Kind: recDecision, Txn: tx, Outcome: o, Parts: parts} }
	tests := []struct {
		name  string
		logs  map[sim.NodeID][]record
		check string
	}{
		{"committed here, aborted there", map[sim.NodeID][]record{2: {prep(debit), out(Committed)}, 3: {prep(credit), out(Aborted)}}, CheckAtomicity},
		{"commit without a yes vote", map[sim.NodeID][]record{1: {dec(Committed)}, 2: {prep(debit)}}, CheckVotes},
		{"decision changes", map[sim.NodeID][]record{1: {dec(Committed), dec(Aborted)}, 2: {prep(debit)}, 3: {prep(credit)}}, CheckDecision},
		{"participant against coordinator", map[sim.NodeID][]record{1: {dec(Aborted)}, 2: {prep(debit), out(Committed)}}, CheckAtomicity},
		{"money created", map[sim.NodeID][]record{2: {prep(debit), out(Committed)}, 3: {prep([]Op{{Kind: OpAdd, Key: "a1", Delta: 20}}), out(Committed)}}, CheckConservation},
		{"overdraft", map[sim.NodeID][]record{2: {prep([]Op{{Kind: OpAdd, Key: "a0", Delta: -500}}), out(Committed)}, 3: {prep([]Op{{Kind: OpAdd, Key: "a1", Delta: 500}}), out(Committed)}}, CheckConservation},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Participants = 2
			s, err := sim.New(sim.Config{Seed: 1, Nodes: 3, Duration: sim.Second, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
				sim.Factory{Node: func(id sim.NodeID) sim.Process { return &scripted{recs: tc.logs[id]} }})
			require.NoError(t, err)
			for _, c := range NewCheckers(o, 3, false) {
				s.AddChecker(c)
			}
			s.Run()
			v := s.Violations()
			require.NotEmpty(t, v)
			require.Equal(t, tc.check, v[0].Checker, "%v", v[0])
		})
	}
}

// TestUnsafeAbortIsCaught: a participant that aborts on its own after
// voting yes (what 2PC forbids, and why it blocks) breaks atomicity as
// soon as the coordinator has logged commit.
func TestUnsafeAbortIsCaught(t *testing.T) {
	sc, err := scenario.Load(scenarioDir + "/coordinator-crash-before-sending.yaml")
	require.NoError(t, err)
	sc.ProtocolOptions().(*Options).UnsafeAbortUncertain = true
	in, err := scenario.Build(sc)
	require.NoError(t, err)
	in.Sim.Run()
	v := in.Sim.Violations()
	require.NotEmpty(t, v)
	require.Equal(t, CheckAtomicity, v[0].Checker)
	t.Log(v[0])
}
