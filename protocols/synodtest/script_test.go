package synodtest_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/synodtest"
)

// TestScriptCommandErrors checks that a bad command prints a clear error
// as its output (so the script's expected output shows it) and leaves the
// run usable.
func TestScriptCommandErrors(t *testing.T) {
	r, err := synodtest.NewScriptRunner(synodtest.ScriptOptions{Options: synodtest.Options{
		Protocol: TinySpec(), YAML: "# no clients\nnodes: 3\nworkload: {clients: 0}\n",
	}})
	require.NoError(t, err)
	cases := map[string]string{
		"frobnicate n1":      `error: unknown command "frobnicate"`,
		"run soon":           "error: ",
		"step 0":             `error: "0": want a count >= 1`,
		"deliver n1->n2":     "error: no pending message n1->n2",
		"deliver n1n2":       `error: "n1n2": want FROM->TO, e.g. n1->n2`,
		"timer n2":           "error: no pending timer at n2",
		"propose n1 put x 1": "error: no clients: set workload: {clients: 1} in the scenario",
		"storage c1":         "error: c1 has no storage",
		"stabilize x":        `error: "x": want a bound >= 1`,
		"crash n9":           "error: ",
	}
	for cmd, want := range cases {
		require.Contains(t, r.Exec(cmd), want, cmd)
	}
	require.Equal(t, "n1 redirector leader=n1 log=0 commit=0 applied=0", r.Exec("status n1"))
	require.Equal(t, "t=0s fault partition n1|n2,n3 (manual)", r.Exec("partition n1 | n2 n3"))
}

// TestScriptUpdateRewrites checks -synod.update (SYNOD_UPDATE=1): the
// expected output is rewritten, comments and commands are kept.
func TestScriptUpdateRewrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.txt")
	require.NoError(t, os.WriteFile(path, []byte("# a comment\nstatus n2\n----\nstale\n\n# another\nstatus n3\n----\n"), 0o644))
	opts := synodtest.ScriptOptions{Options: synodtest.Options{Protocol: TinySpec(), YAML: "# s\nnodes: 3\nworkload: {clients: 0}\n"}}
	ft := &fakeT{}
	synodtest.RunScript(ft, path, opts)
	require.Len(t, ft.errors, 1)
	require.Contains(t, ft.errors[0], "s.txt:2: status n2")
	require.Contains(t, ft.errors[0], "-synod.update")
	t.Setenv("SYNOD_UPDATE", "1")
	synodtest.RunScript(t, path, opts)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "# a comment\nstatus n2\n----\nn2 redirector leader=n1 log=0 commit=0 applied=0\n\n# another\nstatus n3\n----\nn3 redirector leader=n1 log=0 commit=0 applied=0\n", string(b))
	t.Setenv("SYNOD_UPDATE", "")
	synodtest.RunScript(t, path, opts)
}

// TestBadBoundsAreErrors checks that absurd bounds are refused before any
// run starts.
func TestBadBoundsAreErrors(t *testing.T) {
	_, err := synodtest.Run(synodtest.Options{Protocol: TinySpec(), Seeds: -1}, true)
	require.ErrorContains(t, err, "seeds -1 is outside")
	_, err = synodtest.Run(synodtest.Options{Protocol: TinySpec(), EventsMax: -5}, true)
	require.ErrorContains(t, err, "events max -5 is negative")
	t.Setenv("SYNOD_SEEDS", "many")
	_, err = synodtest.Run(synodtest.Options{Protocol: TinySpec()}, true)
	require.ErrorContains(t, err, `SYNOD_SEEDS="many": want a count >= 0`)
	t.Setenv("SYNOD_SEEDS", "100000000")
	_, err = synodtest.Run(synodtest.Options{Protocol: TinySpec()}, true)
	require.ErrorContains(t, err, "over the bound")
	_, err = synodtest.Run(synodtest.Options{Protocol: TinySpec(), YAML: "# x\nnodes: 0\n"}, true)
	require.ErrorContains(t, err, "nodes")
}
