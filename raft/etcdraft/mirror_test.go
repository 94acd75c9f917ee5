package etcdraft

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/sim"
)

// etcdElapsed reads etcd's unexported electionElapsed (tests only).
func etcdElapsed(n *Node) int64 {
	return reflect.ValueOf(n.rn).Elem().FieldByName("raft").Elem().FieldByName("electionElapsed").Int()
}

// mirrorCheck compares the adapter's election clock with etcd's own after
// every event.
type mirrorCheck struct{ compared int64 }

func (*mirrorCheck) Name() string { return "election-clock-mirror" }

func (c *mirrorCheck) Check(s *sim.Sim, _ *sim.Event) error {
	for _, id := range s.Nodes() {
		n := nodeOf(s, id)
		if n == nil {
			continue
		}
		got := etcdElapsed(n)
		switch n.state {
		case raft.StateFollower, raft.StateCandidate:
			c.compared++
			if got != int64(n.elapsed) {
				return fmt.Errorf("%v (%v, term %d): etcd's electionElapsed is %d, the adapter's mirror %d", id, n.state, n.term, got, n.elapsed)
			}
		case raft.StateLeader:
			// Never ticked: always below ElectionTick, as in etcd, where
			// the leader's clock cycles in [0, ElectionTick).
			if got != 0 {
				return fmt.Errorf("%v leads with electionElapsed %d", id, got)
			}
		}
		// A pre-candidate's clock is the one difference: etcd's
		// tickElection zeroes it before MsgHup, RawNode.Campaign cannot.
		// With no leader it gates nothing, and every way out of
		// pre-candidacy resets it.
	}
	return nil
}

// The adapter's election clock is etcd's electionElapsed, tick for tick,
// on every follower and candidate, under the chaos nemesis: the adapter's
// elections start exactly when etcd's would have, given the timeout.
func TestElectionClockMirrorsEtcd(t *testing.T) {
	for _, pre := range []bool{false, true} {
		for seed := uint64(1); seed <= 10; seed++ {
			opts := DefaultOptions()
			opts.PreVote = pre
			c := newCluster(t, chaos(seed, opts))
			m := &mirrorCheck{}
			c.s.AddChecker(m)
			c.s.Run()
			c.noFailure()
			require.Greater(t, m.compared, int64(1000))
		}
	}
}
