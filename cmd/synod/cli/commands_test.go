package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// synodGoRun is how a command printed under go test runs synod: go run
// and the command's import path, which works anywhere in the module
// (go run ./cmd/synod only from its root).
const synodGoRun = "go run github.com/synod-dev/synod/cmd/synod"

// printed returns the command after prefix ("replay: ") in out.
func printed(t *testing.T, out, prefix string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(prefix) + `(.*)$`).FindStringSubmatch(out)
	require.NotNil(t, m, "no %q line in:\n%s", prefix, out)
	return m[1]
}

// shell runs a printed command line in dir, as a user pasting it would.
func shell(t *testing.T, dir, line string) (int, string) {
	t.Helper()
	c := exec.Command("sh", "-c", line)
	c.Dir = dir
	out, err := c.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	require.NoError(t, err, line)
	return 0, string(out)
}

// TestPrintedCommandsWorkWherePrinted: the replay and watch commands a
// failing run prints work pasted into a shell from the directory synod
// ran in, and from elsewhere: from a binary install they name the binary
// as invoked and the file as given; under go test (whose directory is the
// package's, not the user's) the module's command and an absolute file.
// They used to be "go run ./cmd/synod" with the path as given, which works
// from no directory when the path is relative to a package.
func TestPrintedCommandsWorkWherePrinted(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := synodBinary(t)
	here, err := os.Getwd()
	require.NoError(t, err)
	root := filepath.Join(here, "..", "..", "..")
	const rel = "../../../testdata/scenarios/core/pb-partition.yaml"

	t.Run("binary", func(t *testing.T) {
		code, out := shell(t, here, bin+" run --scenario "+rel)
		require.Equal(t, 1, code, out)
		replay := printed(t, out, "replay: ")
		assert.Equal(t, bin+" run --scenario "+rel+" --seed 1", replay)
		assert.True(t, strings.HasPrefix(printed(t, out, "watch:  "), bin+" tui --scenario "+rel+" --seed 1 --at "))
		code, again := shell(t, here, replay)
		assert.Equal(t, 1, code, again)
		assert.Contains(t, again, "linearizable  violation")
	})

	t.Run("go test", func(t *testing.T) {
		code, _, errs := run(t, "run", "--scenario", rel)
		require.Equal(t, 1, code, errs)
		abs, err := filepath.Abs(rel)
		require.NoError(t, err)
		replay := printed(t, errs, "replay: ")
		require.Equal(t, synodGoRun+" run --scenario "+abs+" --seed 1", replay)
		assert.True(t, strings.HasPrefix(printed(t, errs, "watch:  "), synodGoRun+" tui --scenario "+abs+" --seed 1 --at "))
		// The go run prefix resolves from the module's root and from this
		// package's directory; the rest runs from either (the binary
		// stands in for go run, which would compile synod again).
		for _, dir := range []string{root, here} {
			c := exec.Command("go", "list", "-f", "{{.Name}}", strings.TrimPrefix(synodGoRun, "go run "))
			c.Dir = dir
			name, err := c.CombinedOutput()
			require.NoError(t, err, "%s", name)
			assert.Equal(t, "main", strings.TrimSpace(string(name)), dir)
			code, again := shell(t, dir, bin+strings.TrimPrefix(replay, synodGoRun))
			assert.Equal(t, 1, code, again)
			assert.Contains(t, again, "linearizable  violation")
		}
	})
}
