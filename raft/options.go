package raft

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Read modes: how a leader answers a get.
const (
	// ReadsLog sends every read through the log like a write (the default:
	// linearizable without any timing assumption, at the cost of a log entry).
	ReadsLog = "log"
	// ReadsReadIndex answers a read once the leader has confirmed, with one
	// heartbeat round acknowledged by a quorum, that it still led when the
	// read arrived, and has applied up to its commit index of that moment
	// (Raft thesis §6.4).
	ReadsReadIndex = "read_index"
	// ReadsLease answers reads locally while the leader holds a lease derived
	// from heartbeat acknowledgements. It RELIES ON BOUNDED CLOCK DRIFT: a
	// drift beyond Options.LeaseDriftBound can return stale reads (thesis §6.4.1).
	ReadsLease = "lease"
)

// Options configure a Raft cluster. Every node of a run shares one Options
// value; scenario files fill it from their `options:` mapping.
type Options struct {
	// ElectionTimeoutMin and ElectionTimeoutMax bound the randomized election
	// timeout, drawn anew from the node's own random stream at every reset.
	ElectionTimeoutMin sim.Time `json:"election_timeout_min" yaml:"election_timeout_min"`
	ElectionTimeoutMax sim.Time `json:"election_timeout_max" yaml:"election_timeout_max"`
	// HeartbeatInterval is how often a leader sends AppendEntries to every
	// follower; zero means half of ElectionTimeoutMin.
	HeartbeatInterval sim.Time `json:"heartbeat_interval" yaml:"heartbeat_interval"`
	// EntriesPerMessageMax bounds the entries one AppendEntries carries.
	EntriesPerMessageMax int `json:"entries_per_message_max" yaml:"entries_per_message_max"`
	// InflightMessagesMax bounds the AppendEntries a leader pipelines to one
	// follower before it waits for acknowledgements.
	InflightMessagesMax int `json:"inflight_messages_max" yaml:"inflight_messages_max"`
	// PreVote runs a pre-election round before a real one, so a node that
	// cannot win does not raise terms (etcd's PreVote; thesis §9.6).
	PreVote bool `json:"pre_vote" yaml:"pre_vote"`
	// CheckQuorum makes a leader step down when it has not heard from a
	// quorum within an election timeout, and makes followers ignore vote
	// requests while they hear from a leader (etcd's CheckQuorum).
	CheckQuorum bool `json:"check_quorum" yaml:"check_quorum"`
	// Reads is "log", "read_index" or "lease".
	Reads string `json:"reads" yaml:"reads"`
	// LeaseDriftBound is the clock drift the lease tolerates: a leader's
	// lease lasts ElectionTimeoutMin*(1-b)/(1+b) from the send time of the
	// acknowledged heartbeat round. Only used with reads: lease.
	LeaseDriftBound float64 `json:"lease_drift_bound" yaml:"lease_drift_bound"`
	// SnapshotEntries compacts the log into a snapshot once this many
	// applied entries follow the last snapshot; zero disables snapshots.
	SnapshotEntries int `json:"snapshot_entries" yaml:"snapshot_entries"`
	// SlowBackup turns off the accelerated log backtracking: a rejected
	// AppendEntries moves nextIndex back by one entry, as in the basic
	// algorithm of §5.3 (a follower whose log is too short still says how
	// long it is). For comparison only.
	SlowBackup bool `json:"slow_backup" yaml:"slow_backup"`
	// NoLeaderNoop makes a new leader skip the no-op entry of its term
	// (§8), as in the basic algorithm of Figure 2: for reproducing papers
	// that reason about that algorithm (the Omni-Paxos chained livelock,
	// reports/exp_partial.go). Without the no-op a leader commits earlier
	// terms' entries only with its first command, and reads wait for one,
	// so it is refused with membership changes.
	NoLeaderNoop bool `json:"no_leader_noop,omitempty" yaml:"no_leader_noop"`
	// Membership lists single-server configuration changes, proposed in
	// order by whichever node leads once its clock passes At and the
	// previous change has committed.
	Membership []Change `json:"membership,omitempty" yaml:"membership"`

	// Bug switches on one named, deliberate bug (a mutant), so that the
	// checkers, the explorer and the mutation suite (synod mutants) have
	// something to find: one of Bugs, e.g. "figure8", which lets a leader
	// commit entries of earlier terms by counting replicas (the Raft
	// paper's Figure 8). Empty: the correct protocol.
	Bug string `json:"bug,omitempty" yaml:"bug"`
	// unsafeCommitOldTerms lets a leader commit entries of earlier terms by
	// counting replicas: the bug of Figure 8. Tests only.
	unsafeCommitOldTerms bool
	// unsafeService is a deliberate mistake in serving the state machine
	// (serviceBugSkipRestore, serviceBugCompactPastSnapshot), for the tests
	// that show the service checks catch it. Tests only.
	unsafeService string
}

