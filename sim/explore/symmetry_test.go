package explore_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/twopc"
	"github.com/synod-dev/synod/raft"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

// symmetrySearch builds 3-node Raft as synod explore does (no clients),
// with invariants (empty: all) and options.
func symmetrySearch(t *testing.T, invariants []string, options ...string) *sim.Sim {
	t.Helper()
	sc := scenario.Default("raft")
	sc.Nodes, sc.Workload.Clients = 3, 0
	sc.Checks.Invariants = invariants
	sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
	require.NoError(t, sc.Revalidate())
	for _, o := range options {
		require.NoError(t, sc.SetOption(o))
	}
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

// sameVerdict runs one search with and without symmetry and requires the
// same verdict: what was found, at which depth (breadth-first: the
// shortest; a renaming of a state is as far), by which checker, and
// whether the search was exhaustive. It returns both results.
func sameVerdict(t *testing.T, build func() *sim.Sim, opts explore.Options) (plain, sym *explore.Result) {
	t.Helper()
	opts.Strict, opts.Workers, opts.Spawn = true, 2, goSpawn
	plain, sym, err := explore.SymmetryVerdicts(build, opts, 6) // at most 3! = 6 renamings
	require.NoError(t, err)
	return plain, sym
}

// TestExhaustiveSymmetryCorrect: 3-node Raft searched with and without
// symmetry to depths 6-9 (8 and 9 behind -synod.explore-long, with which
// CI runs TestExhaustive*): the same verdicts, with every invariant and
// with election safety alone (docs/explore.md's table).
func TestExhaustiveSymmetryCorrect(t *testing.T) {
	type config struct {
		invariants   []string
		depths, long []int
	}
	for _, c := range []config{
		{invariants: []string{"raft.ElectionSafety"}, depths: []int{6, 7}, long: []int{8, 9}},
		{depths: []int{6}, long: []int{7, 8, 9}},
	} {
		depths := c.depths
		if *exploreLong {
			depths = append(depths, c.long...)
		}
		for _, depth := range depths {
			t.Run(fmt.Sprintf("%v/depth %d", c.invariants, depth), func(t *testing.T) {
				p, s := sameVerdict(t, func() *sim.Sim { return symmetrySearch(t, c.invariants) }, explore.Options{DepthMax: depth})
				require.Equal(t, explore.FoundNothing, p.Found, "%v", p)
				require.True(t, s.Exhaustive(), "%v", s)
				pn, sn := p.States+p.QuietStates, s.States+s.QuietStates
				row := fmt.Sprintf("| %d | %s | %s | %.2f |", depth, commas(pn), commas(sn), float64(pn)/float64(sn))
				t.Log(row)
				if len(c.invariants) == 1 {
					doc, err := os.ReadFile("../../docs/explore.md")
					require.NoError(t, err)
					require.Contains(t, string(doc), row, "docs/explore.md's symmetry table is stale")
				}
			})
		}
	}
}

// TestExhaustiveSymmetryBugs: every named Raft bug searched with and
// without symmetry (with one crash or restart, so that bugs of stable
// storage can show), to depth 5 (8 behind -synod.explore-long): the same
// verdicts. Most bugs need more than a
// clientless search of this depth to show; those that show are found at
// the same depth by the same checker.
func TestExhaustiveSymmetryBugs(t *testing.T) {
	depth := 5 // vote-not-persisted and term-not-persisted show; commit-minority at 6
	if *exploreLong {
		depth = 8
	}
	found := 0
	for _, bug := range raft.Bugs {
		t.Run(bug, func(t *testing.T) {
			p, _ := sameVerdict(t, func() *sim.Sim { return symmetrySearch(t, nil, "bug="+bug) },
				explore.Options{DepthMax: depth, FaultBudget: 1})
			if p.Found != explore.FoundNothing {
				found++
			}
			t.Logf("%s: %v", bug, p)
		})
	}
	t.Logf("%d of %d bugs found at depth %d", found, len(raft.Bugs), depth)
}

// TestSymmetryNeedsInterchangeableNodes: a protocol whose nodes are not
// interchangeable, or a run with clients (they choose nodes by id), is
// refused with the reason, never searched unsoundly.
func TestSymmetryNeedsInterchangeableNodes(t *testing.T) {
	for _, c := range []struct {
		protocol       string
		nodes, clients int
		options        []string
		want           string
	}{
		{"paxos", 3, 0, nil, "options.proposers is empty, so every node proposes"},
		{"paxos-single", 3, 0, nil, "options.proposers is empty, so every node proposes"},
		{"paxos-commit", 4, 1, nil, "paxos-commit offers no permuted encoding"},
		{"2pc", 3, 1, []string{"vote_no=0.1"}, "vote_no"},
		{"2pc", 4, 1, nil, "options.accounts 8 is not a multiple of the 3 participants"},
		{"raft", 3, 1, nil, "client c1"},
	} {
		t.Run(fmt.Sprintf("%s/%d clients/%v", c.protocol, c.clients, c.options), func(t *testing.T) {
			_, err := explore.Run(searchSim(t, c.protocol, c.nodes, c.clients, c.options...), explore.Options{DepthMax: 2, Symmetry: true})
			require.ErrorContains(t, err, c.want)
			t.Log(err)
		})
	}
	_, err := explore.Run(searchSim(t, "raft", 3, 0), explore.Options{Mode: explore.Walk, Walks: 1, DepthMax: 2, Symmetry: true})
	require.ErrorContains(t, err, "random walks")
}

// commas renders 26048 as 26,048.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestSymmetryDFS: depth-first search with symmetry reaches fewer states
// of 3-node Raft and finds what the plain search finds.
func TestSymmetryDFS(t *testing.T) {
	for _, bug := range []string{"", "bug=vote-not-persisted"} {
		var rs []*explore.Result
		for _, on := range []bool{false, true} {
			var opts []string
			if bug != "" {
				opts = append(opts, bug)
			}
			r, err := explore.Run(symmetrySearch(t, nil, opts...), explore.Options{Mode: explore.DFS, DepthMax: 5, FaultBudget: 1, Symmetry: on})
			require.NoError(t, err)
			rs = append(rs, r)
		}
		require.Equal(t, rs[0].Found, rs[1].Found, "%q: plain %v\nsymmetry %v", bug, rs[0], rs[1])
		if rs[0].Found == explore.FoundNothing {
			require.Less(t, rs[1].States, rs[0].States, "%v\n%v", rs[0], rs[1])
		} else {
			require.Equal(t, rs[0].Violation.Checker, rs[1].Violation.Checker)
		}
	}
}

// symmetryOrbits searches every state of 3-node Raft within depth
// (depth-first, so every state is built) and returns the first few states
// whose canonical fingerprint (explore.CanonicalFingerprint) differs from
// that of one of their renamings (sim.Sim.PermutedFingerprint) that the
// search reached, and the number of renamings compared. The canonical
// fingerprint tries only the permutations that order the nodes by a key of
// their parts: a key that depends on which node a part is at gives a state
// and its renaming different fingerprints.
func symmetryOrbits(t *testing.T, depth int) (problems []string, compared int) {
	perms := sim.Permutations(3)
	type seen struct{ renamed []uint64 }
	canon := map[uint64]uint64{} // fingerprint -> canonical
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
		canon[fp], reached[fp] = c, st
		return false
	}
	r, err := explore.Run(symmetrySearch(t, []string{"raft.ElectionSafety"}), explore.Options{Mode: explore.DFS, DepthMax: depth, Workers: 1, Goal: goal})
	require.NoError(t, err)
	require.Equal(t, explore.FoundNothing, r.Found, "%v", r)
	for fp, st := range reached {
		for q, h := range st.renamed {
			c, ok := canon[h]
			if !ok {
				continue // raft/symmetry_test.go checks that renamings are reached
			}
			compared++
			if c != canon[fp] && len(problems) < 5 {
				problems = append(problems, fmt.Sprintf("state %#x (canonical %#x) renamed by %v is %#x (canonical %#x)", fp, canon[fp], perms[q], h, c))
			}
		}
	}
	return problems, compared
}

