package protocols

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// regMsg and its rival are two Go types; rival claims regMsg's name.
type regMsg struct{}

func (*regMsg) MessageType() string { return "regtest.Msg" }

type rivalMsg struct{}

func (*rivalMsg) MessageType() string { return "regtest.Msg" }

type namelessMsg struct{}

func (*namelessMsg) MessageType() string { return "" }

type otherMsg struct{}

func (*otherMsg) MessageType() string { return "regtest.Other" }

func newNothing(Cluster) (func(sim.NodeID) Node, error) { return nil, nil }

// TestAddRefusesBadSpecs: every bad declaration is an error at
// registration naming the protocol and the Spec field, and nothing is
// registered.
func TestAddRefusesBadSpecs(t *testing.T) {
	require.NoError(t, Add(Spec{Name: "regtest-taken", New: newNothing, Messages: []sim.Message{&regMsg{}}}))
	ownClient := func(Cluster, *Workload) (func(sim.NodeID) sim.Process, error) { return nil, nil }
	cases := []struct {
		name string
		spec Spec
		want string
	}{
		{"no name", Spec{New: newNothing}, "Spec.Name: missing"},
		{"no New", Spec{Name: "regtest-a"}, "protocol regtest-a: Spec.New: missing"},
		{"duplicate name", Spec{Name: "regtest-taken", New: newNothing}, `protocol regtest-taken: Spec.Name: "regtest-taken" is registered twice`},
		{"nil message", Spec{Name: "regtest-a", New: newNothing, Messages: []sim.Message{&otherMsg{}, nil}},
			"protocol regtest-a: Spec.Messages[1]: nil"},
		{"nameless message", Spec{Name: "regtest-a", New: newNothing, Messages: []sim.Message{&namelessMsg{}}},
			"protocol regtest-a: Spec.Messages[0]: *protocols.namelessMsg has an empty MessageType()"},
		{"message listed twice", Spec{Name: "regtest-a", New: newNothing, Messages: []sim.Message{&otherMsg{}, &Request{}, &otherMsg{}}},
			`protocol regtest-a: Spec.Messages[2]: message type "regtest.Other" is listed twice (also at [0])`},
		{"message name taken by another type", Spec{Name: "regtest-a", New: newNothing, Messages: []sim.Message{&rivalMsg{}}},
			`protocol regtest-a: Spec.Messages[0]: message type "regtest.Msg" is *protocols.rivalMsg here but *protocols.regMsg in another protocol`},
		{"unknown operation", Spec{Name: "regtest-a", New: newNothing, Ops: []OpKind{OpGet, "incr"}},
			`protocol regtest-a: Spec.Ops[1]: "incr" is not a key-value operation (want get, put, append, cas)`},
		{"operation twice", Spec{Name: "regtest-a", New: newNothing, Ops: []OpKind{OpGet, OpPut, OpGet}, Mix: &Mix{Get: 1}},
			`protocol regtest-a: Spec.Ops[2]: "get" is listed twice`},
		{"ops without a mix", Spec{Name: "regtest-a", New: newNothing, Ops: []OpKind{OpGet, OpPut}},
			"protocol regtest-a: Spec.Mix: missing: Spec.Ops (get, put) leaves out append, which the default mix weighs"},
		{"mix outside ops", Spec{Name: "regtest-a", New: newNothing, Ops: []OpKind{OpGet, OpPut}, Mix: &Mix{Get: 1, CAS: 0.1}},
			"protocol regtest-a: Spec.Mix.cas: weighs an operation outside Spec.Ops (get, put)"},
		{"mix all zero", Spec{Name: "regtest-a", New: newNothing, Mix: &Mix{}}, "protocol regtest-a: Spec.Mix: mix: all weights are zero"},
		{"retry policy", Spec{Name: "regtest-a", New: newNothing, Retry: "elsewhere"},
			`protocol regtest-a: Spec.Retry: "elsewhere" is not a retry policy (want other-node, same-node or never)`},
		{"retry with own client", Spec{Name: "regtest-a", New: newNothing, Client: ownClient, Retry: RetryNever},
			"protocol regtest-a: Spec.Ops, Spec.Mix and Spec.Retry declare the key-value workload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Add(c.spec)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			if c.spec.Name != "" && c.spec.Name != "regtest-taken" {
				_, err := Lookup(c.spec.Name)
				assert.Error(t, err, "a refused Spec is not registered")
			}
		})
	}
	t.Run("Register panics with the error", func(t *testing.T) {
		defer func() {
			r := recover()
			require.NotNil(t, r)
			assert.True(t, strings.HasPrefix(r.(string), "protocols: protocol regtest-b: Spec.Retry: "), "%v", r)
		}()
		Register(Spec{Name: "regtest-b", New: newNothing, Retry: "sometimes"})
	})
}

// TestAddRegistersTheWorkloadMessages: a protocol driven by the key-value
// workload may send Request and Response without listing them, and its
// traces decode them.
func TestAddRegistersTheWorkloadMessages(t *testing.T) {
	s := Spec{Name: "regtest-kv", New: newNothing, Messages: []sim.Message{&otherMsg{}}}
	require.NoError(t, Add(s))
	var names []string
	for _, m := range s.AllMessages() {
		names = append(names, m.MessageType())
	}
	assert.Equal(t, []string{"regtest.Other", "client.Request", "client.Response"}, names)
	_, ok := sim.Messages.Type("client.Response")
	assert.True(t, ok)
	own := Spec{Messages: []sim.Message{&otherMsg{}}, Client: func(Cluster, *Workload) (func(sim.NodeID) sim.Process, error) { return nil, nil }}
	assert.Len(t, own.AllMessages(), 1, "a protocol with its own client sends its own messages only")
}
