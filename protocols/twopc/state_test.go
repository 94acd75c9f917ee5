package twopc

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/sim/explore"
)

// forgetful wraps a node so that its encoding (state.go) leaves out one
// field: the node is encoded as if the field were zero.
type forgetful struct {
	*Node
	field string
}

func (f *forgetful) AppendState(b []byte) []byte {
	c := *f.Node
	switch f.field {
	case "coordinator acks":
		if c.coord != nil {
			co := *c.coord
			co.txns = map[TxnID]*ctxn{}
			for id, tx := range f.coord.txns {
				cp := *tx
				cp.acks = make([]bool, len(tx.acks))
				co.txns[id] = &cp
			}
			c.coord = &co
		}
	case "leader chosen":
		if c.lead != nil {
			l := *c.lead
			l.txns = map[TxnID]*ltxn{}
			for id, tx := range f.lead.txns {
				cp := *tx
				cp.chosen = nil
				l.txns[id] = &cp
			}
			c.lead = &l
		}
	default:
		panic("forgetful: no field " + f.field)
	}
	return c.AppendState(b)
}

// forgetField is the field the "-forgetful" protocols leave out.
var forgetField string

func init() {
	for _, name := range []string{"2pc", "paxos-commit"} {
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
			return func(id sim.NodeID) protocols.Node { return &forgetful{Node: mk(id).(*Node), field: field} }, nil
		}
		protocols.Register(f)
	}
}

// TestStateEncodingMissingFieldCaught: the encodings' proof (state.go).
// A 2PC coordinator that forgets which participants acknowledged its
// decision, or a Paxos Commit leader that forgets the votes the acceptors
// reported, absorbs a message without a change its encoding shows; the
// twin check (sim/explore) takes the next step from both states and a
// strict search fails. The same searches of the whole encodings pass
// (sim/explore TestExhaustive).
func TestStateEncodingMissingFieldCaught(t *testing.T) {
	for _, c := range []struct {
		protocol, field string
		nodes           int
	}{
		{"2pc", "coordinator acks", 3},
		{"paxos-commit", "leader chosen", 4},
	} {
		t.Run(c.protocol+"/"+c.field, func(t *testing.T) {
			sc := scenario.Default(c.protocol)
			sc.Protocol = c.protocol + "-forgetful"
			sc.Nodes, sc.Workload.Clients = c.nodes, 1
			sc.Network = sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: sim.Millisecond}}
			require.NoError(t, sc.Revalidate())
			forgetField = c.field
			inst, err := scenario.Build(sc)
			require.NoError(t, err)
			r, err := explore.Run(inst.Sim, explore.Options{DepthMax: 8, Strict: true})
			require.ErrorIs(t, err, explore.ErrInexact, "%v", r)
			t.Logf("without %s: %v", c.field, err)
		})
	}
}
