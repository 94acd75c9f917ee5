package cli

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/reports"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/tui"
)

// The README's samples are produced here; -update rewrites them in
// README.md from what the code prints now (review the diff).
var updateReadme = flag.Bool("update", false, "rewrite the README's sample outputs from what the code prints")

const readmePath = "../../../README.md"

// readmeBlock finds the fenced block that follows the line holding
// marker and returns its body and the byte range of the body in page.
func readmeBlock(t *testing.T, page, marker string) (string, int, int) {
	t.Helper()
	i := strings.Index(page, marker)
	require.GreaterOrEqual(t, i, 0, "README.md has no %q", marker)
	open := strings.Index(page[i:], "```\n")
	require.GreaterOrEqual(t, open, 0, "no block after %q", marker)
	start := i + open + len("```\n")
	end := strings.Index(page[start:], "```\n")
	require.GreaterOrEqual(t, end, 0, "block after %q is not closed", marker)
	return page[start : start+end], start, start + end
}

// rewriteReadme puts body in place of the block after marker.
func rewriteReadme(t *testing.T, marker, body string) {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	page := string(b)
	_, start, end := readmeBlock(t, page, marker)
	require.NoError(t, os.WriteFile(readmePath, []byte(page[:start]+body+page[end:]), 0o644))
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	require.NoError(t, err)
	return string(b)
}

// wallClock is the one part of a run's summary that depends on the
// machine: the wall time and the speed.
var wallClock = regexp.MustCompile(`[0-9.]+s wall \([0-9]+ events/s\)`)

func maskWall(s string) string { return wallClock.ReplaceAllString(s, "…s wall (… events/s)") }

// TestReadmeRunSample: the output the README shows for `synod run` is
// what it prints, but for the wall-clock time and speed.
func TestReadmeRunSample(t *testing.T) {
	const marker = "It finishes in a fraction of a second and prints:"
	want, _, _ := readmeBlock(t, readme(t), marker)
	code, out, errs := run(t, "run")
	require.Equal(t, 0, code, errs)
	if *updateReadme {
		rewriteReadme(t, marker, out)
		return
	}
	assert.Equal(t, maskWall(want), maskWall(out), "README.md's sample of `synod run` (go test ./cmd/synod/cli -run Readme -update rewrites it)")
}

// readmeTUIArgs and readmeTUIKeys make the README's TUI snapshot: open the
// run, stop at leader changes (L), run to the first (G), select the
// leader, crash it (c) and run to the next leader change (G).
var readmeTUIArgs = []string{"--protocol", "raft", "--nodes", "5", "--seed", "7"}

// TestReadmeTUISnapshot: the README's picture of the TUI is the screen
// the TUI draws at 80x24 for the command and keys the README names.
func TestReadmeTUISnapshot(t *testing.T) {
	const marker = "The terminal UI, after crashing the leader"
	page := readme(t)
	want, _, _ := readmeBlock(t, page, marker)
	intro := page[strings.Index(page, marker):]
	require.Contains(t, intro[:400], "go run ./cmd/synod tui "+strings.Join(readmeTUIArgs, " "), "the README names the command the snapshot is of")

	var sf scenarioFlags
	cmd := &cobra.Command{Use: "tui"}
	sf.register(cmd)
	require.NoError(t, cmd.ParseFlags(readmeTUIArgs))
	sc, err := sf.load(cmd)
	require.NoError(t, err)
	sess, err := tui.NewSession(sc)
	require.NoError(t, err)
	m := tui.New(sess, tui.Options{NoColor: true, FrameBudget: time.Minute, Command: replayCommand(cmd, "tui", sc)})
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	key := func(keys ...string) {
		for _, k := range keys {
			m.Update(tea.KeyPressMsg{Code: []rune(k)[0], Text: k})
		}
	}
	key("L", "G")
	leader := screenLeader(ansi.Strip(m.Render()))
	require.NotEmpty(t, leader, "a leader after the first leader change")
	n, err := sim.ParseNodeID(leader)
	require.NoError(t, err)
	for range int(n) - 1 {
		key("j")
	}
	key("c", "G")
	got := trimScreen(ansi.Strip(m.Render()))
	require.Contains(t, got, leader+" ✗ crashed")
	if *updateReadme {
		rewriteReadme(t, marker, got+"\n")
		return
	}
	assert.Equal(t, trimScreen(want), got, "README.md's TUI snapshot (go test ./cmd/synod/cli -run Readme -update rewrites it)")
}

// screenLeader is the node the cluster pane shows as leader, or "".
func screenLeader(s string) string {
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(strings.TrimPrefix(l, "▸"))
		if len(f) >= 3 && f[2] == "leader" {
			return f[0]
		}
	}
	return ""
}

