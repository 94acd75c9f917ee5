package paxos

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Log truncation: acceptors forget slots folded into a snapshot, so stable
// storage stays bounded; a node that was down while the others truncated
// catches up from a snapshot.
func TestSnapshotTruncatesAndCatchesUp(t *testing.T) {
	o := DefaultOptions()
	o.SnapshotEvery = 16
	c := newCluster(t, clusterOpts{seed: 3, clients: 3, duration: 6 * sim.Second, opts: o, faults: []sim.ScheduledFault{
		{At: sim.Second, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 4}},
		{At: 3 * sim.Second, Fault: sim.Fault{Kind: sim.FaultRestart, Node: 4}},
	}})
	c.s.RunUntil(3*sim.Second - 1)
	l := c.node(c.leaders()[0])
	require.Greater(t, l.snap, int64(100), "the leader snapshotted")
	n4store := c.s.Storage(4)
	require.Less(t, n4store.Len(), 40)
	c.s.Run()
	c.requireSafe("")
	for _, id := range c.s.Nodes() {
		accs := len(c.s.Storage(id).Keys(keyAccPfx))
		require.LessOrEqual(t, accs, 2*int(o.SnapshotEvery)+8, "%v keeps %d accepted slots", id, accs)
	}
	l = c.node(c.leaders()[0])
	n4 := c.node(4)
	require.Equal(t, l.applied, n4.applied, "n4 caught up")
	require.Equal(t, l.kv.Data, n4.kv.Data)
	require.Greater(t, n4.snap, int64(100), "n4 installed a snapshot")
}

// A restarted node recovers its promise, its accepted slots and its
// snapshot from storage only.
func TestRestartRecoversFromStorage(t *testing.T) {
	o := DefaultOptions()
	o.SnapshotEvery = 16
	c := newCluster(t, clusterOpts{seed: 4, clients: 3, duration: 3 * sim.Second, opts: o})
	c.s.RunUntil(sim.Second)
	id := c.leaders()[0]%5 + 1 // a follower
	before := c.node(id)
	promised, snap := before.promised, before.snap
	accepted := map[int64]slot{}
	for s := before.base; s <= before.last(); s++ {
		if sl := before.get(s); sl.hasAcc {
			accepted[s] = *sl
		}
	}
	require.NoError(t, c.s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: id}))
	require.NoError(t, c.s.Inject(sim.Fault{Kind: sim.FaultRestart, Node: id}))
	c.s.Step() // the restart's start event
	after := c.node(id)
	require.NotSame(t, before, after)
	require.Equal(t, promised, after.promised)
	require.Equal(t, snap, after.snap)
	require.Equal(t, snap, after.applied, "decisions above the snapshot are relearned")
	for s, sl := range accepted {
		got := after.get(s)
		require.NotNil(t, got, "slot %d", s)
		require.Equal(t, sl.acc, got.acc, "slot %d", s)
		require.Equal(t, sl.accCmd, got.accCmd, "slot %d", s)
	}
	c.s.Run()
	c.requireSafe("")
}

func TestInspectView(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1, clients: 2, duration: sim.Second})
	c.s.RunUntil(500 * sim.Millisecond)
	l := c.leaders()[0]
	v, ok := c.s.Inspect(l)
	require.True(t, ok)
	n := c.node(l)
	require.Equal(t, "leader", v.Role)
	require.Equal(t, "proposer, acceptor, learner", v.Get("roles"))
	require.Equal(t, "ballot", v.TermLabel)
	require.Equal(t, n.ballot.Round, v.Term)
	require.Equal(t, n.ballot.String(), v.Get("ballot"))
	require.Equal(t, n.promised.String(), v.Get("promised"))
	require.Equal(t, l, v.Leader)
	require.Equal(t, n.commit, v.Commit)
	require.NotEmpty(t, v.Log)
	last := v.Log[len(v.Log)-1]
	require.Contains(t, last.Command, "bal="+n.ballot.String())
	require.Len(t, v.Tables, 1)
	require.Len(t, v.Tables[0].Rows, 4, "one row per peer")
	f, _ := c.s.Inspect(l%5 + 1)
	require.Equal(t, "follower", f.Role)
	require.Equal(t, "acceptor, learner", f.Get("roles"))
	require.Equal(t, l, f.Leader)
}

