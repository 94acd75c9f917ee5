package raft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

func TestInspectView(t *testing.T) {
	r := newTestRun(t, 1, 3, 2, 2*sim.Second, nil)
	r.runUntil(1 * sim.Second)
	l := r.leader()
	require.NotZero(t, l)
	v := r.node(l).Inspect()
	assert.Equal(t, "leader", v.Role)
	assert.Equal(t, "term", v.TermLabel)
	assert.Equal(t, l, v.Leader)
	assert.Positive(t, v.Commit)
	assert.LessOrEqual(t, len(v.Log), viewLogLines)
	assert.Equal(t, v.LogLen, v.Log[len(v.Log)-1].Index)
	assert.NotEmpty(t, v.Get("votedFor"))
	assert.Equal(t, "{n1,n2,n3} v0", v.Get("config"))
	require.Len(t, v.Tables, 1)
	assert.Equal(t, []string{"node", "next", "match", "state"}, v.Tables[0].Columns)
	assert.Len(t, v.Tables[0].Rows, 2)
	for _, id := range r.s.Nodes() {
		if id != l {
			fv := r.node(id).Inspect()
			assert.Equal(t, "follower", fv.Role)
			assert.Empty(t, fv.Tables)
		}
	}
}

func TestRegistered(t *testing.T) {
	spec, err := protocols.Lookup("raft")
	require.NoError(t, err)
	assert.True(t, spec.Linearizable)
	assert.Len(t, spec.Checkers(protocols.Cluster{Nodes: 3}), 8) // Figure 3's six, StaleLeader, Progress
	opts := spec.Options().(*Options)
	opts.Reads = "stale"
	_, err = spec.New(protocols.Cluster{Nodes: 3, Options: opts})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "options.reads")
	newNode, err := spec.New(protocols.Cluster{Nodes: 3, Options: DefaultOptions()})
	require.NoError(t, err)
	assert.NotNil(t, newNode(1))
}

// Every message type describes itself on one line.
func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		m    sim.Message
		want string
	}{
		{&AppendEntries{Term: 3, PrevIndex: 12, PrevTerm: 2, Entries: make([]*Entry, 3), Commit: 11}, "term=3 prev=12/2 n=3 commit=11"},
		{&AppendEntriesReply{Term: 3, Success: true, Match: 14}, "term=3 ok match=14"},
		{&AppendEntriesReply{Term: 3, Reject: 12, ConflictTerm: 2, ConflictIndex: 9}, "term=3 reject=12 conflict=9/2"},
		{&RequestVote{Term: 4, LastIndex: 7, LastTerm: 3, PreVote: true}, "term=4 last=7/3 pre"},
		{&RequestVoteReply{Term: 4, Granted: true}, "term=4 granted"},
		{&InstallSnapshot{Term: 5, Index: 100, LastTerm: 4, Data: make([]byte, 10)}, "term=5 index=100/4 bytes=10"},
	} {
		assert.Equal(t, c.want, c.m.(interface{ Describe() string }).Describe())
	}
}

// TestInspectVotes: a candidate's view lists each member's answer to its
// campaign and its tally, and a leader's says whom it was elected by (the
// TUI shows why a node won, issue 24).
func TestInspectVotes(t *testing.T) {
	r := newTestRun(t, 7, 5, 0, 2*sim.Second, nil)
	sawCandidate, sawAnswer := false, false
	for i := 0; i < 10000 && r.leader() == 0; i++ {
		require.True(t, r.s.Step(), "the run stopped before a leader at step %d", i)
		for _, id := range r.s.Nodes() {
			n := r.node(id)
			if n == nil || n.role != Candidate {
				continue
			}
			sawCandidate = true
			v := n.Inspect()
			require.Len(t, v.Tables, 1, "%v's view: one votes table", id)
			tb := v.Tables[0]
			assert.Equal(t, "votes for term "+itoa(n.term), tb.Title)
			require.Len(t, tb.Rows, 5, "one row per member")
			granted, refused := 0, 0
			for _, row := range tb.Rows {
				p, err := sim.ParseNodeID(row[0])
				require.NoError(t, err)
				want := map[int8]string{1: "granted", -1: "refused", 0: "waiting"}[n.votes[p]]
				if p == id {
					want = "granted (itself)"
				}
				assert.Equal(t, want, row[1], "%v's answer to %v", p, id)
				switch n.votes[p] {
				case 1:
					granted++
				case -1:
					refused++
				}
				sawAnswer = sawAnswer || (p != id && n.votes[p] != 0)
			}
			assert.Equal(t, itoa(int64(granted))+" of 3 needed, "+itoa(int64(refused))+" refused", v.Get("votes"))
		}
	}
	require.True(t, sawCandidate, "a candidate on the way to the first leader")
	assert.True(t, sawAnswer, "a candidate that heard an answer")
	l := r.leader()
	require.NotZero(t, l)
	lv := r.node(l).Inspect()
	by := lv.Get("elected by")
	assert.Regexp(t, `^(n\d ?){3,5} \([345] of 5\)$`, by)
	assert.Contains(t, by, l.String(), "a leader voted for itself")
}
