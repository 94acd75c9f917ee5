package exercises_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/paxos"
	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/exercises"
	"github.com/synod-dev/synod/protocols/exercises/internal/commitlab"
	"github.com/synod-dev/synod/protocols/exercises/internal/electionlab"
	"github.com/synod-dev/synod/protocols/exercises/internal/mpaxoslab"
	"github.com/synod-dev/synod/protocols/exercises/internal/paxoslab"
	"github.com/synod-dev/synod/protocols/exercises/internal/raftloglab"
	"github.com/synod-dev/synod/protocols/twopc"
)

// The corpus: wrong solutions of the exercises, each graded by the suite
// it was written for. A suite has teeth when each mistake loses the tests
// that name what it breaks (lose), and the correct solutions score full
// marks. TestCorpus checks it and keeps the table in docs/exercises.md.
type corpusEntry struct {
	exercise string
	// mistake names the wrong solution ("correct" for none).
	mistake string
	// kind is "safety" (breaks an invariant), "liveness" (no or slow
	// progress), "hang" (never returns) or "correct".
	kind string
	// what says in a few words what the solution does wrong.
	what string
	spec func() *protocols.Spec
	// lose are the tests that must score zero, cheapest first: the
	// default run grades the first only, SYNOD_CORPUS=full all.
	lose []string
	// survives, for a mistake the suite does not catch yet, says why; the
	// full run requires it to keep full marks (so that a suite that
	// starts catching it is noticed) and the docs' table says so.
	survives string
}

