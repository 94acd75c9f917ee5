package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

func TestBallotOrder(t *testing.T) {
	for _, c := range []struct {
		a, b Ballot
		less bool
	}{
		{Ballot{1, 1}, Ballot{1, 2}, true},
		{Ballot{1, 2}, Ballot{2, 1}, true},
		{Ballot{2, 1}, Ballot{1, 5}, false},
		{Ballot{3, 3}, Ballot{3, 3}, false},
		{Ballot{}, Ballot{1, 1}, true},
	} {
		t.Run(c.a.String()+"<"+c.b.String(), func(t *testing.T) {
			require.Equal(t, c.less, c.a.Less(c.b))
		})
	}
}

func TestBallotNext(t *testing.T) {
	for _, c := range []struct {
		seen Ballot
		id   sim.NodeID
		want Ballot
	}{
		{Ballot{}, 3, Ballot{1, 3}},
		{Ballot{1, 2}, 3, Ballot{1, 3}},
		{Ballot{1, 3}, 3, Ballot{2, 3}},
		{Ballot{1, 4}, 3, Ballot{2, 3}},
		{Ballot{7, 1}, 2, Ballot{7, 2}},
	} {
		got := c.seen.next(c.id)
		require.Equal(t, c.want, got, "next after %v for %v", c.seen, c.id)
		require.True(t, c.seen.Less(got))
	}
}

func TestQuorumSizes(t *testing.T) {
	for _, c := range []struct {
		name         string
		n, q1, q2    int
		want1, want2 int
		err          string
	}{
		{"majority of 5", 5, 0, 0, 3, 3, ""},
		{"majority of 4", 4, 0, 0, 3, 3, ""},
		{"flexible 4+2 of 5", 5, 4, 2, 4, 2, ""},
		{"flexible 5+1 of 5", 5, 5, 1, 5, 1, ""},
		{"no overlap", 5, 2, 3, 0, 0, "options.quorum1: 2 + quorum2 3 <= 5"},
		{"q1 too big", 3, 4, 0, 0, 0, "options.quorum1: 4 is outside 1..3"},
		{"q2 negative", 3, 0, -1, 0, 0, "options.quorum2: -1 is outside 1..3"},
	} {
		t.Run(c.name, func(t *testing.T) {
			q1, q2, err := quorumSizes(c.n, c.q1, c.q2)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, [2]int{c.want1, c.want2}, [2]int{q1, q2})
		})
	}
}

func TestVoters(t *testing.T) {
	var v voters
	v = v.add(1).add(3).add(3).add(64)
	require.Equal(t, 3, v.count())
	require.True(t, v.has(64))
	require.False(t, v.has(2))
	require.True(t, v.reached(3))
	require.False(t, v.reached(4))
}

func TestBallotText(t *testing.T) {
	for _, b := range []Ballot{{}, {1, 1}, {42, 7}} {
		text, err := b.MarshalText()
		require.NoError(t, err)
		var got Ballot
		require.NoError(t, got.UnmarshalText(text))
		require.Equal(t, b, got)
	}
	var b Ballot
	require.Error(t, b.UnmarshalText([]byte("3")))
	require.Error(t, b.UnmarshalText([]byte("x.1")))
}
