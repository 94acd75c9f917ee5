// Package twopc implements atomic commit: two-phase commit (protocol
// "2pc") and Gray and Lamport's Paxos Commit (protocol "paxos-commit"),
// with a bank-transfer workload, atomicity and conservation checkers, and
// a measure of blocking (how long participants stay uncertain, holding
// their locks).
//
// n1 is the coordinator (in Paxos Commit also the leader and an acceptor),
// n2..n(1+P) are participants, each owning the accounts a_i with
// i mod P = its position, and in Paxos Commit the 2F nodes after them are
// acceptors.
package twopc

import (
	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

func init() {
	for _, paxos := range []bool{false, true} {
		name, desc := "2pc", "two-phase commit: a coordinator and participants (atomic commit, blocks on coordinator failure)"
		if paxos {
			name, desc = "paxos-commit", "Paxos Commit (Gray & Lamport): each vote chosen by 2F+1 acceptors, non-blocking"
		}
		paxos := paxos
		protocols.Register(protocols.Spec{
			Name:        name,
			Description: desc,
			Options:     func() any { return DefaultOptions() },
			New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
				t, err := newTopology(c, paxos)
				if err != nil {
					return nil, err
				}
				return func(id sim.NodeID) protocols.Node { return newNode(t, id) }, nil
			},
			Checkers: func(c protocols.Cluster) []sim.Checker {
				t, err := newTopology(c, paxos)
				if err != nil {
					return nil
				}
				return NewCheckers(t.opts, c.Nodes, paxos)
			},
			Messages: messageExamples(),
			Workload: "txn",
			Client: func(c protocols.Cluster, w *protocols.Workload) (func(sim.NodeID) sim.Process, error) {
				t, err := newTopology(c, paxos)
				if err != nil {
					return nil, err
				}
				if err := validateWorkload(w); err != nil {
					return nil, err
				}
				return func(sim.NodeID) sim.Process { return newClient(t, w) }, nil
			},
			Linearizable: false,
			Metrics:      func(s *sim.Sim) []sim.Field { return Blocking(s).Fields() },
		})
	}
}
