package etcdraft

import (
	"testing"

	"github.com/synod-dev/synod/sim"
)

func TestSmoke(t *testing.T) {
	c := newCluster(t, clusterOpts{seed: 1, clients: 3, duration: 3 * sim.Second})
	c.runUntil(3 * sim.Second)
	t.Logf("leaders %v ok ops %d stats %+v", c.leaders(), c.okOps(), c.s.Stats())
	for _, id := range c.s.Nodes() {
		v := c.node(id).Inspect()
		t.Logf("%v %s term %d commit %d applied %d %v", id, v.Role, v.Term, v.Commit, v.Applied, v.Fields)
	}
}
