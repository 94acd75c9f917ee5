package reports

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
)

// Size says how big an experiment runs.
type Size int

// Experiment sizes.
const (
	// SizeTest is for the test suite: seconds.
	SizeTest Size = iota
	// SizeSmall is the default: about a minute on a laptop.
	SizeSmall
	// SizeFull is a real study (--full).
	SizeFull
)

// Pick returns the value for the size.
func (s Size) Pick(test, small, full int) int {
	switch s {
	case SizeTest:
		return test
	case SizeFull:
		return full
	}
	return small
}

// ExpConfig is how an experiment is run.
type ExpConfig struct {
	Size    Size
	Workers int
	// Log receives progress lines (may be io.Discard).
	Log io.Writer
}

// Experiment reproduces a published result or measures a property, and
// ends in figures and a table.
type Experiment struct {
	Name        string
	Description string
	// Protocols it needs; missing ones make Run fail with a clear error.
	Protocols []string
	Run       func(cfg ExpConfig) (*Report, error)
}

var experiments []*Experiment

func registerExperiment(e *Experiment) { experiments = append(experiments, e) }

// Experiments lists the experiments by name.
func Experiments() []*Experiment {
	out := slices.Clone(experiments)
	slices.SortFunc(out, func(a, b *Experiment) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// LookupExperiment finds an experiment.
func LookupExperiment(name string) (*Experiment, error) {
	var names []string
	for _, e := range Experiments() {
		if e.Name == name {
			return e, nil
		}
		names = append(names, e.Name)
	}
	return nil, fmt.Errorf("no experiment %q (have %s)", name, strings.Join(names, ", "))
}

// Missing lists the experiment's protocols that are not registered.
func (e *Experiment) Missing() []string {
	var out []string
	for _, p := range e.Protocols {
		if _, err := protocols.Lookup(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}

// Execute runs the experiment after checking its protocols exist.
func (e *Experiment) Execute(cfg ExpConfig) (*Report, error) {
	if m := e.Missing(); len(m) > 0 {
		return nil, fmt.Errorf("experiment %s: protocol %s not available (see synod protocols)", e.Name, strings.Join(m, ", "))
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	return e.Run(cfg)
}

// mustParse parses a scenario written in an experiment.
func mustParse(yaml string) (*scenario.Scenario, error) {
	return scenario.Parse([]byte(yaml), "(experiment)")
}

// sweepSeeds runs seeds [0, n) of a scenario in memory.
func sweepSeeds(cfg ExpConfig, sc *scenario.Scenario, n int) ([]SeedResult, error) {
	return Sweep(context.Background(), SweepConfig{Scenario: sc, Seeds: Range{0, uint64(n)}, Workers: cfg.Workers}, io.Discard)
}

// mean of a field over results.
func mean(res []SeedResult, f func(*SeedResult) float64) float64 {
	if len(res) == 0 {
		return 0
	}
	s := 0.0
	for i := range res {
		s += f(&res[i])
	}
	return s / float64(len(res))
}

func failingNote(r *Report, label string, res []SeedResult) {
	sum := Summarize(res)
	for i, f := range append(sum.Failing, sum.Unknown...) {
		if i == 5 {
			break
		}
		r.Note("**%s: seed %d %s** — replay: `%s`", label, f.Seed, f.Outcome, f.Replay)
	}
}

// parallelMap runs f over 0..n-1 on workers goroutines and returns the
// results in order.
func parallelMap[T any](n, workers int, f func(i int) T) []T {
	out := make([]T, n)
	jobs := make(chan int)
	done := make(chan struct{})
	for range max(workers, 1) {
		go func() {
			for i := range jobs {
				out[i] = f(i)
			}
			done <- struct{}{}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	for range max(workers, 1) {
		<-done
	}
	return out
}
