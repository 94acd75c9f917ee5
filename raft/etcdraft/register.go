package etcdraft

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Name is the protocol's registered name.
const Name = "etcd-raft"

func init() {
	protocols.Register(protocols.Spec{
		Name:        Name,
		Description: "etcd's production Raft (go.etcd.io/raft/v3 v3.7.0) through an adapter, elections seeded per node",
		Options:     func() any { return DefaultOptions() },
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o, err := optionsOf(c)
			if err != nil {
				return nil, err
			}
			members := c.Members
			if len(members) == 0 {
				for i := 1; i <= c.Nodes; i++ {
					members = append(members, sim.NodeID(i))
				}
			}
			return func(id sim.NodeID) protocols.Node { return New(o, id, members) }, nil
		},
		Checkers:     func(protocols.Cluster) []sim.Checker { return NewCheckers() },
		Messages:     []sim.Message{Msg{}},
		Linearizable: true,
	})
}

// optionsOf checks a scenario's options.
func optionsOf(c protocols.Cluster) (*Options, error) {
	o, _ := c.Options.(*Options)
	if o == nil {
		if c.Options != nil {
			return nil, fmt.Errorf("options: got %T, want *etcdraft.Options", c.Options)
		}
		o = DefaultOptions()
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return o, nil
}
