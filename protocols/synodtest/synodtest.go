// Package synodtest runs a protocol under synod's simulator from a Go test:
// a scenario (a file or inline YAML) for many seeds, with the protocol's own
// invariant checkers, the caller's invariants and the linearizability
// check, and on failure one report through testing.T with the seed, the
// schedule that led to the failure, and the commands that replay it.
//
//	func TestMyRaft(t *testing.T) {
//		synodtest.Check(t, synodtest.Options{
//			Protocol: myraft.Spec(),
//			YAML:     "# chaos\nnodes: 5\nduration: 5s\nnemesis: {crash_every: 500ms, heal_at: 4s}\n",
//			Invariants: []synodtest.Invariant{oneLeaderPerTerm},
//		})
//	}
//
// Seed counts come from the -synod.seeds flag or SYNOD_SEEDS, so CI can run
// thousands of seeds where a laptop runs ten. Scripts (RunScript) drive a
// run step by step for exact tests of one schedule.
package synodtest

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/shrink"
	"github.com/synod-dev/synod/sim"
)

// TB is the part of testing.TB that synodtest uses, so that its reports
// can themselves be tested.
type TB interface {
	Helper()
	Name() string
	Logf(format string, args ...any)
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
	Failed() bool
}

var (
	flagSeeds    = flag.Int("synod.seeds", 0, "seeds per synodtest property test (env SYNOD_SEEDS)")
	flagSeed     = flag.Uint64("synod.seed", 0, "run only this seed (env SYNOD_SEED)")
	flagDepth    = flag.Int("synod.max-depth", 0, "search depth bound for exploration tests (env SYNOD_MAX_DEPTH)")
	flagFailures = flag.String("synod.failures", "", "directory for failing traces (env SYNOD_FAILURES; default testdata/failures)")
	flagUpdate   = flag.Bool("synod.update", false, "rewrite the expected output of scripts (also -update)")
)

// Bounds are the knobs CI turns: how many seeds, which one, how deep.
type Bounds struct {
	// Seeds is the number of seeds a property test runs.
	Seeds int
	// Seed, when non-zero, runs that one seed only (to replay a failure).
	Seed uint64
	// MaxDepth bounds exploration tests (0: the test's own default).
	MaxDepth int
}

// DefaultSeeds is the seed count when neither the test nor the flag nor
// the environment says; ShortSeeds under -short.
const (
	DefaultSeeds = 20
	ShortSeeds   = 5
	// SeedsMax bounds a seed count: a typo of a few zeros is an error,
	// not a week of CPU.
	SeedsMax = 10_000_000
)

// CurrentBounds reads the flags, then the environment (SYNOD_SEEDS,
// SYNOD_SEED, SYNOD_MAX_DEPTH). A malformed variable is an error, not a
// silent default.
func CurrentBounds() (Bounds, error) {
	b := Bounds{Seeds: *flagSeeds, Seed: *flagSeed, MaxDepth: *flagDepth}
	env := func(name string, dst *int) error {
		v := os.Getenv(name)
		if v == "" || *dst != 0 {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%s=%q: want a count >= 0", name, v)
		}
		*dst = n
		return nil
	}
	if err := env("SYNOD_SEEDS", &b.Seeds); err != nil {
		return b, err
	}
	if err := env("SYNOD_MAX_DEPTH", &b.MaxDepth); err != nil {
		return b, err
	}
	if v := os.Getenv("SYNOD_SEED"); v != "" && b.Seed == 0 {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return b, fmt.Errorf("SYNOD_SEED=%q: want a seed", v)
		}
		b.Seed = n
	}
	return b, nil
}

// Invariant is a simple invariant over the true state of a run, checked
// after every event: return an error when it is broken. Use a sim.Checker
// when the invariant needs state of its own.
type Invariant struct {
	Name  string
	Check func(s *sim.Sim) error
}

