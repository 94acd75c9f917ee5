package mwabd_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"example.com/abd/mwabd"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/synodtest"
	// The TUI, linked into this test binary: a failure's watch command
	// (go test -synod.tui TRACE) opens the trace with it.
	_ "github.com/synod-dev/synod/tui/tuitest"
)

const (
	chaos    = "../scenarios/chaos.yaml"
	reuseTag = "../scenarios/reuse-tag.yaml"
)

// The property test: under crashes, partitions and loss, for every seed
// (-synod.seeds N for more), the history is linearizable (porcupine) and
// the protocol's own checker finds no tag naming two values.
func TestChaos(t *testing.T) {
	synodtest.Check(t, synodtest.Options{Protocol: mwabd.Spec(), Scenario: chaos, Determinism: true})
}

// A check is proven by the bug it catches: with reuse-tag, two puts
// coordinated at once by one node take the same tag, and
// one-value-per-tag names it (on the first seed; shrinking off, which
// would only make the test slower).
func TestReusedTagIsCaught(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir()) // the failure's trace, not for the source tree
	rep, err := synodtest.Run(synodtest.Options{Protocol: mwabd.Spec(), Scenario: reuseTag, Seeds: 1, NoShrink: true}, true)
	require.NoError(t, err)
	require.Len(t, rep.Failures, 1, "reuse-tag must fail its first seed")
	f := rep.Failures[0]
	assert.Equal(t, "violation", f.Kind, f.Message)
	assert.Equal(t, "one-value-per-tag", f.Checker)
	assert.Regexp(t, `one-value-per-tag: k0: tag [0-9]+:n[0-9] names two writes: "c[0-9]+\.[0-9]+"@[0-9]+:n[0-9] on n[0-9] and "c[0-9]+\.[0-9]+"@[0-9]+:n[0-9] on n[0-9]`, f.Message)
}

// The same scenario without the bug passes: the failure above is the
// bug's, not the scenario's.
func TestReuseTagScenarioPassesWithoutTheBug(t *testing.T) {
	_, err := synodtest.Use(mwabd.Spec())
	require.NoError(t, err)
	sc, err := scenario.Load(reuseTag)
	require.NoError(t, err)
	require.NoError(t, sc.SetOption(`bug=""`))
	res, err := scenario.Run(sc, scenario.RunOptions{})
	require.NoError(t, err)
	assert.Zero(t, res.Violations, "%+v", res.FirstViolation)
	assert.Equal(t, "ok", res.Linearizable, res.LinReason)
	assert.Positive(t, res.OpsOK)
}

// Bad options are errors naming the field, at scenario load.
func TestOptionsAreChecked(t *testing.T) {
	_, err := synodtest.Use(mwabd.Spec())
	require.NoError(t, err)
	for opt, want := range map[string]string{
		"bug=nope":                 `field "options.bug": "nope" is not a bug of mwabd (the one it has is "reuse-tag")`,
		"round_expire=0s":          `field "options.round_expire": 0s must be positive`,
		"bug=" + mwabd.BugReuseTag: "",
	} {
		sc, err := scenario.Load(chaos)
		require.NoError(t, err)
		if err := sc.SetOption(opt); want == "" {
			assert.NoError(t, err, opt)
		} else {
			assert.ErrorContains(t, err, want, opt)
		}
	}
}

// Tags order by counter, then by the writer node, so concurrent writes of
// two nodes with one counter are ordered the same on every replica.
func TestTagOrder(t *testing.T) {
	a := mwabd.Tag{Counter: 1, Writer: 1}
	b := mwabd.Tag{Counter: 1, Writer: 2}
	c := mwabd.Tag{Counter: 2, Writer: 1}
	assert.True(t, a.Less(b))
	assert.True(t, b.Less(c))
	assert.True(t, a.Less(c))
	assert.False(t, c.Less(a))
	assert.False(t, a.Less(a))
	assert.Equal(t, "2:n1", c.String())
}
