package etcdraft

import (
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/protocols/proptest"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

const scenarioDir = "../../testdata/scenarios/etcdraft/"

// seedCount is the number of seeds a property-test variant runs: the
// -etcdraft.seeds flag, else $SYNOD_SEEDS, else def (a fifth with -short).
func seedCount(def int) int { return proptest.Seeds(*seedsFlag, def, testing.Short(), 5) }

// leaderBound is the liveness bound after the heal: every crashed node
// restarts then, and some node's election timeout expires within one
// maximum timeout (2 * election_ticks * tick_interval = 300ms by default).
// A pre-vote round that a lease refuses, split votes and the 10% loss that
// stays after the heal cost a few more rounds: we require a leader
// followed by a majority within 7 maximum timeouts (2.1s).
const leaderBound = 7 * 300 * sim.Millisecond

// liveness is etcd-raft's liveness check after the heal.
var liveness = proptest.Check{Bound: leaderBound, Leader: majorityLeader, Followed: "a majority"}

func loadScenario(t testing.TB, file string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(scenarioDir + file)
	require.NoError(t, err)
	return sc
}

// majorityLeader returns a live leader that a majority of the nodes
// follow in its term, or 0.
func majorityLeader(s *sim.Sim) sim.NodeID {
	for _, id := range s.Nodes() {
		l := nodeOf(s, id)
		if l == nil || l.state != raft.StateLeader {
			continue
		}
		k := 0
		for _, p := range s.Nodes() {
			if n := nodeOf(s, p); n != nil && n.term == l.term && n.lead == uint64(id) {
				k++
			}
		}
		if k > len(s.Nodes())/2 {
			return id
		}
	}
	return 0
}

// runSeeds runs seeds 1..n of a scenario on every core and fails on the
// first bad seed with the command that replays it.
func runSeeds(t *testing.T, file string, n int) []proptest.Outcome {
	outs, bad := liveness.Run(loadScenario(t, file), n, runtime.GOMAXPROCS(0), func(f func()) { go f() })
	if bad != nil {
		t.Fatalf("seed %d: %s\n%s", bad.Seed, bad.Err, replay("testdata/scenarios/etcdraft/"+file, bad.Seed))
	}
	return outs
}

// TestProperty runs etcd's Raft through the chaos scenarios over many
// seeds: the four safety checkers after every event, linearizability of
// every history, and liveness after the heal. The seed count is
// -etcdraft.seeds (or $SYNOD_SEEDS).
func TestProperty(t *testing.T) {
	for _, v := range []struct {
		file  string
		seeds int
	}{{"chaos5.yaml", 150}, {"chaos3.yaml", 100}, {"chaos7.yaml", 60}, {"chaos5-plain.yaml", 100}, {"chaos5-readindex.yaml", 100}} {
		t.Run(v.file, func(t *testing.T) {
			n := seedCount(v.seeds)
			outs := runSeeds(t, v.file, n)
			t.Logf("%s: %v (bound %v)", v.file, proptest.Summarize(outs), leaderBound)
		})
	}
}
