package paxos

import (
	"flag"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/proptest"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

var seedsFlag = flag.Int("paxos.seeds", 0, "seeds per property-test variant (0: the default, or $SYNOD_SEEDS)")

// seedCount is the number of seeds a property-test variant runs: the flag,
// else $SYNOD_SEEDS, else def (a tenth of it with -short).
func seedCount(def int) int { return proptest.Seeds(*seedsFlag, def, testing.Short(), 10) }

const scenarioDir = "testdata/scenarios/paxos/"

// loadScenario loads a scenario file of testdata/scenarios/paxos.
func loadScenario(t testing.TB, file string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load("../" + scenarioDir + file)
	require.NoError(t, err)
	return sc
}

// replay is the command that replays a seed of a scenario file.
func replay(file string, seed uint64) string { return proptest.Replay(file, seed) }

// leaderBound is the liveness bound after the heal: every crashed node
// restarts at the heal; within the longest election time-out (2 x 100ms)
// plus a backoff (100ms) some node runs phase 1, and loss costs a few more
// rounds. We require a leader followed by a phase 1 quorum within five of
// those 300ms rounds, the same bound as Raft's.
const leaderBound = 5 * 300 * sim.Millisecond

// liveness is Multi-Paxos's liveness check after the heal.
var liveness = proptest.Check{Bound: leaderBound, Leader: followedLeader, Followed: "a phase 1 quorum"}

// followedLeader returns a live leader whose ballot a phase 1 quorum of
// nodes promised and follows, or 0.
func followedLeader(s *sim.Sim) sim.NodeID {
	for _, id := range s.Nodes() {
		l, _ := s.Process(id).(*Node)
		if l == nil || l.role != roleLeader {
			continue
		}
		k := 0
		for _, p := range s.Nodes() {
			if n, _ := s.Process(p).(*Node); n != nil && n.promised == l.ballot && n.leader == id {
				k++
			}
		}
		if k >= l.cfg.q1 {
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
		t.Fatalf("seed %d: %s\nreplay: %s", bad.Seed, bad.Err, replay(scenarioDir+file, bad.Seed))
	}
	return outs
}

// TestProperty runs the chaos scenarios over many seeds: safety after
// every event, linearizability of every history, and liveness after the
// heal with backoff on. The seed count is -paxos.seeds (or $SYNOD_SEEDS);
// the defaults match Raft's and keep the package's tests well under a
// minute on two cores.
func TestProperty(t *testing.T) {
	for _, v := range []struct {
		file  string
		seeds int
	}{{"chaos5.yaml", 2000}, {"chaos3.yaml", 300}, {"chaos7.yaml", 200}, {"chaos5-flexible.yaml", 300}} {
		t.Run(v.file, func(t *testing.T) {
			n := seedCount(v.seeds)
			outs := runSeeds(t, v.file, n)
			t.Logf("%s: %v (bound %v)", v.file, proptest.Summarize(outs), leaderBound)
		})
	}
}

// TestPropertySingle runs the Synod protocol under chaos: one chosen value
// (the checker), every answer names it, and after the heal every request
// is answered.
func TestPropertySingle(t *testing.T) {
	const file = "chaos5-single.yaml"
	base := loadScenario(t, file)
	n := seedCount(300)
	heal := base.Nemesis.HealAt
	for seed := uint64(1); seed <= uint64(n); seed++ {
		sc := base.Clone()
		sc.Seed = seed
		rp := replay(scenarioDir+file, seed)
		res, err := scenario.Run(sc, scenario.RunOptions{})
		require.NoError(t, err, rp)
		require.Nil(t, res.Panic, rp)
		require.Zero(t, res.Violations, "%v; %s", res.FirstViolation, rp)
		answers := map[string]bool{}
		for _, op := range res.History {
			if op.Status == protocols.OpOK {
				answers[op.Value] = true
			}
			if op.Call >= heal+leaderBound {
				require.Equal(t, protocols.OpOK, op.Status, "op %v#%d invoked at %v; %s", op.Client, op.Seq, op.Call, rp)
			}
		}
		require.Len(t, answers, 1, "answers %v; %s", answers, rp)
	}
}
