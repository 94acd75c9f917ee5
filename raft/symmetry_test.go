package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

// symmetrySim is a 3-node Raft run as synod explore sets it up (no
// clients, fixed latency).
func symmetrySim(t *testing.T, options ...string) *sim.Sim {
	t.Helper()
	sc := scenario.Default("raft")
	sc.Nodes, sc.Workload.Clients = 3, 0
	sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
	require.NoError(t, sc.Revalidate())
	for _, o := range options {
		require.NoError(t, sc.SetOption(o))
	}
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

// symmetryClosure searches every state of 3-node Raft within depth and
// checks the permuted encodings against the states the search really
// reaches (explore.SymmetryClosure): the initial state is symmetric and
// so is Raft, so the fingerprints reached are closed under every
// permutation. It returns the first few problems and the number of
// states.
func symmetryClosure(t *testing.T, depth int) (problems []string, states int) {
	rep, err := explore.SymmetryClosure(symmetrySim(t), explore.Options{DepthMax: depth}, true)
	require.NoError(t, err)
	return rep.Problems, rep.States
}

// TestSymmetryPermutedEncodings: Raft's permuted encodings (votedFor, the
// leader, votes and progress by node, message ids, stored records) match
// the states a search reaches, and the canonical fingerprint merges
// exactly the renamings of a state: states that differ otherwise (say, a
// vote for the candidate and a vote for another node) stay apart.
func TestSymmetryPermutedEncodings(t *testing.T) {
	problems, states := symmetryClosure(t, 6)
	require.Empty(t, problems)
	require.Greater(t, states, 1000, "a search that reaches too few states shows nothing")
}

// TestSymmetryMistakeCaught: forgetting to rename votedFor (in the node's
// state and in its "hs" record) is caught by the closure check: the
// renamings it computes are states no schedule reaches.
func TestSymmetryMistakeCaught(t *testing.T) {
	symmetryMistakeVote = true
	defer func() { symmetryMistakeVote = false }()
	problems, _ := symmetryClosure(t, 6)
	require.NotEmpty(t, problems, "a permuted encoding that keeps votedFor as it is went unnoticed")
	t.Logf("caught: %v", problems[0])
}

// TestSymmetryRefused: membership changes name nodes, so a search with
// symmetry is refused with the reason.
func TestSymmetryRefused(t *testing.T) {
	_, err := explore.Run(symmetrySim(t, "membership=[{at: 1s, remove: 3}]"), explore.Options{DepthMax: 2, Symmetry: true})
	require.ErrorContains(t, err, "membership")
}
