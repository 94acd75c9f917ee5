package etcdraft

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/sim"
)

// The checkers have teeth. A disk that stores garbage for one entry on
// n2 is invisible to etcd (its MemoryStorage holds the right entry) but
// not to the checkers, which read stable storage: Log Matching sees two
// different entries with one index and term, State Machine Safety sees n2
// "apply" something else there.
func TestCheckersCatchCorruptStorage(t *testing.T) {
	opts := DefaultOptions()
	opts.corrupt, opts.corruptIndex = 2, 5
	c := newCluster(t, clusterOpts{seed: 1, clients: 3, duration: 2 * sim.Second, opts: opts, keepGoing: true})
	c.s.Run()
	require.NoError(t, c.s.Err())
	caught := map[string]bool{}
	for _, v := range c.s.Violations() {
		caught[v.Checker] = true
	}
	require.NotEmpty(t, c.s.Violations())
	require.Less(t, len(c.s.Violations()), 10, "a disagreement is reported once per node, not after every event")
	t.Logf("violations: %v", c.s.Violations())
	assert.True(t, caught[NameLogMatching], "log matching missed it: %v", c.s.Violations())
	assert.True(t, caught[NameStateMachineSafety], "state machine safety missed it: %v", c.s.Violations())
}

// State Machine Safety and Leader Completeness share the record of what
// was applied (NewCheckers): when Leader Completeness reads the entries
// first and meets the disagreement, State Machine Safety still reports it,
// once.
func TestSharedAppliedLogReportsWhatLeaderCompletenessRead(t *testing.T) {
	opts := DefaultOptions()
	opts.corrupt, opts.corruptIndex = 2, 5
	c := newCluster(t, clusterOpts{seed: 1, clients: 3, duration: 2 * sim.Second, opts: opts, keepGoing: true})
	c.s.Run()
	require.NoError(t, c.s.Err())
	cs := NewCheckers()
	sms, lc := cs[2].(*StateMachineSafety), cs[3].(*LeaderCompleteness)
	require.Same(t, sms.applied, lc.applied)
	_ = lc.Check(c.s, nil)
	require.NotNil(t, lc.applied.unreported, "leader completeness read the corrupt entry first")
	err := sms.Check(c.s, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at index 5")
	assert.NoError(t, sms.Check(c.s, nil), "reported once")
}

// Two leaders in one term are caught, whenever they lead.
func TestElectionSafetyCatchesTwoLeaders(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1, duration: 2 * sim.Second})
	c.runUntil(sim.Second)
	l := c.leader()
	require.NotZero(t, l)
	other := l%5 + 1
	n := c.node(other)
	n.state, n.term = raft.StateLeader, c.node(l).term // a forged second leader
	require.Equal(t, 1, c.s.Check())
	assert.Contains(t, c.s.Violations()[0].Message, "both led term")
}

// Leader Completeness: a leader whose stored log lacks an entry that some
// node applied is caught when it takes office.
func TestLeaderCompletenessCatchesMissingEntry(t *testing.T) {
	opts := DefaultOptions()
	opts.corrupt, opts.corruptIndex = 3, 4
	c := newCluster(t, clusterOpts{seed: 1, clients: 2, duration: 2 * sim.Second, opts: opts, keepGoing: true})
	c.s.RunUntil(sim.Second)
	lc := NewLeaderCompleteness()
	require.NoError(t, lc.Check(c.s, nil))
	// Make n3, whose entry 4 is garbage, look like the leader of a new term.
	n := c.node(3)
	n.state, n.term = raft.StateLeader, n.term+100
	err := lc.Check(c.s, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "without committed entry 4/")
}

func TestCheckerNames(t *testing.T) {
	var names []string
	for _, c := range NewCheckers() {
		names = append(names, c.Name())
	}
	assert.Equal(t, []string{NameElectionSafety, NameLogMatching, NameStateMachineSafety, NameLeaderCompleteness}, names)
}

// A checker state survives the deep copy of a checkpoint: the simulator
// copies checkers with the run.
func TestCheckersCheckpoint(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 3, clients: 2, duration: 2 * sim.Second})
	c.runUntil(sim.Second)
	cp := c.s.Checkpoint()
	c.runUntil(2 * sim.Second)
	c.s.Restore(cp)
	assert.Equal(t, sim.Second, c.s.Now())
}

// Log Matching's previous-term rule: n2 stores entry 5 one term too high
// (its data intact), so n2's entry 6 follows a term no other node's entry
// 6 follows. The checker reads each write batch in order, carrying an
// entry's term to the next, and peeks the stored entry before a batch:
// either way the mismatch is caught.
func TestLogMatchingCatchesAWrongPreviousTerm(t *testing.T) {
	opts := DefaultOptions()
	opts.corrupt, opts.corruptIndex, opts.corruptTerm = 2, 5, true
	c := newCluster(t, clusterOpts{seed: 1, clients: 3, duration: 2 * sim.Second, opts: opts, keepGoing: true})
	c.s.Run()
	require.NoError(t, c.s.Err())
	var msgs []string
	for _, v := range c.s.Violations() {
		if v.Checker == NameLogMatching {
			msgs = append(msgs, v.Message)
		}
	}
	t.Logf("log matching: %v", msgs)
	require.NotEmpty(t, msgs, "log matching missed it: %v", c.s.Violations())
	found := false
	for _, m := range msgs {
		found = found || strings.Contains(m, "entry 6/") && strings.Contains(m, "follows term")
	}
	assert.True(t, found, "the entry after the wrong term is reported: %v", msgs)
}

// The checkers look, after an event, only at the node it went to
// (scope): a second leader forged on a follower between events is caught
// by the check after the follower's next event, and by no check before
// it (the other nodes did not change).
func TestScopedCheckCatchesTheNodeTheEventWentTo(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1, duration: 2 * sim.Second})
	c.runUntil(sim.Second)
	l := c.leader()
	require.NotZero(t, l)
	other := l%5 + 1
	n := c.node(other)
	n.state, n.term = raft.StateLeader, c.node(l).term // a forged second leader
	last := &lastEvent{}
	c.s.AddObserver(last)
	for range 10_000 {
		require.True(t, c.s.Step())
		ev := last.r.Event
		if ev.To == other && ev.Kind != sim.KindFault && last.r.Outcome == "" {
			require.Len(t, c.s.Violations(), 1, "caught after %v's event %s", other, ev.Describe())
			assert.Contains(t, c.s.Violations()[0].Message, "both led term")
			return
		}
		require.Empty(t, c.s.Violations(), "after %s, at %v", ev.Describe(), ev.To)
	}
	t.Fatalf("no event reached %v", other)
}

// lastEvent keeps the last event the run processed.
type lastEvent struct{ r sim.Record }

func (l *lastEvent) Observe(_ *sim.Sim, r *sim.Record) { l.r.Event, l.r.Outcome = r.Event, r.Outcome }
