package twopc

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

// symmetricWorkload is the 2PC run whose transactions touch every
// participant alike (kv writes of one value, one key per participant), so
// that renaming the participants maps reachable states to reachable
// states: with transfers, or keys drawn from more accounts, the client's
// transaction singles participants out and the renaming of a state is
// never reached (the reduction is sound but merges nothing).
var symmetricWorkload = []string{"workload=kv", "accounts=2", "keys_per_txn=2"}

// symmetrySim is a 3-node 2PC run (coordinator n1, participants n2 and
// n3) as synod explore sets it up, with one client doing one transaction.
func symmetrySim(t *testing.T, options ...string) *sim.Sim {
	t.Helper()
	sc := scenario.Default("2pc")
	sc.Nodes, sc.Workload.Clients, sc.Workload.MaxOps = 3, 1, 1
	sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
	require.NoError(t, sc.Revalidate())
	for _, o := range options {
		require.NoError(t, sc.SetOption(o))
	}
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

// symmetryClosure searches every state within depth (the scenario
// says which faults) and checks the permuted encodings against the states the
// search reaches (explore.SymmetryClosure; closed: every renaming is
// reached too). It returns the first few problems, the states and how
// many of their renamings the search reached.
func symmetryClosure(t *testing.T, depth int, closed bool, options ...string) (problems []string, states, renamed int) {
	rep, err := explore.SymmetryClosure(symmetrySim(t, options...), explore.Options{DepthMax: depth}, closed)
	require.NoError(t, err)
	return rep.Problems, rep.States, rep.Renamed
}

// TestSymmetryPermutedEncodings: 2PC's permuted encodings (participants
// and their accounts in states, records and messages) match the states a
// search reaches: with transactions that touch the participants alike,
// the reachable states are closed under renaming them, and the canonical
// fingerprint merges exactly the renamings of a state; with 3
// participants (a group of 3! = 6) too, and with transfers, whose
// renamings are not reached, it merges nothing else.
func TestSymmetryPermutedEncodings(t *testing.T) {
	for _, c := range []struct {
		name    string
		depth   int
		closed  bool
		options []string
	}{
		{"kv 2 participants", 8, true, symmetricWorkload},
		{"kv 2 participants, cooperative", 7, true, append([]string{"cooperative=true"}, symmetricWorkload...)},
		{"bank 2 participants", 7, false, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			problems, states, renamed := symmetryClosure(t, c.depth, c.closed, c.options...)
			t.Logf("%d states, %d renamings reached", states, renamed)
			require.Empty(t, problems)
			require.Greater(t, states, 100, "a search that reaches too few states shows nothing")
			if c.closed {
				require.Greater(t, renamed, states/2, "the renamings of most states are states")
			}
		})
	}
}

// TestSymmetryMistakesCaught: participants renamed without their
// accounts make renamings no schedule reaches (the closure check fails),
// and a coordinator taken for a participant is refused where the
// renaming of the accounts is made.
func TestSymmetryMistakesCaught(t *testing.T) {
	symmetryMistakeKeys = true
	problems, _, _ := symmetryClosure(t, 6, true, symmetricWorkload...)
	symmetryMistakeKeys = false
	require.NotEmpty(t, problems, "participants renamed without their accounts went unnoticed")
	t.Logf("keys: caught: %v", problems[0])

	symmetryMistakeCoordinator = true
	defer func() { symmetryMistakeCoordinator = false }()
	s := symmetrySim(t, symmetricWorkload...)
	require.PanicsWithValue(t, "twopc: n1->n2 n2->n1 n3->n3 renames participant n2 to n1, which is no participant", func() {
		_, _ = explore.Run(s, explore.Options{DepthMax: 2, Symmetry: true})
	})
}
