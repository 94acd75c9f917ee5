package exercises_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/paxos"
	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/exercises"
	"github.com/synod-dev/synod/protocols/exercises/internal/electionlab"
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
	// lose are the tests that must score zero.
	lose []string
}

var corpus = []corpusEntry{
	{"raft-election", "correct", "correct", "a correct solution (the skeleton filled in)", func() *protocols.Spec { return electionlab.Spec("") }, nil},
	{"raft-election", string(electionlab.NoResetOnGrant), "liveness", "election timer not reset when granting a vote", lab(electionlab.NoResetOnGrant), []string{"stable-leader"}},
	{"raft-election", string(electionlab.StaleVoteReplies), "safety", "vote replies from an older term counted: two leaders in a term", lab(electionlab.StaleVoteReplies), []string{"slow-network-safety", "explore-election-safety"}},
	{"raft-election", string(electionlab.IgnoreReplyTerm), "liveness", "leader ignores higher terms in AppendEntries replies", lab(electionlab.IgnoreReplyTerm), []string{"deposed-leader"}},
	{"raft-election", string(electionlab.CandidateNoRearm), "liveness", "candidate does not re-arm its election timer", lab(electionlab.CandidateNoRearm), []string{"split-votes-retry", "stable-leader"}},
	{"raft-election", string(electionlab.CandidateIgnoresLeader), "liveness", "candidate ignores AppendEntries from the leader of its term", lab(electionlab.CandidateIgnoresLeader), []string{"stable-leader"}},
	{"raft-election", string(electionlab.AcceptStaleAppend), "liveness", "follower accepts AppendEntries of a stale term", lab(electionlab.AcceptStaleAppend), []string{"deposed-leader", "partitions-heal"}},
	{"raft-election", string(electionlab.DoubleVote), "safety", "votes twice in one term: two leaders in a term", lab(electionlab.DoubleVote), []string{"stable-leader", "explore-election-safety", "slow-network-safety"}},
	{"raft-election", string(electionlab.NoHeartbeats), "liveness", "elects, but the leader sends no heartbeats", lab(electionlab.NoHeartbeats), []string{"stable-leader"}},
	{"raft-election", string(electionlab.NoAppendHandling), "liveness", "elects, but AppendEntries are ignored", lab(electionlab.NoAppendHandling), []string{"stable-leader"}},
	{"raft-election", string(electionlab.LoopAfterTerm3), "hang", "an infinite loop once the term exceeds 3", lab(electionlab.LoopAfterTerm3), []string{"split-votes-retry"}},
	{"raft-election", string(electionlab.ZeroDelayHeartbeat), "hang", "heartbeat timer re-armed with zero delay (livelock)", lab(electionlab.ZeroDelayHeartbeat), []string{"initial-election", "stable-leader"}},
	{"paxos-single", "ignore-accepted", "safety", "proposer ignores the values its promises report", withOptions("paxos-single", "ignore-accepted", func(o any) { o.(*paxos.Options).Bug = paxos.BugIgnoreAccepted }), []string{"acceptor-crashes"}},
	{"multi-paxos", "ignore-accepted", "safety", "proposer ignores the values its promises report", withOptions("paxos", "ignore-accepted", func(o any) { o.(*paxos.Options).Bug = paxos.BugIgnoreAccepted }), nil},
	{"2pc-recovery", "abort-uncertain", "safety", "participant aborts on its own after voting yes", withOptions("2pc", "abort-uncertain", func(o any) { o.(*twopc.Options).UnsafeAbortUncertain = true }), []string{"2pc-chaos"}},
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
// By default only the listed tests of each entry run (a few seconds, most
// fail at their first seed), and the docs' table is checked to list every
// entry with those tests lost; SYNOD_CORPUS=full grades every test of
// every entry (about a minute on a loaded machine) and checks the table
// row by row.
func TestCorpus(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	full := os.Getenv("SYNOD_CORPUS") == "full"
	rows := map[string]string{}
	for _, e := range corpus {
		t.Run(e.exercise+"/"+e.mistake, func(t *testing.T) {
			o := exercises.Options{}
			if !full {
				if len(e.lose) == 0 {
					t.Skip("graded in full only (SYNOD_CORPUS=full); TestReferenceFullMarks grades the references")
				}
				o.Only = e.lose
			}
			s := grade(t, e, o)
			got, max := s.Total()
			var lost []string
			for _, r := range s.Results {
				if r.Points < r.Max {
					lost = append(lost, fmt.Sprintf("%s (%s)", r.Name, r.Kind))
				}
				if contains(e.lose, r.Name) {
					require.Zero(t, r.Points, "%s must lose %s", e.mistake, r.Name)
				}
				if e.kind == "hang" && r.Kind == "infinite-loop" {
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
			require.Less(t, got, max, "%s/%s loses no points", e.exercise, e.mistake)
			if e.kind == "hang" && full {
				require.Positive(t, got, "a hang costs only the tests it hangs in")
			}
			if len(lost) == 0 {
				lost = []string{"-"}
			}
			rows[e.exercise+"/"+e.mistake] = fmt.Sprintf("| %s | %s | %s | %d/%d | %s |", e.exercise, e.what, e.kind, got, max, strings.Join(lost, ", "))
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