// The deliberate mistakes of Options.unsafeService.
const (
	// serviceBugSkipRestore restarts a node without restoring its stored
	// snapshot into the new state machine.
	serviceBugSkipRestore = "skip-restore"
	// serviceBugCompactPastSnapshot files a service's snapshot under the
	// last index applied in the event rather than the index it was taken
	// at, so the entries between are compacted away unapplied to it.
	serviceBugCompactPastSnapshot = "compact-past-snapshot"
)

// Change adds or removes one server.
type Change struct {
	At     sim.Time   `json:"at" yaml:"at"`
	Add    sim.NodeID `json:"add,omitempty" yaml:"add"`
	Remove sim.NodeID `json:"remove,omitempty" yaml:"remove"`
}

func (c Change) String() string {
	if c.Add != 0 {
		return "add " + c.Add.String()
	}
	return "remove " + c.Remove.String()
}

// The deliberate bugs (mutants), each a classic mistake. Every one is a
// one-line hook, `if n.bug(BugX)`, at the place the correct rule lives,
// with a comment naming the mistake; the mutation suite (reports/mutants,
// docs/testing.md) shows which check catches each.
const (
	// BugFigure8 commits entries of earlier terms by counting replicas
	// (§5.4.2, Figure 8).
	BugFigure8 = "figure8"
	// BugFigure8LastTerm checks that the leader's LAST entry is of its term
	// instead of the entry being committed: after the no-op of a new term
	// it commits old-term entries by counting replicas, Figure 8 again.
	BugFigure8LastTerm = "figure8-last-term"
	// BugVoteNoLogCheck grants votes without the up-to-date log check of
	// §5.4.1, so a candidate missing committed entries can win.
	BugVoteNoLogCheck = "vote-no-log-check"
	// BugVoteNotPersisted grants a vote without writing votedFor to stable
	// storage: after a crash the node can vote twice in a term.
	BugVoteNotPersisted = "vote-not-persisted"
	// BugTermNotPersisted adopts a higher term without writing it to
	// stable storage: after a crash the node goes back to an older term.
	BugTermNotPersisted = "term-not-persisted"
	// BugKeepConflicts keeps a follower's entry that conflicts with the
	// leader's (§5.3 says delete it and all that follow) and takes the
	// leader's entries after it.
	BugKeepConflicts = "keep-conflicts"
	// BugCommitMinority commits an index stored on a minority (counting
	// matchIndexes one short of a majority).
	BugCommitMinority = "commit-minority"
	// BugDuplicateVotes counts vote replies instead of voters: a duplicated
	// grant counts twice.
	BugDuplicateVotes = "duplicate-votes"
	// BugStaleAppend accepts AppendEntries of a lower term (§5.1 says
	// reject them) from a deposed leader.
	BugStaleAppend = "stale-append"
	// BugApplyBeforeCommit applies entries to the state machine as soon as
	// they are in the log, before they are committed.
	BugApplyBeforeCommit = "apply-before-commit"
	// BugNoStepDown: a leader ignores AppendEntries replies of a higher
	// term and keeps claiming leadership (§5.1 says step down).
	BugNoStepDown = "no-step-down"
	// BugReadIndexNoConfirm answers ReadIndex reads at once, without the
	// heartbeat round that confirms the node still leads (thesis §6.4).
	BugReadIndexNoConfirm = "read-index-no-confirm"
	// BugLeaseNoExpiry answers lease reads without checking that the lease
	// still holds (thesis §6.4.1).
	BugLeaseNoExpiry = "lease-no-expiry"
	// BugDropDuplicates recognizes a retried request that was already
	// applied and drops it instead of answering from the session table
	// (§8): a client whose answer was lost never gets one. Safety holds;
	// only the liveness checker (raft.Progress) can see it.
	BugDropDuplicates = "drop-duplicates"
	// BugFixedElectionTimeout gives every node the same election timeout
	// (election_timeout_min) instead of a random one in [min, max] (§5.2
	// randomizes it so that split votes are rare and end soon). Nodes that
	// start or restart together then time out together, each votes for
	// itself, and the split vote repeats every timeout while delays are
	// steady. Safety holds; only the liveness checker (raft.Progress,
	// elections settle) can see it.
	BugFixedElectionTimeout = "fixed-election-timeout"
)

// Bugs lists the deliberate bugs, in the order the mutation suite runs them.
var Bugs = []string{BugFigure8, BugFigure8LastTerm, BugVoteNoLogCheck, BugVoteNotPersisted, BugTermNotPersisted,
	BugKeepConflicts, BugCommitMinority, BugDuplicateVotes, BugStaleAppend, BugApplyBeforeCommit, BugNoStepDown,
	BugReadIndexNoConfirm, BugLeaseNoExpiry, BugDropDuplicates, BugFixedElectionTimeout}

// bug reports whether the named deliberate bug is on.
func (n *Node) bug(name string) bool { return n.opts.Bug == name }

