package raft

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// scenarioRun steps a scenario file's run so a test can look at the
// nodes at chosen times.
type scenarioRun struct {
	t    *testing.T
	file string
	inst *scenario.Instance
	s    *sim.Sim
}

func startScenario(t *testing.T, file string, edit func(*scenario.Scenario)) *scenarioRun {
	t.Helper()
	sc := loadScenario(t, file)
	if edit != nil {
		edit(sc) // edits the options in place: Revalidate would decode them afresh
	}
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	return &scenarioRun{t: t, file: file, inst: inst, s: inst.Sim}
}

// until runs to simulated time at and checks that nothing broke.
func (r *scenarioRun) until(at sim.Time) {
	r.t.Helper()
	r.s.RunUntil(at)
	r.healthy()
}

func (r *scenarioRun) healthy() {
	r.t.Helper()
	require.NoError(r.t, r.s.Err(), "replay: %s", replay("testdata/scenarios/raft/"+r.file, r.inst.Scenario.Seed))
	require.Empty(r.t, r.s.Violations(), "replay: %s", replay("testdata/scenarios/raft/"+r.file, r.inst.Scenario.Seed))
}

// finish runs to the end and checks safety and linearizability.
func (r *scenarioRun) finish() *scenario.Result {
	r.t.Helper()
	r.s.Run()
	r.healthy()
	res := r.inst.Summarize()
	require.Equal(r.t, string(protocols.LinOK), res.Linearizable, "replay: %s", replay("testdata/scenarios/raft/"+r.file, r.inst.Scenario.Seed))
	return res
}

func (r *scenarioRun) node(id sim.NodeID) *Node { return node(r.s, id) }

func (r *scenarioRun) leader() sim.NodeID { return majorityLeader(r.s) }

// Raft §5.2: one leader is elected, all others follow it, and its no-op
// commits everywhere.
func TestScenarioInitialElection(t *testing.T) {
	r := startScenario(t, "initial-election.yaml", nil)
	r.until(500 * sim.Millisecond)
	l := r.leader()
	require.NotZero(t, l)
	for _, id := range r.s.Nodes() {
		n := r.node(id)
		require.Equal(t, int64(1), n.term, "%v term", id)
		require.Equal(t, l, n.leader, "%v follows", id)
		require.GreaterOrEqual(t, n.commit, int64(1), "%v commit", id)
		require.Equal(t, EntryNoop, n.log.at(1).Kind)
	}
	res := r.finish()
	require.Positive(t, res.OpsOK)
	require.Zero(t, res.OpsUnknown)
}

// Raft §5.2: when the leader is cut off, the others elect a new leader in a
// higher term; the old leader steps down when it hears of that term.
func TestScenarioReelection(t *testing.T) {
	r := startScenario(t, "reelection.yaml", nil)
	r.until(990 * sim.Millisecond)
	require.Equal(t, sim.NodeID(2), r.leader(), "the scenario expects n2 to lead term 1")
	r.until(2400 * sim.Millisecond)
	l := r.leader()
	require.NotZero(t, l)
	require.NotEqual(t, sim.NodeID(2), l)
	require.Greater(t, r.node(l).term, int64(1))
	old := r.node(2)
	require.Equal(t, Leader, old.role, "isolated n2 still believes it leads")
	require.Equal(t, int64(1), old.term)
	r.until(3 * sim.Second)
	require.Equal(t, Follower, r.node(2).role)
	require.Equal(t, r.node(l).term, r.node(2).term)
	res := r.finish()
	require.Zero(t, res.OpsUnknown)
}

// Raft §5.3-5.4: a leader without a majority appends but never commits.
func TestScenarioNoCommitWithoutMajority(t *testing.T) {
	r := startScenario(t, "no-commit-minority.yaml", nil)
	r.until(1 * sim.Second)
	require.Equal(t, sim.NodeID(2), r.leader())
	r.until(1100 * sim.Millisecond)
	commit := r.node(2).commit
	r.until(2490 * sim.Millisecond)
	n2 := r.node(2)
	require.Equal(t, Leader, n2.role)
	require.Equal(t, commit, n2.commit, "minority leader committed")
	require.Greater(t, n2.log.last(), n2.commit, "minority leader appended nothing")
	maj := r.leader()
	require.Contains(t, []sim.NodeID{3, 4, 5}, maj)
	require.Greater(t, r.node(maj).commit, commit+50, "majority side did not commit")
	r.finish()
}

// Raft §5.3 (Figure 7): an old leader's uncommitted suffix is replaced by
// the new leader's entries after it rejoins.
func TestScenarioDivergentLog(t *testing.T) {
	r := startScenario(t, "divergent-log.yaml", nil)
	r.until(2990 * sim.Millisecond)
	n2 := r.node(2)
	l := r.leader()
	require.NotEqual(t, sim.NodeID(2), l)
	lo, hi := n2.commit+1, n2.log.last()
	require.Greater(t, hi, lo, "n2 has no uncommitted suffix")
	diverged := 0
	for i := lo; i <= hi; i++ {
		if t2, _ := r.node(l).log.term(i); t2 != n2.log.mustTerm(i) {
			diverged++
		}
	}
	require.Positive(t, diverged)
	r.until(4500 * sim.Millisecond)
	n2, ln := r.node(2), r.node(r.leader())
	require.Equal(t, ln.log.last(), n2.log.last())
	for i := lo; i <= hi; i++ {
		require.Equal(t, ln.log.mustTerm(i), n2.log.mustTerm(i), "index %d", i)
	}
	r.finish()
}

