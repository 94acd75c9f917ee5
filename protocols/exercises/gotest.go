package exercises

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/synodtest"
)

// GradeT runs an exercise's graded suite from a student's grade_test.go,
// one subtest per graded test (so `go test -run 'TestGrade/compaction'`
// runs one), and prints the score table. SYNOD_HIDDEN names a teacher's
// hidden tests; SYNOD_GRADE_OUT, a file to write the score to as JSON
// (`synod grade` sets both). Under -short, property tests run fewer seeds.
func GradeT(t *testing.T, exercise string, spec *protocols.Spec) *Score {
	t.Helper()
	ex, err := Lookup(exercise)
	if err != nil {
		t.Fatalf("%v", err)
	}
	o := Options{Short: testing.Short(), Hidden: os.Getenv("SYNOD_HIDDEN")}
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
	for i := range tests {
		tc := &tests[i]
		t.Run(tc.Name, func(t *testing.T) {
			r := RunTest(tc, spec, o)
			score.Results = append(score.Results, r)
			if r.Failure != "" {
				t.Errorf("%d/%d points: %s\n%s", r.Points, r.Max, r.Kind, r.Failure)
			}
		})
	}
	if trace, _, _ := synodtest.TUITarget(); trace != "" {
		// The run opened a trace in the TUI instead of running the
		// suite's seeds: there is nothing to score.
		fmt.Printf("%s: not graded (-synod.tui %s opened the trace instead of running the tests)\n", ex.Name, trace)
		return score
	}
	var b strings.Builder
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
