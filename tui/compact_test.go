package tui

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/synod-dev/synod/paxos"
	_ "github.com/synod-dev/synod/protocols/twopc"
	"github.com/synod-dev/synod/sim"
)

// TestCompact holds the narrow panes' short form of the one renderer's
// line: the kind and the answer must both survive (issue 24: at 80
// columns "raft.RequestV…" told RequestVote from its reply no more than
// it told "granted").
func TestCompact(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"n3->n5 raft.RequestVote term=2 last=0/0", "n3->n5 ReqVote term=2 last=0/0"},
		{"n2->n3 raft.RequestVoteReply term=2 granted", "n2->n3 ReqVoteRep✓ term=2"},
		{"n2->n3 raft.RequestVoteReply term=2 rejected pre", "n2->n3 ReqVoteRep✗ term=2 pre"},
		{"n1->n3 raft.AppendEntriesReply term=2 ok match=4", "n1->n3 AppEntRep✓ term=2 match=4"},
		{"n1->n3 raft.AppendEntriesReply term=2 reject=5 conflict=3/1", "n1->n3 AppEntRep✗ term=2 reject=5 conflict=3/1"},
		{"n3->n1 twopc.Vote t1.7 yes", "n3->n1 Vote✓ t1.7"},
		{"n4->n1 twopc.Vote t1.8 no lock conflict", "n4->n1 Vote✗ t1.8 lock conflict"},
		{"n3 timer election", "n3 ⏱election"}, {"c1 timer retry(1)", "c1 ⏱retry(1)"},
		{"c1->n2 client.Request c1#4 put k1=v", "c1->n2 Req c1#4 put k1=v"},
	} {
		t.Run(c.in, func(t *testing.T) {
			if got := compact(c.in); got != c.want {
				t.Errorf("compact(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// TestTimerNames: a protocol that names its timers (TimerNamer) is
// shown by name in the event log, the messages pane and the cards: 2PC's
// timers carry a transaction id, which the raw renderer printed as
// work(4294967302) (issue 24).
func TestTimerNames(t *testing.T) {
	m := newTestModel(t, testScenario(t, "2pc", 4, 7), Options{})
	press(m, "]", "t")
	named := 0
	for _, e := range m.sess.Log() {
		if e.Kind == sim.KindTimer && e.To.IsNode() {
			assert.Regexp(t, `timer \S+ t\d+\.\d+$`, e.Text, "event %d names its transaction", e.Index)
			named++
		}
	}
	require.Greater(t, named, 0, "the first %d events of a 2PC run fire node timers", jumpEvents)
	s := screen(m)
	assert.NotRegexp(t, `\(\d{6,}\)`, s, "no raw transaction id on screen")
	assert.Regexp(t, `⏱\S+ t\d+\.\d+`, s, "timers are listed by name")
}

// TestBallotNotation: Paxos's ballot reads the same on the card and in
// the details (round.node), not "ballot 1" in one and "ballot: 0.0" in
// the other (issue 24).
func TestBallotNotation(t *testing.T) {
	for _, proto := range []string{"paxos", "paxos-single"} {
		t.Run(proto, func(t *testing.T) {
			m := newTestModel(t, testScenario(t, proto, 3, 1), Options{})
			press(m, "]", "enter")
			v, ok := m.sess.Sim().Inspect(1)
			require.True(t, ok)
			bal := v.Get("ballot")
			require.Regexp(t, `^\d+\.\d+$`, bal)
			s := screen(m)
			assert.Regexp(t, `n1 ● \S+\s+ballot `+regexp.QuoteMeta(bal)+` `, s, "the card shows the ballot as round.node")
			assert.Contains(t, s, "ballot "+bal+"  leader", "the details show the same notation")
			assert.NotContains(t, s, "ballot: ", "and not a second time")
		})
	}
}
