package mutants

import (
	"github.com/synod-dev/synod/paxos"
	"github.com/synod-dev/synod/protocols/twopc"
	"github.com/synod-dev/synod/raft"
)

// The plans: each protocol's chaos property scenarios, the ones its own
// TestProperty runs, with seed budgets that keep the whole suite near a
// minute on two cores. No plan is written for one mutant's schedule: a
// mutant a plan catches, it catches by chance over seeds.
var (
	raftChaos = []Plan{
		{"testdata/scenarios/raft/chaos5.yaml", 60},
		{"testdata/scenarios/raft/chaos3.yaml", 60},
		{"testdata/scenarios/raft/chaos7.yaml", 40},
		{"testdata/scenarios/raft/chaos5-options.yaml", 60},
		// The read mutants fail on about one seed in 40 of these two
		// (3 of 120 each): 80 seeds leave a margin, where 40 caught them
		// only while the first such seed happened to be 32.
		{"testdata/scenarios/raft/chaos5-reads.yaml", 80},
		{"testdata/scenarios/raft/chaos5-lease.yaml", 80},
		{"testdata/scenarios/raft/chaos5-liveness.yaml", 20},
		{"testdata/scenarios/raft/chaos5-leaders.yaml", 60},
		{"testdata/scenarios/raft/liveness-restart.yaml", 10},
	}
	paxosChaos = []Plan{
		{"testdata/scenarios/paxos/chaos5.yaml", 60},
		{"testdata/scenarios/paxos/chaos3.yaml", 60},
	}
	singleChaos = []Plan{{"testdata/scenarios/paxos/chaos5-single.yaml", 100}}
	twopcChaos  = []Plan{
		{"testdata/scenarios/twopc/property-2pc.yaml", 60},
		{"testdata/scenarios/twopc/property-2pc-cooperative.yaml", 60},
	}
	paxosCommitChaos = []Plan{
		{"testdata/scenarios/twopc/property-paxos-commit.yaml", 60},
		{"testdata/scenarios/twopc/property-paxos-commit-cooperative.yaml", 60},
	}
)

// Corpus returns every mutant, in the order of the table.
func Corpus() []Mutant {
	return []Mutant{
		{Protocol: "raft", Bug: raft.BugFigure8, Mistake: "commit an old-term entry by counting replicas (Figure 8)", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugFigure8LastTerm, Mistake: "check the term of the last entry, not the committed one (Figure 8)", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugVoteNoLogCheck, Mistake: "vote without the up-to-date log check", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugVoteNotPersisted, Mistake: "votedFor not persisted", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugTermNotPersisted, Mistake: "currentTerm not persisted", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugKeepConflicts, Mistake: "keep a conflicting entry", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugCommitMinority, Mistake: "commit on a minority", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugDuplicateVotes, Mistake: "count vote replies, not voters", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugStaleAppend, Mistake: "accept AppendEntries of a lower term", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugApplyBeforeCommit, Mistake: "apply entries before they commit", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugNoStepDown, Mistake: "no step-down on a higher-term reply", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugReadIndexNoConfirm, Mistake: "ReadIndex read without confirming leadership", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugLeaseNoExpiry, Mistake: "lease read without checking the lease", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugDropDuplicates, Mistake: "drop a retried request unanswered", Plans: raftChaos},
		{Protocol: "raft", Bug: raft.BugFixedElectionTimeout, Mistake: "one election timeout for all nodes, not randomized", Plans: raftChaos},

		{Protocol: "paxos", Bug: paxos.BugIgnoreAccepted, Mistake: "ignore the values phase 1 reports", Plans: paxosChaos},
		{Protocol: "paxos", Bug: paxos.BugFirstAccepted, Mistake: "adopt the first reported value, not the highest ballot's", Plans: paxosChaos},
		{Protocol: "paxos", Bug: paxos.BugAcceptBelowPromise, Mistake: "accept a ballot below the promise", Plans: paxosChaos},
		{Protocol: "paxos", Bug: paxos.BugReuseSlots, Mistake: "reuse slots phase 1 found accepted", Plans: paxosChaos},
		{Protocol: "paxos-single", Bug: paxos.BugIgnoreAccepted, Mistake: "ignore the value phase 1 reports", Plans: singleChaos},
		{Protocol: "paxos-single", Bug: paxos.BugFirstAccepted, Mistake: "adopt the first reported value, not the highest ballot's", Plans: singleChaos},
		{Protocol: "paxos-single", Bug: paxos.BugAcceptBelowPromise, Mistake: "accept a ballot below the promise", Plans: singleChaos},

		{Protocol: "2pc", Bug: twopc.BugCommitOnTimeout, Mistake: "coordinator commits when votes are late", Plans: twopcChaos},
		{Protocol: "2pc", Bug: twopc.BugDecisionNotLogged, Mistake: "decision sent but not logged", Plans: twopcChaos},
		{Protocol: "2pc", Bug: twopc.BugForgetPrepared, Mistake: "yes vote without logging the prepared state", Plans: twopcChaos},
		{Protocol: "2pc", Bug: twopc.BugAbortUncertain, Mistake: "uncertain participant aborts on a time-out", Plans: twopcChaos},
		{Protocol: "2pc", Bug: twopc.BugCommitUncertain, Mistake: "uncertain participant commits on a time-out", Plans: twopcChaos},
		{Protocol: "paxos-commit", Bug: twopc.BugCommitOnTimeout, Mistake: "leader commits when votes are late", Plans: paxosCommitChaos},
		{Protocol: "paxos-commit", Bug: twopc.BugForgetPrepared, Mistake: "yes vote without logging the prepared state", Plans: paxosCommitChaos},
		{Protocol: "paxos-commit", Bug: twopc.BugAbortUncertain, Mistake: "uncertain participant aborts on a time-out", Plans: paxosCommitChaos},
		{Protocol: "paxos-commit", Bug: twopc.BugCommitUncertain, Mistake: "uncertain participant commits on a time-out", Plans: paxosCommitChaos},
	}
}
