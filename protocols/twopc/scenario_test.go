package twopc

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

const scenarioDir = "../../testdata/scenarios/twopc"

// runScenario loads a scenario file, lets edit change it, and runs it to
// its end.
func runScenario(t *testing.T, file string, edit func(sc *scenario.Scenario)) *scenario.Instance {
	t.Helper()
	sc, err := scenario.Load(filepath.Join(scenarioDir, file))
	require.NoError(t, err)
	if edit != nil {
		edit(sc)
		raw, err := json.Marshal(sc.ProtocolOptions())
		require.NoError(t, err)
		sc.RawOpts = raw
		require.NoError(t, sc.Revalidate())
	}
	in, err := scenario.Build(sc)
	require.NoError(t, err)
	in.Sim.Run()
	require.NoError(t, in.Sim.Err())
	require.Empty(t, in.Sim.Violations())
	return in
}

// outcomes reads what each node logged about a transaction: its vote (a
// prepared record) and its outcome.
func outcomes(s *sim.Sim, id TxnID) (prepared map[sim.NodeID]bool, out map[sim.NodeID]Outcome) {
	prepared, out = map[sim.NodeID]bool{}, map[sim.NodeID]Outcome{}
	for _, n := range s.Nodes() {
		for i := int64(0); ; i++ {
			r, ok := readLog(s.Storage(n), i)
			if !ok {
				break
			}
			if r.Txn != id {
				continue
			}
			switch r.Kind {
			case recPrepared:
				prepared[n] = true
			case recOutcome:
				out[n] = r.Outcome
			}
		}
	}
	return prepared, out
}

func firstStatus(s *sim.Sim) protocols.OpStatus {
	h := s.Process(sim.ClientID(1)).(protocols.HistoryClient).History()
	if len(h) == 0 {
		return ""
	}
	return h[0].Status
}

var first = newTxnID(1, 1)

func both(o Outcome) map[sim.NodeID]Outcome { return map[sim.NodeID]Outcome{2: o, 3: o} }

// TestScenarios runs each scenario file and checks the story it tells:
// who was prepared, how the first transaction ended, and how long the
// participants were blocked.
func TestScenarios(t *testing.T) {
	tests := []struct {
		file      string
		prepared  int                    // participants that voted yes on t1.1
		outcome   map[sim.NodeID]Outcome // t1.1's outcome at the participants
		status    protocols.OpStatus     // the client's view of t1.1
		blockedGE sim.Time               // longest uncertain stretch at least
		blockedLT sim.Time               // and below
	}{
		{"coordinator-crash-before-prepare.yaml", 0, map[sim.NodeID]Outcome{}, protocols.OpUnknown, 0, ms(1)},
		{"coordinator-crash-before-logging.yaml", 2, both(Aborted), protocols.OpUnknown, ms(490), ms(510)},
		{"coordinator-crash-before-sending.yaml", 2, both(Committed), protocols.OpOK, ms(490), ms(510)},
		{"participant-crash-before-vote.yaml", 1, both(Aborted), protocols.OpFailed, ms(75), ms(110)},
		{"participant-crash-after-vote.yaml", 2, both(Committed), protocols.OpOK, ms(490), ms(510)},
		{"vote-no.yaml", 0, both(Aborted), protocols.OpFailed, 0, ms(1)},
		{"partition-coordinator.yaml", 2, both(Committed), protocols.OpOK, ms(500), ms(620)},
		{"cooperative-termination.yaml", 2, both(Committed), protocols.OpOK, ms(100), ms(110)},
		{"cooperative-termination-unvoted.yaml", 1, both(Aborted), protocols.OpUnknown, ms(100), ms(110)},
		{"paxos-commit-coordinator-crash.yaml", 2, both(Committed), protocols.OpOK, ms(100), ms(200)},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			in := runScenario(t, tc.file, nil)
			s := in.Sim
			prep, out := outcomes(s, first)
			require.Len(t, prep, tc.prepared, "yes votes on %v", first)
			require.Equal(t, tc.outcome, out, "outcomes of %v", first)
			require.Equal(t, tc.status, firstStatus(s))
			b := Blocking(s)
			require.Zero(t, b.Open, "uncertain at the end: %v", b)
			require.GreaterOrEqual(t, b.Max, tc.blockedGE, "%v", b)
			require.Less(t, b.Max, tc.blockedLT, "%v", b)
			t.Logf("%v", b)
		})
	}
}

// TestCooperativeTerminationShortensTheBlock: the same run without
// cooperative termination leaves n3 uncertain until n1 returns at 1.5s.
func TestCooperativeTerminationShortensTheBlock(t *testing.T) {
	in := runScenario(t, "cooperative-termination.yaml", func(sc *scenario.Scenario) {
		sc.ProtocolOptions().(*Options).Cooperative = false
	})
	b := Blocking(in.Sim)
	require.GreaterOrEqual(t, b.Max, ms(1490), "%v", b)
	_, out := outcomes(in.Sim, first)
	require.Equal(t, both(Committed), out)
}

// TestPaxosCommitDoesNotBlockWhere2PCDoes: Gray and Lamport §4: with the
// coordinator gone for good, 2PC's prepared participants wait forever;
// Paxos Commit's acceptors finish the transaction without it.
func TestPaxosCommitDoesNotBlockWhere2PCDoes(t *testing.T) {
	in := runScenario(t, "paxos-commit-coordinator-crash.yaml", func(sc *scenario.Scenario) { sc.Protocol = "2pc" })
	b := Blocking(in.Sim)
	require.Equal(t, int64(2), b.Open, "2PC: both participants still uncertain: %v", b)
	require.Equal(t, int64(2), b.OpenLocks, "%v", b)
	_, out := outcomes(in.Sim, first)
	require.Empty(t, out)
}

// TestUnvotedParticipantAbortsAlone: when the work outlasts the vote
// timeout, a participant that has not voted aborts on its own (it may:
// nobody can have decided commit without its vote) and votes no.
func TestUnvotedParticipantAbortsAlone(t *testing.T) {
	in := runScenario(t, "vote-no.yaml", func(sc *scenario.Scenario) {
		o := sc.ProtocolOptions().(*Options)
		o.VoteNo, o.WorkTime = 0, 200*sim.Millisecond
	})
	prep, out := outcomes(in.Sim, first)
	require.Empty(t, prep)
	require.Equal(t, both(Aborted), out)
	require.Equal(t, protocols.OpFailed, firstStatus(in.Sim))
}

// TestBlockingComparison runs coordinator-outages.yaml under both
// protocols: the same clients, network and crashes of n1. 2PC's
// participants stay uncertain through each outage; Paxos Commit's acceptors
// end every uncertainty within a few query timeouts.
func TestBlockingComparison(t *testing.T) {
	b2 := Blocking(runScenario(t, "coordinator-outages.yaml", nil).Sim)
	bp := Blocking(runScenario(t, "coordinator-outages.yaml", func(sc *scenario.Scenario) { sc.Protocol = "paxos-commit" }).Sim)
	t.Logf("2pc:          %v", b2)
	t.Logf("paxos-commit: %v", bp)
	require.GreaterOrEqual(t, b2.Max, 900*sim.Millisecond, "2PC blocks for the outage")
	require.Less(t, bp.Max, 400*sim.Millisecond, "Paxos Commit does not")
	require.Less(t, bp.LockTime, b2.LockTime)
}
