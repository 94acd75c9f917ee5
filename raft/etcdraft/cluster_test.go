package etcdraft

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Raft §5.2: one leader, followed by every node in its term; the leader's
// empty entry of its term commits everywhere.
func TestInitialElection(t *testing.T) {
	for _, pre := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "pre-vote"}[pre], func(t *testing.T) {
			opts := DefaultOptions()
			opts.PreVote = pre
			c := newCluster(t, clusterOpts{seed: 1, duration: 2 * sim.Second, opts: opts})
			c.runUntil(sim.Second)
			l := c.leader()
			require.NotZero(t, l, "no leader after 1s")
			require.Len(t, c.leaders(), 1)
			for _, id := range c.s.Nodes() {
				n := c.node(id)
				assert.Equal(t, uint64(l), n.lead, "%v follows %d", id, n.lead)
				assert.Equal(t, c.node(l).term, n.term, "%v", id)
				assert.Equal(t, c.node(l).commit, n.commit, "%v", id)
				assert.GreaterOrEqual(t, n.applied, uint64(bootIndex+1), "%v applied the leader's empty entry", id)
			}
		})
	}
}

// Client operations commit through the leader and every node applies the
// same store.
func TestReplication(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 2, clients: 3, duration: 3 * sim.Second})
	c.runUntil(3 * sim.Second)
	require.Greater(t, c.okOps(), 200)
	l := c.node(c.leader())
	for _, id := range c.s.Nodes() {
		n := c.node(id)
		assert.Equal(t, l.applied, n.applied, "%v", id)
		assert.Equal(t, l.kv.Data, n.kv.Data, "%v", id)
	}
}

// A follower answers a client with not_leader and the leader's id.
func TestFollowerRedirects(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1, duration: 2 * sim.Second})
	c.runUntil(sim.Second)
	l := c.leader()
	require.NotZero(t, l)
	f := c.node(l%5 + 1)
	resp := f.notLeader(&protocols.Request{Client: -1, Seq: 1})
	assert.Equal(t, protocols.StatusNotLeader, resp.Status)
	assert.Equal(t, l, resp.Leader)
}

// Raft §5.2: when the leader crashes, the others elect a new one within a
// few election timeouts, and the old one rejoins as a follower.
func TestLeaderCrashElectsNewLeader(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		c := newCluster(t, clusterOpts{seed: seed, clients: 2, duration: 4 * sim.Second})
		c.runUntil(sim.Second)
		old := c.leader()
		require.NotZero(t, old)
		oldTerm := c.node(old).term
		c.s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: old})
		crashed := c.s.Now()
		elected := c.s.RunUntilCond(func(s *sim.Sim) bool {
			l := majorityLeader(s)
			return l != 0 && l != old
		}, 1_000_000)
		require.True(t, elected, "seed %d: no new leader", seed)
		took := c.s.Now() - crashed
		// Followers notice after their randomized timeout (at most 2 *
		// election_ticks ticks = 300ms); a pre-vote or split round may follow.
		assert.Less(t, took, sim.Second, "seed %d: new leader after %v", seed, took)
		assert.Greater(t, c.node(c.leader()).term, oldTerm)
		c.s.Inject(sim.Fault{Kind: sim.FaultRestart, Node: old})
		c.runUntil(4 * sim.Second)
		n := c.node(old)
		require.NotNil(t, n)
		assert.Equal(t, raft.StateFollower, n.state, "seed %d: old leader", seed)
		assert.Equal(t, c.node(c.leader()).commit, n.commit, "seed %d: old leader caught up", seed)
	}
}

