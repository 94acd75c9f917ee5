package raft

import (
	"fmt"
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

// symmetryClosure searches every state of 3-node Raft within depth
// (depth-first, so every state is built) and checks the permuted
// encodings against the states the search really reaches. The initial
// state is symmetric and so is Raft, so the renaming of a reachable state
// is reachable by the renamed schedule, as fast: the fingerprints reached
// are closed under every permutation (sim.Sim.PermutedFingerprint), the
// identity's renaming is the state itself, and two states share a
// canonical fingerprint (explore.CanonicalFingerprint) exactly when one is
// a renaming of the other. It returns the first few problems and the
// number of states.
func symmetryClosure(t *testing.T, depth int) (problems []string, states int) {
	perms := sim.Permutations(3)
	type seen struct {
		renamed []uint64 // by permutation; [0] is the state's own
		canon   uint64
	}
	reached := map[uint64]seen{}
	goal := func(s *sim.Sim) bool {
		fp, _ := s.Fingerprint(nil)
		st := seen{renamed: make([]uint64, len(perms))}
		for q, p := range perms {
			h, err := s.PermutedFingerprint(p)
			require.NoError(t, err)
			st.renamed[q] = h
		}
		c, err := explore.CanonicalFingerprint(s)
		require.NoError(t, err)
		st.canon = c
		reached[fp] = st
		return false
	}
	r, err := explore.Run(symmetrySim(t), explore.Options{Mode: explore.DFS, DepthMax: depth, Workers: 1, Goal: goal})
	require.NoError(t, err)
	require.Equal(t, explore.FoundNothing, r.Found, "%v", r)
	require.Equal(t, int(r.States), len(reached), "every state is seen by the goal")
	class := map[uint64]map[uint64]bool{} // canonical -> the states reached with it
	for fp, st := range reached {
		if class[st.canon] == nil {
			class[st.canon] = map[uint64]bool{}
		}
		class[st.canon][fp] = true
	}
	note := func(format string, args ...any) {
		if len(problems) < 5 {
			problems = append(problems, fmt.Sprintf(format, args...))
		}
	}
	for fp, st := range reached {
		if st.renamed[0] != fp {
			note("state %#x renamed by the identity is %#x", fp, st.renamed[0])
		}
		orbit := map[uint64]bool{}
		for q, h := range st.renamed {
			orbit[h] = true
			if _, ok := reached[h]; !ok {
				note("state %#x renamed by %v is %#x, which the search never reached", fp, perms[q], h)
			}
		}
		for other := range class[st.canon] {
			if !orbit[other] {
				note("states %#x and %#x share the canonical fingerprint %#x but neither is a renaming of the other", fp, other, st.canon)
			}
		}
		for h := range orbit {
			if o, ok := reached[h]; ok && o.canon != st.canon {
				note("state %#x and its renaming %#x have canonical fingerprints %#x and %#x", fp, h, st.canon, o.canon)
			}
		}
	}
	return problems, len(reached)
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
