package synodtest

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// A protocol handed to synodtest (Options.Protocol) lives only in the test
// binary: cmd/synod cannot open its traces. The test binary can: run with
// -synod.tui TRACE, the Check of the test named by -run opens the trace in
// synod's terminal UI instead of running its seeds. The TUI itself lives
// in tui/tuitest (protocols/ does not import the TUI, which imports them):
// importing that package for its side effect links the TUI into the test
// binary and registers it here.

var (
	flagTUI   = flag.String("synod.tui", "", "open this trace in the TUI instead of running the test's seeds (env SYNOD_TUI; needs a _test.go file importing tui/tuitest)")
	flagTUIAt = flag.Int64("synod.at", 0, "with -synod.tui: open at this event (env SYNOD_AT; default: where the trace was saved)")
)

// TUIRequest is what a test asks the TUI to open.
type TUIRequest struct {
	// Trace is the trace file to open.
	Trace string
	// At is the event to open at (0: where the trace was saved).
	At int64
	// Checkers returns a fresh set of the test's extra checkers and
	// invariants (nil when there are none), so the TUI flags the
	// violations the test found.
	Checkers func() []sim.Checker
	// Command is the command line that opens this trace again, for the
	// TUI to show (the go test form, run in the package's directory).
	Command func(trace string, at int64) string
}

var (
	tuiMu     sync.Mutex
	tuiOpener func(TUIRequest) error
	tuiOpened = map[string]bool{} // the traces opened by this binary
)

// RegisterTUI installs the function that opens a trace in the terminal
// UI. tui/tuitest calls it from init; a test binary without it reports
// that -synod.tui needs it.
func RegisterTUI(open func(TUIRequest) error) {
	tuiMu.Lock()
	defer tuiMu.Unlock()
	tuiOpener = open
}

// TUILinked reports whether a TUI is registered in this binary, so that
// the -synod.tui command printed for a failure works.
func TUILinked() bool {
	tuiMu.Lock()
	defer tuiMu.Unlock()
	return tuiOpener != nil
}

// tuiImport is the import path that links the TUI into a test binary.
const tuiImport = "github.com/synod-dev/synod/tui/tuitest"

// TUITarget reads -synod.tui and -synod.at, then SYNOD_TUI and SYNOD_AT:
// the trace to open instead of running seeds ("" for none).
func TUITarget() (trace string, at int64, err error) {
	trace, at = *flagTUI, *flagTUIAt
	if trace == "" {
		trace = os.Getenv("SYNOD_TUI")
	}
	if v := os.Getenv("SYNOD_AT"); v != "" && at == 0 {
		at, err = strconv.ParseInt(v, 10, 64)
		if err != nil || at < 0 {
			return trace, 0, fmt.Errorf("SYNOD_AT=%q: want an event index >= 0", v)
		}
	}
	if at < 0 {
		return trace, 0, fmt.Errorf("-synod.at %d: want an event index >= 0", at)
	}
	return trace, at, nil
}

// openTUI is Check and Run under -synod.tui: it opens the trace when it
// records a run of this check's protocol, once per test binary (a test
// running several checks of that protocol opens it once); other checks
// run nothing. It returns a note for the test log when it opened nothing.
// pattern is the -run pattern of the test, for the command that reopens.
func openTUI(o *Options, trace string, at int64, pattern string) (string, error) {
	base, err := o.Load() // registers a protocol of the test's own package
	if err != nil {
		return "", err
	}
	proto, err := traceProtocol(trace)
	if err != nil {
		return "", fmt.Errorf("-synod.tui: %v", err)
	}
	if proto != base.Protocol {
		return fmt.Sprintf("synodtest: -synod.tui: %s is a run of %s and this check runs %s: not opened here, and no seeds run", trace, proto, base.Protocol), nil
	}
	tuiMu.Lock()
	open, opened := tuiOpener, tuiOpened[trace]
	tuiOpened[trace] = true
	tuiMu.Unlock()
	switch {
	case opened:
		return fmt.Sprintf("synodtest: -synod.tui: %s was opened by an earlier check of this run", trace), nil
	case open == nil:
		return "", fmt.Errorf("-synod.tui: this test binary has no TUI: add `import _ %q` to a _test.go file of the package", tuiImport)
	}
	dir, _ := os.Getwd()
	req := TUIRequest{Trace: trace, At: at, Checkers: o.extraCheckers(),
		Command: func(tr string, k int64) string { return watchCommand(dir, pattern, tr, k) }}
	if err := open(req); err != nil {
		return "", fmt.Errorf("-synod.tui: %v", err)
	}
	return "", nil
}

// currentRunPattern is the test binary's -test.run pattern ("" outside a
// test binary or when none was given).
func currentRunPattern() string {
	if f := flag.Lookup("test.run"); f != nil {
		return f.Value.String()
	}
	return ""
}

// traceProtocol reads the protocol a trace file's run is of.
func traceProtocol(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr, err := sim.ReadTrace(f, path)
	if err != nil {
		return "", err
	}
	sc, err := scenario.FromTrace(tr) // checks the digest: a tampered trace is refused
	if err != nil {
		return "", err
	}
	return sc.Protocol, nil
}

// runPattern is the -run pattern that selects exactly the test (and
// subtest) named.
func runPattern(test string) string {
	parts := strings.Split(test, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// WatchCommand is the command that opens a trace of the test's own
// protocol in the TUI through the test binary: go test in the package's
// directory dir, with no package argument (go test then hands the test
// binary the terminal; with a package argument it captures the output),
// no timeout, and the test (testing.T.Name) selected by -run. at > 0 opens
// at that event.
func WatchCommand(dir, test, trace string, at int64) string {
	return watchCommand(dir, runPattern(test), trace, at)
}

func watchCommand(dir, pattern, trace string, at int64) string {
	var b strings.Builder
	if dir != "" {
		fmt.Fprintf(&b, "cd %s && ", shellQuote(dir))
	}
	b.WriteString("go test ")
	if pattern != "" {
		b.WriteString("-run " + shellQuote(pattern) + " ")
	}
	fmt.Fprintf(&b, "-timeout 0 -synod.tui %s", shellQuote(trace))
	if at > 0 {
		fmt.Fprintf(&b, " -synod.at %d", at)
	}
	return b.String()
}

// shellQuote quotes a path for a shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == '+' || r == ':' || r == ',' || r == '@' ||
			r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
