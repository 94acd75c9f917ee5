package twopc

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Options configure both protocols of the package. Scenario files fill them
// from their `options:` mapping.
type Options struct {
	// Participants is the number of participants (resource managers),
	// n2..n(1+Participants). Zero means every node that is neither the
	// coordinator nor an extra acceptor.
	Participants int `yaml:"participants" json:"participants"`
	// F is the number of acceptor failures Paxos Commit tolerates: it runs
	// 2F+1 acceptors, the coordinator (n1) and the 2F nodes after the
	// participants. Two-phase commit ignores it.
	F int `yaml:"f" json:"f"`
	// Workload is "bank" (transfers between accounts on different
	// participants; the total balance is conserved) or "kv" (transactions
	// writing several keys).
	Workload string `yaml:"workload" json:"workload"`
	// Accounts is the number of accounts (bank) or keys (kv), a0..a{n-1},
	// spread round-robin over the participants.
	Accounts int `yaml:"accounts" json:"accounts"`
	// InitialBalance is every account's balance at the start.
	InitialBalance int64 `yaml:"initial_balance" json:"initial_balance"`
	// AmountMax bounds a transfer's amount (drawn from 1..AmountMax).
	AmountMax int64 `yaml:"amount_max" json:"amount_max"`
	// KeysPerTxn is how many keys a kv transaction writes.
	KeysPerTxn int `yaml:"keys_per_txn" json:"keys_per_txn"`
	// VoteNo is the probability that a participant votes no for no reason
	// of its own (drawn from its seeded stream).
	VoteNo float64 `yaml:"vote_no" json:"vote_no"`
	// WorkTime is how long a participant works on a transaction (holding
	// its locks, not yet prepared) before it votes.
	WorkTime sim.Time `yaml:"work_time" json:"work_time"`
	// VoteTimeout is how long the coordinator waits for all votes before it
	// aborts.
	VoteTimeout sim.Time `yaml:"vote_timeout" json:"vote_timeout"`
	// QueryTimeout is how long a prepared (uncertain) participant waits for
	// the decision before it asks, and then between asks.
	QueryTimeout sim.Time `yaml:"query_timeout" json:"query_timeout"`
	// ResendInterval is how often the coordinator re-sends a decision to
	// participants that have not acknowledged it.
	ResendInterval sim.Time `yaml:"resend_interval" json:"resend_interval"`
	// Cooperative turns on cooperative termination: an uncertain
	// participant also asks the other participants.
	Cooperative bool `yaml:"cooperative" json:"cooperative"`
	// PrepareDelay, LogDelay and SendDelay stretch the coordinator's steps
	// (request to prepare, last vote to logged decision, logged decision to
	// sending it) so that a crash can be aimed between them. Zero does a
	// step at once, within the same event.
	PrepareDelay sim.Time `yaml:"prepare_delay" json:"prepare_delay"`
	LogDelay     sim.Time `yaml:"log_delay" json:"log_delay"`
	SendDelay    sim.Time `yaml:"send_delay" json:"send_delay"`
	// RecoveryStagger (Paxos Commit) separates the acceptors' attempts to
	// take over an undecided transaction: the acceptor of rank r waits r
	// times this long.
	RecoveryStagger sim.Time `yaml:"recovery_stagger" json:"recovery_stagger"`
	// UnsafeAbortUncertain breaks the protocol on purpose: a participant
	// that voted yes aborts when its query timer fires instead of asking.
	// The atomicity checker catches it; it exists to show why 2PC blocks.
	UnsafeAbortUncertain bool `yaml:"unsafe_abort_uncertain" json:"unsafe_abort_uncertain,omitempty"`
	// Colocate puts the roles on the participants' nodes, as Gray and
	// Lamport count the normal case (§3.2, §4.3): there is no coordinator
	// node; the participants are n1..nP and n1 also coordinates (2PC) or
	// leads (Paxos Commit); Paxos Commit's acceptors are n1..n(2F+1), on
	// participants' nodes, with extra nodes after nP only when 2F+1 > P.
	// Roles on one node talk by messages to themselves, which the
	// simulator delivers at once and outside the network.
	Colocate bool `yaml:"colocate" json:"colocate,omitempty"`
	// Phase2aMajority (Paxos Commit) sends a participant's ballot-0 vote
	// only to the first F+1 acceptors, the normal-case pattern of §4.3: F+1
	// acceptances choose it, and the other F acceptors hear of the
	// transaction only if it needs recovery.
	Phase2aMajority bool `yaml:"phase2a_majority" json:"phase2a_majority,omitempty"`
	// BundleAccepts (Paxos Commit) makes an acceptor hold the ballot-0
	// prepared votes of a transaction until it has one from every
	// participant and then accept them all in one stable-storage write (the
	// single write per acceptor of §4.3). Holding a vote back is no more
	// than a slow message; an abort vote is accepted at once.
	BundleAccepts bool `yaml:"bundle_accepts" json:"bundle_accepts,omitempty"`
	// Faster (Paxos Commit) is Faster Paxos Commit (§4.3): acceptors send
	// their ballot-0 phase 2b to every participant as well as to the
	// leader, and a participant learns the outcome from F+1 acceptors
	// itself, one message delay sooner; the leader sends no Decision.
	Faster bool `yaml:"faster" json:"faster,omitempty"`
	// Bug switches on one named, deliberate bug (a mutant) for the
	// checkers and the mutation suite (synod mutants) to find: one of
	// Bugs. Empty: correct.
	Bug string `yaml:"bug" json:"bug,omitempty"`
}