var corpus = []corpusEntry{
	{"raft-election", "correct", "correct", "a correct solution (the skeleton filled in)", func() *protocols.Spec { return electionlab.Spec("") }, nil, ""},
	{"raft-election", string(electionlab.NoResetOnGrant), "liveness", "election timer not reset when granting a vote", lab(electionlab.NoResetOnGrant), []string{"stable-leader"}, ""},
	{"raft-election", string(electionlab.StaleVoteReplies), "safety", "vote replies from an older term counted: two leaders in a term", lab(electionlab.StaleVoteReplies), []string{"slow-network-safety", "explore-election-safety"}, ""},
	{"raft-election", string(electionlab.IgnoreReplyTerm), "liveness", "leader ignores higher terms in AppendEntries replies", lab(electionlab.IgnoreReplyTerm), []string{"deposed-leader"}, ""},
	{"raft-election", string(electionlab.CandidateNoRearm), "liveness", "candidate does not re-arm its election timer", lab(electionlab.CandidateNoRearm), []string{"split-votes-retry", "stable-leader"}, ""},
	{"raft-election", string(electionlab.CandidateIgnoresLeader), "liveness", "candidate ignores AppendEntries from the leader of its term", lab(electionlab.CandidateIgnoresLeader), []string{"stable-leader"}, ""},
	{"raft-election", string(electionlab.AcceptStaleAppend), "liveness", "follower accepts AppendEntries of a stale term", lab(electionlab.AcceptStaleAppend), []string{"deposed-leader", "partitions-heal"}, ""},
	{"raft-election", string(electionlab.DoubleVote), "safety", "votes twice in one term: two leaders in a term", lab(electionlab.DoubleVote), []string{"stable-leader", "explore-election-safety", "slow-network-safety"}, ""},
	{"raft-election", string(electionlab.NoHeartbeats), "liveness", "elects, but the leader sends no heartbeats", lab(electionlab.NoHeartbeats), []string{"stable-leader"}, ""},
	{"raft-election", string(electionlab.NoAppendHandling), "liveness", "elects, but AppendEntries are ignored", lab(electionlab.NoAppendHandling), []string{"stable-leader"}, ""},
	{"raft-election", string(electionlab.LoopAfterTerm3), "hang", "an infinite loop once the term exceeds 3", lab(electionlab.LoopAfterTerm3), []string{"split-votes-retry"}, ""},
	{"raft-election", string(electionlab.ZeroDelayHeartbeat), "hang", "heartbeat timer re-armed with zero delay (livelock)", lab(electionlab.ZeroDelayHeartbeat), []string{"initial-election", "stable-leader"}, ""},
	{"raft-replication", "correct", "correct", "a correct solution (the skeleton filled in)", rlab(""), nil, ""},
	{"raft-replication", string(raftloglab.NoConsistencyCheck), "safety", "follower appends without the PrevLogIndex/PrevLogTerm check", rlab(raftloglab.NoConsistencyCheck), []string{"replication-chaos", "follower-isolated", "leader-partitions"}, ""},
	{"raft-replication", string(raftloglab.KeepConflicts), "safety", "conflicting entries not truncated", rlab(raftloglab.KeepConflicts), []string{"replication-chaos"}, ""},
	{"raft-replication", string(raftloglab.TruncateMatching), "safety", "a stale AppendEntries truncates a matching suffix", rlab(raftloglab.TruncateMatching), []string{"replication-chaos", "follower-isolated"}, ""},
	{"raft-replication", string(raftloglab.CommitOldTerms), "safety", "entries of earlier terms committed by counting replicas (Figure 8)", rlab(raftloglab.CommitOldTerms), []string{"leader-strikes"}, ""},
	{"raft-replication", string(raftloglab.MinorityCommit), "safety", "commit once half the nodes store an entry (a minority)", rlab(raftloglab.MinorityCommit), []string{"leader-partitions", "replication-chaos"}, ""},
	{"raft-replication", string(raftloglab.ApplyOnAppend), "safety", "leader applies and answers before a majority stores the entry", rlab(raftloglab.ApplyOnAppend), []string{"leader-partitions", "replication-chaos"}, ""},
	{"raft-replication", string(raftloglab.FollowerCommitsLog), "safety", "follower commits its whole log, past the leader's commit index", rlab(raftloglab.FollowerCommitsLog), []string{"leader-partitions", "replication-chaos"}, ""},
	{"raft-replication", string(raftloglab.CommitPastNew), "safety", "follower's commit index not bounded by the last new entry", rlab(raftloglab.CommitPastNew), []string{"leader-partitions"}, ""},
	{"raft-replication", string(raftloglab.OffByOneMatch), "safety", "matchIndex one past what the follower acknowledged", rlab(raftloglab.OffByOneMatch), []string{"basic-agreement", "follower-isolated", "leader-partitions", "lossy-network", "replication-chaos"}, ""},
	{"raft-replication", string(raftloglab.OffByOneSlice), "safety", "entries sent from nextIndex+1 instead of nextIndex", rlab(raftloglab.OffByOneSlice), []string{"lossy-network", "basic-agreement", "follower-isolated", "leader-partitions", "replication-chaos"}, ""},
	{"raft-replication", string(raftloglab.NoLogCheckVote), "safety", "votes without the election restriction (§5.4.1)", rlab(raftloglab.NoLogCheckVote), []string{"replication-chaos", "leader-partitions"}, ""},
	{"raft-replication", string(raftloglab.EmptyHeartbeats), "liveness", "entries sent once, never retried by heartbeats", rlab(raftloglab.EmptyHeartbeats), []string{"lossy-network", "basic-agreement", "follower-isolated", "leader-partitions", "replication-chaos"}, ""},
	{"raft-replication", string(raftloglab.LeaderNoRearm), "liveness", "a leader's election timer not re-armed: deposed, it never stands again", rlab(raftloglab.LeaderNoRearm), []string{"leader-strikes"}, ""},
	{"raft-persistence", "correct", "correct", "a correct solution (the skeleton filled in)", rlab(""), nil, ""},
	{"raft-persistence", string(raftloglab.NoPersistVote), "safety", "term and vote not saved before granting a vote", rlab(raftloglab.NoPersistVote), []string{"votes-survive-crashes"}, ""},
	{"raft-persistence", string(raftloglab.NoPersistLog), "safety", "follower acknowledges entries it has not saved", rlab(raftloglab.NoPersistLog), []string{"follower-restart", "crash-chaos"}, ""},
	{"raft-persistence", string(raftloglab.NothingPersisted), "safety", "nothing saved at all", rlab(raftloglab.NothingPersisted), []string{"follower-restart", "full-cluster-restart", "crash-chaos"}, ""},
	{"raft-snapshots", "correct", "correct", "a correct solution (the skeleton filled in)", rlab(""), nil, ""},
	{"raft-snapshots", string(raftloglab.SnapshotLosesTerm), "safety", "snapshot loses its last included term", rlab(raftloglab.SnapshotLosesTerm), []string{"election-after-compaction"}, ""},
	{"raft-snapshots", string(raftloglab.SnapshotLosesIndex), "safety", "restarted node loses its snapshot's last included index", rlab(raftloglab.SnapshotLosesIndex), []string{"snapshot-chaos", "election-after-compaction"}, ""},
	{"raft-snapshots", string(raftloglab.ForgetSnapshot), "safety", "restarted node forgets its snapshot's store", rlab(raftloglab.ForgetSnapshot), []string{"snapshot-chaos"}, ""},
	{"raft-snapshots", string(raftloglab.InstallIgnoresData), "safety", "InstallSnapshot keeps the follower's own store", rlab(raftloglab.InstallIgnoresData), []string{"snapshot-chaos"}, ""},
	{"raft-snapshots", string(raftloglab.NoInstallSnapshot), "liveness", "leader never sends InstallSnapshot", rlab(raftloglab.NoInstallSnapshot), []string{"install-snapshot"}, ""},
	{"paxos-single", "correct", "correct", "a correct solution (the skeleton filled in)", plab(""), nil, ""},
	{"paxos-single", string(paxoslab.FirstReported), "safety", "proposer adopts the first reported value, not the highest ballot's", plab(paxoslab.FirstReported), []string{"acceptor-crashes"}, ""},
	{"paxos-single", string(paxoslab.IgnoreAccepted), "safety", "proposer always proposes its own value", plab(paxoslab.IgnoreAccepted), []string{"acceptor-crashes", "dueling-proposers"}, ""},
	{"paxos-single", string(paxoslab.AcceptBelowPromise), "safety", "acceptor accepts a ballot below its promise", plab(paxoslab.AcceptBelowPromise), []string{"dueling-proposers", "acceptor-crashes"}, ""},
	{"paxos-single", string(paxoslab.PromiseNotPersisted), "safety", "promise not saved: a restarted acceptor forgets it", plab(paxoslab.PromiseNotPersisted), []string{"acceptor-crashes"}, ""},
	{"paxos-single", string(paxoslab.AcceptedNotPersisted), "safety", "accepted proposal not saved", plab(paxoslab.AcceptedNotPersisted), []string{"acceptor-crashes"}, ""},
	{"paxos-single", string(paxoslab.MinorityChosen), "safety", "value declared chosen by half the acceptors", plab(paxoslab.MinorityChosen), []string{"acceptor-crashes"}, ""},
	{"paxos-single", string(paxoslab.NoRetry), "liveness", "preempted proposer never retries", plab(paxoslab.NoRetry), []string{"retry-after-loss"}, ""},
	{"multi-paxos", "correct", "correct", "a correct solution (the skeleton filled in)", mlab(""), nil, ""},
	{"multi-paxos", string(mpaxoslab.FirstReported), "safety", "new leader adopts the first reported value of a slot", mlab(mpaxoslab.FirstReported), []string{"stale-acceptor"}, ""},
	{"multi-paxos", string(mpaxoslab.AcceptBelowPromise), "safety", "acceptor accepts a ballot below its promise", mlab(mpaxoslab.AcceptBelowPromise), []string{"dueling-leaders", "promises-survive-crashes"}, ""},
	{"multi-paxos", string(mpaxoslab.PromiseNotPersisted), "safety", "promise not saved: a restarted acceptor forgets it", mlab(mpaxoslab.PromiseNotPersisted), []string{"promises-survive-crashes"}, ""},
	{"multi-paxos", string(mpaxoslab.SlotReuse), "safety", "new leader reuses slots the promises reported", mlab(mpaxoslab.SlotReuse), []string{"crash-restart", "stale-acceptor", "promises-survive-crashes", "multipaxos-chaos"}, ""},
	{"multi-paxos", string(mpaxoslab.NoGapFill), "liveness", "gaps between reported slots not filled with no-ops", mlab(mpaxoslab.NoGapFill), []string{"gaps-filled"}, ""},
	{"multi-paxos", string(mpaxoslab.NoResendAccept), "liveness", "a lost Accept never sent again", mlab(mpaxoslab.NoResendAccept), []string{"lost-accepts"}, ""},
	{"2pc-recovery", "correct", "correct", "a correct solution (the skeleton filled in)", clab(""), nil, ""},
	{"2pc-recovery", string(commitlab.ForgetVote), "safety", "participant forgets its yes vote after a restart (not saved)", clab(commitlab.ForgetVote), []string{"2pc-chaos", "participant-crash"}, ""},
	{"2pc-recovery", string(commitlab.CommitOnTimeout), "safety", "coordinator decides commit when votes time out", clab(commitlab.CommitOnTimeout), []string{"2pc-chaos", "participant-crash"}, ""},
	{"2pc-recovery", string(commitlab.DecisionNotLogged), "safety", "commit decision sent before (without) being logged", clab(commitlab.DecisionNotLogged), []string{"2pc-chaos"}, ""},
	{"2pc-recovery", string(commitlab.AbortUncertain), "safety", "participant aborts on its own after voting yes", clab(commitlab.AbortUncertain), []string{"2pc-chaos"}, ""},
	{"2pc-recovery", string(commitlab.NoRetransmit), "liveness", "decisions sent once, never asked for again", clab(commitlab.NoRetransmit), []string{"2pc-chaos", "coordinator-crash", "participant-crash"}, ""},
	{"paxos-single", "ref-ignore-accepted", "safety", "reference paxos-single, bug ignore-accepted", withOptions("paxos-single", "ignore-accepted", func(o any) { o.(*paxos.Options).Bug = paxos.BugIgnoreAccepted }), []string{"acceptor-crashes"}, ""},
	{"multi-paxos", "ref-ignore-accepted", "safety", "reference paxos, bug ignore-accepted", withOptions("paxos", "ignore-accepted", func(o any) { o.(*paxos.Options).Bug = paxos.BugIgnoreAccepted }), []string{"crash-restart", "leader-partitions", "multipaxos-chaos"}, ""},
	{"2pc-recovery", "ref-abort-uncertain", "safety", "reference 2pc, unsafe_abort_uncertain", withOptions("2pc", "abort-uncertain", func(o any) { o.(*twopc.Options).UnsafeAbortUncertain = true }), []string{"2pc-chaos"}, ""},
}

