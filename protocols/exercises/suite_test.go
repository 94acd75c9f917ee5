package exercises_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/exercises"
	"github.com/synod-dev/synod/protocols/exercises/internal/mpaxoslab"
	"github.com/synod-dev/synod/protocols/exercises/internal/raftloglab"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/synodtest"
)

// testOf returns a copy of an exercise's named test.
func testOf(t *testing.T, exercise, name string) exercises.Test {
	t.Helper()
	ex, err := exercises.Lookup(exercise)
	require.NoError(t, err)
	for _, tc := range ex.Tests {
		if tc.Name == name {
			return tc
		}
	}
	t.Fatalf("%s has no test %s", exercise, name)
	return exercises.Test{}
}

// TestSuitesCatchBrokenReferences checks that the graded tests are not
// vacuous: the references with a bug switched on, or a feature switched
// off, lose the test's points, for the reason the test is about.
func TestSuitesCatchBrokenReferences(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	cases := []struct {
		exercise, test, protocol, options, kind, want string
	}{
		// A participant that aborts on its own after voting yes breaks
		// atomicity (the reference's own checker runs too, and is first).
		{"2pc-recovery", "2pc-chaos", "2pc", "options: {unsafe_abort_uncertain: true}\n", "violation", "atomicity"},
		// Without snapshots the log grows and no view shows one.
		{"raft-snapshots", "compaction", "raft", "", "liveness", "no node took a snapshot"},
		// A protocol without leaders fails the election tests.
		{"raft-election", "initial-election", "paxos-single", "", "liveness", "no node became leader"},
	}
	for _, c := range cases {
		t.Run(c.exercise+"/"+c.test, func(t *testing.T) {
			tc := testOf(t, c.exercise, c.test)
			if c.options != "" {
				tc.YAML += c.options
			} else if c.test == "compaction" {
				tc.YAML = strings.Replace(tc.YAML, "options: {snapshot_entries: 50}", "options: {snapshot_entries: 0}", 1)
			}
			spec, err := protocols.Lookup(c.protocol)
			require.NoError(t, err)
			r := exercises.RunTest(&tc, spec, exercises.Options{Short: true})
			require.Zero(t, r.Points, "%s/%s should fail with %s", c.exercise, c.test, c.protocol)
			require.Equal(t, c.kind, r.Kind, r.Failure)
			require.Contains(t, r.Failure, c.want)
		})
	}
}

// TestLogMatchingCatchesRenumberedLog proves the log-matching check by
// the mistake it exists for: a node restarted after a snapshot that
// forgets the snapshot's last included index renumbers its log from 1,
// so an index and term it shows hold another command than they did. The
// leader's repair (InstallSnapshot) hides it from the committed-entries
// check and from the clients.
func TestLogMatchingCatchesRenumberedLog(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	tc := testOf(t, "raft-snapshots", "snapshot-chaos")
	r := exercises.RunTest(&tc, raftloglab.Spec(raftloglab.SnapshotLosesIndex), exercises.Options{Short: true, NoShrink: true})
	require.Zero(t, r.Points)
	require.Equal(t, "violation", r.Kind, r.Failure)
	require.Contains(t, r.Failure, "log-matching: two entries at index")
}

// TestFilesOfEachExercise checks what `synod exercise init` writes: the
// skeleton's Go files, a grade test naming the exercise, and a README with
// readings, hints and the table of graded tests.
func TestFilesOfEachExercise(t *testing.T) {
	for _, ex := range exercises.All() {
		t.Run(ex.Name, func(t *testing.T) {
			files, err := ex.Files()
			require.NoError(t, err)
			require.Contains(t, string(files["grade_test.go"]), `exercises.GradeT(t, "`+ex.Name+`", Spec())`)
			readme := string(files["README.md"])
			for _, want := range []string{"## Read", "## Task", "## Hints", "## Graded tests", "## How to work"} {
				require.Contains(t, readme, want)
			}
			for _, tc := range ex.Tests {
				require.Contains(t, readme, "| "+tc.Name+" | ")
				// The graded scenario is published in full, for practice.
				require.Contains(t, readme, "```yaml\n"+strings.TrimRight(tc.YAML, "\n")+"\n```")
			}
			gofiles := 0
			for name := range files {
				if strings.HasSuffix(name, ".go") && name != "grade_test.go" {
					gofiles++
				}
				require.False(t, strings.HasSuffix(name, ".tmpl"), name)
			}
			require.NotZero(t, gofiles)
		})
	}
}

// TestInitNeverOverwrites checks that init refuses a non-empty directory.
func TestInitNeverOverwrites(t *testing.T) {
	ex, err := exercises.Lookup("paxos-single")
	require.NoError(t, err)
	dir := t.TempDir()
	written, err := exercises.Init(ex, dir)
	require.NoError(t, err)
	require.NotEmpty(t, written)
	_, err = exercises.Init(ex, dir)
	require.ErrorContains(t, err, "is not empty")
}

