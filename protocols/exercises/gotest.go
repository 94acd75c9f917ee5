package exercises

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/synodtest"
)

// GradeT runs an exercise's graded suite from a student's grade_test.go,
// one subtest per graded test (so `go test -run 'TestGrade/compaction'`
// runs one), and prints the score table. SYNOD_HIDDEN names a teacher's
// hidden tests; SYNOD_GRADE_OUT, a file to write the score to as JSON
// (`synod grade` sets both); SYNOD_GRADE_PRACTICE=1 runs the practice
// suite (more seeds, a larger search; not the grade). Under -short,
// property tests run fewer seeds.
//
// Each test runs in a process of its own (this test binary, started
// again for that test) under a watchdog, so that a handler that never
// returns fails its own test in seconds and the others still score
// (isolate.go). SYNOD_GRADE_INPROCESS=1 runs them all in this process.
func GradeT(t *testing.T, exercise string, spec *protocols.Spec) *Score {
	t.Helper()
	ex, err := Lookup(exercise)
	if err != nil {
		t.Fatalf("%v", err)
	}
	o := Options{Short: testing.Short(), Hidden: os.Getenv("SYNOD_HIDDEN"), Practice: os.Getenv("SYNOD_GRADE_PRACTICE") == "1"}
	if _, err := synodtest.Use(spec); err != nil {
		t.Fatalf("%v", err)
	}
	tests := append([]Test(nil), ex.Tests...)
	if o.Hidden != "" {
		hidden, err := LoadHidden(o.Hidden, ex)
		if err != nil {
			t.Fatalf("%v", err)
		}
		tests = append(tests, hidden...)
	}
	score := &Score{Exercise: ex.Name, Protocol: spec.Name}
	trace, _, _ := synodtest.TUITarget()
	child := os.Getenv(envChild)
	isolate := child == "" && trace == "" && os.Getenv(envInProcess) != "1"
	for i := range tests {
		tc := &tests[i]
		if child != "" && tc.Name != child {
			continue
		}
		t.Run(tc.Name, func(t *testing.T) {
			var r Result
			switch {
			case child != "":
				r = RunChild(tc, spec, o, os.Getenv(envResult))
			case isolate:
				r = RunIsolated(tc, childCommand(t.Name()))
			default:
				r = RunTest(tc, spec, o)
			}
			score.Results = append(score.Results, r)
			if r.Failure != "" {
				t.Errorf("%d/%d points: %s\n%s", r.Points, r.Max, r.Kind, r.Failure)
			}
		})
	}
	if child != "" {
		return score
	}
	if trace != "" {
		// The run opened a trace in the TUI instead of running the
		// suite's seeds: there is nothing to score.
		fmt.Printf("%s: not graded (-synod.tui %s opened the trace instead of running the tests)\n", ex.Name, trace)
		return score
	}
	var b strings.Builder
	if o.Practice {
		fmt.Fprintf(&b, "PRACTICE (%dx the seeds, a larger search: not the grade)\n", practiceFactor)
	}
	score.WriteTable(&b)
	got, max := score.Total()
	fmt.Fprintf(&b, "SCORE %d/%d\n", got, max)
	// Printed, not logged: `go test` in the student's directory shows it
	// whether the suite passed or not.
	fmt.Print(b.String())
	if out := os.Getenv("SYNOD_GRADE_OUT"); out != "" {
		if err := score.WriteJSON(out); err != nil {
			t.Errorf("write score: %v", err)
		}
	}
	return score
}

// childCommand starts this test binary again for the one subtest named
// (testing.T.Name of it: "TestGrade/initial-election"), with the flags it
// was given (-synod.seed, -short...) but its own -test.run, quiet.
func childCommand(subtest string) *exec.Cmd {
	var args []string
	in := os.Args[1:]
	for i := 0; i < len(in); i++ {
		name, value, hasValue := strings.Cut(strings.TrimLeft(in[i], "-"), "=")
		switch name {
		case "test.run", "test.v", "test.testlogfile", "test.count", "test.json":
			if !hasValue && value == "" && i+1 < len(in) && !strings.HasPrefix(in[i+1], "-") && name != "test.v" {
				i++ // "-test.run X": the value is the next argument
			}
			continue
		}
		args = append(args, in[i])
	}
	parts := strings.Split(subtest, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	args = append(args, "-test.run="+strings.Join(parts, "/"), "-test.count=1")
	return exec.Command(os.Args[0], args...)
}
