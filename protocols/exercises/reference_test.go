package exercises_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	_ "github.com/synod-dev/synod/protocols/all"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/exercises"
	twopclab "github.com/synod-dev/synod/protocols/exercises/skeletons/2pc"
	multipaxoslab "github.com/synod-dev/synod/protocols/exercises/skeletons/multi-paxos"
	synodlab "github.com/synod-dev/synod/protocols/exercises/skeletons/paxos-single"
	raftlab "github.com/synod-dev/synod/protocols/exercises/skeletons/raft"
)

// TestReferenceFullMarks grades each reference solution (raft/, paxos/,
// protocols/twopc) on its exercise's suite: it must score full marks.
func TestReferenceFullMarks(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	for _, ex := range exercises.All() {
		t.Run(ex.Name, func(t *testing.T) {
			spec, err := protocols.Lookup(ex.Reference)
			require.NoError(t, err)
			score, err := exercises.Grade(ex, spec, exercises.Options{Short: testing.Short()})
			require.NoError(t, err)
			got, max := score.Total()
			if got != max {
				score.WriteTable(os.Stderr)
				score.WriteFailures(os.Stderr)
			}
			require.Equal(t, max, got, "reference %s on %s", ex.Reference, ex.Name)
		})
	}
}

// skeletonSpecs are the skeletons as shipped, compiled here.
var skeletonSpecs = map[string]func() *protocols.Spec{
	"raft":         raftlab.Spec,
	"paxos-single": synodlab.Spec,
	"multi-paxos":  multipaxoslab.Spec,
	"2pc":          twopclab.Spec,
}

// TestSkeletonsScoreZero grades each skeleton as shipped: it compiles (it
// is imported here) and scores zero on the core tests of every exercise
// that starts from it, failing each for lack of progress, never for a
// panic or an error.
func TestSkeletonsScoreZero(t *testing.T) {
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	for _, ex := range exercises.All() {
		t.Run(ex.Name, func(t *testing.T) {
			mk, ok := skeletonSpecs[ex.Skeleton]
			require.True(t, ok, "no skeleton %q", ex.Skeleton)
			score, err := exercises.Grade(ex, mk(), exercises.Options{Short: true})
			require.NoError(t, err)
			require.Zero(t, score.Core(), "skeleton %s scores on %s core tests", ex.Skeleton, ex.Name)
			for _, r := range score.Results {
				if r.Core {
					require.Contains(t, []string{"liveness"}, r.Kind, "%s: %s", r.Name, r.Failure)
				}
			}
		})
	}
}

func writeFile(dir, name, text string) error {
	return os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644)
}