// TestSymmetryKeysInvariant: a state and each of its renamings share one
// canonical fingerprint, although only the permutations that order the
// nodes by their keys are tried.
func TestSymmetryKeysInvariant(t *testing.T) {
	problems, compared := symmetryOrbits(t, 5)
	require.Empty(t, problems)
	require.Greater(t, compared, 1000, "too few renamings compared to show anything")
}

// TestSymmetryKeyMistakeCaught: keying a node's part by its plain
// fingerprint, which names the node, makes a state and its renaming look
// like two: the orbit check fails.
func TestSymmetryKeyMistakeCaught(t *testing.T) {
	defer explore.SetSymmetryKeyMistake(true)()
	problems, _ := symmetryOrbits(t, 5)
	require.NotEmpty(t, problems, "a key that names the node went unnoticed")
	t.Logf("caught: %v", problems[0])
}

// twoPCSearch builds 2PC with a coordinator and nodes-1 participants and
// one client doing one transaction, as synod explore --scenario does.
// With kv, the transaction writes one key on every participant alike, so
// renaming participants maps reachable states to reachable states (with
// transfers it never does: the reduction then merges nothing).
func twoPCSearch(t *testing.T, nodes int, kv bool, options ...string) *sim.Sim {
	t.Helper()
	sc := scenario.Default("2pc")
	sc.Nodes, sc.Workload.Clients, sc.Workload.MaxOps = nodes, 1, 1
	sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
	require.NoError(t, sc.Revalidate())
	if kv {
		p := strconv.Itoa(nodes - 1)
		options = append([]string{"workload=kv", "accounts=" + p, "keys_per_txn=" + p}, options...)
	}
	for _, o := range options {
		require.NoError(t, sc.SetOption(o))
	}
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

// TestExhaustiveSymmetryTwoPhaseCommit: 2PC searched with and without
// symmetry (its participants interchangeable, its coordinator fixed): the
// same verdicts on the correct protocol at depths 6-9 (8 and 9 behind
// -synod.explore-long) and on every named bug, with one crash or
// restart. The reduction factors are logged (docs/explore.md).
func TestExhaustiveSymmetryTwoPhaseCommit(t *testing.T) {
	depths := []int{6, 7}
	if *exploreLong {
		depths = append(depths, 8, 9)
	}
	for _, nodes := range []int{3, 4} {
		for _, depth := range depths {
			t.Run(fmt.Sprintf("%d nodes/depth %d", nodes, depth), func(t *testing.T) {
				p, s := sameVerdict(t, func() *sim.Sim { return twoPCSearch(t, nodes, true) }, explore.Options{DepthMax: depth, FaultBudget: 1})
				require.Equal(t, explore.FoundNothing, p.Found, "%v", p)
				pn, sn := p.States+p.QuietStates, s.States+s.QuietStates
				require.Less(t, sn, pn, "symmetry merged nothing")
				row := fmt.Sprintf("| 2pc, %d nodes | %d | %s | %s | %.2f |", nodes, depth, commas(pn), commas(sn), float64(pn)/float64(sn))
				t.Log(row)
				doc, err := os.ReadFile("../../docs/explore.md")
				require.NoError(t, err)
				require.Contains(t, string(doc), row, "docs/explore.md's 2PC symmetry table is stale")
			})
		}
	}
	depth := 12 // abort-uncertain shows at 9; decision-not-logged not within 12
	if *exploreLong {
		depth = 14
	}
	for _, bug := range twopc.Bugs {
		for _, kv := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/kv %v", bug, kv), func(t *testing.T) {
				p, s := sameVerdict(t, func() *sim.Sim { return twoPCSearch(t, 3, kv, "bug="+bug) }, explore.Options{DepthMax: depth, FaultBudget: 1})
				t.Logf("%s: plain %v\nsymmetry %v", bug, p, s)
			})
		}
	}
}
