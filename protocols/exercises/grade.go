package exercises

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"go.yaml.in/yaml/v3"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
)

// Result is the outcome of one graded test.
type Result struct {
	Name   string `json:"name"`
	Points int    `json:"points"`
	Max    int    `json:"max"`
	Core   bool   `json:"core"`
	Hidden bool   `json:"hidden,omitempty"`
	Seeds  int    `json:"seeds"`
	// Failure is the first failing seed's report (empty when it passed).
	Failure string `json:"failure,omitempty"`
	// Kind is the failure's kind: violation, linearizability, panic,
	// livelock, liveness, nondeterminism, error; and, from the isolated
	// process's watchdogs (isolate.go), infinite-loop, memory, crash,
	// time-limit.
	Kind string `json:"kind,omitempty"`
}

// Score is a graded suite's outcome.
type Score struct {
	Exercise string   `json:"exercise"`
	Protocol string   `json:"protocol"`
	Results  []Result `json:"results"`
}

// Total returns the points earned and the points possible.
func (s *Score) Total() (got, max int) {
	for _, r := range s.Results {
		got += r.Points
		max += r.Max
	}
	return got, max
}

// Core returns the points earned on core tests.
func (s *Score) Core() int {
	n := 0
	for _, r := range s.Results {
		if r.Core {
			n += r.Points
		}
	}
	return n
}

// Options configure a grading run.
type Options struct {
	// Short runs at most shortSeeds seeds per property test.
	Short bool
	// Hidden is a teacher's directory of hidden tests (see LoadHidden).
	Hidden string
	// Only, when set, runs only the tests with these names.
	Only []string
	// EventsMax bounds every run in events; a run that reaches it before
	// its duration is a livelock (default 2,000,000).
	EventsMax int64
	// NoShrink reports a failing seed as found, unshrunk: for the corpus
	// test, which needs the verdicts, not the smallest schedules.
	NoShrink bool
	// Practice runs the graded scenarios with practiceFactor times the
	// seeds and a larger search: a student's stress test before
	// submitting. A practice score is not the grade.
	Practice bool
}

// practiceFactor multiplies the seeds of property tests and the states of
// explorations in practice mode; practiceDepth deepens explorations.
const (
	practiceFactor = 10
	practiceDepth  = 2
)

// DefaultEventsMax bounds each graded run: far above what a correct
// protocol needs in these scenarios, low enough that a livelocked handler
// (a zero-delay timer loop) is caught in a second or two.
const DefaultEventsMax = 2_000_000

// determinismEventsMax bounds the runs of a determinism test: its
// scenarios are a second of three or four nodes, a few thousand events.
const determinismEventsMax = 200_000

