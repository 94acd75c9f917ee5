package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/protocols/exercises"
)

func init() { extraCommands = append(extraCommands, newGradeCmd) }

// gradeTimeoutDefault bounds a grading run in wall-clock time. It is a
// safety net for a handler that never returns, not a budget: every graded
// test is bounded in simulated time and events, so a correct or merely
// slow solution gets the same score on any machine.
const gradeTimeoutDefault = 10 * time.Minute

func newGradeCmd() *cobra.Command {
	var hidden, exercise string
	var short, asJSON, practice bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "grade DIR",
		Short: "Run an exercise's graded suite on a student's package and print the score",
		Long: `Run the graded suite of the exercise in DIR (named by its grade_test.go) in a
separate "go test" process and print a score table. Failures give the seed,
the schedule, the trace file and the commands that replay them.

Each test runs in a process of its own under a watchdog. A panic in the
student's code, a handler that loops through simulated time without end
(the events bounds), a handler that never returns (the watchdog: a few
seconds of CPU time without an event completing), a heap that grows past
1 GiB, and non-determinism (the same seed twice giving different traces)
each fail their own test, named as such with the seed and the event; the
other tests still score. --timeout is a last net over the whole run.

--practice runs the graded scenarios with ten times the seeds and a larger
search: a stress test before submitting, not the grade.

Exit status: 0 full marks, 1 points lost, 2 bad usage or a package that does
not build.`,
		Example: `  synod grade labs/raft
  synod grade labs/raft --hidden /course/hidden --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if exercise == "" {
				name, err := exerciseOf(dir)
				if err != nil {
					return inputErr(err)
				}
				exercise = name
			}
			ex, err := exercises.Lookup(exercise)
			if err != nil {
				return usageErr("%v", err)
			}
			if err := checkModule(dir); err != nil {
				return inputErr(err)
			}
			if timeout <= 0 {
				return usageErr("--timeout: %v must be positive", timeout)
			}
			if hidden != "" {
				abs, err := filepath.Abs(hidden)
				if err != nil {
					return inputErr(err)
				}
				if _, err := exercises.LoadHidden(abs, ex); err != nil {
					return inputErr(err)
				}
				hidden = abs
			}
			g, err := runGrade(dir, hidden, short, practice, timeout)
			if err != nil {
				return inputErr(err)
			}
			return reportGrade(cmd.OutOrStdout(), ex, g, asJSON)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&hidden, "hidden", "", "directory of hidden tests (tests.yaml and its scenarios)")
	fl.StringVar(&exercise, "exercise", "", "exercise name (default: the one grade_test.go names)")
	fl.BoolVar(&short, "short", false, "fewer seeds per property test (a quick check, not the grade)")
	fl.BoolVar(&asJSON, "json", false, "print the score as JSON")
	fl.BoolVar(&practice, "practice", false, "10x the seeds and a larger search (a stress test, not the grade)")
	fl.DurationVar(&timeout, "timeout", gradeTimeoutDefault, "wall-clock bound on the whole run, against handlers that never return")
	return cmd
}

var gradeCall = regexp.MustCompile(`GradeT\(\s*t\s*,\s*"([^"]+)"`)

// exerciseOf finds the exercise a student's directory is graded as.
func exerciseOf(dir string) (string, error) {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if m := gradeCall.FindSubmatch(b); m != nil {
			return string(m[1]), nil
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("%s: %v", dir, errors.Unwrap(err))
	}
	return "", fmt.Errorf("%s: no test calls exercises.GradeT (was it made by synod exercise init?); name the exercise with --exercise", dir)
}

// gradeRun is what the go test process left behind.
type gradeRun struct {
	score    *exercises.Score
	practice bool
	output   string
	timedOut bool
	exitErr  error
}

func runGrade(dir, hidden string, short, practice bool, timeout time.Duration) (*gradeRun, error) {
	tmp, err := os.MkdirTemp("", "synod-grade-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "score.json")
	args := []string{"test", "-count=1", "-v", "-run", "^TestGrade$", "-timeout", timeout.String()}
	if short {
		args = append(args, "-short")
	}
	args = append(args, ".")
	// The context is a second net in case the test binary ignores its own
	// -timeout (a handler spinning where the runtime cannot preempt it).
	ctx, cancel := context.WithTimeout(context.Background(), timeout+time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, "go", args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "SYNOD_GRADE_OUT="+out, "SYNOD_HIDDEN="+hidden)
	if practice {
		c.Env = append(c.Env, "SYNOD_GRADE_PRACTICE=1")
	}
	var buf bytes.Buffer
	c.Stdout, c.Stderr = &buf, &buf
	runErr := c.Run()
	var ee *exec.Error
	if errors.As(runErr, &ee) {
		return nil, fmt.Errorf("cannot run the go command (grading builds the student's package with it): %v", ee)
	}
	g := &gradeRun{output: buf.String(), exitErr: runErr, practice: practice}
	g.timedOut = ctx.Err() != nil || strings.Contains(g.output, "panic: test timed out after")
	if s, err := exercises.ReadScore(out); err == nil {
		g.score = s
	}
	if g.score == nil && !g.timedOut && isBuildFailure(g.output) {
		return nil, fmt.Errorf("%s does not build:\n%s", dir, strings.TrimSpace(g.output))
	}
	return g, nil
}

func isBuildFailure(out string) bool {
	return strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]") ||
		strings.Contains(out, "cannot find module") || strings.Contains(out, "no Go files")
}

var runLine = regexp.MustCompile(`(?m)^=== RUN\s+TestGrade/(\S+)`)

func reportGrade(w io.Writer, ex *exercises.Exercise, g *gradeRun, asJSON bool) error {
	if g.score == nil {
		// The suite did not finish: a hang, or a crash of the test binary
		// outside the simulator's panic guard.
		test := "?"
		if m := runLine.FindAllStringSubmatch(g.output, -1); len(m) > 0 {
			test = m[len(m)-1][1]
		}
		max := ex.Points()
		if g.timedOut {
			fmt.Fprintf(w, "%s: INFINITE LOOP in test %s: a handler did not return (the suite was stopped by --timeout).\n", ex.Name, test)
			fmt.Fprintf(w, "The goroutine dump below shows where it spins:\n\n%s\n", dumpTail(g.output))
		} else {
			fmt.Fprintf(w, "%s: the test binary crashed in test %s:\n\n%s\n", ex.Name, test, dumpTail(g.output))
		}
		fmt.Fprintf(w, "SCORE 0/%d (the suite did not finish)\n", max)
		return errFound
	}
	if asJSON {
		b, _ := json.MarshalIndent(g.score, "", "  ")
		fmt.Fprintln(w, string(b))
	} else {
		g.score.WriteTable(w)
		g.score.WriteFailures(w)
	}
	got, max := g.score.Total()
	if !asJSON {
		fmt.Fprintf(w, "\nSCORE %d/%d\n", got, max)
		if g.practice {
			fmt.Fprintln(w, "(practice: 10x the seeds and a larger search; not the grade)")
		}
	}
	if got < max {
		return errFound
	}
	return nil
}

// dumpTail keeps the informative end of a long test output.
func dumpTail(s string) string {
	const max = 4000
	if i := strings.Index(s, "panic: "); i >= 0 {
		s = s[i:]
	}
	if len(s) > max {
		s = s[:max] + "\n..."
	}
	return strings.TrimSpace(s)
}
