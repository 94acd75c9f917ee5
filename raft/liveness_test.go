package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
)

// Each liveness checker is proven by the mutant it exists for: the run
// with the bug fails on that checker, the same seed without it passes.
// (The seeds are the first failing ones the mutation suite reports.)
func TestLivenessCheckersCatchTheirMutants(t *testing.T) {
	for _, c := range []struct {
		file, bug, checker, rule string
		seed                     uint64
	}{
		// §5.1: a leader that hears of a higher term steps down.
		{"chaos5.yaml", BugNoStepDown, "raft.StaleLeader", "", 2},
		// §8: a retried request already applied is answered from the
		// session table; dropping it leaves the client unanswered.
		{"chaos5-liveness.yaml", BugDropDuplicates, "raft.Progress", "operations answered", 1},
		// §5.2: randomized election timeouts make split votes rare; with
		// one timeout for all, nodes restarted together split the vote
		// for ever on a steady network.
		{"liveness-restart.yaml", BugFixedElectionTimeout, "raft.Progress", "elections settle", 1},
	} {
		t.Run(c.bug, func(t *testing.T) {
			for _, bug := range []string{"", c.bug} {
				sc := loadScenario(t, c.file)
				sc.Seed = c.seed
				require.NoError(t, sc.SetOption("bug="+bug))
				res, err := scenario.Run(sc, scenario.RunOptions{})
				require.NoError(t, err)
				if bug == "" {
					require.False(t, res.Failed(), "correct protocol failed: %v %v\nreplay: %s", res.FirstViolation, res.Panic, replay("testdata/scenarios/raft/"+c.file, c.seed))
					continue
				}
				require.NotNil(t, res.FirstViolation, "bug=%s not caught\nreplay: %s --option bug=%s", bug, replay("testdata/scenarios/raft/"+c.file, c.seed), bug)
				require.Equal(t, c.checker, res.FirstViolation.Checker, "bug=%s: %v", bug, res.FirstViolation)
				require.Equal(t, c.rule, protocols.ProgressRule(res.FirstViolation.Message), "bug=%s: %v", bug, res.FirstViolation)
			}
		})
	}
}