// Grade runs an exercise's suite (and the hidden tests, if any) against a
// protocol. An error means the suite could not run at all (a bad hidden
// test, a protocol that cannot be built); a failing protocol is a score.
func Grade(ex *Exercise, spec *protocols.Spec, o Options) (*Score, error) {
	if _, err := synodtest.Use(spec); err != nil {
		return nil, err
	}
	tests := append([]Test(nil), ex.Tests...)
	if o.Hidden != "" {
		hidden, err := LoadHidden(o.Hidden, ex)
		if err != nil {
			return nil, err
		}
		tests = append(tests, hidden...)
	}
	score := &Score{Exercise: ex.Name, Protocol: spec.Name}
	for i := range tests {
		t := &tests[i]
		if len(o.Only) > 0 && !contains(o.Only, t.Name) {
			continue
		}
		score.Results = append(score.Results, RunTest(t, spec, o))
	}
	return score, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RunTest runs one graded test: all its points or none.
func RunTest(t *Test, spec *protocols.Spec, o Options) Result {
	r := Result{Name: t.Name, Max: t.Points, Core: t.Core, Hidden: t.Hidden}
	so := synodtest.Options{
		Protocol:          spec,
		YAML:              t.YAML,
		Seeds:             1,
		FirstSeed:         t.FirstSeed,
		NoLinearizability: !t.Lin,
		EventsMax:         o.EventsMax,
		Expect:            t.Expect,
		Name:              spec.Name + "-" + t.Name,
		FixedSeeds:        true,
	}
	if so.EventsMax == 0 {
		so.EventsMax = DefaultEventsMax
	}
	mk := append([]func() sim.Checker(nil), t.Checkers...)
	if t.Kind == "determinism" {
		mk = nil
	}
	// The budget checker comes last: the protocol's own invariants and the
	// test's are judged first on the same event.
	mk = append(mk, newBudgetChecker)
	so.Checkers = func() []sim.Checker {
		cs := make([]sim.Checker, len(mk))
		for i, f := range mk {
			cs[i] = f()
		}
		return cs
	}
	if t.Lin && so.Expect != nil {
		so.Expect = decided(so.Expect)
	}
	so.Seeds = seedsOf(t, o)
	switch t.Kind {
	case "determinism":
		so.Determinism = true
		so.Expect = nil
		so.NoLinearizability = true
		// The determinism runs carry no checkers, hence no budget
		// checker: a tighter events bound stops a livelock there.
		so.EventsMax = min(so.EventsMax, determinismEventsMax)
	}
	r.Seeds = so.Seeds
	if t.Kind == "explore" {
		r.Seeds = 0
		kind, failure := searchSafely(t, spec, o.Practice)
		if kind == "" {
			r.Points = t.Points
		}
		r.Kind, r.Failure = kind, failure
		return r
	}
	// Failures are found unshrunk, and only a failing seed the shrinker
	// can reproduce is run again to shrink it: a livelock found by the
	// budget checker is not worth a hundred runs of a hundred thousand
	// events.
	so.NoShrink = true
	rep, err := runSafely(so)
	if rep != nil {
		r.Seeds = rep.Seeds
	}
	switch {
	case err != nil:
		r.Kind, r.Failure = "error", err.Error()
	case len(rep.Failures) > 0:
		f := rep.Failures[0]
		if t.Kind == "determinism" && f.Kind != "nondeterminism" {
			// A determinism test grades determinism only; the protocol's
			// other failures are the other tests' business.
			r.Points = t.Points
			break
		}
		if f.Checker == budgetCheckerName {
			f.Kind = "livelock"
		} else if shrinkable(f.Kind) && !o.NoShrink {
			f = shrunk(so, f)
		}
		// A linearizability failure's text carries the explanation
		// protocols.CheckLinearizable computed for the failing run (the
		// shrunk one when shrunk): the operations that cannot be ordered.
		r.Kind, r.Failure = f.Kind, f.Text("TestGrade/"+t.Name)
	default:
		r.Points = t.Points
	}
	return r
}

// seedsOf returns the number of seeds a test runs: a property test its
// Seeds (fewer under Short, more in practice), an exploration none (it
// searches schedules), any other test one.
func seedsOf(t *Test, o Options) int {
	switch t.Kind {
	case "explore":
		return 0
	case "property":
		switch {
		case o.Practice:
			return t.Seeds * practiceFactor
		case o.Short && t.Seeds > shortSeeds:
			return shortSeeds
		}
		return t.Seeds
	}
	return 1
}

// seedsReached returns how many of a test's seeds had started when the
// run stopped at seed (the watchdog's count): the seeds before it and
// itself, at most the test's seeds.
func seedsReached(t *Test, o Options, seed uint64) int {
	planned := seedsOf(t, o)
	first := max(t.FirstSeed, 1)
	if planned == 0 || seed < first {
		return planned
	}
	return int(min(seed-first+1, uint64(planned)))
}

func shrinkable(kind string) bool {
	return kind == "violation" || kind == "panic" || kind == "linearizability"
}

// shrunk runs a failing seed again, shrinking it; the unshrunk failure
// stands if the run does not fail the same way.
func shrunk(so synodtest.Options, f synodtest.Failure) synodtest.Failure {
	so.NoShrink, so.Seeds, so.FirstSeed, so.Determinism = false, 1, f.Seed, false
	rep, err := runSafely(so)
	if err != nil || len(rep.Failures) == 0 || rep.Failures[0].Kind != f.Kind {
		return f
	}
	return rep.Failures[0]
}

// decided wraps a test's end-of-run check: a linearizability verdict
// that is unknown (the checker ran out of budget) earns no points, and
// says why. Unknown is never a pass.
func decided(e expectation) expectation {
	return func(in *scenario.Instance, res *scenario.Result) error {
		if res.Linearizable == string(protocols.LinUnknown) {
			reason := res.LinReason
			if reason == "" {
				reason = "no reason given"
			}
			return &synodtest.KindError{Kind: "unknown", Err: fmt.Errorf("linearizability unknown: the checker could not decide (%s); an undecided history earns no points: fewer clients or operations in flight let it decide", reason)}
		}
		return e(in, res)
	}
}

// runSafely runs a synodtest report, turning a panic outside the
// simulated handlers (in a student's Spec.New, say) into an error.
func runSafely(o synodtest.Options) (rep *synodtest.Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic outside the simulation (building the protocol?): %v", p)
		}
	}()
	return synodtest.Run(o, false)
}

