package paxos

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

func init() {
	protocols.Register(protocols.Spec{
		Name:        "paxos",
		Description: "Multi-Paxos: a replicated key-value log with a distinguished leader",
		Options:     func() any { return DefaultOptions() },
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			cfg, err := resolveCluster(c)
			if err != nil {
				return nil, err
			}
			return func(id sim.NodeID) protocols.Node { return newNode(cfg, id) }, nil
		},
		Checkers:     clusterCheckers,
		Messages:     multiMessages,
		Linearizable: true,
	})
}

// resolveCluster checks a scenario's options for a cluster.
func resolveCluster(c protocols.Cluster) (*config, error) {
	o, _ := c.Options.(*Options)
	if o == nil {
		if c.Options != nil {
			return nil, fmt.Errorf("options: got %T, want *paxos.Options", c.Options)
		}
		o = DefaultOptions()
	}
	return o.resolve(c.Nodes)
}

// clusterCheckers returns the checkers for a scenario's cluster, counting
// a value chosen at the configured phase 2 quorum.
func clusterCheckers(c protocols.Cluster) []sim.Checker {
	cfg, err := resolveCluster(c)
	if err != nil {
		return Checkers(c.Nodes)
	}
	return []sim.Checker{NewCheckerQuorum(c.Nodes, cfg.q2)}
}

func init() {
	protocols.Register(protocols.Spec{
		Name:        "paxos-single",
		Description: "single-decree Paxos (the Synod protocol): every client is answered with the one chosen value",
		Options:     func() any { return DefaultOptions() },
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			cfg, err := resolveCluster(c)
			if err != nil {
				return nil, err
			}
			return func(id sim.NodeID) protocols.Node { return newSingle(cfg, id) }, nil
		},
		Checkers: clusterCheckers,
		Messages: singleMessages,
		// A write-once register is not the key-value model porcupine checks
		// against: every request, get or put, is answered with the first
		// chosen command. Agreement is checked by the Paxos checker instead.
		Linearizable: false,
	})
}
