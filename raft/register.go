package raft

import (
	"fmt"
	"slices"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

func init() {
	protocols.Register(protocols.Spec{
		Name:        "raft",
		Description: "Raft (reference): elections, replication, PreVote/CheckQuorum, ReadIndex/leases, snapshots, membership changes",
		Options:     func() any { return DefaultOptions() },
		New:         newCluster,
		Checkers:    Checkers,
		Messages: []sim.Message{&RequestVote{}, &RequestVoteReply{}, &AppendEntries{}, &AppendEntriesReply{},
			&InstallSnapshot{}},
		Linearizable: true,
	})
}

// newCluster checks the options and returns the node constructor.
func newCluster(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
	opts, ok := c.Options.(*Options)
	if c.Options == nil {
		opts = DefaultOptions()
	} else if !ok {
		return nil, fmt.Errorf("options: got %T, want *raft.Options", c.Options)
	}
	members := initialMembers(c)
	if err := opts.Validate(c.Nodes, members); err != nil {
		return nil, err
	}
	return func(sim.NodeID) protocols.Node { return New(opts, members) }, nil
}

// initialMembers is the sorted initial configuration: the cluster's
// members, or every node.
func initialMembers(c protocols.Cluster) []sim.NodeID {
	var members []sim.NodeID
	if len(c.Members) > 0 {
		members = slices.Clone(c.Members)
	} else {
		for i := 1; i <= c.Nodes; i++ {
			members = append(members, sim.NodeID(i))
		}
	}
	slices.Sort(members)
	return members
}