// Options say what to run and what to check.
type Options struct {
	// Scenario is a scenario file; YAML is an inline scenario (its
	// "protocol:" line may be left out when Protocol is set). One of them,
	// or neither for the defaults (5 nodes, 10s, three KV clients).
	Scenario string
	YAML     string
	// Protocol is the protocol under test when it is not registered by
	// name (a protocol of the test's own package): it is registered on
	// first use, and the scenario's protocol is set to its name. A name is
	// registered once per test binary: give different protocols (not
	// merely different options) different names.
	Protocol *protocols.Spec
	// Seeds to run, starting at FirstSeed (default 1). Zero: the flag, the
	// environment, then DefaultSeeds (ShortSeeds under -short).
	Seeds     int
	FirstSeed uint64
	// Checkers returns fresh checkers for one run (they may keep state).
	Checkers func() []sim.Checker
	// Invariants are simple checks after every event.
	Invariants []Invariant
	// Expect checks the end of a run (liveness: operations completed, a
	// leader elected); return an error to fail the seed.
	Expect func(in *scenario.Instance, res *scenario.Result) error
	// NoLinearizability turns the porcupine check off.
	NoLinearizability bool
	// EventsMax bounds each run in events (0: the scenario's bound). A run
	// that reaches it before its duration is reported as a livelock.
	EventsMax int64
	// Determinism re-runs the first seed and compares traces byte for
	// byte: a difference is non-determinism in the protocol.
	Determinism bool
	// KeepGoing runs every seed instead of stopping at the first failure.
	KeepGoing bool
	// Name labels the failure files (default: the protocol's name).
	Name string
	// FixedSeeds ignores -synod.seeds and SYNOD_SEEDS (grading: the same
	// seeds for everyone); -synod.seed still replays one seed.
	FixedSeeds bool
	// NoShrink reports failures unshrunk (also SYNOD_SHRINK=0).
	NoShrink bool
}

// KindError names the kind of failure an Expect check found, when it is
// not "liveness" (an end-state safety check: "atomicity", "durability").
type KindError struct {
	Kind string
	Err  error
}

func (e *KindError) Error() string { return e.Err.Error() }
func (e *KindError) Unwrap() error { return e.Err }

// Failure describes one failing seed.
type Failure struct {
	Seed uint64
	// Kind is "violation", "linearizability", "panic", "livelock",
	// "liveness", "nondeterminism", "error", or "unknown": the
	// linearizability check could not decide (its budget ran out), which
	// fails the seed because it proves nothing.
	Kind    string
	Message string
	// Index is the event where it failed (-1: at the end of the run).
	Index int64
	// Schedule is the run's last events up to the failure, one line each
	// through the one renderer (shrunk when a shrinker is available).
	Schedule []string
	// Events is the number of events in the failing run.
	Events int64
	// Trace is the file holding the full trace, and Scenario the scenario
	// file it replays with.
	Trace, Scenario string
	// LinHTML is porcupine's visualization of the failing run's history
	// (Kind "linearizability"), written beside the trace.
	LinHTML string
	// Replay and TUI are the commands that reproduce the failure with
	// cmd/synod (which knows only the protocols compiled into it).
	Replay, TUI string
	// Local says the protocol was handed to synodtest (Options.Protocol):
	// cmd/synod may not know it, so the report's watch commands open the
	// traces through the test binary (-synod.tui, see WatchCommand) and
	// leave Replay and TUI out.
	Local bool
	// Dir is the test's working directory (its package's directory),
	// where the go test commands of the report run.
	Dir string
	// Checker names the violated invariant (Kind "violation").
	Checker string
	// TestChecker says the violated checker is one of the test's own
	// (Options.Checkers or Invariants), which cmd/synod does not run.
	TestChecker bool
	// Shrunk, when the failure was shrunk, gives the sizes before and
	// after; ShrunkTrace is the smallest failing run's trace (replay and
	// tui open it), with ShrunkEvents events, failing at event ShrunkAt.
	Shrunk       string
	ShrunkTrace  string
	ShrunkEvents int64
	ShrunkAt     int64
}

// Report is the result of Run.
type Report struct {
	Seeds    int
	Failures []Failure
}

// scheduleMax bounds the schedule lines a failure report prints.
const scheduleMax = 40

// TraceEventsMax bounds the runs whose full trace a failure writes: a
// livelocked run of millions of events would write gigabytes.
const TraceEventsMax = 1_000_000

var regMu sync.Mutex

