package exercises

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Isolation: each graded test runs in a process of its own (the same test
// binary, started again with -test.run naming one test), watched by a
// watchdog. A handler that never returns, or a heap that grows without
// bound, costs that test only: the watchdog writes the test's result
// (named as an infinite loop or a memory blow-up, with the seed and the
// event) and ends the process; the parent records it and goes on.
//
// Simulated budgets (budget.go) catch livelocks inside the simulation;
// the watchdog catches what no simulated budget can, a handler stuck in a
// loop that never yields back to the simulator.
const (
	// hangCPU is the CPU time the process may spend without completing an
	// event while a handler is running before the watchdog calls it an
	// infinite loop. CPU time, not wall-clock time: a process starved by a
	// loaded machine spends none and is never misjudged.
	hangCPU = 3 * time.Second
	// hangWall is the wall-clock bound for a handler that blocks without
	// spinning (a channel receive that never completes).
	hangWall = 20 * time.Second
	// heapBytesMax bounds the heap of the process running one test.
	heapBytesMax = 1 << 30
	// watchEvery is how often the watchdog looks.
	watchEvery = 100 * time.Millisecond
)

// The parent's last nets, for a child that neither finishes nor is
// stopped by its own watchdog (it spins or blocks outside a handler).
// Variables so that a test can make them short.
var (
	// childCPUMax bounds a graded test's process by its CPU time, read
	// from outside (childCPUTime): a correct solution, however slow the
	// loaded machine makes it by the clock, spends the same CPU time, so
	// it is never stopped by this bound for being starved. Where the
	// child's CPU time cannot be read, wall-clock time stands in for it.
	childCPUMax = 3 * time.Minute
	// childWallMax stops a child that uses no CPU and never ends (it is
	// blocked outside the simulation, where the watchdog does not look).
	// Generous: ten times childCPUMax, so that only a machine loaded ten
	// times over could stop a solution within its CPU bound.
	childWallMax = 30 * time.Minute
	// childPollEvery is how often the parent reads the child's CPU time.
	childPollEvery = time.Second
)

// Environment of a child process.
const (
	envChild  = "SYNOD_GRADE_CHILD"  // the test to run
	envResult = "SYNOD_GRADE_RESULT" // where to write its Result as JSON
	// envInProcess turns isolation off (debugging the grader itself).
	envInProcess = "SYNOD_GRADE_INPROCESS"
)

// RunIsolated runs test name in a child process made by cmd (a test
// binary that calls RunChild for it, see GradeT) and returns its result.
// The child's environment gets the test's name and a result file; cmd's
// own Env, if set, is kept.
func RunIsolated(t *Test, cmd *exec.Cmd) Result {
	r := Result{Name: t.Name, Max: t.Points, Core: t.Core, Hidden: t.Hidden}
	tmp, err := os.MkdirTemp("", "synod-test-")
	if err != nil {
		r.Kind, r.Failure = "error", err.Error()
		return r
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "result.json")
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env, envChild+"="+t.Name, envResult+"="+out, "SYNOD_GRADE_OUT=")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Start(); err != nil {
		r.Kind, r.Failure = "error", fmt.Sprintf("cannot start the test process: %v", err)
		return r
	}
	kind, why, waitErr := watchChild(cmd)
	if kind != "" {
		r.Kind, r.Failure = kind, why+"\n"+tail(buf.String())
		return r
	}
	b, err := os.ReadFile(out)
	if err != nil {
		r.Kind = "crash"
		r.Failure = fmt.Sprintf("the test process died without a result (%v): a fatal error outside the simulator's panic guard (stack overflow from unbounded recursion, concurrent map writes, os.Exit)\n%s", waitErr, tail(buf.String()))
		return r
	}
	var got Result
	if err := json.Unmarshal(b, &got); err != nil {
		r.Kind, r.Failure = "error", fmt.Sprintf("%s: %v", out, err)
		return r
	}
	return got
}

// watchChild waits for a started child, stopping it when it passes
// childCPUMax of CPU time or childWallMax of wall-clock time. It returns,
// when it stopped the child, the failure's kind and message, else the
// child's exit error.
func watchChild(cmd *exec.Cmd) (kind, why string, waitErr error) {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(childPollEvery)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case err := <-done:
			return "", "", err
		case <-tick.C:
		}
		wall := time.Since(start)
		used, ok := childCPUTime(cmd.Process.Pid)
		if !ok {
			used = wall
		}
		switch {
		case used > childCPUMax:
			_ = cmd.Process.Kill()
			<-done
			return "time-limit", fmt.Sprintf("the test used %v of CPU time without finishing and was stopped (the bound is %v of CPU time per graded test, whatever the machine's load; no handler was stuck, or the watchdog would have named it: the solution is too slow, or the process spun outside the simulation)",
				used.Round(time.Millisecond), childCPUMax), nil
		case wall > childWallMax:
			_ = cmd.Process.Kill()
			<-done
			return "infinite-loop", fmt.Sprintf("the test did not finish within %v of wall-clock time, having used %v of CPU time, and was stopped (its watchdog did not fire: the process was stuck outside the simulation)",
				childWallMax, used.Round(time.Millisecond)), nil
		}
	}
}

