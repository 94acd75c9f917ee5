package paxos

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

var exploreLong = flag.Bool("synod.explore-long", false, "TestExhaustiveSymmetry: the deeper searches (depths 8 and 9, the bugs that need them)")

// symmetrySim is a run of protocol (paxos or paxos-single) as synod
// explore --scenario sets it up: nodes, the proposers (options.proposers,
// "1" or "1,2"), clients sending to the proposers only (workload.nodes),
// one operation each, and options.
func symmetrySim(t testing.TB, protocol string, nodes int, proposers string, clients int, options ...string) *sim.Sim {
	t.Helper()
	sc := scenario.Default(protocol)
	sc.Nodes, sc.Workload.Clients, sc.Workload.MaxOps = nodes, clients, 1
	sc.Workload.Think = sim.Millisecond
	sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
	sc.Workload.Nodes = nil
	for _, f := range strings.Split(proposers, ",") {
		id, err := strconv.Atoi(f)
		require.NoError(t, err)
		sc.Workload.Nodes = append(sc.Workload.Nodes, sim.NodeID(id))
	}
	require.NoError(t, sc.Revalidate())
	for _, o := range append([]string{"proposers=[" + proposers + "]"}, options...) {
		require.NoError(t, sc.SetOption(o))
	}
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

// symmetryClosure searches every state within depth and the fault
// budget and checks the permuted encodings against the states the search
// reaches (explore.SymmetryClosure): the acceptor-only nodes are
// interchangeable, so a schedule that does to n3 what another does to n2
// exists, and every renaming is reached. A state with a crashed node is
// checked for its renamings only (the group is formed with every node
// up). It returns the first few problems, the states and how many of
// their renamings the search reached.
func symmetryClosure(t *testing.T, build func() *sim.Sim, depth, faults int) (problems []string, states, renamed int) {
	rep, err := explore.SymmetryClosure(build(), explore.Options{DepthMax: depth, FaultBudget: faults}, true)
	require.NoError(t, err)
	return rep.Problems, rep.States, rep.Renamed
}

// TestSymmetryPermutedEncodings: both protocols' permuted encodings
// (promise and acceptance sets, ballots, commands, stored records,
// messages) match the states a search reaches, with one proposer and 2
// or 3 interchangeable acceptors, with and without a crash.
func TestSymmetryPermutedEncodings(t *testing.T) {
	for _, c := range []struct {
		protocol            string
		nodes, depth, fault int
	}{
		{"paxos", 3, 7, 0},
		{"paxos", 3, 7, 1},
		{"paxos", 4, 7, 0},
		{"paxos-single", 3, 9, 0},
		{"paxos-single", 3, 7, 1},
		{"paxos-single", 4, 8, 0},
	} {
		t.Run(fmt.Sprintf("%s/%d nodes/depth %d/%d faults", c.protocol, c.nodes, c.depth, c.fault), func(t *testing.T) {
			build := func() *sim.Sim { return symmetrySim(t, c.protocol, c.nodes, "1", 1) }
			problems, states, renamed := symmetryClosure(t, build, c.depth, c.fault)
			t.Logf("%d states, %d renamings reached", states, renamed)
			require.Empty(t, problems)
			require.Greater(t, states, 100, "a search that reaches too few states shows nothing")
			require.Greater(t, renamed, states/2, "the renamings of most states are states")
		})
	}
}

// TestSymmetryMistakesCaught: the acceptors a proposer counted left
// unrenamed make renamings no schedule reaches (the closure check fails);
// so does a proposer taken for an interchangeable node (Multi-Paxos
// without clients, where n1 elects itself: n2 never leads), and with a
// client, which names the proposer it sends to, that mistake is refused
// before any search.
func TestSymmetryMistakesCaught(t *testing.T) {
	for _, protocol := range []string{"paxos", "paxos-single"} {
		t.Run("voters unrenamed/"+protocol, func(t *testing.T) {
			symmetryMistakeVoters = true
			defer func() { symmetryMistakeVoters = false }()
			build := func() *sim.Sim { return symmetrySim(t, protocol, 3, "1", 1) }
			problems, _, _ := symmetryClosure(t, build, 7, 0)
			require.NotEmpty(t, problems, "acceptors left unrenamed went unnoticed")
			t.Logf("caught: %v", problems[0])
		})
		t.Run("proposer movable, client/"+protocol, func(t *testing.T) {
			symmetryMistakeProposer = true
			defer func() { symmetryMistakeProposer = false }()
			_, err := explore.Run(symmetrySim(t, protocol, 3, "1", 1), explore.Options{DepthMax: 2, Symmetry: true})
			require.ErrorContains(t, err, "c1 names n1 by id, and n1 is interchangeable with n2")
		})
	}
	t.Run("proposer movable/paxos", func(t *testing.T) {
		symmetryMistakeProposer = true
		defer func() { symmetryMistakeProposer = false }()
		build := func() *sim.Sim { return symmetrySim(t, "paxos", 3, "1", 0) }
		problems, _, _ := symmetryClosure(t, build, 6, 0)
		require.NotEmpty(t, problems, "a movable proposer went unnoticed")
		t.Logf("caught: %v", problems[0])
	})
}

// TestSymmetryRefused: every node proposing (the default), proposers
// naming every node, clients that pick any node, and clients that send
// to an acceptor are refused with the reason, never searched unsoundly.
func TestSymmetryRefused(t *testing.T) {
	for _, protocol := range []string{"paxos", "paxos-single"} {
		for _, c := range []struct {
			name  string
			build func() *sim.Sim
			want  string
		}{
			{"default", func() *sim.Sim { return plainSim(t, protocol, 3, nil) },
				"options.proposers is empty, so every node proposes: a ballot is ordered by round, then by node id"},
			{"every node", func() *sim.Sim { return symmetrySim(t, protocol, 3, "1,2,3", 1) }, "options.proposers [n1 n2 n3] names every node"},
			{"clients to any node", func() *sim.Sim { return plainSim(t, protocol, 3, []string{"proposers=[1]"}) }, "client c1"},
			{"clients to an acceptor", func() *sim.Sim { return clientsTo(t, protocol, "2") },
				"c1 names n2 by id, and n2 is interchangeable with n3"},
		} {
			t.Run(protocol+"/"+c.name, func(t *testing.T) {
				_, err := explore.Run(c.build(), explore.Options{DepthMax: 2, Symmetry: true})
				require.ErrorContains(t, err, c.want)
				t.Log(err)
			})
		}
	}
}

// plainSim is a run with one client that sends to any node.
func plainSim(t *testing.T, protocol string, nodes int, options []string) *sim.Sim {
	sc := scenario.Default(protocol)
	sc.Nodes, sc.Workload.Clients, sc.Workload.MaxOps = nodes, 1, 1
	require.NoError(t, sc.Revalidate())
	for _, o := range options {
		require.NoError(t, sc.SetOption(o))
	}
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

// clientsTo is a 3-node run with proposer n1 and a client that sends to
// the nodes listed.
func clientsTo(t *testing.T, protocol, nodes string) *sim.Sim {
	sc := scenario.Default(protocol)
	sc.Nodes, sc.Workload.Clients, sc.Workload.MaxOps = 3, 1, 1
	for _, f := range strings.Split(nodes, ",") {
		id, err := strconv.Atoi(f)
		require.NoError(t, err)
		sc.Workload.Nodes = append(sc.Workload.Nodes, sim.NodeID(id))
	}
	require.NoError(t, sc.Revalidate())
	require.NoError(t, sc.SetOption("proposers=[1]"))
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return inst.Sim
}

// sameVerdict runs one search with and without symmetry (strict, two
// workers) and requires the same verdict: what was found, at which depth
// (breadth-first: the shortest; a renaming of a state is as far), by
// which checker, and whether the search was exhaustive.
func sameVerdict(t *testing.T, build func() *sim.Sim, opts explore.Options, groupSize int) (plain, sym *explore.Result) {
	t.Helper()
	opts.Strict, opts.Workers = true, 2
	opts.Spawn = func(w func()) { go w() }
	plain, sym, err := explore.SymmetryVerdicts(build, opts, groupSize)
	require.NoError(t, err)
	return plain, sym
}

// commas renders 26048 as 26,048.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestExhaustiveSymmetryCorrect: both protocols with one proposer (n1),
// one client sending to it, searched with and without symmetry at depths
// 6-9 (8 and 9 behind -synod.explore-long) with 3 and 5 nodes: the same
// verdicts, and the reduction factors docs/explore.md shows.
func TestExhaustiveSymmetryCorrect(t *testing.T) {
	depths := []int{6, 7}
	if *exploreLong {
		depths = append(depths, 8, 9)
	}
	doc, err := os.ReadFile("../docs/explore.md")
	require.NoError(t, err)
	for _, protocol := range []string{"paxos", "paxos-single"} {
		for _, nodes := range []int{3, 5} {
			group := map[int]int{3: 2, 5: 24}[nodes]
			for _, depth := range depths {
				t.Run(fmt.Sprintf("%s/%d nodes/depth %d", protocol, nodes, depth), func(t *testing.T) {
					p, s := sameVerdict(t, func() *sim.Sim { return symmetrySim(t, protocol, nodes, "1", 1) }, explore.Options{DepthMax: depth}, group)
					require.Equal(t, explore.FoundNothing, p.Found, "%v", p)
					pn, sn := p.States+p.QuietStates, s.States+s.QuietStates
					require.Less(t, sn, pn, "symmetry merged nothing")
					row := fmt.Sprintf("| %s, %d nodes | %d | %s | %s | %.2f |", protocol, nodes, depth, commas(pn), commas(sn), float64(pn)/float64(sn))
					t.Log(row)
					require.Contains(t, string(doc), row, "docs/explore.md's Paxos symmetry table is stale")
				})
			}
		}
	}
}

// TestExhaustiveSymmetryBugs: every named bug of both protocols, with one
// proposer (n1) and one client sending to it on 3 nodes, searched with
// and without symmetry to depth 7 (11 behind -synod.explore-long): the
// same verdicts. A proposer's own acceptor accepts its value first, so
// with one proposer two values for a slot need a value phase 1 failed to
// adopt: only Multi-Paxos's ignore-accepted shows, at depth 11 (n1 leads,
// n2 accepts c1's command, n1 hears no quorum in time and steps down, its
// next ballot finds the command and fills the slot with a no-op). The
// other bugs need two proposers (docs/explore.md has a 4-node search).
func TestExhaustiveSymmetryBugs(t *testing.T) {
	depth := 7
	if *exploreLong {
		depth = 11
	}
	for _, protocol := range []string{"paxos", "paxos-single"} {
		for _, bug := range Bugs {
			if bug == BugReuseSlots && protocol == "paxos-single" {
				continue // no slots to reuse
			}
			t.Run(protocol+"/"+bug, func(t *testing.T) {
				p, s := sameVerdict(t, func() *sim.Sim { return symmetrySim(t, protocol, 3, "1", 1, "bug="+bug) }, explore.Options{DepthMax: depth}, 2)
				t.Logf("plain %v\nsymmetry %v", p, s)
				if *exploreLong && protocol == "paxos" && bug == BugIgnoreAccepted {
					require.Equal(t, explore.FoundViolation, p.Found, "%v", p)
					require.Equal(t, 11, p.Depth, "%v", p)
				}
			})
		}
	}
}

// TestSymmetryScenarioFile: testdata/explore/paxos-one-proposer.yaml, the
// run docs/explore.md measures from the command line, is searched with
// symmetry to the same verdict in fewer states (docs/explore.md's depth 7
// row of 3-node Multi-Paxos).
func TestSymmetryScenarioFile(t *testing.T) {
	sc, err := scenario.Load("../testdata/explore/paxos-one-proposer.yaml")
	require.NoError(t, err)
	build := func() *sim.Sim {
		inst, err := scenario.Build(sc)
		require.NoError(t, err)
		return inst.Sim
	}
	p, s := sameVerdict(t, build, explore.Options{DepthMax: 7}, 2)
	require.Equal(t, explore.FoundNothing, p.Found, "%v", p)
	require.Equal(t, []int64{831, 453}, []int64{p.States + p.QuietStates, s.States + s.QuietStates}, "plain %v\nsymmetry %v", p, s)

	// The two-proposer run docs/explore.md searches to depth 12: its two
	// acceptors are interchangeable, shallower.
	sc, err = scenario.Load("../testdata/explore/paxos-single-two-proposers.yaml")
	require.NoError(t, err)
	p, s = sameVerdict(t, build, explore.Options{DepthMax: 6}, 2)
	require.Less(t, s.States+s.QuietStates, p.States+p.QuietStates, "plain %v\nsymmetry %v", p, s)
	t.Logf("two proposers: plain %v\nsymmetry %v", p, s)
}

// TestProposersOptionChecked: options.proposers and workload.nodes that
// name no node, or repeat one, are refused with the field named.
func TestProposersOptionChecked(t *testing.T) {
	sc := scenario.Default("paxos")
	sc.Nodes = 3
	require.NoError(t, sc.Revalidate())
	require.ErrorContains(t, sc.SetOption("proposers=[4]"), `field "options.proposers": n4 is not a node (want n1..n3)`)
	require.ErrorContains(t, sc.SetOption("proposers=[2, 1]"), `field "options.proposers": [n2 n1] is not in increasing order without repeats`)
	sc.ResetOptions()
	sc.Workload.Nodes = []sim.NodeID{4}
	require.ErrorContains(t, sc.Revalidate(), `field "workload.nodes": n4 is not a node (want n1..n3)`)
	sc.Workload.Nodes = []sim.NodeID{1, 1}
	require.ErrorContains(t, sc.Revalidate(), `field "workload.nodes": [n1 n1] is not a list of nodes in increasing order without repeats`)
}