// Use registers spec if no protocol of that name is registered yet, and
// returns its name. Registering a different protocol under a taken name
// is an error.
func Use(spec *protocols.Spec) (string, error) {
	regMu.Lock()
	defer regMu.Unlock()
	if spec.Name == "" || spec.New == nil {
		return "", fmt.Errorf("protocol spec needs a Name and New")
	}
	if _, err := protocols.Lookup(spec.Name); err == nil {
		return spec.Name, nil
	}
	if err := protocols.Add(*spec); err != nil {
		return "", err
	}
	return spec.Name, nil
}

var protocolLine = regexp.MustCompile(`(?m)^protocol:.*$`)

// Load builds the scenario the options describe.
func (o *Options) Load() (*scenario.Scenario, error) {
	name := ""
	if o.Protocol != nil {
		n, err := Use(o.Protocol)
		if err != nil {
			return nil, err
		}
		name = n
	}
	var data []byte
	file := "(inline)"
	switch {
	case o.Scenario != "" && o.YAML != "":
		return nil, fmt.Errorf("options: Scenario and YAML are both set; give one")
	case o.Scenario != "":
		b, err := os.ReadFile(o.Scenario)
		if err != nil {
			return nil, fmt.Errorf("scenario: %v", err)
		}
		data, file = b, o.Scenario
	case o.YAML != "":
		data = []byte(o.YAML)
	default:
		data = []byte("# defaults\n")
	}
	if name != "" {
		if protocolLine.Match(data) {
			data = protocolLine.ReplaceAll(data, []byte("protocol: "+name))
		} else {
			data = append(append([]byte{}, data...), []byte("\nprotocol: "+name+"\n")...)
		}
	}
	sc, err := scenario.Parse(data, file)
	if err != nil {
		return nil, err
	}
	if o.NoLinearizability {
		no := false
		sc.Checks.Linearizability = &no
	}
	if o.EventsMax > 0 {
		sc.EventsMax = o.EventsMax
	}
	return sc, nil
}

// Check runs the options' scenario for every seed and fails t with one
// report per failing seed. It returns the report.
//
// Under -synod.tui TRACE (or SYNOD_TUI) it runs no seeds: it opens the
// trace in synod's terminal UI when the trace is a run of this check's
// protocol (see WatchCommand), which needs tui/tuitest linked in, and
// logs why when it does not.
func Check(t TB, o Options) *Report {
	t.Helper()
	trace, at, err := TUITarget()
	if err != nil {
		t.Fatalf("synodtest: %v", err)
		return &Report{}
	}
	if trace != "" {
		note, err := openTUI(&o, trace, at, runPattern(t.Name()))
		if err != nil {
			t.Fatalf("synodtest: %v", err)
		} else if note != "" {
			t.Logf("%s", note)
		}
		return &Report{}
	}
	rep, err := Run(o, testing.Short())
	if err != nil {
		t.Fatalf("synodtest: %v", err)
		return rep
	}
	for _, f := range rep.Failures {
		t.Errorf("%s", f.Text(t.Name()))
	}
	return rep
}

// Run runs the options' scenario for every seed and returns what failed.
// short picks the -short seed count when none is set. Under -synod.tui it
// opens the trace instead, as Check does, and returns an empty report.
func Run(o Options, short bool) (*Report, error) {
	if trace, at, err := TUITarget(); err != nil {
		return nil, err
	} else if trace != "" {
		_, err := openTUI(&o, trace, at, currentRunPattern())
		return &Report{}, err
	}
	switch {
	case o.Seeds < 0 || o.Seeds > SeedsMax:
		return nil, fmt.Errorf("options: seeds %d is outside 0..%d", o.Seeds, SeedsMax)
	case o.EventsMax < 0:
		return nil, fmt.Errorf("options: events max %d is negative", o.EventsMax)
	}
	base, err := o.Load()
	if err != nil {
		return nil, err
	}
	b, err := CurrentBounds()
	if err != nil {
		return nil, err
	}
	seeds := o.Seeds
	if b.Seeds > 0 && !o.FixedSeeds {
		seeds = b.Seeds
	}
	if seeds == 0 {
		seeds = DefaultSeeds
		if short {
			seeds = ShortSeeds
		}
	}
	first := o.FirstSeed
	if first == 0 {
		first = 1
	}
	if b.Seed != 0 {
		first, seeds = b.Seed, 1
	}
	if seeds > SeedsMax {
		return nil, fmt.Errorf("seeds: %d (from -synod.seeds or SYNOD_SEEDS) is over the bound %d", seeds, SeedsMax)
	}
	rep := &Report{Seeds: seeds}
	for i := 0; i < seeds; i++ {
		sc := base.Clone()
		sc.Seed = first + uint64(i)
		f, err := runSeed(&o, sc)
		if err != nil {
			return rep, err
		}
		if f != nil {
			rep.Failures = append(rep.Failures, *f)
			if !o.KeepGoing {
				break
			}
		}
	}
	if o.Determinism {
		sc := base.Clone()
		sc.Seed = first
		if f := checkDeterminism(&o, sc); f != nil {
			rep.Failures = append(rep.Failures, *f)
		}
	}
	return rep, nil
}