// searchSafely runs an exploration test, turning a panic outside the
// simulated handlers into an error.
func searchSafely(t *Test, spec *protocols.Spec, practice bool) (kind, failure string) {
	defer func() {
		if p := recover(); p != nil {
			kind, failure = "error", fmt.Sprintf("panic outside the simulation: %v", p)
		}
	}()
	return runSearch(t, spec, practice)
}

// WriteTable prints the score table.
func (s *Score) WriteTable(w io.Writer) {
	fmt.Fprintf(w, "%s (protocol %s)\n", s.Exercise, s.Protocol)
	fmt.Fprintf(w, "  %-26s %-8s %-6s %s\n", "test", "points", "seeds", "result")
	for _, r := range s.Results {
		name := r.Name
		if r.Hidden {
			name += " (hidden)"
		}
		res := "pass"
		if r.Failure != "" {
			res = "FAIL: " + r.Kind
		}
		fmt.Fprintf(w, "  %-26s %3d/%-4d %-6d %s\n", name, r.Points, r.Max, r.Seeds, res)
	}
	got, max := s.Total()
	fmt.Fprintf(w, "  %-26s %3d/%-4d\n", "TOTAL", got, max)
}

// WriteFailures prints each failure's report: seed, schedule and the
// commands that replay it.
func (s *Score) WriteFailures(w io.Writer) {
	for _, r := range s.Results {
		if r.Failure == "" {
			continue
		}
		fmt.Fprintf(w, "\n--- %s: %s\n%s\n", r.Name, r.Kind, r.Failure)
	}
}

// HiddenTest is one entry of a teacher's tests.yaml.
type HiddenTest struct {
	Name     string `yaml:"name"`
	Exercise string `yaml:"exercise"`
	Points   int    `yaml:"points"`
	// Scenario is a scenario file relative to the directory; its protocol
	// line is replaced by the student's protocol.
	Scenario  string `yaml:"scenario"`
	Seeds     int    `yaml:"seeds"`
	FirstSeed uint64 `yaml:"first_seed"`
	// Linearizability checks the client history with porcupine.
	Linearizability bool `yaml:"linearizability"`
	// MinOps is the number of client operations that must complete.
	MinOps int `yaml:"min_ops"`
	// Leader requires one leader followed by a majority at the end.
	Leader bool `yaml:"leader"`
}

// LoadHidden reads DIR/tests.yaml: a list of hidden tests, each a scenario
// file of the directory with its points, seeds and expectations. Only the
// entries of the given exercise are returned. The exercise's invariant
// checkers apply to hidden tests too.
func LoadHidden(dir string, ex *Exercise) ([]Test, error) {
	path := filepath.Join(dir, "tests.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hidden tests: %v", err)
	}
	var list []HiddenTest
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var checks []func() sim.Checker
	for _, t := range ex.Tests {
		if t.Core && len(t.Checkers) > 0 {
			checks = t.Checkers
			break
		}
	}
	var out []Test
	for i, h := range list {
		if h.Exercise != ex.Name {
			continue
		}
		where := fmt.Sprintf("%s: test %d (%s)", path, i+1, h.Name)
		switch {
		case h.Name == "":
			return nil, fmt.Errorf("%s: name is missing", where)
		case h.Points < 0 || h.Points > 1000:
			return nil, fmt.Errorf("%s: points %d is outside 0..1000", where, h.Points)
		case h.Seeds < 0 || h.Seeds > 100000:
			return nil, fmt.Errorf("%s: seeds %d is outside 0..100000", where, h.Seeds)
		case h.Scenario == "":
			return nil, fmt.Errorf("%s: scenario is missing", where)
		}
		text, err := os.ReadFile(filepath.Join(dir, h.Scenario))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", where, err)
		}
		t := Test{Name: h.Name, Points: h.Points, Core: true, Kind: "scenario", YAML: string(text),
			Seeds: h.Seeds, FirstSeed: h.FirstSeed, Lin: h.Linearizability, Checkers: checks, Hidden: true}
		if h.Seeds > 1 {
			t.Kind = "property"
		}
		var es []expectation
		if h.MinOps > 0 {
			es = append(es, opsAtLeast(h.MinOps))
		}
		if h.Leader {
			es = append(es, oneLeader)
		}
		if len(es) > 0 {
			t.Expect = all(es...)
		}
		out = append(out, t)
	}
	return out, nil
}

// WriteJSON writes the score for `synod grade` to read.
func (s *Score) WriteJSON(path string) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// ReadScore reads a score written by WriteJSON.
func ReadScore(path string) (*Score, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Score
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return &s, nil
}
