package paxos

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

var seedsFlag = flag.Int("paxos.seeds", 0, "seeds per property-test variant (0: the default, or $SYNOD_SEEDS)")

// seedCount is the number of seeds a property-test variant runs: the flag,
// else $SYNOD_SEEDS, else def (a tenth of it with -short).
func seedCount(def int) int {
	if *seedsFlag > 0 {
		return *seedsFlag
	}
	if v, err := strconv.Atoi(os.Getenv("SYNOD_SEEDS")); err == nil && v > 0 {
		return v
	}
	if testing.Short() {
		return max(def/10, 1)
	}
	return def
}

const scenarioDir = "testdata/scenarios/paxos/"

// loadScenario loads a scenario file of testdata/scenarios/paxos.
func loadScenario(t testing.TB, file string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load("../" + scenarioDir + file)
	require.NoError(t, err)
	return sc
}

// replay is the command that replays a seed of a scenario file.
func replay(file string, seed uint64) string {
	return fmt.Sprintf("go run ./cmd/synod run --scenario %s --seed %d (or: go run ./cmd/synod tui --scenario %s --seed %d)", file, seed, file, seed)
}

// leaderBound is the liveness bound after the heal: every crashed node
// restarts at the heal; within the longest election time-out (2 x 100ms)
// plus a backoff (100ms) some node runs phase 1, and loss costs a few more
// rounds. We require a leader followed by a phase 1 quorum within five of
// those 300ms rounds, the same bound as Raft's.
const leaderBound = 5 * 300 * sim.Millisecond

// seedOutcome is what one seed of a property test found.
type seedOutcome struct {
	seed     uint64
	err      string
	elected  sim.Time
	opsOK    int
	linState string
}

// checkSeed runs one seed of a chaos scenario, then checks safety (the
// checkers, no panic), linearizability and liveness after the heal.
func checkSeed(sc *scenario.Scenario, seed uint64) seedOutcome {
	out := seedOutcome{seed: seed}
	c := sc.Clone()
	c.Seed = seed
	inst, err := scenario.Build(c)
	if err != nil {
		out.err = err.Error()
		return out
	}
	s := inst.Sim
	heal := c.Nemesis.HealAt
	s.RunUntil(heal)
	out.elected = -1
	for s.Stopped() == "" && s.Now() <= heal+leaderBound {
		if followedLeader(s) != 0 {
			out.elected = s.Now() - heal
			break
		}
		if !s.Step() {
			break
		}
	}
	s.Run()
	res := inst.Summarize()
	out.opsOK, out.linState = res.OpsOK, res.Linearizable
	switch {
	case res.Panic != nil:
		out.err = fmt.Sprintf("panic: %v\n%s", res.Panic, res.Panic.Stack)
	case res.Violations > 0:
		out.err = fmt.Sprintf("violation: %v", res.FirstViolation)
	case res.Linearizable == string(protocols.LinViolation):
		out.err = "history is not linearizable"
	case out.elected < 0:
		out.err = fmt.Sprintf("no leader followed by a quorum within %v of the heal at %v", leaderBound, heal)
	default:
		for _, op := range res.History {
			if op.Call >= heal+leaderBound && op.Status != protocols.OpOK {
				out.err = fmt.Sprintf("operation %v#%d %v invoked at %v after the heal ended %s", op.Client, op.Seq, op.Op, op.Call, op.Status)
				break
			}
		}
	}
	return out
}

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
func runSeeds(t *testing.T, file string, n int) []seedOutcome {
	sc := loadScenario(t, file)
	outs := make([]seedOutcome, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				outs[i] = checkSeed(sc, uint64(i+1))
			}
		}()
	}
	wg.Wait()
	for _, o := range outs {
		if o.err != "" {
			t.Fatalf("seed %d: %s\nreplay: %s", o.seed, o.err, replay(scenarioDir+file, o.seed))
		}
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
			var worst sim.Time
			ops, lin := 0, 0
			for _, o := range outs {
				worst = max(worst, o.elected)
				ops += o.opsOK
				if o.linState == string(protocols.LinOK) {
					lin++
				}
			}
			t.Logf("%s: %d seeds, 0 violations, %d/%d histories proven linearizable (rest: porcupine budget), worst time to a followed leader after heal %v (bound %v), %d ops ok",
				v.file, n, lin, n, worst, leaderBound, ops)
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