// The deliberate bugs (mutants), each a classic mistake behind a one-line
// hook. The participant's apply to both protocols; the coordinator's to
// the protocol named.
const (
	// BugAbortUncertain: a participant that voted yes aborts on its own
	// when the decision is late (as UnsafeAbortUncertain).
	BugAbortUncertain = "abort-uncertain"
	// BugCommitUncertain: a participant that voted yes commits on its own
	// when the decision is late.
	BugCommitUncertain = "commit-uncertain"
	// BugForgetPrepared: a participant votes yes without forcing its
	// prepared state to the log; after a crash it has forgotten the vote.
	BugForgetPrepared = "forget-prepared"
	// BugCommitOnTimeout: the coordinator (2PC) or the leader (Paxos
	// Commit) commits when the votes are late, instead of aborting.
	BugCommitOnTimeout = "commit-on-timeout"
	// BugDecisionNotLogged: the 2PC coordinator sends its decision without
	// forcing it to the log; after a crash it presumes abort.
	BugDecisionNotLogged = "decision-not-logged"
)

// Bugs lists the deliberate bugs.
var Bugs = []string{BugAbortUncertain, BugCommitUncertain, BugForgetPrepared, BugCommitOnTimeout, BugDecisionNotLogged}

// bug reports whether the named deliberate bug is on.
func (o *Options) bug(name string) bool { return o.Bug == name }

// DefaultOptions are the defaults of both protocols.
func DefaultOptions() *Options {
	return &Options{
		F:               1,
		Workload:        "bank",
		Accounts:        8,
		InitialBalance:  100,
		AmountMax:       40,
		KeysPerTxn:      2,
		WorkTime:        1 * sim.Millisecond,
		VoteTimeout:     100 * sim.Millisecond,
		QueryTimeout:    100 * sim.Millisecond,
		ResendInterval:  100 * sim.Millisecond,
		RecoveryStagger: 30 * sim.Millisecond,
	}
}

// topology says which node plays which role.
type topology struct {
	opts      *Options
	paxos     bool
	coord     sim.NodeID
	first     sim.NodeID // the first participant: n2, or n1 when co-located
	parts     []sim.NodeID
	acceptors []sim.NodeID // Paxos Commit: n1 first, then the extra nodes
	nodes     int
}

