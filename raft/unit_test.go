package raft

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

func TestQuorumIndex(t *testing.T) {
	for _, c := range []struct {
		name  string
		match []int64
		want  int64
	}{
		{"one", []int64{7}, 7},
		{"three agree", []int64{5, 5, 5}, 5},
		{"three", []int64{9, 3, 5}, 5},
		{"four needs three", []int64{9, 8, 1, 2}, 2},
		{"five", []int64{10, 1, 7, 3, 8}, 7},
		{"empty", nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.want, quorumIndex(append([]int64(nil), c.match...)))
		})
	}
}

func TestVoteResult(t *testing.T) {
	for _, c := range []struct {
		granted, refused, voters int
		want                     electionResult
	}{
		{1, 0, 1, voteWon},
		{1, 0, 3, votePending},
		{2, 0, 3, voteWon},
		{1, 2, 3, voteLost},
		{2, 2, 5, votePending},
		{2, 3, 5, voteLost},
		{2, 1, 4, votePending},
		{2, 2, 4, voteLost},
		{3, 0, 4, voteWon},
	} {
		assert.Equal(t, c.want, voteResult(c.granted, c.refused, c.voters), "%+v", c)
	}
}

func TestMajority(t *testing.T) {
	for n, want := range map[int]int{1: 1, 2: 2, 3: 2, 4: 3, 5: 3, 6: 4, 7: 4} {
		assert.Equal(t, want, majority(n), "majority(%d)", n)
	}
}

func testLog() *raftLog {
	l := &raftLog{snapIndex: 10, snapTerm: 2}
	for _, term := range []int64{2, 3, 3, 3, 5, 5} { // indexes 11..16
		l.append(&Entry{Term: term, Kind: EntryNoop})
	}
	return l
}

func TestLogTerms(t *testing.T) {
	l := testLog()
	assert.Equal(t, int64(16), l.last())
	assert.Equal(t, int64(5), l.lastTerm())
	for i, want := range map[int64]int64{10: 2, 11: 2, 12: 3, 14: 3, 16: 5} {
		got, ok := l.term(i)
		assert.True(t, ok, "term(%d)", i)
		assert.Equal(t, want, got, "term(%d)", i)
	}
	_, ok := l.term(9)
	assert.False(t, ok, "compacted index")
	_, ok = l.term(17)
	assert.False(t, ok, "beyond the end")
	assert.Equal(t, int64(12), l.firstOfTerm(14, 3))
	assert.Equal(t, int64(11), l.firstOfTerm(11, 2), "stops at the snapshot")
	assert.Equal(t, int64(14), l.lastOfTerm(3))
	assert.Equal(t, int64(0), l.lastOfTerm(4))
	assert.True(t, l.upToDate(16, 5))
	assert.True(t, l.upToDate(3, 6))
	assert.False(t, l.upToDate(20, 4))
	assert.False(t, l.upToDate(15, 5))
}

func TestLogTruncateDoesNotTouchSharedEntries(t *testing.T) {
	l := testLog()
	shared := l.slice(13, 17) // as a message would hold them
	l.truncateAfter(12)
	l.append(&Entry{Term: 9})
	assert.Equal(t, int64(3), shared[0].Term, "a message's entries changed under it")
	assert.Equal(t, int64(13), l.last())
	assert.Equal(t, uint64(1), l.gen)
	l.compact(12, 3)
	assert.Equal(t, int64(9), l.mustTerm(13))
	assert.Equal(t, int64(3), l.mustTerm(12))
}

func TestEntryEncoding(t *testing.T) {
	for _, e := range []Entry{
		{Term: 3, Kind: EntryNoop},
		{Term: 4, Req: protocols.Request{Client: -2, Seq: 9, Op: protocols.Op{Kind: protocols.OpCAS, Key: "k", Value: "v", Expect: "x"}}},
		{Term: 5, Kind: EntryConfig, Config: &Config{Members: []sim.NodeID{1, 3, 6}, Version: 2, Removed: 2}},
	} {
		var enc protocols.Encoder
		encodeEntry(&enc, &e)
		d := protocols.Decoder{B: enc.B}
		got := decodeEntry(&d)
		require.NoError(t, d.Err)
		assert.Equal(t, e, got)
		assert.Empty(t, d.B)
	}
}

func TestLogKey(t *testing.T) {
	assert.Equal(t, "log/00000000000000ff", logKey(255))
	i, err := parseLogKey(logKey(123456789))
	require.NoError(t, err)
	assert.Equal(t, int64(123456789), i)
}

func TestOptionsValidate(t *testing.T) {
	members := []sim.NodeID{1, 2, 3}
	for _, c := range []struct {
		name string
		edit func(*Options)
		err  string
	}{
		{"defaults", func(*Options) {}, ""},
		{"timeout range", func(o *Options) { o.ElectionTimeoutMax = o.ElectionTimeoutMin - 1 }, "options.election_timeout_max"},
		{"heartbeat", func(o *Options) { o.HeartbeatInterval = o.ElectionTimeoutMin }, "options.heartbeat_interval"},
		{"reads", func(o *Options) { o.Reads = "dirty" }, `options.reads: "dirty"`},
		{"batch", func(o *Options) { o.EntriesPerMessageMax = 0 }, "options.entries_per_message_max"},
		{"add member twice", func(o *Options) { o.Membership = []Change{{Add: 2}} }, "options.membership[0]: n2 is already a member"},
		{"remove stranger", func(o *Options) { o.Membership = []Change{{Add: 4}, {Remove: 5}} }, "options.membership[1]: n5 is not a member"},
		{"add and remove", func(o *Options) { o.Membership = []Change{{Add: 4, Remove: 1}} }, "exactly one"},
		{"outside the run", func(o *Options) { o.Membership = []Change{{Add: 9}} }, "not a node"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := DefaultOptions()
			c.edit(o)
			err := o.Validate(5, members)
			if c.err == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.err)
		})
	}
}