func rlab(b raftloglab.Bug) func() *protocols.Spec {
	return func() *protocols.Spec { return raftloglab.Spec(b) }
}

func plab(b paxoslab.Bug) func() *protocols.Spec {
	return func() *protocols.Spec { return paxoslab.Spec(b) }
}

func mlab(b mpaxoslab.Bug) func() *protocols.Spec {
	return func() *protocols.Spec { return mpaxoslab.Spec(b) }
}

func clab(b commitlab.Bug) func() *protocols.Spec {
	return func() *protocols.Spec { return commitlab.Spec(b) }
}

func lab(b electionlab.Bug) func() *protocols.Spec {
	return func() *protocols.Spec { return electionlab.Spec(b) }
}

// withOptions is a registered reference protocol with one of its
// deliberate bugs switched on, under a name of its own.
func withOptions(name, bug string, set func(any)) func() *protocols.Spec {
	return func() *protocols.Spec {
		ref, err := protocols.Lookup(name)
		if err != nil {
			panic(err)
		}
		s := *ref
		s.Name = name + "-" + bug
		s.Options = func() any { o := ref.Options(); set(o); return o }
		return &s
	}
}

// envCorpusEntry names the corpus entry a child process grades.
const envCorpusEntry = "SYNOD_CORPUS_ENTRY"

