package etcdraft

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

const scenarioDir = "../../testdata/scenarios/etcdraft/"

// seedCount is the number of seeds a property-test variant runs: the
// -etcdraft.seeds flag, else $SYNOD_SEEDS, else def (a fifth with -short).
func seedCount(def int) int {
	if *seedsFlag > 0 {
		return *seedsFlag
	}
	if v, err := strconv.Atoi(os.Getenv("SYNOD_SEEDS")); err == nil && v > 0 {
		return v
	}
	if testing.Short() {
		return max(def/5, 1)
	}
	return def
}

// leaderBound is the liveness bound after the heal: every crashed node
// restarts then, and some node's election timeout expires within one
// maximum timeout (2 * election_ticks * tick_interval = 300ms by default).
// A pre-vote round that a lease refuses, split votes and the 10% loss that
// stays after the heal cost a few more rounds: we require a leader
// followed by a majority within 7 maximum timeouts (2.1s).
const leaderBound = 7 * 300 * sim.Millisecond

type seedOutcome struct {
	seed     uint64
	err      string
	elected  sim.Time
	opsOK    int
	linState string
}

func loadScenario(t testing.TB, file string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load(scenarioDir + file)
	require.NoError(t, err)
	return sc
}

// checkSeed runs one seed of a chaos scenario and checks safety (the
// checkers, no panic), linearizability, and liveness after the heal.
func checkSeed(sc *scenario.Scenario, seed uint64) seedOutcome {
	out := seedOutcome{seed: seed, elected: -1}
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
	for s.Stopped() == "" && s.Now() <= heal+leaderBound {
		if majorityLeader(s) != 0 {
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
		out.err = fmt.Sprintf("no leader followed by a majority within %v of the heal at %v", leaderBound, heal)
	default:
		for _, op := range res.History {
			if op.Call >= heal+leaderBound && op.Status != protocols.OpOK {
				out.err = fmt.Sprintf("operation %v#%d %v invoked at %v, after the heal, ended %s", op.Client, op.Seq, op.Op, op.Call, op.Status)
				break
			}
		}
	}
	return out
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
			t.Fatalf("seed %d: %s\n%s", o.seed, o.err, replay("testdata/scenarios/etcdraft/"+file, o.seed))
		}
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
			var worst sim.Time
			ops, lin := 0, 0
			for _, o := range outs {
				worst = max(worst, o.elected)
				ops += o.opsOK
				if o.linState == string(protocols.LinOK) {
					lin++
				}
			}
			t.Logf("%s: %d seeds, 0 violations, %d/%d histories proven linearizable (rest: porcupine budget), worst time to a majority leader after heal %v (bound %v), %d ops ok",
				v.file, n, lin, n, worst, leaderBound, ops)
		})
	}
}
