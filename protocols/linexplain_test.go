package protocols_test

import (
	"encoding/json"
	"flag"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	_ "github.com/synod-dev/synod/protocols/all"
	"github.com/synod-dev/synod/protocols/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden linearizability explanations in testdata/lin")

const (
	pbScenario = "../testdata/scenarios/core/pb-partition.yaml"
	pbGolden   = "testdata/lin/pb-partition.txt"
	pbReplay   = "replay: go run ./cmd/synod run --scenario testdata/scenarios/core/pb-partition.yaml --seed 1 --json"
)

// runPB runs the shipped primary-backup partition failure.
func runPB(t *testing.T) *scenario.Result {
	t.Helper()
	sc, err := scenario.Load(pbScenario)
	require.NoError(t, err)
	res, err := scenario.Run(sc, scenario.RunOptions{})
	require.NoError(t, err)
	require.Equal(t, string(protocols.LinViolation), res.Linearizable, pbReplay)
	require.NotNil(t, res.LinExplanation, "every violation is explained; "+pbReplay)
	return res
}

// The naive primary-backup store serves a stale read from the old primary
// after the partition: the explanation tells it, the same way every time
// (go test ./protocols/ -run Golden -update rewrites the golden file; read
// the diff before committing it).
func TestExplanationGoldenPrimaryBackup(t *testing.T) {
	res := runPB(t)
	got := res.LinExplanation.Text()
	if *update {
		require.NoError(t, os.MkdirAll("testdata/lin", 0o755))
		require.NoError(t, os.WriteFile(pbGolden, []byte(got), 0o644))
	}
	want, err := os.ReadFile(pbGolden)
	require.NoError(t, err, "run with -update to create it")
	assert.Equal(t, string(want), got, pbReplay)
	assert.LessOrEqual(t, strings.Count(got, "\n"), 20, "a screenful")

	// The same run again, and its JSON, tell the same story.
	again := runPB(t)
	assert.Equal(t, got, again.LinExplanation.Text())
	a, err := json.Marshal(res.LinExplanation)
	require.NoError(t, err)
	b, err := json.Marshal(again.LinExplanation)
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))

	// Every operation of the story is in the history, with its events.
	e := res.LinExplanation
	for _, o := range e.Ops {
		found := false
		for _, r := range res.History {
			if r.Client == o.Client && r.Op == o.Op && r.Call == o.Call && r.CallEvent == o.CallEvent {
				found = true
			}
		}
		assert.True(t, found, "%s is not in the history", o.Describe())
	}
	assert.Equal(t, protocols.RoleCannotPlace, e.Ops[e.Failing].Role)
	assert.Greater(t, e.End(), e.Ops[e.Failing].Call)
}

// docBlock returns the first fenced code block after the heading.
var fence = regexp.MustCompile("(?s)```text\n(.*?)```")

// The docs show the golden explanation verbatim, so their example cannot
// go stale.
func TestDocsShowTheGoldenExplanation(t *testing.T) {
	want, err := os.ReadFile(pbGolden)
	require.NoError(t, err)
	for _, doc := range []string{"../docs/testing.md", "../docs/protocols.md"} {
		b, err := os.ReadFile(doc)
		require.NoError(t, err)
		s := string(b)
		i := strings.Index(s, "## Reading a linearizability explanation")
		require.GreaterOrEqual(t, i, 0, "%s has no section \"Reading a linearizability explanation\"", doc)
		m := fence.FindStringSubmatch(s[i:])
		require.NotNil(t, m, "%s: no ```text block in the section", doc)
		assert.Equal(t, string(want), m[1], "%s: the example differs from %s (go test ./protocols/ -run Golden -update, then copy it)", doc, pbGolden)
	}
}
