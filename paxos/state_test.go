package paxos

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

// The encodings' proof (state.go): sim/explore's TestExhaustive shows that
// a strict search of each protocol finds no sign of an inexact encoding;
// here a strict search fails on an encoding that leaves out one field the
// node's behaviour depends on, so that test could fail.

// forgetful wraps a node so that its encoding leaves out one field: the
// node is encoded as if the field were zero.
type forgetful struct {
	*Node
	field string
}

func (f *forgetful) AppendState(b []byte) []byte {
	c := *f.Node
	switch f.field {
	case "promises":
		c.promises = 0
	default:
		panic("forgetful: no field " + f.field)
	}
	return c.AppendState(b)
}

type forgetfulSingle struct {
	*SingleNode
	field string
}

func (f *forgetfulSingle) AppendState(b []byte) []byte {
	c := *f.SingleNode
	switch f.field {
	case "promises":
		c.promises = 0
	default:
		panic("forgetfulSingle: no field " + f.field)
	}
	return c.AppendState(b)
}

// forgetField is the field the registered "-forgetful" protocols leave
// out of their encodings (set by the test before each run).
var forgetField string

func init() {
	for _, name := range []string{"paxos", "paxos-single"} {
		spec, err := protocols.Lookup(name)
		if err != nil {
			panic(err)
		}
		f := *spec
		f.Name = name + "-forgetful"
		f.New = func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			mk, err := spec.New(c)
			if err != nil {
				return nil, err
			}
			field := forgetField
			return func(id sim.NodeID) protocols.Node {
				switch n := mk(id).(type) {
				case *Node:
					return &forgetful{Node: n, field: field}
				case *SingleNode:
					return &forgetfulSingle{SingleNode: n, field: field}
				default:
					panic("forgetful: a node of another type")
				}
			}, nil
		}
		protocols.Register(f)
	}
}

// TestStateEncodingMissingFieldCaught: a candidate whose encoding leaves
// out the promises it collected (with 5 nodes, one promise is not yet a
// quorum and two are) is caught by a strict search. The search keeps the
// candidate before the first promise and drops the one after it (same
// fingerprint: on the set network the Promise stays in flight); the twin
// check takes the next Promise from both, and only one becomes leader.
// The same searches of the whole encodings pass (sim/explore
// TestExhaustive).
func TestStateEncodingMissingFieldCaught(t *testing.T) {
	for _, c := range []struct {
		protocol, field string
		nodes, clients  int
		depth           int
	}{
		{"paxos", "promises", 5, 0, 5},
		{"paxos-single", "promises", 5, 1, 6},
	} {
		t.Run(c.protocol+"/"+c.field, func(t *testing.T) {
			sc := scenario.Default(c.protocol)
			sc.Protocol = c.protocol + "-forgetful"
			sc.Nodes, sc.Workload.Clients = c.nodes, c.clients
			sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
			require.NoError(t, sc.Revalidate())
			forgetField = c.field
			inst, err := scenario.Build(sc)
			require.NoError(t, err)
			r, err := explore.Run(inst.Sim, explore.Options{DepthMax: c.depth, Strict: true})
			require.ErrorIs(t, err, explore.ErrInexact, "%v", r)
			t.Logf("without %s: %v", c.field, err)
		})
	}
}
