package paxos

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Options configure both Paxos protocols; scenario files set them under
// `options:`.
type Options struct {
	// Quorum1 and Quorum2 are the phase 1 (prepare) and phase 2 (accept)
	// quorum sizes; zero means a majority. They must overlap: Quorum1 +
	// Quorum2 > nodes.
	Quorum1 int `json:"quorum1" yaml:"quorum1"`
	Quorum2 int `json:"quorum2" yaml:"quorum2"`
	// Backoff makes a preempted proposer wait a random time before it tries
	// again, and randomizes election time-outs. Off, a preempted proposer
	// retries at once with a higher ballot and time-outs are fixed, so two
	// proposers can duel forever (Paxos Made Simple, §2.4).
	Backoff bool `json:"backoff" yaml:"backoff"`
	// Heartbeat is how often a leader shows it is alive (and retransmits
	// unanswered accepts).
	Heartbeat sim.Time `json:"heartbeat" yaml:"heartbeat"`
	// ElectionTimeout is how long a node waits without hearing a leader
	// before it runs phase 1; with Backoff it is drawn from
	// [ElectionTimeout, 2*ElectionTimeout).
	ElectionTimeout sim.Time `json:"election_timeout" yaml:"election_timeout"`
	// BackoffMax bounds the random wait of a preempted proposer.
	BackoffMax sim.Time `json:"backoff_max" yaml:"backoff_max"`
	// PhaseTimeout is how long a proposer waits for a quorum of promises
	// before it starts phase 1 again.
	PhaseTimeout sim.Time `json:"phase_timeout" yaml:"phase_timeout"`
	// SnapshotEvery is how many applied slots trigger a snapshot of the
	// key-value state and the truncation of the log below it (0: never).
	SnapshotEvery int64 `json:"snapshot_every" yaml:"snapshot_every"`
	// Bug switches on one named, deliberate bug (a mutant) for the
	// checkers, the explorer and the mutation suite (synod mutants) to
	// find: one of Bugs, e.g. "ignore-accepted", which makes a proposer
	// ignore the values acceptors report in phase 1 (P2c broken). Empty:
	// correct.
	Bug string `json:"bug,omitempty" yaml:"bug"`
	// Proposers names the nodes that may start a ballot, in increasing
	// order (empty: every node, as in Paxos Made Simple). The others are
	// acceptors and learners only: no election clock, no phase 1, no
	// gap-filling no-ops, and a client request that reaches one is not
	// proposed (Multi-Paxos points the client at the leader it believes
	// in; the Synod protocol answers it once a value is chosen). Clients
	// should then send to proposers only (workload.nodes). With a strict
	// subset the acceptor-only nodes are interchangeable, which a model
	// checker may use (symmetry.go).
	Proposers []sim.NodeID `json:"proposers,omitempty" yaml:"proposers"`
}

// The deliberate bugs (mutants), each a classic mistake behind a one-line
// hook; both Paxos protocols take them, except BugReuseSlots, which only
// Multi-Paxos has slots for.
const (
	// BugIgnoreAccepted: a proposer ignores the values acceptors report
	// in phase 1 and proposes its own (P2c broken).
	BugIgnoreAccepted = "ignore-accepted"
	// BugFirstAccepted: a proposer adopts the first reported value, not
	// the one of the highest accepted ballot (P2c mis-picked).
	BugFirstAccepted = "first-accepted"
	// BugAcceptBelowPromise: an acceptor accepts a ballot below the one it
	// promised (P1a broken).
	BugAcceptBelowPromise = "accept-below-promise"
	// BugReuseSlots: a new Multi-Paxos leader starts proposing right after
	// its chosen prefix, reusing slots that phase 1 reported accepted.
	BugReuseSlots = "reuse-slots"
)

// Bugs lists the deliberate bugs.
var Bugs = []string{BugIgnoreAccepted, BugFirstAccepted, BugAcceptBelowPromise, BugReuseSlots}

// DefaultOptions are the options a scenario starts from.
func DefaultOptions() *Options {
	return &Options{
		Backoff:         true,
		Heartbeat:       20 * sim.Millisecond,
		ElectionTimeout: 100 * sim.Millisecond,
		BackoffMax:      100 * sim.Millisecond,
		PhaseTimeout:    50 * sim.Millisecond,
		SnapshotEvery:   64,
	}
}

// config is the options resolved for a cluster.
type config struct {
	Options
	n      int
	q1, q2 int
}

// resolve checks the options against a cluster of n nodes.
func (o *Options) resolve(n int) (*config, error) {
	if n > sim.MaxNodes {
		return nil, fmt.Errorf("nodes: %d is above %d", n, sim.MaxNodes)
	}
	q1, q2, err := quorumSizes(n, o.Quorum1, o.Quorum2)
	if err != nil {
		return nil, err
	}
	for _, d := range []struct {
		name string
		v    sim.Time
	}{{"heartbeat", o.Heartbeat}, {"election_timeout", o.ElectionTimeout}, {"phase_timeout", o.PhaseTimeout}} {
		if d.v <= 0 {
			return nil, fmt.Errorf("options.%s: %v must be positive", d.name, d.v)
		}
	}
	if o.Bug != "" && !slices.Contains(Bugs, o.Bug) {
		return nil, fmt.Errorf("options.bug: %q is not a known bug (known: %s)", o.Bug, strings.Join(Bugs, ", "))
	}
	if o.BackoffMax < 0 {
		return nil, fmt.Errorf("options.backoff_max: %v is negative", o.BackoffMax)
	}
	if o.Heartbeat >= o.ElectionTimeout {
		return nil, fmt.Errorf("options.heartbeat: %v is not below election_timeout %v", o.Heartbeat, o.ElectionTimeout)
	}
	if o.SnapshotEvery < 0 {
		return nil, fmt.Errorf("options.snapshot_every: %d is negative", o.SnapshotEvery)
	}
	for i, id := range o.Proposers {
		if id < 1 || int(id) > n {
			return nil, fmt.Errorf("options.proposers: %v is not a node (want n1..n%d)", id, n)
		}
		if i > 0 && id <= o.Proposers[i-1] {
			return nil, fmt.Errorf("options.proposers: %v is not in increasing order without repeats", o.Proposers)
		}
	}
	return &config{Options: *o, n: n, q1: q1, q2: q2}, nil
}

// proposes reports whether node id may start a ballot (Options.Proposers).
func (c *config) proposes(id sim.NodeID) bool {
	return len(c.Proposers) == 0 || slices.Contains(c.Proposers, id)
}