// tail keeps the informative end of a child's output: from its first
// fatal error or panic, at most tailMax bytes.
func tail(s string) string {
	const tailMax = 4000
	for _, mark := range []string{"fatal error: ", "panic: ", "runtime: "} {
		if i := strings.Index(s, mark); i >= 0 {
			s = s[i:]
			break
		}
	}
	if len(s) > tailMax {
		s = s[:tailMax] + "\n..."
	}
	return strings.TrimSpace(s)
}

// RunChild runs one graded test in this process under the watchdog and
// writes its result to the file the parent named. A hang or a heap
// blow-up ends the process after the watchdog has written the result.
func RunChild(t *Test, spec *protocols.Spec, o Options, out string) Result {
	stop := make(chan struct{})
	defer close(stop)
	go watchdog(t, o, out, stop)
	r := RunTest(t, spec, o)
	if err := writeResult(out, r); err != nil {
		fmt.Fprintf(os.Stderr, "synod grade: %v\n", err)
	}
	return r
}

func writeResult(path string, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// handlerFrames are the frames that show a protocol's code is running: an
// event's handler, or the view the checkers read.
var handlerFrames = []string{"sim.(*state).dispatch(", "sim.(*Sim).Inspect("}

// watchdog ends the process when a handler stops returning (hangCPU of
// CPU time, or hangWall of wall-clock time, without an event completing)
// or when the heap passes heapBytesMax, after writing the test's result.
func watchdog(t *Test, o Options, out string, stop <-chan struct{}) {
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	last, lastCPU, lastWall := progress.events.Load(), cpuTime(), time.Now()
	var ms runtime.MemStats
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		if ev := progress.events.Load(); ev != last {
			last, lastCPU, lastWall = ev, cpuTime(), time.Now()
		}
		if n%10 == 0 {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > heapBytesMax {
				fail(t, o, out, "memory", fmt.Sprintf("the heap reached %d MiB, over the bound %d MiB, %s: a log, a map or a message queue grows without bound",
					ms.HeapAlloc>>20, heapBytesMax>>20, where()), "")
			}
		}
		spun, waited := cpuTime()-lastCPU, time.Since(lastWall)
		if spun < hangCPU && waited < hangWall {
			continue
		}
		stack, ok := handlerStack()
		if !ok {
			// The simulator is not in a handler (a long linearizability
			// check, say): that has budgets of its own.
			continue
		}
		fail(t, o, out, "infinite-loop", fmt.Sprintf("a handler has not returned after %v of CPU time (%v of wall-clock time), %s; where it spins:", spun.Round(time.Millisecond), waited.Round(time.Millisecond), where()), stack)
	}
}

// where names the seed and the event in progress.
func where() string {
	return fmt.Sprintf("seed %d, in event #%d (the one after #%d, at t=%v)", progress.seed.Load(), progress.events.Load()+1, progress.events.Load(), sim.Time(progress.at.Load()))
}

// fail writes the test's result and ends the process.
func fail(t *Test, o Options, out, kind, msg, stack string) {
	failure := fmt.Sprintf("%s: %s", kind, msg)
	if stack != "" {
		failure += "\n" + stack
	}
	// The test runs in the student's directory; the command names it, so
	// it works from wherever synod grade ran.
	dir, _ := os.Getwd()
	failure += "\nretest: " + scenario.GoTestCommand(dir, "-run", "^TestGrade$/^"+regexp.QuoteMeta(t.Name)+"$", "-synod.seed", strconv.FormatUint(progress.seed.Load(), 10), "-v")
	r := Result{Name: t.Name, Max: t.Points, Core: t.Core, Hidden: t.Hidden, Kind: kind, Failure: failure,
		Seeds: seedsReached(t, o, progress.seed.Load())}
	if err := writeResult(out, r); err != nil {
		fmt.Fprintf(os.Stderr, "synod grade: %v\n", err)
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", t.Name, failure)
	os.Exit(3)
}

// handlerStack returns the stack of the goroutine running a handler, cut
// to the frames above the simulator's dispatch.
func handlerStack() (string, bool) {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		for _, f := range handlerFrames {
			if i := strings.Index(g, f); i >= 0 {
				// Keep the goroutine's frames down to the handler's caller.
				lines := strings.Split(g[:i], "\n")
				if len(lines) > 30 {
					lines = lines[:30]
				}
				return "  " + strings.Join(lines, "\n  ") + f + "...)", true
			}
		}
	}
	return "", false
}
