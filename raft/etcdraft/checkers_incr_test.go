package etcdraft

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/synod-dev/synod/sim"
)

// The checkers read only what changed since they last looked (check.go):
// a node's last write batch, its newly applied entries, nothing again
// after a restart, nothing below what every node compacted. These tests
// inject the mistakes each checker exists for where that shortcut could
// hide them: after crashes and restarts, with the log compacted into
// snapshots (and the checkers' records of it forgotten), and with checks
// that do not follow every event (a full pass over every node).

// incrVariant is one way of running the checkers.
type incrVariant struct {
	name       string
	snapshot   int // Options.SnapshotEntries
	checkEvery int // sim.Config.CheckEvery
}

var incrVariants = []incrVariant{
	{name: "plain"},
	{name: "snapshots", snapshot: 8},
	{name: "check-every-7", checkEvery: 7},
	{name: "snapshots-check-every-7", snapshot: 8, checkEvery: 7},
}

// corruptRun runs a chaos cluster (crashes and restarts, partitions,
// pauses) in which n2's disk stores entry index wrong (its data, or its
// term if term), and returns its violations by checker.
func corruptRun(t *testing.T, v incrVariant, seed, index uint64, term bool) (map[string][]string, *cluster) {
	t.Helper()
	opts := DefaultOptions()
	opts.SnapshotEntries = v.snapshot
	opts.corrupt, opts.corruptIndex, opts.corruptTerm = 2, index, term
	o := chaos(seed, opts)
	o.keepGoing = true
	o.duration = 8 * sim.Second
	// Besides the nemesis's crashes, n2 for certain.
	o.faults = []sim.ScheduledFault{
		{At: 1500 * sim.Millisecond, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 2}},
		{At: 1800 * sim.Millisecond, Fault: sim.Fault{Kind: sim.FaultRestart, Node: 2}},
	}
	c := newClusterEvery(t, o, v.checkEvery)
	c.s.AddFaultObserver(&c.crashes)
	c.s.Run()
	require.NoError(t, c.s.Err())
	by := map[string][]string{}
	for _, x := range c.s.Violations() {
		by[x.Checker] = append(by[x.Checker], x.Message)
	}
	return by, c
}

// newClusterEvery is newCluster with the checkers run every checkEvery
// events (0: every event).
func newClusterEvery(t *testing.T, o clusterOpts, checkEvery int) *cluster {
	t.Helper()
	o.checkEvery = checkEvery
	return newCluster(t, o)
}

// Log Matching and State Machine Safety catch an entry whose stored data
// is garbage on one node, written late in a run with crashes (so by a
// restarted node, and after the checkers forgot the compacted start of
// the log in the snapshot variants), whichever way the checkers run.
func TestCheckersCatchCorruptDataIncrementally(t *testing.T) {
	for _, v := range incrVariants {
		t.Run(v.name, func(t *testing.T) {
			const index = 300 // past recordsChunk: the records below were forgotten
			by, c := corruptRun(t, v, 1, index, false)
			t.Logf("%v", by)
			requireRestartedAndPruned(t, c, v, index)
			want := fmt.Sprintf("entry %d/", index)
			assert.True(t, anyContains(by[NameLogMatching], want), "log matching missed it: %v", by)
			assert.True(t, anyContains(by[NameStateMachineSafety], fmt.Sprintf("at index %d", index)), "state machine safety missed it: %v", by)
			assert.Empty(t, by[NameElectionSafety])
		})
	}
}

// Log Matching's previous-term rule across restarts and snapshots: n2
// stores entry index one term too high, so its entry index+1 follows a
// term no other node's does. (The node's next batch may follow the wrong
// term from the checker's memory of the batch before, or from storage.)
func TestLogMatchingCatchesAWrongTermIncrementally(t *testing.T) {
	for _, v := range incrVariants {
		t.Run(v.name, func(t *testing.T) {
			const index = 300
			by, c := corruptRun(t, v, 1, index, true)
			t.Logf("%v", by)
			requireRestartedAndPruned(t, c, v, index)
			// Either n2's entry index has a term no other node's has, and
			// the entry after it follows the wrong term, or (if n2 then
			// leads) index itself differs: one of them is reported.
			after := fmt.Sprintf("entry %d/", index+1)
			assert.True(t, anyContains(by[NameLogMatching], after) && anyContains(by[NameLogMatching], "follows term"),
				"log matching missed the entry after the wrong term: %v", by)
		})
	}
}

