package paxos_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	_ "github.com/synod-dev/synod/paxos"
	"github.com/synod-dev/synod/protocols/scenario"
)

// The named bug "ignore-accepted" (a proposer that does not adopt the
// values acceptors report in phase 1) is caught by the one-value-per-slot
// checker, for Multi-Paxos and for the Synod protocol.
func TestBugIgnoreAcceptedIsCaught(t *testing.T) {
	for _, proto := range []string{"paxos", "paxos-single"} {
		t.Run(proto, func(t *testing.T) {
			sc, err := scenario.Load("../testdata/scenarios/paxos/chaos5.yaml")
			require.NoError(t, err)
			sc.Protocol = proto
			sc.ResetOptions()
			require.NoError(t, sc.Revalidate())
			require.NoError(t, sc.SetOption("bug=ignore-accepted"))
			sc.Seed = 3
			require.NoError(t, sc.Revalidate())
			res, err := scenario.Run(sc, scenario.RunOptions{})
			require.NoError(t, err)
			require.NotNil(t, res.FirstViolation, "replay: go run ./cmd/synod run --scenario testdata/scenarios/paxos/chaos5.yaml --protocol %s --option bug=ignore-accepted --seed 3", proto)
			assert.Contains(t, res.FirstViolation.Message, "two values chosen")
		})
	}
	sc, err := scenario.Load("../testdata/scenarios/paxos/chaos5.yaml")
	require.NoError(t, err)
	assert.ErrorContains(t, sc.SetOption("bug=nope"), "not a known bug")
}
