package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"example.com/abd/mwabd"

	"github.com/synod-dev/synod/cmd/synod/cli"
	"github.com/synod-dev/synod/protocols/scenario"
)

// TestMain registers the protocol as main does, and names this module's
// main as the program the commands printed under go test run (without
// it they would name synod's own command, which does not know mwabd).
func TestMain(m *testing.M) {
	if err := cli.Register(mwabd.Spec()); err != nil {
		panic(err)
	}
	scenario.SetMainPackage("example.com/abd")
	os.Exit(m.Run())
}

// synod runs one command line through the CLI, as `go run . ARGS` would.
func synod(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	code = cli.Execute(args, &out, &errs)
	return code, out.String(), errs.String()
}

// The protocol is listed beside synod's own.
func TestProtocolsListsMwabd(t *testing.T) {
	code, out, _ := synod(t, "protocols")
	require.Zero(t, code)
	assert.Regexp(t, `(?m)^mwabd +multi-writer ABD`, out)
	assert.Regexp(t, `(?m)^raft `, out, "synod's protocols stay available")
}

// A second protocol of the same name is refused, naming it.
func TestRegisterTwiceIsAnError(t *testing.T) {
	assert.EqualError(t, cli.Register(mwabd.Spec()), `protocol mwabd: Spec.Name: "mwabd" is registered twice`)
}

// docsPath is the walk-through of this example; a copy of the example
// outside synod's tree has no docs beside it.
const docsPath = "../../docs/protocols.md"

// docsBlock returns the text block that follows the line holding marker
// in docs/protocols.md.
func docsBlock(t *testing.T, marker string) string {
	t.Helper()
	doc, err := os.ReadFile(docsPath)
	if os.IsNotExist(err) {
		t.Skipf("%s: not in synod's tree", docsPath)
	}
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(doc), marker)
	require.True(t, ok, "%s has no %q", docsPath, marker)
	_, after, ok = strings.Cut(after, "```text\n")
	require.True(t, ok, "%s: no text block after %q", docsPath, marker)
	block, _, ok := strings.Cut(after, "```")
	require.True(t, ok)
	return block
}

// wall masks the wall-clock figures, which vary.
var wall = regexp.MustCompile(`[0-9.]+s wall \([0-9]+ events/s\)`)

func maskWall(s string) string { return wall.ReplaceAllString(s, "Ns wall (N events/s)") }

// The walk-through in docs/protocols.md shows what `go run . run
// --protocol mwabd` prints: the protocol's default scenario, under faults.
func TestDocsShowTheDefaultRun(t *testing.T) {
	want := docsBlock(t, "<!-- sample: go run . run --protocol mwabd -->")
	code, out, errs := synod(t, "run", "--protocol", "mwabd")
	require.Zero(t, code, errs)
	assert.Equal(t, maskWall(want), maskWall(out))
}

// The bug's run: the checker stops it, and the replay and watch commands
// printed name this module's program and a file that exists where they
// are printed (under go test, absolutely).
func TestDocsShowTheBugsRun(t *testing.T) {
	want := docsBlock(t, "<!-- sample: go run . run --scenario scenarios/reuse-tag.yaml -->")
	code, out, errs := synod(t, "run", "--scenario", "scenarios/reuse-tag.yaml")
	require.Equal(t, 1, code, errs)
	abs, err := filepath.Abs("scenarios/reuse-tag.yaml")
	require.NoError(t, err)
	// Under go test the commands are absolute; from the module's root,
	// as the docs show them, they are `go run .` with the path as given.
	errs = strings.ReplaceAll(errs, "go run example.com/abd", "go run .")
	errs = strings.ReplaceAll(errs, abs, "scenarios/reuse-tag.yaml")
	assert.Equal(t, maskWall(want), maskWall(out+errs))
}

// The replay command printed under go test runs: go run of this module's
// main, from the module's root and from a package directory.
func TestPrintedReplayRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the program with go run")
	}
	_, _, errs := synod(t, "run", "--scenario", "scenarios/reuse-tag.yaml")
	_, replay, ok := strings.Cut(errs, "replay: ")
	require.True(t, ok, errs)
	replay, _, _ = strings.Cut(replay, "\n")
	require.True(t, strings.HasPrefix(replay, "go run example.com/abd run --scenario /"), replay)
	for _, dir := range []string{".", "mwabd"} {
		c := exec.Command("sh", "-c", replay)
		c.Dir = dir
		out, err := c.CombinedOutput()
		var ee *exec.ExitError
		require.ErrorAs(t, err, &ee, "%s", out)
		assert.Equal(t, 1, ee.ExitCode(), "%s", out)
		assert.Contains(t, string(out), "one-value-per-tag: k0: tag 4:n1 names two writes", dir)
	}
}