// build makes one run with the options' extra checkers attached.
func build(o *Options, sc *scenario.Scenario) (*scenario.Instance, error) {
	return shrink.Build(sc, o.extraCheckers())
}

// extraCheckers returns the function that makes a fresh set of the
// options' own checkers and invariants for one run, or nil when there are
// none: the checkers the test adds to the protocol's.
func (o *Options) extraCheckers() func() []sim.Checker {
	if o.Checkers == nil && len(o.Invariants) == 0 {
		return nil
	}
	return func() []sim.Checker {
		var cs []sim.Checker
		if o.Checkers != nil {
			cs = append(cs, o.Checkers()...)
		}
		for _, inv := range o.Invariants {
			cs = append(cs, &invariantChecker{inv})
		}
		return cs
	}
}

type invariantChecker struct{ inv Invariant }

func (c *invariantChecker) Name() string                         { return c.inv.Name }
func (c *invariantChecker) Check(s *sim.Sim, _ *sim.Event) error { return c.inv.Check(s) }

// runSeed runs one seed and, if it fails, describes the failure.
func runSeed(o *Options, sc *scenario.Scenario) (*Failure, error) {
	in, err := build(o, sc)
	if err != nil {
		return nil, err
	}
	res, err := in.Execute(nil)
	if err != nil {
		return nil, err
	}
	f := judge(o, in, res)
	if f == nil {
		return nil, nil
	}
	f.Seed = sc.Seed
	f.Events = res.Events
	if f.Checker != "" {
		f.TestChecker = o.isTestChecker(in.Sim, f.Checker)
	}
	explain(o, sc, f, res)
	return f, nil
}

// isTestChecker reports whether the named checker of a run is one the
// options added (the protocol's own are added first, by scenario.Build).
func (o *Options) isTestChecker(s *sim.Sim, name string) bool {
	cs := s.Checkers()
	extra := 0
	if mk := o.extraCheckers(); mk != nil {
		extra = len(mk())
	}
	for _, c := range cs[max(len(cs)-extra, 0):] {
		if c.Name() == name {
			return true
		}
	}
	return false
}

// judge turns a finished run into a failure, or nil.
func judge(o *Options, in *scenario.Instance, res *scenario.Result) *Failure {
	switch {
	case res.Panic != nil:
		return &Failure{Kind: "panic", Index: res.Panic.Index, Message: res.Panic.Error() + "\n" + res.Panic.Stack}
	case res.FirstViolation != nil:
		v := res.FirstViolation
		return &Failure{Kind: "violation", Index: v.Index, Message: v.String(), Checker: v.Checker}
	case res.Linearizable == string(protocols.LinViolation):
		msg := fmt.Sprintf("the client history is not linearizable (%d ok, %d failed, %d unknown operations)", res.OpsOK, res.OpsFailed, res.OpsUnknown)
		if story := res.LinExplanation.Story(); story != "" {
			msg += "\n" + strings.TrimRight(story, "\n")
		}
		return &Failure{Kind: "linearizability", Index: -1, Message: msg}
	case res.Stopped == sim.StopEventsMax:
		cfg := in.Sim.Config()
		return &Failure{Kind: "livelock", Index: res.Events, Message: fmt.Sprintf("events bound %d reached at t=%v, before the run's duration %v: a handler loops (timers or messages without end)", cfg.EventsMax, in.Sim.Now(), cfg.Duration)}
	}
	if o.Expect != nil {
		if err := o.Expect(in, res); err != nil {
			kind := "liveness"
			var ke *KindError
			if errors.As(err, &ke) {
				kind = ke.Kind
			}
			return &Failure{Kind: kind, Index: -1, Message: err.Error()}
		}
	}
	if res.Linearizable == string(protocols.LinUnknown) {
		// Last: every check that decided passed, but one did not decide,
		// and a seed that proves nothing is not a pass.
		return &Failure{Kind: "unknown", Index: -1, Message: "the linearizability check could not decide (unknown is not a pass): " + res.UndecidedReason()}
	}
	return nil
}