// TestCorpusChild is the child process of an isolated corpus grading: it
// runs one test of one entry (named by the environment) under the
// watchdog. Without the environment it does nothing.
func TestCorpusChild(t *testing.T) {
	name := os.Getenv(envCorpusEntry)
	if name == "" {
		t.Skip("runs only as the child of TestCorpus")
	}
	e := entry(t, name)
	tc := testOf(t, e.exercise, os.Getenv("SYNOD_GRADE_CHILD"))
	exercises.RunChild(&tc, e.spec(), exercises.Options{}, os.Getenv("SYNOD_GRADE_RESULT"))
}

func entry(t *testing.T, key string) corpusEntry {
	for _, e := range corpus {
		if e.exercise+"/"+e.mistake == key {
			return e
		}
	}
	t.Fatalf("no corpus entry %s", key)
	return corpusEntry{}
}

// grade grades an entry: in this process, or for a hang each test in a
// process of its own, as the students' grading does.
func grade(t *testing.T, e corpusEntry, o exercises.Options) *exercises.Score {
	ex, err := exercises.Lookup(e.exercise)
	require.NoError(t, err)
	if e.kind != "hang" {
		s, err := exercises.Grade(ex, e.spec(), o)
		require.NoError(t, err)
		return s
	}
	s := &exercises.Score{Exercise: ex.Name, Protocol: e.spec().Name}
	for i := range ex.Tests {
		tc := &ex.Tests[i]
		if len(o.Only) > 0 && !contains(o.Only, tc.Name) {
			continue
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCorpusChild$")
		cmd.Env = append(os.Environ(), envCorpusEntry+"="+e.exercise+"/"+e.mistake)
		s.Results = append(s.Results, exercises.RunIsolated(tc, cmd))
	}
	return s
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCorpus grades every wrong solution of the corpus and requires the
// suites to catch each: a mistake loses the tests listed for it (the
// tests that name the property it breaks) and some points in all; a hang
// fails the tests it hangs in, named as an infinite loop with its seed
// and event, while the other tests still score; the correct solution
// scores full marks. The table of scores is docs/exercises.md's (rewrite
// it with SYNOD_CORPUS=full SYNOD_UPDATE_DOCS=1).
//
// By default only the first listed test of each entry runs, unshrunk
// (most fail at their first seed), and the docs' table is checked to list
// every entry with its tests lost; SYNOD_CORPUS=full grades every test of
// every entry, correct solutions and known survivors included, and checks
// the table row by row. A mistake the suites do not catch yet is listed
// with the reason (survives) and must keep full marks, so that a stronger
// suite is noticed.
func TestCorpus(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	full := os.Getenv("SYNOD_CORPUS") == "full"
	rows := map[string]string{}
	for _, e := range corpus {
		t.Run(e.exercise+"/"+e.mistake, func(t *testing.T) {
			o := exercises.Options{NoShrink: true}
			if !full {
				if len(e.lose) == 0 {
					t.Skip("graded in full only (SYNOD_CORPUS=full); TestReferenceFullMarks grades the references")
				}
				o.Only = e.lose[:1]
			}
			start := time.Now()
			s := grade(t, e, o)
			got, max := s.Total()
			defer func() { t.Logf("%s (%v)", rows[e.exercise+"/"+e.mistake], time.Since(start).Round(time.Millisecond)) }()
			var lost []string
			for _, r := range s.Results {
				if r.Points < r.Max {
					lost = append(lost, fmt.Sprintf("%s (%s)", r.Name, r.Kind))
				}
				if contains(e.lose, r.Name) {
					require.Zero(t, r.Points, "%s must lose %s", e.mistake, r.Name)
				}
				if e.kind == "hang" && r.Kind == "infinite-loop" {
					// The watchdog's result counts the seeds reached, the
					// hanging one included.
					if tc := testOf(t, e.exercise, r.Name); tc.Kind != "explore" {
						require.Positive(t, r.Seeds, "%s: a watchdog's result shows 0 seeds", r.Name)
					}
					require.Contains(t, r.Failure, "seed ")
					require.Contains(t, r.Failure, "in event #")
					require.Contains(t, r.Failure, "retest: ")
				}
			}
			if e.kind == "correct" {
				require.Equal(t, max, got, "%s", strings.Join(lost, ", "))
				rows[e.exercise+"/"+e.mistake] = fmt.Sprintf("| %s | %s | %s | %d/%d | - |", e.exercise, e.what, e.kind, got, max)
				return
			}
			if e.survives != "" {
				rows[e.exercise+"/"+e.mistake] = fmt.Sprintf("| %s | %s | %s | %d/%d | not caught: %s |", e.exercise, e.what, e.kind, got, max, e.survives)
				require.Equal(t, max, got, "%s/%s is listed as not caught but loses %s: give it the tests it loses", e.exercise, e.mistake, strings.Join(lost, ", "))
				return
			}
			if len(lost) == 0 {
				lost = []string{"-"}
			}
			rows[e.exercise+"/"+e.mistake] = fmt.Sprintf("| %s | %s | %s | %d/%d | %s |", e.exercise, e.what, e.kind, got, max, strings.Join(lost, ", "))
			require.Less(t, got, max, "%s/%s loses no points", e.exercise, e.mistake)
			if e.kind == "hang" && full {
				require.Positive(t, got, "a hang costs only the tests it hangs in")
			}
		})
	}
	if t.Failed() {
		return
	}
	if !full {
		checkCorpusRows(t)
		return
	}
	var b strings.Builder
	b.WriteString("| exercise | wrong solution | kind | score | tests lost (kind of failure) |\n|---|---|---|---|---|\n")
	for _, e := range corpus {
		if r, ok := rows[e.exercise+"/"+e.mistake]; ok {
			b.WriteString(r + "\n")
		}
	}
	checkDocsSection(t, "corpus", b.String())
}

// checkCorpusRows checks, without grading in full, that the docs' corpus
// table has a row for every entry that names the tests it must lose.
func checkCorpusRows(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "exercises.md"))
	require.NoError(t, err)
	for _, e := range corpus {
		prefix := fmt.Sprintf("| %s | %s | %s | ", e.exercise, e.what, e.kind)
		i := strings.Index(string(b), prefix)
		require.GreaterOrEqual(t, i, 0, "docs/exercises.md has no corpus row %q (SYNOD_CORPUS=full SYNOD_UPDATE_DOCS=1 rewrites the table)", prefix)
		row, _, _ := strings.Cut(string(b)[i:], "\n")
		if e.survives != "" {
			require.Contains(t, row, "not caught: "+e.survives, "row %q", row)
		}
		for _, name := range e.lose {
			require.Contains(t, row, name+" (", "row %q", row)
		}
	}
}

// checkDocsSection checks that docs/exercises.md holds text between
// <!-- NAME:begin --> and <!-- NAME:end -->, or rewrites it there when
// SYNOD_UPDATE_DOCS=1.
func checkDocsSection(t *testing.T, name, text string) {
	t.Helper()
	path := filepath.Join("..", "..", "docs", "exercises.md")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	begin, end := "<!-- "+name+":begin -->\n", "<!-- "+name+":end -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	require.True(t, i >= 0 && j > i, "%s has no %s...%s section", path, begin, end)
	have := doc[i+len(begin) : j]
	if os.Getenv("SYNOD_UPDATE_DOCS") == "1" {
		require.NoError(t, os.WriteFile(path, []byte(doc[:i+len(begin)]+text+doc[j:]), 0o644))
		return
	}
	require.Equal(t, text, have, "%s is stale: rerun with SYNOD_UPDATE_DOCS=1 and review the diff", path)
}