// Raft §5.3: with the conflict term and its first index in the rejection,
// the leader skips a whole conflicting term per round trip; without
// them it backs up one entry per round trip.
func TestScenarioFastBackup(t *testing.T) {
	for _, slow := range []bool{false, true} {
		t.Run(map[bool]string{false: "fast", true: "slow"}[slow], func(t *testing.T) {
			r := startScenario(t, "fast-backup.yaml", func(sc *scenario.Scenario) {
				sc.ProtocolOptions().(*Options).SlowBackup = slow
			})
			r.until(2290 * sim.Millisecond)
			require.Equal(t, sim.NodeID(4), r.leader(), "the scenario expects n4 to lead the majority before it crashes")
			r.until(3190 * sim.Millisecond)
			l := r.leader()
			require.Contains(t, []sim.NodeID{3, 4, 5}, l)
			ln := r.node(l)
			conflicts := map[sim.NodeID]int{}
			for _, id := range []sim.NodeID{1, 2} {
				n := r.node(id)
				for i := n.commit + 1; i <= n.log.last(); i++ {
					if t2, _ := ln.log.term(i); t2 != n.log.mustTerm(i) {
						conflicts[id]++
					}
				}
				require.GreaterOrEqual(t, conflicts[id], 50, "%v conflicting entries", id)
			}
			before := [3]int64{0, ln.prs[1].conflicts, ln.prs[2].conflicts}
			r.until(4500 * sim.Millisecond)
			for _, id := range []sim.NodeID{1, 2} {
				got := ln.prs[id].conflicts - before[id]
				t.Logf("%v: %d conflicting entries, %d rejections naming a conflict after the heal (%d in all)", id, conflicts[id], got, ln.prs[id].rejections)
				if slow {
					require.GreaterOrEqual(t, got, int64(conflicts[id]))
				} else {
					require.LessOrEqual(t, got, int64(3))
				}
				require.Equal(t, ln.commit, r.node(id).commit, "%v caught up", id)
			}
			r.finish()
		})
	}
}

// Figure 2: currentTerm, votedFor and the log survive a crash of every
// node; nothing committed is lost.
func TestScenarioFullCrashRestart(t *testing.T) {
	r := startScenario(t, "full-crash.yaml", nil)
	r.until(1990 * sim.Millisecond)
	l := r.node(r.leader())
	commit, term := l.commit, l.term
	committedTerms := make([]int64, commit+1)
	for i := int64(1); i <= commit; i++ {
		committedTerms[i] = l.log.mustTerm(i)
	}
	data := kvOf(l).Keys()
	r.until(2200 * sim.Millisecond)
	for _, id := range r.s.Nodes() {
		require.Nil(t, r.node(id))
		require.True(t, r.s.Storage(id).Has(keyHardState))
	}
	r.until(3500 * sim.Millisecond)
	nl := r.node(r.leader())
	require.Greater(t, nl.term, term)
	require.Greater(t, nl.commit, commit)
	for i := int64(1); i <= commit; i++ {
		require.Equal(t, committedTerms[i], nl.log.mustTerm(i), "committed entry %d", i)
	}
	require.Subset(t, kvOf(nl).Keys(), data)
	res := r.finish()
	require.Zero(t, res.OpsFailed)
}

// Loss, duplication, reordering and crashes: safe throughout, live after.
func TestScenarioUnreliable(t *testing.T) {
	r := startScenario(t, "unreliable.yaml", nil)
	r.until(7 * sim.Second)
	require.NotZero(t, r.leader())
	res := r.finish()
	require.Positive(t, res.OpsOK)
	require.Positive(t, res.Stats.Duplicated)
	require.Positive(t, res.Stats.DroppedLoss)
}

// Raft §7: a follower that was down while the leader compacted its log is
// brought up to date by InstallSnapshot.
func TestScenarioSnapshotInstall(t *testing.T) {
	r := startScenario(t, "snapshot-install.yaml", nil)
	r.until(3990 * sim.Millisecond)
	l := r.node(r.leader())
	require.Greater(t, l.log.snapIndex, int64(300))
	require.Less(t, r.s.Storage(5).Len(), 100, "n5 stored more than its short log")
	r.until(5 * sim.Second)
	n5 := r.node(5)
	require.Equal(t, int64(1), n5.snapshotsInstalled)
	require.GreaterOrEqual(t, n5.log.snapIndex, int64(300))
	r.finish()
	require.Equal(t, kvOf(l).Data, kvOf(n5).Data)
	require.Equal(t, l.digestAt(l.applied), n5.digestAt(n5.applied))
}

// Thesis §4: single-server changes, including removing the leader, under
// a crash and a partition.
func TestScenarioMembership(t *testing.T) {
	r := startScenario(t, "membership.yaml", nil)
	r.until(1990 * sim.Millisecond)
	l := r.node(r.leader())
	require.Equal(t, []sim.NodeID{1, 2, 3, 4, 5, 6}, l.config.Members)
	require.Equal(t, r.leader(), sim.NodeID(2), "the scenario expects n2 to lead when it is removed")
	r.until(2900 * sim.Millisecond)
	require.NotEqual(t, sim.NodeID(2), r.leader())
	require.NotEqual(t, Leader, r.node(2).role)
	require.Equal(t, []sim.NodeID{1, 3, 4, 5, 6}, r.node(r.leader()).config.Members)
	r.until(5500 * sim.Millisecond)
	ln := r.node(r.leader())
	require.Equal(t, []sim.NodeID{3, 4, 5, 6}, ln.config.Members)
	require.Equal(t, 3, ln.config.Version)
	require.Equal(t, ln.commit, r.node(6).commit, "n6 caught up")
	res := r.finish()
	require.Positive(t, res.OpsOK)
}