// explain re-runs a failing seed with a trace, writes the trace and the
// scenario where a human can open them (and, for a linearizability
// failure, porcupine's visualization of the failing run's history beside
// the trace), and fills in the schedule and the replay commands.
func explain(o *Options, sc *scenario.Scenario, f *Failure, res *scenario.Result) {
	dir, err := FailureDir()
	if err == nil {
		dir, err = filepath.Abs(dir)
	}
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	in, berr := build(o, sc)
	if berr != nil {
		f.Message += fmt.Sprintf("\n(cannot rebuild the run to trace it: %v)", berr)
		return
	}
	tail := &tailObserver{max: scheduleMax, stop: f.Index}
	in.Sim.AddObserver(tail)
	label := o.Name
	if label == "" {
		label = sc.Protocol
	}
	base := fmt.Sprintf("%s-seed%d", safeName(label), sc.Seed)
	if f.Kind == "linearizability" && err == nil {
		writeLinHTML(res, filepath.Join(dir, base+"-lin.html"), f)
	}
	var file *os.File
	switch {
	case err != nil:
	case f.Events > TraceEventsMax:
		f.Message += fmt.Sprintf("\n(no trace file: %d events, over the %d-event bound for failure traces; replay with the test)", f.Events, TraceEventsMax)
	default:
		file, err = os.Create(filepath.Join(dir, base+".jsonl"))
	}
	var tw *sim.TraceWriter
	if file != nil {
		tw, err = in.TraceTo(file)
	}
	if _, xerr := in.Execute(nil); xerr == nil && tw != nil && err == nil {
		err = tw.Close(in.Sim)
	}
	if file != nil {
		if cerr := file.Close(); err == nil && cerr == nil {
			f.Trace = file.Name()
		}
	}
	f.Schedule = tail.lines()
	if f.Kind == "unknown" {
		// The check gave up on the history as a whole: no event is where
		// it failed, and the run's last events would only hide the reason.
		f.Schedule = nil
	}
	if err == nil {
		shrinkFailure(o, sc, f, dir, base)
	}
	f.Scenario = o.Scenario
	if f.Scenario == "" && err == nil {
		// An inline scenario gets a file, so the commands have one to name.
		path := filepath.Join(dir, base+".yaml")
		text := o.YAML
		if text == "" {
			text = "# defaults\n"
		}
		text = protocolLine.ReplaceAllString(text, "")
		text = "# written by synodtest for a failing seed\nprotocol: " + sc.Protocol + "\n" + strings.TrimPrefix(text, "\n")
		if os.WriteFile(path, []byte(text), 0o644) == nil {
			f.Scenario = path
		}
	}
	at := ""
	if f.Index >= 0 {
		at = fmt.Sprintf(" --at %d", f.Index)
	}
	f.Local = o.Protocol != nil
	f.Dir, _ = os.Getwd()
	if f.Scenario != "" {
		// The test runs in its package's directory, not the user's: the
		// commands name the file absolutely (scenario.CommandPath).
		p, seed := scenario.CommandPath(f.Scenario), strconv.FormatUint(sc.Seed, 10)
		f.Replay = scenario.Command("run", "--scenario", p, "--seed", seed)
		f.TUI = scenario.Command("tui", "--scenario", p, "--seed", seed) + at
	}
}

// writeLinHTML writes porcupine's visualization of a run's history to
// path and names it in the failure, or says in the message why not.
func writeLinHTML(res *scenario.Result, path string, f *Failure) {
	if err := res.WriteLinHTML(path); err != nil {
		f.Message += fmt.Sprintf("\n(no linearizability visualization: %v)", err)
		return
	}
	f.LinHTML = path
}