// A restarted node rebuilds exactly its persistent state from storage.
func TestRestartRestoresPersistentState(t *testing.T) {
	opts := DefaultOptions()
	opts.SnapshotEntries = 40
	r := newTestRun(t, 3, 3, 3, 3*sim.Second, opts)
	r.runUntil(2 * sim.Second)
	for _, id := range r.s.Nodes() {
		before := r.node(id)
		term, vote, snap, last := before.term, before.vote, before.log.snapIndex, before.log.last()
		entries := append([]*Entry(nil), before.log.entries...)
		r.inject(sim.Fault{Kind: sim.FaultCrash, Node: id})
		r.inject(sim.Fault{Kind: sim.FaultRestart, Node: id})
		require.True(t, r.s.Step()) // the start event
		after := r.node(id)
		require.NotNil(t, after, "%v did not restart", id)
		assert.Equal(t, term, after.term, "%v term", id)
		assert.Equal(t, vote, after.vote, "%v vote", id)
		assert.Equal(t, snap, after.log.snapIndex, "%v snapshot", id)
		assert.Equal(t, last, after.log.last(), "%v last", id)
		assert.Equal(t, entries, after.log.entries, "%v entries", id)
		assert.Equal(t, Follower, after.role)
	}
	r.runUntil(3 * sim.Second)
}

// Same scenario and seed, same trace, byte for byte, also when runs share
// the process in parallel goroutines.
func TestDeterministicTraces(t *testing.T) {
	sc, err := scenario.Load("../testdata/scenarios/raft/chaos5.yaml")
	require.NoError(t, err)
	trace := func(seed uint64) []byte {
		c := sc.Clone()
		c.Seed = seed
		var buf bytes.Buffer
		_, err := scenario.Run(c, scenario.RunOptions{Trace: &buf})
		require.NoError(t, err)
		return buf.Bytes()
	}
	want := [][]byte{trace(1), trace(2)}
	require.NotEqual(t, want[0], want[1])
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = trace(uint64(i%2 + 1))
		}()
	}
	wg.Wait()
	for i := range got {
		require.True(t, bytes.Equal(want[i%2], got[i]), "run %d differs from the first run of seed %d", i, i%2+1)
	}
}

// PreVote (thesis §9.6): a node cut off from the others does not raise its
// term, so when it comes back it does not depose the leader.
func TestPreVoteKeepsIsolatedNodeTerm(t *testing.T) {
	for _, pre := range []bool{false, true} {
		opts := DefaultOptions()
		opts.PreVote = pre
		r := newTestRun(t, 1, 5, 0, 5*sim.Second, opts)
		r.runUntil(1 * sim.Second)
		l := r.leader()
		require.NotZero(t, l)
		term := r.node(l).term
		victim := sim.NodeID(1)
		if victim == l {
			victim = 2
		}
		r.inject(sim.Fault{Kind: sim.FaultIsolate, Node: victim})
		r.runUntil(3 * sim.Second)
		if pre {
			assert.Equal(t, term, r.node(victim).term, "pre-vote: the isolated node's term moved")
		} else {
			assert.Greater(t, r.node(victim).term, term+3, "without pre-vote the isolated node keeps campaigning")
		}
		r.inject(sim.Fault{Kind: sim.FaultHeal})
		r.runUntil(4 * sim.Second)
		if pre {
			assert.Equal(t, l, r.leader(), "pre-vote: the leader was deposed")
			assert.Equal(t, term, r.node(l).term)
		} else {
			assert.Greater(t, r.node(r.leader()).term, term, "the returning node's term deposes the leader")
		}
	}
}

// CheckQuorum: a leader that cannot hear a majority steps down within
// about an election timeout.
func TestCheckQuorumStepsDown(t *testing.T) {
	for _, cq := range []bool{false, true} {
		opts := DefaultOptions()
		opts.CheckQuorum = cq
		r := newTestRun(t, 1, 5, 0, 5*sim.Second, opts)
		r.runUntil(1 * sim.Second)
		l := r.leader()
		r.inject(sim.Fault{Kind: sim.FaultIsolate, Node: l})
		r.runUntil(1*sim.Second + 2*opts.ElectionTimeoutMin + opts.heartbeat())
		if cq {
			assert.Equal(t, Follower, r.node(l).role, "check quorum: isolated leader still leads")
		} else {
			assert.Equal(t, Leader, r.node(l).role, "without check quorum the isolated leader stays")
		}
	}
}

// Every scenario file opens with a comment saying what it shows, and
// loads.
func TestScenarioFilesDocumented(t *testing.T) {
	files, err := filepath.Glob("../testdata/scenarios/raft/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(b), "# "), "%s must open with a comment", f)
		_, err = scenario.Load(f)
		require.NoError(t, err, f)
	}
}
