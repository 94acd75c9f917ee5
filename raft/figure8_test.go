package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// stepUntil steps the run until cond holds; it fails after limit of
// simulated time.
func (r *testRun) stepUntil(what string, limit sim.Time, cond func() bool) {
	r.t.Helper()
	end := r.s.Now() + limit
	for !cond() {
		require.Less(r.t, r.s.Now(), end, "no %s within %v", what, limit)
		require.True(r.t, r.s.Step(), "run stopped (%s) waiting for %s", r.s.Stopped(), what)
	}
}

// leaderIn returns a live leader among ids, or 0.
func (r *testRun) leaderIn(ids ...sim.NodeID) sim.NodeID {
	for _, id := range ids {
		if n := r.node(id); n != nil && n.role == Leader {
			return id
		}
	}
	return 0
}

func (r *testRun) partition(groups ...[]sim.NodeID) {
	r.t.Helper()
	r.inject(sim.Fault{Kind: sim.FaultPartition, Groups: groups})
}

func others(all []sim.NodeID, not ...sim.NodeID) []sim.NodeID {
	var out []sim.NodeID
	for _, id := range all {
		skip := false
		for _, x := range not {
			skip = skip || id == x
		}
		if !skip {
			out = append(out, id)
		}
	}
	return out
}

// Raft §5.4.2, Figure 8: an entry of an earlier term stored on a majority
// can still be overwritten by a later leader, so a leader must not commit
// it by counting replicas. The test drives five nodes through the
// figure's steps with crashes and partitions (the node names S1..S5 are
// roles, bound to whichever nodes the elections pick). With the rule of
// §5.4.2 nothing committed is ever lost; with the unsafe rule the Leader
// Completeness checker catches the lost entry.
func TestFigure8(t *testing.T) {
	for _, unsafe := range []bool{false, true} {
		t.Run(map[bool]string{false: "current-term-rule", true: "unsafe-count-replicas"}[unsafe], func(t *testing.T) {
			opts := DefaultOptions()
			opts.EntriesPerMessageMax = 1 // so that index 2 can reach S3 without index 3
			opts.unsafeCommitOldTerms = unsafe
			r := newTestRun(t, 8, 5, 0, 60*sim.Second, opts)
			all := r.s.Nodes()

			// Some leader X commits its no-op at index 1 everywhere.
			r.stepUntil("first leader", 2*sim.Second, func() bool { return r.leader() != 0 })
			x := r.leader()
			r.stepUntil("index 1 committed everywhere", 2*sim.Second, func() bool {
				for _, id := range all {
					if r.node(id).commit < 1 {
						return false
					}
				}
				return true
			})

			// (a) X crashes; S1 is elected and its no-op (index 2) reaches
			// only S2.
			r.inject(sim.Fault{Kind: sim.FaultCrash, Node: x})
			rest := others(all, x)
			r.stepUntil("S1 elected", 3*sim.Second, func() bool { return r.leaderIn(rest...) != 0 })
			s1 := r.leaderIn(rest...)
			t2 := r.node(s1).term
			s2 := others(rest, s1)[0]
			r.partition([]sim.NodeID{s1, s2}, others(all, s1, s2))
			r.inject(sim.Fault{Kind: sim.FaultRestart, Node: x})
			r.stepUntil("index 2 on S2", sim.Second, func() bool { return r.node(s2).log.last() >= 2 })
			require.Equal(t, t2, r.node(s2).log.mustTerm(2))

			// (b) S1 crashes; S5 is elected by S3, S4, S5 and appends its
			// no-op at index 2 (term t3) before it is cut off and crashes.
			r.inject(sim.Fault{Kind: sim.FaultCrash, Node: s1})
			trio := others(all, s1, s2)
			r.partition([]sim.NodeID{s2}, trio)
			r.stepUntil("S5 elected", 5*sim.Second, func() bool { return r.leaderIn(trio...) != 0 })
			s5 := r.leaderIn(trio...)
			t3 := r.node(s5).term
			require.Greater(t, t3, t2)
			s3, s4 := others(trio, s5)[0], others(trio, s5)[1]
			r.partition([]sim.NodeID{s5}, []sim.NodeID{s3, s4}, []sim.NodeID{s2})
			r.stepUntil("S5's entry", sim.Second, func() bool { return r.node(s5).log.last() >= 2 })
			require.Equal(t, t3, r.node(s5).log.mustTerm(2))
			r.inject(sim.Fault{Kind: sim.FaultCrash, Node: s5})

			// (c) S1 restarts; S1 or S2 is elected in term t4 with S3's
			// vote and replicates index 2 (term t2) to S3: a majority
			// stores it, but it is not of the leader's term.
			r.inject(sim.Fault{Kind: sim.FaultRestart, Node: s1})
			r.partition([]sim.NodeID{s1, s2, s3}, []sim.NodeID{s4})
			r.stepUntil("leader of term 4", 5*sim.Second, func() bool { return r.leaderIn(s1, s2) != 0 })
			l4 := r.leaderIn(s1, s2)
			other := others([]sim.NodeID{s1, s2}, l4)[0]
			r.stepUntil("index 2 acknowledged by S3", sim.Second, func() bool {
				n := r.node(l4)
				return n == nil || n.role != Leader || n.prs[s3].match >= 2
			})
			ln := r.node(l4)
			require.Equal(t, Leader, ln.role)
			for _, id := range []sim.NodeID{l4, other, s3} {
				require.Equal(t, t2, r.node(id).log.mustTerm(2), "%v index 2", id)
			}
			if unsafe {
				require.Equal(t, int64(2), ln.commit, "the unsafe rule commits index 2 of term %d", t2)
			} else {
				require.Equal(t, int64(1), ln.commit, "index 2 of term %d is on a majority but must not commit in term %d", t2, ln.term)
			}
			// The leader crashes before index 3 (its own term) reaches a
			// majority.
			r.partition([]sim.NodeID{l4}, []sim.NodeID{s3, s4, s5}, []sim.NodeID{other})
			r.inject(sim.Fault{Kind: sim.FaultCrash, Node: l4})

			// (d) S5 restarts and is elected by S3, S4 (its last term t3
			// beats their t2 and t1), then overwrites index 2 everywhere.
			r.inject(sim.Fault{Kind: sim.FaultRestart, Node: s5})
			if unsafe {
				for r.s.Step() && r.s.Now() < 20*sim.Second {
				}
				vs := r.s.Violations()
				require.NotEmpty(t, vs, "the unsafe rule lost a committed entry unnoticed")
				require.Equal(t, "raft.LeaderCompleteness", vs[0].Checker)
				t.Logf("caught: %v", vs[0])
				return
			}
			r.stepUntil("S5 elected again", 5*sim.Second, func() bool { return r.leaderIn(s3, s4, s5) != 0 })
			require.Equal(t, s5, r.leaderIn(s3, s4, s5))
			r.stepUntil("index 2 overwritten on S3", sim.Second, func() bool { return r.node(s3).log.mustTerm(2) == t3 })
			r.inject(sim.Fault{Kind: sim.FaultHealAll})
			r.runUntil(r.s.Now() + 2*sim.Second)
			for _, id := range all {
				require.Equal(t, t3, r.node(id).log.mustTerm(2), "%v index 2 after the heal", id)
			}
			r.ok()
		})
	}
}