// Text renders the failure for a test log: what failed, where, the
// schedule, and how to replay it.
func (f *Failure) Text(test string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "seed %d: %s: %s\n", f.Seed, f.Kind, f.Message)
	if len(f.Schedule) > 0 && f.ShrunkTrace != "" {
		fmt.Fprintf(&b, "shrunk: %s\n", f.Shrunk)
		fmt.Fprintf(&b, "schedule (shrunk: faults, then the last events, of %d events):\n", f.ShrunkEvents)
	} else if len(f.Schedule) > 0 {
		fmt.Fprintf(&b, "schedule (faults, then the last events up to the failure, of %d events; unshrunk):\n", f.Events)
	}
	for _, l := range f.Schedule {
		b.WriteString("  " + l + "\n")
	}
	if f.Trace != "" {
		fmt.Fprintf(&b, "trace:  %s\n", f.Trace)
	}
	if f.LinHTML != "" {
		fmt.Fprintf(&b, "linearizability visualization (porcupine, open in a browser): %s\n", f.LinHTML)
	}
	if f.Local {
		f.localCommands(&b, test)
	} else {
		f.synodCommands(&b)
	}
	fmt.Fprintf(&b, "retest: %s", scenario.GoTestCommand(f.Dir, "-run", runPattern(test), "-synod.seed", strconv.FormatUint(f.Seed, 10), "-v"))
	return b.String()
}

// synodCommands writes the cmd/synod commands that replay and watch a
// failure of a protocol compiled into it.
func (f *Failure) synodCommands(b *strings.Builder) {
	if f.ShrunkTrace != "" {
		at := ""
		if f.ShrunkAt >= 0 {
			at = fmt.Sprintf(" --at %d", f.ShrunkAt)
		}
		fmt.Fprintf(b, "shrunk trace: %s\n", f.ShrunkTrace)
		if !f.TestChecker {
			// synod replay compares the traces line by line: without the
			// test's checker the run would go on past its violation.
			fmt.Fprintf(b, "  replay: %s\n", scenario.Command("replay", scenario.CommandPath(f.ShrunkTrace)))
		}
		fmt.Fprintf(b, "  watch:  %s%s\n", scenario.Command("tui", scenario.CommandPath(f.ShrunkTrace)), at)
	}
	if f.Replay != "" {
		fmt.Fprintf(b, "replay: %s\n", f.Replay)
		fmt.Fprintf(b, "watch:  %s\n", f.TUI)
	}
	if f.TestChecker {
		fmt.Fprintf(b, "        (cmd/synod runs only the protocol's own checkers: it shows this run without flagging %s; retest runs it with the test's)\n", f.Checker)
	}
}

// localCommands writes the commands that open a failure of the test's own
// protocol in the TUI through the test binary (cmd/synod does not know the
// protocol): go test with -synod.tui, in the package's directory.
func (f *Failure) localCommands(b *strings.Builder, test string) {
	if f.ShrunkTrace != "" {
		fmt.Fprintf(b, "shrunk trace: %s\n", f.ShrunkTrace)
		fmt.Fprintf(b, "  watch:  %s\n", WatchCommand(f.Dir, test, f.ShrunkTrace, max(f.ShrunkAt, 0)))
	}
	if f.Trace != "" {
		fmt.Fprintf(b, "watch:  %s\n", WatchCommand(f.Dir, test, f.Trace, max(f.Index, 0)))
	}
	if (f.Trace != "" || f.ShrunkTrace != "") && !TUILinked() {
		fmt.Fprintf(b, "        (the watch commands open the TUI through this test binary, once a _test.go file of the package has `import _ %q`)\n", tuiImport)
	}
}

