// Package checkertest holds checkers that tests of several packages use
// as "a caller's own checker": stateful, outside any protocol, seeing
// nodes only through their Inspect views.
package checkertest

import (
	"fmt"

	"github.com/synod-dev/synod/sim"
)

// ThreeElections counts the times a node becomes leader (by its view's
// role) and fails at the third. It keeps state across events, so each
// run needs a fresh one.
type ThreeElections struct {
	leader map[sim.NodeID]bool
	n      int
}

func (c *ThreeElections) Name() string { return "three-elections" }

func (c *ThreeElections) Check(s *sim.Sim, _ *sim.Event) error {
	if c.leader == nil {
		c.leader = map[sim.NodeID]bool{}
	}
	for _, id := range s.Nodes() {
		v, ok := s.Inspect(id)
		is := ok && v.Role == "leader"
		if is && !c.leader[id] {
			c.n++
		}
		c.leader[id] = is
	}
	if c.n >= 3 {
		return fmt.Errorf("%d elections won", c.n)
	}
	return nil
}
