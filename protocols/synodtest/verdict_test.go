package synodtest_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/synodtest"
)

// TestUnknownFailsTheTest: a run whose linearizability check cannot decide
// (a budget of 1ns) fails the test, with the reason and the setting that
// raises the budget, and the commands that replay it. It used to pass.
func TestUnknownFailsTheTest(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	ft := &fakeT{}
	rep := synodtest.Check(ft, synodtest.Options{
		Protocol: TinySpec(),
		YAML:     crashes + "checks: {lin_budget: 1ns}\n",
		Seeds:    2,
	})
	require.Len(t, rep.Failures, 1, "the first undecided seed fails")
	f := rep.Failures[0]
	assert.Equal(t, "unknown", f.Kind)
	require.Len(t, ft.errors, 1)
	msg := ft.errors[0]
	t.Logf("%s", msg)
	pkgDir := func(t *testing.T) string {
		d, err := os.Getwd()
		require.NoError(t, err)
		return d
	}
	for _, want := range []string{"seed 1: unknown: ", "could not decide", "lin_budget", "retest: go test -C " + pkgDir(t) + " -run '^TestFake$' -synod.seed 1"} {
		assert.Contains(t, msg, want)
	}
	assert.Empty(t, f.ShrunkTrace, "an undecided run has nothing to shrink")
	assert.NotContains(t, msg, "schedule", "no event is where an undecided check failed")
	assert.FileExists(t, f.Trace)
	assert.Empty(t, f.LinHTML)
}

// TestLinearizabilityFailureWritesTheHTML: a non-linearizable run gets
// porcupine's visualization written beside its trace, named in the
// message.
func TestLinearizabilityFailureWritesTheHTML(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SYNOD_FAILURES", dir)
	t.Setenv("SYNOD_SHRINK", "0") // the shrinker is tested elsewhere
	ft := &fakeT{}
	rep := synodtest.Check(ft, synodtest.Options{
		Protocol: TinySpec(),
		YAML:     crashes + "options: {forget: true}\n",
		Seeds:    3,
	})
	require.NotEmpty(t, rep.Failures)
	f := rep.Failures[0]
	require.Equal(t, "linearizability", f.Kind)
	require.NotEmpty(t, f.LinHTML)
	assert.Equal(t, strings.TrimSuffix(f.Trace, ".jsonl")+"-lin.html", f.LinHTML, "beside the trace")
	html, err := os.ReadFile(f.LinHTML)
	require.NoError(t, err)
	assert.Contains(t, string(html), "<html")
	assert.Contains(t, ft.errors[0], "linearizability visualization (porcupine, open in a browser): "+f.LinHTML+"\n")
}