// Watch is the one command that opens the failure in the TUI: its shrunk
// trace when there is one, else the full run, at the failing event; for a
// protocol of the test's own package (Local) through the test binary,
// test being the test's name (testing.T.Name). "" when there is nothing to
// open.
func (f *Failure) Watch(test string) string {
	switch {
	case f.Local && f.ShrunkTrace != "":
		return WatchCommand(f.Dir, test, f.ShrunkTrace, max(f.ShrunkAt, 0))
	case f.Local && f.Trace != "":
		return WatchCommand(f.Dir, test, f.Trace, max(f.Index, 0))
	case f.Local:
		return ""
	case f.ShrunkTrace != "" && f.ShrunkAt >= 0:
		return scenario.Command("tui", scenario.CommandPath(f.ShrunkTrace), "--at", strconv.FormatInt(f.ShrunkAt, 10))
	case f.ShrunkTrace != "":
		return scenario.Command("tui", scenario.CommandPath(f.ShrunkTrace))
	}
	return f.TUI
}

// FailureDir is where failing traces go: -synod.failures, SYNOD_FAILURES,
// else testdata/failures under the test's directory.
func FailureDir() (string, error) {
	if *flagFailures != "" {
		return *flagFailures, nil
	}
	if d := os.Getenv("SYNOD_FAILURES"); d != "" {
		return d, nil
	}
	return filepath.Join("testdata", "failures"), nil
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '\\' {
			return '_'
		}
		return r
	}, s)
}

// tailObserver keeps the last lines of the schedule up to an event index.
type tailObserver struct {
	max    int
	stop   int64
	ring   []string
	n      int
	faults []string
}

func (t *tailObserver) Observe(_ *sim.Sim, r *sim.Record) {
	if t.stop >= 0 && r.Index > t.stop {
		return
	}
	line := fmt.Sprintf("#%d %s", r.Index, r.Event.Describe())
	if r.Outcome != "" {
		line += " (" + r.Outcome + ")"
	}
	if r.Event.Kind == sim.KindFault && len(t.faults) < t.max {
		t.faults = append(t.faults, line)
	}
	if len(t.ring) < t.max {
		t.ring = append(t.ring, line)
	} else {
		t.ring[t.n%t.max] = line
	}
	t.n++
}

// lines returns the faults that fell out of the tail, then the tail: a
// failure seen at the end of a run (linearizability) usually goes back to
// a fault long before.
func (t *tailObserver) lines() []string {
	tail := t.ring
	if len(t.ring) == t.max {
		k := t.n % t.max
		tail = append(append([]string{}, t.ring[k:]...), t.ring[:k]...)
	}
	var out []string
	if len(tail) > 0 {
		for _, f := range t.faults {
			if faultBefore(f, tail[0]) {
				out = append(out, f)
			}
		}
	}
	if len(out) > 0 {
		out = append(out, "...")
	}
	return append(out, tail...)
}

// faultBefore compares the event indexes of two schedule lines ("#12 ...").
func faultBefore(a, b string) bool { return lineIndex(a) < lineIndex(b) }

func lineIndex(s string) int64 {
	f, _, _ := strings.Cut(strings.TrimPrefix(s, "#"), " ")
	n, _ := strconv.ParseInt(f, 10, 64)
	return n
}

// checkDeterminism runs a seed twice with traces and compares them.
func checkDeterminism(o *Options, sc *scenario.Scenario) *Failure {
	var traces [2][][]byte
	for i := range traces {
		in, err := build(o, sc)
		if err != nil {
			return &Failure{Seed: sc.Seed, Kind: "error", Index: -1, Message: err.Error()}
		}
		var buf bytes.Buffer
		tw, err := in.TraceTo(&buf)
		if err != nil {
			return &Failure{Seed: sc.Seed, Kind: "error", Index: -1, Message: err.Error()}
		}
		if _, err := in.Execute(nil); err != nil {
			return &Failure{Seed: sc.Seed, Kind: "error", Index: -1, Message: err.Error()}
		}
		_ = tw.Close(in.Sim)
		traces[i] = bytes.Split(buf.Bytes(), []byte("\n"))
	}
	line, a, b := sim.FirstDifference(traces[0], traces[1])
	if line < 0 {
		return nil
	}
	return &Failure{Seed: sc.Seed, Kind: "nondeterminism", Index: -1,
		Message: fmt.Sprintf("the same seed ran twice gave different traces at line %d:\n  first:  %s\n  second: %s\n(a handler reads something outside its state and event: map order, time.Now, a global random source, a goroutine)", line, clip(a), clip(b))}
}

func clip(b []byte) string {
	const max = 300
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}