// TestHiddenTestsBadInput checks that a teacher's broken tests.yaml is a
// clear error before any grading starts.
func TestHiddenTestsBadInput(t *testing.T) {
	ex, err := exercises.Lookup("raft-election")
	require.NoError(t, err)
	cases := map[string]string{
		"- {name: x, exercise: raft-election, points: 5}\n":                             "scenario is missing",
		"- {name: x, exercise: raft-election, points: -1, scenario: a.yaml}\n":          "points -1 is outside",
		"- {name: x, exercise: raft-election, points: 1, scenario: a.yaml, bogus: 1}\n": "field bogus not found",
		"- {name: x, exercise: raft-election, points: 1, scenario: missing.yaml}\n":     "missing.yaml",
	}
	for text, want := range cases {
		dir := t.TempDir()
		require.NoError(t, writeFile(dir, "tests.yaml", text))
		require.NoError(t, writeFile(dir, "a.yaml", "# a\nnodes: 3\n"))
		_, err := exercises.LoadHidden(dir, ex)
		require.ErrorContains(t, err, want)
	}
	_, err = exercises.LoadHidden(t.TempDir(), ex)
	require.ErrorContains(t, err, "tests.yaml")
}

// TestGradingIgnoresSeedOverrides checks that SYNOD_SEEDS, which CI uses
// for property tests, does not change a grade: every student runs the
// suite's own seeds.
func TestGradingIgnoresSeedOverrides(t *testing.T) {
	t.Setenv("SYNOD_SEEDS", "2")
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	tc := testOf(t, "raft-election", "election-chaos")
	spec, err := protocols.Lookup("raft")
	require.NoError(t, err)
	r := exercises.RunTest(&tc, spec, exercises.Options{Short: true})
	require.Equal(t, 3, r.Seeds)
	require.Equal(t, tc.Points, r.Points, r.Failure)
}

// TestUnknownEarnsNothing checks that a linearizability verdict the
// checker could not decide (its budget ran out) earns no points and says
// why: unknown is never a pass.
func TestUnknownEarnsNothing(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	tc := testOf(t, "raft-replication", "basic-agreement")
	tc.YAML += "checks: {lin_budget: 1ns}\n"
	spec, err := protocols.Lookup("raft")
	require.NoError(t, err)
	r := exercises.RunTest(&tc, spec, exercises.Options{Short: true})
	require.Zero(t, r.Points, r.Failure)
	require.Equal(t, "unknown", r.Kind, r.Failure)
	require.Contains(t, r.Failure, "linearizability unknown: the checker could not decide (")
	require.Contains(t, r.Failure, "earns no points")
}

// TestPracticeRunsMoreSeeds checks that practice mode runs a property
// test on ten times its graded seeds, the graded ones first.
func TestPracticeRunsMoreSeeds(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	tc := testOf(t, "raft-election", "election-chaos")
	spec, err := protocols.Lookup("raft")
	require.NoError(t, err)
	r := exercises.RunTest(&tc, spec, exercises.Options{Practice: true})
	require.Equal(t, 10*tc.Seeds, r.Seeds)
	require.Equal(t, tc.Points, r.Points, r.Failure)
}

// TestLinFailureCarriesExplanation checks that a non-linearizable history
// fails its test with the story of the failure: the text of the
// explanation protocols.CheckLinearizable computed for the failing seed
// (which operations cannot be ordered, and why), not just a verdict. The
// wrong solution is a Multi-Paxos whose new leader reuses slots: clients
// read values that no order of their operations explains.
func TestLinFailureCarriesExplanation(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	tc := testOf(t, "multi-paxos", "multipaxos-chaos")
	// Without the slots-agree checker, which sees the reused slots first:
	// the history is what this test is about.
	tc.Checkers = nil
	spec := mpaxoslab.Spec(mpaxoslab.SlotReuse)
	r := exercises.RunTest(&tc, spec, exercises.Options{NoShrink: true})
	require.Zero(t, r.Points, r.Failure)
	require.Equal(t, "linearizability", r.Kind, r.Failure)

	// The first of the test's seeds whose history is not linearizable is
	// the one the grader reports; its explanation, computed here on its
	// own, must be in the message.
	so := synodtest.Options{Protocol: spec, YAML: tc.YAML}
	sc, err := so.Load()
	require.NoError(t, err)
	for seed := tc.FirstSeed; seed < tc.FirstSeed+uint64(tc.Seeds); seed++ {
		sc.Seed = seed
		in, err := scenario.Build(sc)
		require.NoError(t, err)
		res, err := in.Execute(nil)
		require.NoError(t, err)
		if res.Linearizable != string(protocols.LinViolation) {
			continue
		}
		require.NotNil(t, res.LinExplanation, "seed %d: a violation without an explanation", seed)
		text := res.LinExplanation.Text()
		require.NotEmpty(t, text)
		require.Contains(t, r.Failure, strings.TrimRight(text, "\n"), "seed %d", seed)
		require.Equal(t, 1, strings.Count(r.Failure, strings.TrimRight(text, "\n")), "the explanation is told once")
		return
	}
	t.Fatalf("no seed of %s is non-linearizable, yet the test failed as linearizability: %s", tc.Name, r.Failure)
}