// Persistence: after the whole cluster crashes and restarts, every node
// rebuilds its log and store from stable storage alone; what was applied
// before is still there, and the cluster goes on.
func TestFullClusterRestart(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 4, clients: 3, duration: 5 * sim.Second})
	c.runUntil(2 * sim.Second)
	before := map[sim.NodeID]uint64{}
	var data map[string]string
	for _, id := range c.s.Nodes() {
		before[id] = c.node(id).applied
		if id == c.leader() {
			data = c.node(id).kv.Data
		}
		c.s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: id})
	}
	c.runUntil(2500 * sim.Millisecond)
	for _, id := range c.s.Nodes() {
		c.s.Inject(sim.Fault{Kind: sim.FaultRestart, Node: id})
	}
	c.s.Step() // start events run before anything else due now
	c.runUntil(2600 * sim.Millisecond)
	for _, id := range c.s.Nodes() {
		n := c.node(id)
		require.NotNil(t, n)
		assert.GreaterOrEqual(t, n.lastIndex(), before[id], "%v lost log entries", id)
	}
	c.runUntil(5 * sim.Second)
	l := c.node(c.leader())
	require.NotNil(t, l)
	require.NotEmpty(t, data)
	for k := range data {
		_, ok := l.kv.Data[k]
		assert.True(t, ok, "key %s written before the crash is gone", k)
	}
	assert.Greater(t, l.applied, before[c.leader()])
	assert.Equal(t, "ok", linearizable(t, c))
}

func linearizable(t *testing.T, c *cluster) string {
	t.Helper()
	return string(protocols.CheckLinearizable(c.history(), c.s.Now(), 0).Result)
}

// Every scenario file in testdata/scenarios/etcdraft opens with a comment
// and runs clean: no violation, no panic, a linearizable history.
func TestScenarioFiles(t *testing.T) {
	files, err := filepath.Glob(scenarioDir + "*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(data, []byte("#")), "a scenario opens with a comment saying what it shows")
			sc, err := scenario.Load(f)
			require.NoError(t, err)
			res, err := scenario.Run(sc, scenario.RunOptions{})
			require.NoError(t, err)
			require.False(t, res.Failed(), "%+v\n%s", res.FirstViolation, replay("testdata/scenarios/etcdraft/"+filepath.Base(f), sc.Seed))
			assert.Equal(t, "ok", res.Linearizable)
			assert.Greater(t, res.OpsOK, 50)
		})
	}
}

// Log compaction: n5 misses more than a snapshot's worth of entries, so the
// leader sends it a snapshot; n5 installs it, persists it, and catches up.
func TestSnapshotInstall(t *testing.T) {
	sc, err := scenario.Load(scenarioDir + "snapshot-install.yaml")
	require.NoError(t, err)
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	var tr bytes.Buffer
	tw, err := inst.TraceTo(&tr)
	require.NoError(t, err)
	inst.Sim.Run()
	require.NoError(t, tw.Close(inst.Sim))
	res := inst.Summarize()
	require.False(t, res.Failed(), "%+v", res.FirstViolation)
	assert.Contains(t, tr.String(), `"type":"MsgSnap"`, "the leader sent a snapshot")
	n5 := nodeOf(inst.Sim, 5)
	require.NotNil(t, n5)
	assert.Greater(t, n5.snapIndex, uint64(bootIndex))
	st := inst.Sim.Storage(5)
	assert.True(t, st.Has(keySnapshot))
	leader := majorityLeader(inst.Sim)
	require.NotZero(t, leader)
	assert.Equal(t, nodeOf(inst.Sim, leader).kv.Data, n5.kv.Data)
}

// Raft thesis §6.4: with reads: read_index, gets are answered without a
// log entry, after a heartbeat round confirms the leader, and the history
// stays linearizable.
func TestReadIndexReadsBypassTheLog(t *testing.T) {
	opts := DefaultOptions()
	opts.Reads = ReadsReadIndex
	c := newCluster(t, clusterOpts{seed: 6, clients: 3, duration: 3 * sim.Second, opts: opts})
	c.runUntil(3 * sim.Second)
	gets, writes := 0, 0
	for _, op := range c.history() {
		if op.Status != protocols.OpOK {
			continue
		}
		if op.Op.Kind == protocols.OpGet {
			gets++
		} else {
			writes++
		}
	}
	require.Greater(t, gets, 50)
	l := c.node(c.leader())
	var logged int
	for i := uint64(bootIndex + 1); i <= l.lastIndex(); i++ {
		e, ok := storedLog{c.s.Storage(c.leader())}.entry(i)
		require.True(t, ok)
		if len(e.GetData()) > 0 {
			r, err := decodeCommand(e.GetData())
			require.NoError(t, err)
			assert.NotEqual(t, protocols.OpGet, r.Op.Kind, "a get at index %d", i)
			logged++
		}
	}
	assert.GreaterOrEqual(t, logged, writes)
	assert.Equal(t, "ok", linearizable(t, c))
}
