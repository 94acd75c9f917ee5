package cli

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// A module's Spec that cannot be registered is an error naming the
// protocol and the field, before any command runs; nothing is
// registered. A Spec that can is known to every command.
func TestRegisterBadSpecs(t *testing.T) {
	newNode := func(protocols.Cluster) (func(sim.NodeID) protocols.Node, error) { return nil, nil }
	assert.EqualError(t, Register(nil), "cli.Register: spec 1 of 1 is nil")
	assert.EqualError(t, Register(&protocols.Spec{Name: "raft", New: newNode}), `protocol raft: Spec.Name: "raft" is registered twice`,
		"synod's own protocols keep their names")
	assert.EqualError(t, Register(&protocols.Spec{Name: "cli-test-noop"}), "protocol cli-test-noop: Spec.New: missing (the node constructor)")
	assert.EqualError(t, Register(&protocols.Spec{Name: "cli-test-retry", New: newNode, Retry: "sometimes"}),
		`protocol cli-test-retry: Spec.Retry: "sometimes" is not a retry policy (want other-node, same-node or never)`)

	assert.NoError(t, Register(&protocols.Spec{Name: "cli-test-ok", Description: "registered by a test", New: newNode}))
	var out bytes.Buffer
	assert.Zero(t, Execute([]string{"protocols"}, &out, &out))
	assert.Contains(t, out.String(), "cli-test-ok")
}