// newTopology checks the options against the cluster and lays out roles.
func newTopology(c protocols.Cluster, paxos bool) (*topology, error) {
	o, ok := c.Options.(*Options)
	if !ok || o == nil {
		o = DefaultOptions()
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	t := &topology{opts: o, paxos: paxos, coord: 1, first: 2, nodes: c.Nodes}
	if o.Colocate {
		if err := t.colocate(c.Nodes); err != nil {
			return nil, err
		}
	} else if err := t.separate(c.Nodes); err != nil {
		return nil, err
	}
	if o.Workload == "bank" && o.Accounts < 2 {
		return nil, fmt.Errorf("options.accounts: %d, a transfer needs at least 2", o.Accounts)
	}
	return t, nil
}

// separate lays out the default roles: n1 coordinates (and in Paxos
// Commit leads and accepts), n2..n(1+P) are participants, and the 2F nodes
// after them are Paxos Commit's other acceptors.
func (t *topology) separate(nodes int) error {
	extra := 0
	if t.paxos {
		extra = 2 * t.opts.F
	}
	p := t.opts.Participants
	if p == 0 {
		p = nodes - 1 - extra
	}
	if p < 1 {
		return fmt.Errorf("options.participants: %d nodes leave no participant (need 1 coordinator + participants + 2F=%d acceptors)", nodes, extra)
	}
	if 1+p+extra > nodes {
		return fmt.Errorf("options.participants: 1 + %d + 2F=%d > %d nodes", p, extra, nodes)
	}
	for i := 0; i < p; i++ {
		t.parts = append(t.parts, sim.NodeID(2+i))
	}
	if t.paxos {
		t.acceptors = append(t.acceptors, t.coord)
		for i := 0; i < extra; i++ {
			t.acceptors = append(t.acceptors, sim.NodeID(2+p+i))
		}
	}
	return nil
}

// colocate lays out the roles of Options.Colocate: participants n1..nP,
// n1 also the coordinator or leader, Paxos Commit's acceptors on the first
// 2F+1 participants' nodes and on extra nodes after nP when P < 2F+1.
func (t *topology) colocate(nodes int) error {
	t.first = 1
	acc := 0
	if t.paxos {
		acc = 2*t.opts.F + 1
	}
	p := t.opts.Participants
	if p == 0 {
		p = nodes
	}
	extra := max(0, acc-p)
	if p < 1 || p+extra != nodes {
		return fmt.Errorf("options.colocate: %d participants and %d acceptors need %d nodes, have %d", p, acc, p+extra, nodes)
	}
	for i := 0; i < p; i++ {
		t.parts = append(t.parts, sim.NodeID(1+i))
	}
	for i := 0; i < acc; i++ {
		t.acceptors = append(t.acceptors, sim.NodeID(1+i))
	}
	return nil
}

func (o *Options) validate() error {
	if o.Bug != "" && !slices.Contains(Bugs, o.Bug) {
		return fmt.Errorf("options.bug: %q is not a known bug (known: %s)", o.Bug, strings.Join(Bugs, ", "))
	}
	switch o.Workload {
	case "bank", "kv":
	default:
		return fmt.Errorf("options.workload: %q is not bank or kv", o.Workload)
	}
	if o.Participants < 0 {
		return fmt.Errorf("options.participants: %d is negative", o.Participants)
	}
	if o.F < 0 || o.F > 10 {
		return fmt.Errorf("options.f: %d is outside 0..10", o.F)
	}
	if o.Accounts < 1 {
		return fmt.Errorf("options.accounts: %d must be at least 1", o.Accounts)
	}
	if o.InitialBalance < 0 {
		return fmt.Errorf("options.initial_balance: %d is negative", o.InitialBalance)
	}
	if o.AmountMax < 1 {
		return fmt.Errorf("options.amount_max: %d must be at least 1", o.AmountMax)
	}
	if o.KeysPerTxn < 1 {
		return fmt.Errorf("options.keys_per_txn: %d must be at least 1", o.KeysPerTxn)
	}
	if o.VoteNo < 0 || o.VoteNo > 1 || math.IsNaN(o.VoteNo) {
		return fmt.Errorf("options.vote_no: %v is outside [0,1]", o.VoteNo)
	}
	for _, d := range []struct {
		name string
		v    sim.Time
		pos  bool
	}{{"work_time", o.WorkTime, false}, {"vote_timeout", o.VoteTimeout, true}, {"query_timeout", o.QueryTimeout, true},
		{"resend_interval", o.ResendInterval, true}, {"prepare_delay", o.PrepareDelay, false}, {"log_delay", o.LogDelay, false},
		{"send_delay", o.SendDelay, false}, {"recovery_stagger", o.RecoveryStagger, false}} {
		if d.v < 0 || (d.pos && d.v == 0) {
			return fmt.Errorf("options.%s: %v must be positive", d.name, d.v)
		}
	}
	return nil
}

// isPart reports whether id is a participant.
func (t *topology) isPart(id sim.NodeID) bool {
	return id >= t.first && int(id-t.first) < len(t.parts)
}

// isAcceptor reports whether id is a Paxos Commit acceptor.
func (t *topology) isAcceptor(id sim.NodeID) bool {
	for _, a := range t.acceptors {
		if a == id {
			return true
		}
	}
	return false
}

// acceptorRank is id's position among the acceptors, or -1.
func (t *topology) acceptorRank(id sim.NodeID) int {
	for i, a := range t.acceptors {
		if a == id {
			return i
		}
	}
	return -1
}

// majority is the acceptor quorum, F+1.
func (t *topology) majority() int { return len(t.acceptors)/2 + 1 }

// voteAcceptors are the acceptors a participant sends its ballot-0 vote
// to: all of them, or the first F+1 (Options.Phase2aMajority).
func (t *topology) voteAcceptors() []sim.NodeID {
	if t.opts.Phase2aMajority {
		return t.acceptors[:t.majority()]
	}
	return t.acceptors
}

// owner returns the participant that owns account or key name "a<i>".
func (t *topology) owner(key string) sim.NodeID {
	return t.parts[keyIndex(key)%len(t.parts)]
}