// Flexible quorums: |Q1| + |Q2| > N is checked when the run is built, and
// a valid asymmetric choice runs safely.
func TestFlexibleQuorumOptions(t *testing.T) {
	for _, c := range []struct {
		name, opts, err string
	}{
		{"overlap", "{quorum1: 4, quorum2: 2}", ""},
		{"no overlap", "{quorum1: 2, quorum2: 3}", "options.quorum1|2 + quorum2 3 <= 5"},
		{"too big", "{quorum2: 6}", "options.quorum2|6 is outside 1..5"},
		{"heartbeat too slow", "{heartbeat: 200ms, election_timeout: 100ms}", "options.heartbeat|not below election_timeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The scenario package may refuse the options when it parses
			// the file or when it builds the run.
			sc, err := scenario.Parse([]byte("# flexible\nprotocol: paxos\nnodes: 5\nduration: 2s\noptions: "+c.opts+"\n"), "flex.yaml")
			var inst *scenario.Instance
			if err == nil {
				inst, err = scenario.Build(sc)
			}
			if c.err != "" {
				// The field, then the message.
				for _, part := range strings.Split(c.err, "|") {
					require.ErrorContains(t, err, part)
				}
				return
			}
			require.NoError(t, err)
			res, err := inst.Execute(nil)
			require.NoError(t, err)
			require.False(t, res.Failed(), "%+v", res)
			require.Greater(t, res.OpsOK, 50)
		})
	}
}

// With phase 2 quorums of 2 out of 5, two of five nodes down still allow
// progress once a leader is in office, but electing one needs 4.
func TestFlexibleQuorumPhase2Survives(t *testing.T) {
	o := DefaultOptions()
	o.Quorum1, o.Quorum2 = 4, 2
	c := newCluster(t, clusterOpts{seed: 5, clients: 3, duration: 3 * sim.Second, opts: o})
	c.s.RunUntil(sim.Second)
	l := c.leaders()
	require.Len(t, l, 1)
	// Crash three followers: the leader and one acceptor are a phase 2
	// quorum.
	down := 0
	for _, id := range c.s.Nodes() {
		if id != l[0] && down < 3 {
			require.NoError(t, c.s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: id}))
			down++
		}
	}
	ok0, _ := c.ops()
	c.s.Run()
	c.requireSafe("")
	ok, _ := c.ops()
	require.Greater(t, ok-ok0, 50, "progress with a phase 2 quorum of 2")
}

func TestInspectSingle(t *testing.T) {
	r := startScenario(t, "two-proposers-racing.yaml")
	r.finish()
	for _, id := range r.s.Nodes() {
		v, ok := r.s.Inspect(id)
		require.True(t, ok)
		require.Equal(t, "ballot", v.TermLabel)
		require.Equal(t, "learner", v.Role, "everyone learned the value")
		require.Contains(t, v.Get("roles"), "acceptor, learner")
		n := r.s.Process(id).(*SingleNode)
		require.Equal(t, cmdString(&n.chosen), v.Get("chosen"))
		require.Equal(t, n.promised.String(), v.Get("promised"))
	}
}

// Without snapshots, a learner that missed hundreds of decisions catches up
// in pages of catchUpMax decisions.
func TestCatchUpInPages(t *testing.T) {
	o := DefaultOptions()
	o.SnapshotEvery = 0
	c := newCluster(t, clusterOpts{seed: 8, clients: 5, duration: 5 * sim.Second, opts: o, faults: []sim.ScheduledFault{
		{At: 500 * sim.Millisecond, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 5}},
		{At: 3 * sim.Second, Fault: sim.Fault{Kind: sim.FaultRestart, Node: 5}},
	}})
	c.s.RunUntil(3 * sim.Second)
	l := c.node(c.leaders()[0])
	require.NotEqual(t, sim.NodeID(5), l.id)
	require.Greater(t, l.commit-c.node(5).commit, int64(2*catchUpMax), "n5 is more than two pages behind")
	target := l.commit
	c.s.RunUntil(3*sim.Second + 200*sim.Millisecond)
	require.GreaterOrEqual(t, c.node(5).commit, target, "n5 caught up within 200ms")
	c.s.Run()
	c.requireSafe("")
	require.Zero(t, c.node(5).snap)
}