// requireRestartedAndPruned makes sure a run exercised what the test is
// about: n2 crashed and came back before the first violation (so a
// restarted n2 wrote the corrupt entry), and in the snapshot variants the
// checkers forgot the compacted start of the log.
func requireRestartedAndPruned(t *testing.T, c *cluster, v incrVariant, index uint64) {
	t.Helper()
	require.NotNil(t, c.node(2), "n2 is up at the end")
	require.GreaterOrEqual(t, c.node(2).lastStored, index, "the run did not reach entry %d", index)
	vs := c.s.Violations()
	require.NotEmpty(t, vs)
	require.NotEmpty(t, c.crashes.at[2], "n2 never crashed")
	require.Less(t, c.crashes.at[2][0], vs[0].Time, "n2 crashed before the violation")
	if v.snapshot == 0 {
		return
	}
	var lm *LogMatching
	for _, ch := range c.s.Checkers() {
		if x, ok := ch.(*LogMatching); ok {
			lm = x
		}
	}
	require.NotNil(t, lm)
	require.Positive(t, lm.seen.base, "log matching forgot nothing: the test does not cover pruning")
	require.Positive(t, lm.lk.cpt.least(c.s))
}

// Leader Completeness, after compaction and pruning: a leader whose
// stored entry differs from one that others applied is caught when it
// takes office, whether checked after its event or in a full pass.
func TestLeaderCompletenessCatchesAfterCompaction(t *testing.T) {
	for _, every := range []int{0, 7} {
		t.Run(fmt.Sprintf("check-every-%d", every), func(t *testing.T) {
			const index = 300
			opts := DefaultOptions()
			opts.SnapshotEntries = 8
			opts.corrupt, opts.corruptIndex = 3, index
			c := newClusterEvery(t, clusterOpts{seed: 1, clients: 3, duration: 20 * sim.Second, opts: opts, keepGoing: true}, every)
			// Until another node applied the entry and n3 stores it
			// uncompacted.
			ok := c.s.RunUntilCond(func(s *sim.Sim) bool {
				n3 := nodeOf(s, 3)
				if n3 == nil || n3.snapIndex >= index || n3.lastStored < index {
					return false
				}
				for _, id := range []sim.NodeID{1, 2, 4, 5} {
					if n := nodeOf(s, id); n != nil && n.applied >= index {
						return true
					}
				}
				return false
			}, 2_000_000)
			require.True(t, ok, "no node applied entry %d while n3 kept it", index)
			lcBefore := count(c.s.Violations(), NameLeaderCompleteness)
			require.Zero(t, lcBefore)
			n := c.node(3)
			n.state, n.term = raft.StateLeader, n.term+100 // a leader that lacks entry index
			// A check with no event: a full pass over every node. (After
			// n3's next event etcd's own term would overwrite the forged
			// one.)
			c.s.Check()
			var msgs []string
			for _, v := range c.s.Violations() {
				if v.Checker == NameLeaderCompleteness {
					msgs = append(msgs, v.Message)
				}
			}
			require.NotEmpty(t, msgs)
			assert.Contains(t, msgs[0], fmt.Sprintf("without committed entry %d/", index))
		})
	}
}

// The checkers forget what every node compacted: over a long run with
// snapshots their records stay within the longest log plus
// a chunk (recordsChunk), instead of growing with the run.
func TestCheckersMemoryIsBounded(t *testing.T) {
	opts := DefaultOptions()
	opts.SnapshotEntries = 16
	c := newCluster(t, clusterOpts{seed: 2, clients: 3, duration: 20 * sim.Second, opts: opts})
	c.runUntil(20 * sim.Second)
	cs := c.s.Checkers()
	lm, sms := cs[1].(*LogMatching), cs[2].(*StateMachineSafety)
	var longest, applied uint64
	for _, id := range c.s.Nodes() {
		n := c.node(id)
		require.NotNil(t, n)
		longest = max(longest, n.lastStored-n.snapIndex)
		applied = max(applied, n.applied)
	}
	t.Logf("applied %d; log matching keeps %d from %d, applied log %d from %d; longest log %d",
		applied, lm.seen.end()-lm.seen.base, lm.seen.base, sms.applied.ents.end()-sms.applied.ents.base, sms.applied.ents.base, longest)
	require.Greater(t, applied, uint64(4*recordsChunk), "the run is too short to show the bound")
	bound := longest + 2*recordsChunk
	assert.LessOrEqual(t, lm.seen.end()-lm.seen.base, bound)
	assert.LessOrEqual(t, sms.applied.ents.end()-sms.applied.ents.base, bound)
	assert.Positive(t, lm.seen.base)
	assert.Positive(t, sms.applied.ents.base)
}

func count(vs []sim.Violation, checker string) int {
	k := 0
	for _, v := range vs {
		if v.Checker == checker {
			k++
		}
	}
	return k
}

