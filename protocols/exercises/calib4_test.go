package exercises_test

import (
	"os"
	"testing"

	"github.com/synod-dev/synod/protocols/exercises"
	"github.com/synod-dev/synod/protocols/exercises/internal/electionlab"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
)

func TestCalib4(t *testing.T) {
	if os.Getenv("CALIB4") == "" {
		t.Skip()
	}
	t.Setenv("SYNOD_FAILURES", t.TempDir())
	tc := testOf(t, "raft-election", os.Getenv("CALIB4"))
	if y := os.Getenv("YAML"); y != "" {
		tc.YAML = y
	}
	rep, err := synodtest.Run(synodtest.Options{Protocol: electionlab.Spec(electionlab.Bug(os.Getenv("BUG"))), YAML: tc.YAML, Seeds: 200, FirstSeed: tc.FirstSeed, NoLinearizability: true, KeepGoing: true, NoShrink: true, FixedSeeds: true,
		Checkers: func() []sim.Checker { return []sim.Checker{exercises.NewLeaderPerTermForTest()} }}, false)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []uint64
	for _, f := range rep.Failures {
		seeds = append(seeds, f.Seed)
	}
	t.Logf("%d failures of %d: %v", len(rep.Failures), rep.Seeds, seeds)
}
