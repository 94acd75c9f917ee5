package synodtest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
)

// TestUseReportsABadSpec: a test's protocol whose Spec contradicts itself
// fails the test with the error naming the field; it used to panic.
func TestUseReportsABadSpec(t *testing.T) {
	_, err := synodtest.Use(&protocols.Spec{Name: "usetest-bad", Retry: "sometimes",
		New: func(protocols.Cluster) (func(sim.NodeID) protocols.Node, error) { return nil, nil }})
	assert.EqualError(t, err, `protocol usetest-bad: Spec.Retry: "sometimes" is not a retry policy (want other-node, same-node or never)`)
}