func anyContains(msgs []string, sub string) bool {
	for _, m := range msgs {
		if strings.Contains(m, sub) {
			return true
		}
	}
	return false
}

// crashLog records when each node crashed.
type crashLog struct{ at map[sim.NodeID][]sim.Time }

func (l *crashLog) ObserveFault(s *sim.Sim, _ int64, f *sim.Fault) {
	if f.Kind != sim.FaultCrash {
		return
	}
	if l.at == nil {
		l.at = map[sim.NodeID][]sim.Time{}
	}
	l.at[f.Node] = append(l.at[f.Node], s.Now())
}

// restartN2 crashes n2 and runs until it has restarted and re-applied
// its log.
func restartN2(t *testing.T, c *cluster) {
	t.Helper()
	require.NoError(t, c.s.Inject(sim.Fault{Kind: sim.FaultCrash, Node: 2}))
	require.NoError(t, c.s.Inject(sim.Fault{Kind: sim.FaultRestart, Node: 2}))
	for range 1000 {
		if n := c.node(2); n != nil && n.applied >= n.commit && n.commit > bootIndex {
			return
		}
		require.True(t, c.s.Step())
	}
	t.Fatal("n2 did not come back")
}

// A restart re-applies the log from the snapshot, and State Machine
// Safety does not read again the entries it compared before (intact)...
// unless a write batch has covered them since: n2 "rewrites" its log
// from an applied entry i on (a forged batch, its storage unchanged), and
// after its restart the re-applied entry i is compared again, here with
// a record forged to differ, as if another node had applied something
// else at i.
func TestStateMachineSafetyRereadsRewrittenEntriesAfterRestart(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1, clients: 3, duration: 5 * sim.Second})
	c.runUntil(sim.Second)
	sms := c.s.Checkers()[2].(*StateMachineSafety)
	a := sms.applied
	n := c.node(2)
	i := n.applied - 3
	require.Greater(t, i, n.snapIndex+1)
	require.GreaterOrEqual(t, a.nodes[2].intact, i, "entry %d is known intact on n2", i)

	// Without a batch covering i, the restart does not read i again.
	restartN2(t, c)
	c.noFailure()
	require.GreaterOrEqual(t, a.nodes[2].intact, i)

	// A batch from i on, then a restart: i is read again and compared.
	n = c.node(2)
	n.writeGen, n.writeLo, n.writeHi = n.writeGen+1, i, n.lastStored
	require.Zero(t, c.s.Check())
	require.Less(t, a.nodes[2].intact, i)
	was := a.ents.at(i)
	was.raw = string(appendEntry(nil, newEntry(i, was.term, []byte("other"))))
	was.node = 5
	restartN2(t, c)
	vs := c.s.Violations()
	require.Len(t, vs, 1, "%v", vs)
	assert.Equal(t, NameStateMachineSafety, vs[0].Checker)
	assert.Contains(t, vs[0].Message, "n2 applied c")
	assert.Contains(t, vs[0].Message, fmt.Sprintf("at index %d, but n5 applied (5 bytes)", i))
}

// Log Matching does not read a restarted node's log again when the node
// it replaces wrote nothing the checker did not see; when it did (here a
// forged unseen batch, as when the checks skip events), the new
// incarnation's whole log is read: an entry whose record was forged to
// differ is caught.
func TestLogMatchingRereadsAfterUnseenWrites(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1, clients: 3, duration: 5 * sim.Second})
	c.runUntil(sim.Second)
	lm := c.s.Checkers()[1].(*LogMatching)
	i := c.node(2).lastStored - 3
	is := lm.seen.at(i)
	term := is.first.term
	is.first.raw = string(appendEntry(nil, newEntry(i, term, []byte("other"))))
	is.first.node = 5

	// The old n2 wrote nothing unseen: its log is not read again.
	restartN2(t, c)
	c.noFailure()

	// The old n2 wrote two batches the checker did not see.
	c.node(2).writeGen += 2
	restartN2(t, c)
	vs := c.s.Violations()
	require.NotEmpty(t, vs)
	assert.Equal(t, NameLogMatching, vs[0].Checker)
	assert.Contains(t, vs[0].Message, fmt.Sprintf("entry %d/%d is c", i, term))
	assert.Contains(t, vs[0].Message, "on n2 but (5 bytes) on n5")
}

// newEntry is a normal entry.
func newEntry(index, term uint64, data []byte) *pb.Entry {
	return &pb.Entry{Index: proto.Uint64(index), Term: proto.Uint64(term), Type: pb.EntryNormal.Enum(), Data: data}
}
