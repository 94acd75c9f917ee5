package raft

import (
	"fmt"
	"slices"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

func init() {
	protocols.Register(ServiceSpec("raft",
		"Raft (reference): elections, replication, PreVote/CheckQuorum, ReadIndex/leases, snapshots, membership changes", nil))
}

// ServiceSpec returns the reference Raft's Spec under another name,
// replicating the state machines newSM makes for each node (nil: the
// key-value store), for protocols.Register: scenarios, the checkers, the
// property tests and the CLI then run it as they run "raft". The client
// workload is the key-value one, so the state machine answers its
// requests (see Sessions and Reader) unless the Spec's workload is
// changed.
func ServiceSpec(name, description string, newSM func(id sim.NodeID) StateMachine) protocols.Spec {
	return protocols.Spec{
		Name:        name,
		Description: description,
		Options:     func() any { return DefaultOptions() },
		New:         func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) { return newCluster(c, newSM) },
		Checkers:    Checkers,
		Messages: []sim.Message{&RequestVote{}, &RequestVoteReply{}, &AppendEntries{}, &AppendEntriesReply{},
			&InstallSnapshot{}},
		Linearizable: true,
	}
}

// newCluster checks the options and returns the node constructor.
func newCluster(c protocols.Cluster, newSM func(sim.NodeID) StateMachine) (func(sim.NodeID) protocols.Node, error) {
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
	if newSM == nil {
		return func(sim.NodeID) protocols.Node { return New(opts, members) }, nil
	}
	return func(id sim.NodeID) protocols.Node {
		return NewWithStateMachine(opts, members, func() StateMachine { return newSM(id) })
	}, nil
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
