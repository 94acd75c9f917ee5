package synodtest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// TestJudgeTellsTheLinearizabilityStory: a violation's failure message
// carries the explanation's text; an unknown verdict fails with the
// checker's reason. (The results are built here: the checker fills in the
// explanation and the reason.)
func TestJudgeTellsTheLinearizabilityStory(t *testing.T) {
	ex := &protocols.LinExplanation{Key: "k3", Failing: 0, Ops: []protocols.LinOp{
		{Client: sim.ClientID(2), Op: protocols.Op{Kind: protocols.OpGet, Key: "k3"}, Result: "(none)", Call: 7, Return: 9, CallEvent: 40, ReturnEvent: 52, Role: protocols.RoleCannotPlace},
	}}
	f := judge(&Options{}, nil, &scenario.Result{Linearizable: string(protocols.LinViolation), LinExplanation: ex})
	require.NotNil(t, f)
	assert.Equal(t, "linearizability", f.Kind)
	assert.Contains(t, f.Message, "the client history is not linearizable")
	assert.Contains(t, f.Message, "\nnot linearizable: key k3: no legal order places ")
	assert.Contains(t, f.Message, "#52]")

	f = judge(&Options{}, nil, &scenario.Result{Linearizable: string(protocols.LinUnknown), LinReason: "porcupine ran out of its 1ns budget on key k1; raise checks.lin_budget"})
	require.NotNil(t, f, "unknown is not a pass")
	assert.Equal(t, "unknown", f.Kind)
	assert.Contains(t, f.Message, "porcupine ran out of its 1ns budget on key k1; raise checks.lin_budget")

	assert.Nil(t, judge(&Options{}, nil, &scenario.Result{Linearizable: string(protocols.LinOK)}))
	assert.Nil(t, judge(&Options{}, nil, &scenario.Result{Linearizable: string(protocols.LinSkipped)}))
}