// trimScreen drops the padding at the end of each line and the blank
// lines at the end: a screen pads to the terminal's size, a page not.
func trimScreen(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// tourSmall shrinks the tour's long commands for the test, flag by
// flag: the sweep to three seeds.
var tourSmall = map[string]string{"--seeds": "0:3"}

// tourCommand is one command of the README's tour.
type tourCommand struct {
	line string
	args []string
	// exit is the status the line's comment says it exits with ("exits
	// 1"), 0 if it says none.
	exit int
}

var tourExit = regexp.MustCompile(`#.*exits ([0-9])`)

// readmeTour parses the tour's block: one command a line (a trailing
// backslash continues it), a comment after #, arguments split as a shell
// splits them (single quotes only: the tour uses nothing else).
func readmeTour(t *testing.T) []tourCommand {
	t.Helper()
	body, _, _ := readmeBlock(t, readme(t), "## A tour")
	var cmds []tourCommand
	joined := strings.ReplaceAll(body, "\\\n", " ")
	for _, line := range strings.Split(joined, "\n") {
		var args []string
		var cur strings.Builder
		inQuote, inArg := false, false
	scan:
		for _, r := range line {
			switch {
			case r == '\'':
				inQuote, inArg = !inQuote, true
			case inQuote:
				cur.WriteRune(r)
			case r == '#':
				break scan
			case r == ' ' || r == '\t':
				if inArg {
					args = append(args, cur.String())
					cur.Reset()
					inArg = false
				}
			default:
				cur.WriteRune(r)
				inArg = true
			}
		}
		require.False(t, inQuote, "unclosed quote in the tour: %s", line)
		if inArg {
			args = append(args, cur.String())
		}
		if len(args) > 0 {
			c := tourCommand{line: strings.TrimSpace(line), args: args}
			if m := tourExit.FindStringSubmatch(line); m != nil {
				c.exit = int(m[1][0] - '0')
			}
			cmds = append(cmds, c)
		}
	}
	return cmds
}

// TestReadmeTour runs the README's tour, as a newcomer would from the
// repository's root (small sizes: see tourSmall), and checks that each
// command succeeds and that together they write nothing outside out/,
// the folder .gitignore ignores. The TUI needs a terminal (its screen is
// TestReadmeTUISnapshot's); the experiment takes a minute at its smallest
// CLI size and is run at test size by go test ./reports, so here it is
// only looked up. The run summaries the tour prints are compared with
// the README's sample where the README shows one.
func TestReadmeTour(t *testing.T) {
	cmds := readmeTour(t)
	require.GreaterOrEqual(t, len(cmds), 10, "commands in the tour")
	root, err := filepath.Abs("../../..")
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, os.Symlink(filepath.Join(root, "testdata"), filepath.Join(dir, "testdata")))
	t.Chdir(dir)
	before := treeOf(t, filepath.Join(root, "testdata"))

	ignored, err := os.ReadFile(filepath.Join(root, ".gitignore"))
	require.NoError(t, err)
	require.Contains(t, strings.Split(string(ignored), "\n"), "/out/", ".gitignore ignores the tour's folder")

	for _, c := range cmds {
		t.Run(strings.Join(c.args[min(len(c.args)-1, 3):min(len(c.args), 5)], " "), func(t *testing.T) {
			if c.args[0] == "mkdir" {
				require.Equal(t, []string{"mkdir", "-p", "out"}, c.args, "the tour makes only its own folder")
				require.NoError(t, os.MkdirAll("out", 0o755))
				return
			}
			require.Equal(t, []string{"go", "run", "./cmd/synod"}, c.args[:3], "a tour line runs synod: %s", c.line)
			args := append([]string(nil), c.args[3:]...)
			for i := 0; i+1 < len(args); i++ {
				if small, ok := tourSmall[args[i]]; ok {
					args[i+1] = small
				}
			}
			switch args[0] {
			case "tui":
				assert.Equal(t, readmeTUIArgs, args[1:], "the tour's TUI command is the one the snapshot shows")
				return
			case "experiment":
				_, err := reports.LookupExperiment(args[1])
				require.NoError(t, err, "the tour's experiment exists")
				require.Contains(t, args, "--out", "the experiment writes into out/")
				return
			}
			code, out, errs := run(t, args...)
			require.Equal(t, c.exit, code, "%s\nstdout: %s\nstderr: %s", c.line, out, errs)
			if args[0] == "run" && len(args) == 1 {
				want, _, _ := readmeBlock(t, readme(t), "It finishes in a fraction of a second and prints:")
				assert.Equal(t, maskWall(want), maskWall(out))
			}
		})
	}

	var strays []string
	require.NoError(t, filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == "." {
			return err
		}
		if path == "testdata" || path == "out" {
			return fs.SkipDir
		}
		strays = append(strays, path)
		return nil
	}))
	assert.Empty(t, strays, "the tour wrote outside out/")
	assert.Equal(t, before, treeOf(t, filepath.Join(root, "testdata")), "the tour wrote into testdata/")
	entries, err := os.ReadDir("out")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(entries), 5, "the tour's outputs are in out/")
}

// treeOf lists the files under dir with their sizes.
func treeOf(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	files := map[string]int64{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		files[path] = info.Size()
		return nil
	}))
	return files
}