// commitsOldTerms reports whether the Figure 8 bug is on.
func (o *Options) commitsOldTerms() bool { return o.unsafeCommitOldTerms || o.Bug == BugFigure8 }

// DefaultOptions are the options a scenario starts from.
func DefaultOptions() *Options {
	return &Options{
		ElectionTimeoutMin:   150 * sim.Millisecond,
		ElectionTimeoutMax:   300 * sim.Millisecond,
		EntriesPerMessageMax: 64,
		InflightMessagesMax:  8,
		Reads:                ReadsLog,
		LeaseDriftBound:      0.1,
		SnapshotEntries:      1000,
	}
}

// heartbeat is the heartbeat interval with its default applied.
func (o *Options) heartbeat() sim.Time {
	if o.HeartbeatInterval > 0 {
		return o.HeartbeatInterval
	}
	return o.ElectionTimeoutMin / 2
}

// leaseDuration is how long after sending an acknowledged heartbeat round a
// leader may still answer reads alone, on its own clock. Followers do not
// vote for ElectionTimeoutMin after hearing from the leader on their clocks;
// with rates within [1-b, 1+b] the leader's measure of that is at least
// ElectionTimeoutMin*(1-b)/(1+b).
func (o *Options) leaseDuration() sim.Time {
	b := o.LeaseDriftBound
	return sim.Time(float64(o.ElectionTimeoutMin) * (1 - b) / (1 + b))
}

// Validate checks the options against a cluster of the given size.
func (o *Options) Validate(nodes int, members []sim.NodeID) error {
	if o.ElectionTimeoutMin <= 0 {
		return fmt.Errorf("options.election_timeout_min: %v must be positive", o.ElectionTimeoutMin)
	}
	if o.ElectionTimeoutMax < o.ElectionTimeoutMin {
		return fmt.Errorf("options.election_timeout_max: %v is below election_timeout_min %v", o.ElectionTimeoutMax, o.ElectionTimeoutMin)
	}
	if o.HeartbeatInterval < 0 || o.heartbeat() >= o.ElectionTimeoutMin {
		return fmt.Errorf("options.heartbeat_interval: %v must be positive and below election_timeout_min %v", o.heartbeat(), o.ElectionTimeoutMin)
	}
	if o.heartbeat() <= 0 {
		return fmt.Errorf("options.heartbeat_interval: %v must be positive", o.heartbeat())
	}
	if o.EntriesPerMessageMax < 1 {
		return fmt.Errorf("options.entries_per_message_max: %d must be at least 1", o.EntriesPerMessageMax)
	}
	if o.InflightMessagesMax < 1 {
		return fmt.Errorf("options.inflight_messages_max: %d must be at least 1", o.InflightMessagesMax)
	}
	if o.Bug != "" && !slices.Contains(Bugs, o.Bug) {
		return fmt.Errorf("options.bug: %q is not a known bug (known: %s)", o.Bug, strings.Join(Bugs, ", "))
	}
	switch o.Reads {
	case ReadsLog, ReadsReadIndex, ReadsLease:
	default:
		return fmt.Errorf("options.reads: %q is not log, read_index or lease", o.Reads)
	}
	if o.LeaseDriftBound < 0 || o.LeaseDriftBound >= 1 {
		return fmt.Errorf("options.lease_drift_bound: %v is outside [0,1)", o.LeaseDriftBound)
	}
	if o.NoLeaderNoop && len(o.Membership) > 0 {
		return fmt.Errorf("options.no_leader_noop: a leader must commit an entry of its term before a membership change; drop membership or the option")
	}
	if o.SnapshotEntries < 0 {
		return fmt.Errorf("options.snapshot_entries: %d is negative", o.SnapshotEntries)
	}
	cur := slices.Clone(members)
	for i, c := range o.Membership {
		if (c.Add == 0) == (c.Remove == 0) {
			return fmt.Errorf("options.membership[%d]: give exactly one of add and remove", i)
		}
		id := c.Add + c.Remove
		if id < 1 || int(id) > nodes {
			return fmt.Errorf("options.membership[%d]: %v is not a node of this %d-node run", i, id, nodes)
		}
		if c.Add != 0 {
			if slices.Contains(cur, c.Add) {
				return fmt.Errorf("options.membership[%d]: %v is already a member", i, c.Add)
			}
			cur = insertSorted(cur, c.Add)
		} else {
			j := slices.Index(cur, c.Remove)
			if j < 0 {
				return fmt.Errorf("options.membership[%d]: %v is not a member", i, c.Remove)
			}
			cur = slices.Delete(cur, j, j+1)
			if len(cur) == 0 {
				return fmt.Errorf("options.membership[%d]: removing %v leaves no members", i, c.Remove)
			}
		}
	}
	return nil
}

func insertSorted(ids []sim.NodeID, id sim.NodeID) []sim.NodeID {
	i, _ := slices.BinarySearch(ids, id)
	return slices.Insert(ids, i, id)
}
