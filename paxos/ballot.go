// Package paxos implements Lamport's Paxos on synod's simulator: the
// single-decree Synod protocol (protocol "paxos-single") and Multi-Paxos, a
// replicated log of slots with a distinguished leader that drives the shared
// key-value state machine (protocol "paxos"). Both are pure state machines
// in the sense of sim.Process; docs/paxos.md maps each rule of "Paxos Made
// Simple" to the function that implements it.
package paxos

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Ballot is a proposal number made unique by the proposer's id: ballots
// compare by Round, then by Node, so two proposers never share one.
type Ballot struct {
	Round int64      `json:"round"`
	Node  sim.NodeID `json:"node"`
}

// Less orders ballots: by round, then by node id.
func (b Ballot) Less(o Ballot) bool {
	if b.Round != o.Round {
		return b.Round < o.Round
	}
	return b.Node < o.Node
}

// IsZero reports whether b is the zero ballot, below every real one.
func (b Ballot) IsZero() bool { return b.Round == 0 && b.Node == 0 }

// String renders "round.node", as in "3.1".
func (b Ballot) String() string {
	return strconv.FormatInt(b.Round, 10) + "." + strconv.Itoa(int(b.Node))
}

// MarshalText renders the ballot as "round.node", in traces too.
func (b Ballot) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText parses "round.node".
func (b *Ballot) UnmarshalText(text []byte) error {
	r, n, ok := strings.Cut(string(text), ".")
	round, err1 := strconv.ParseInt(r, 10, 64)
	node, err2 := strconv.ParseInt(n, 10, 32)
	if !ok || err1 != nil || err2 != nil || round < 0 || node < 0 {
		return fmt.Errorf("ballot %q is not round.node", text)
	}
	*b = Ballot{Round: round, Node: sim.NodeID(node)}
	return nil
}

// next returns the smallest ballot of node id above b.
func (b Ballot) next(id sim.NodeID) Ballot {
	nb := Ballot{Round: max(b.Round, 1), Node: id}
	if !b.Less(nb) {
		nb.Round++
	}
	return nb
}

// majority is the size of a simple majority of n.
func majority(n int) int { return n/2 + 1 }

// quorumSizes resolves the phase 1 and phase 2 quorum sizes of a cluster of
// n acceptors: zero means a majority. Flexible Paxos (Howard et al., 2016)
// needs only that every phase 1 quorum meets every phase 2 quorum, which for
// counting quorums is q1 + q2 > n.
func quorumSizes(n, q1, q2 int) (int, int, error) {
	if q1 == 0 {
		q1 = majority(n)
	}
	if q2 == 0 {
		q2 = majority(n)
	}
	if q1 < 1 || q1 > n {
		return 0, 0, fmt.Errorf("options.quorum1: %d is outside 1..%d", q1, n)
	}
	if q2 < 1 || q2 > n {
		return 0, 0, fmt.Errorf("options.quorum2: %d is outside 1..%d", q2, n)
	}
	if q1+q2 <= n {
		return 0, 0, fmt.Errorf("options.quorum1: %d + quorum2 %d <= %d nodes: a phase 1 quorum could miss a phase 2 quorum", q1, q2, n)
	}
	return q1, q2, nil
}

// voters is a set of nodes (bit i-1 for node i), used to count promises
// and acceptances; duplicates count once.
type voters uint64

func (v voters) add(id sim.NodeID) voters { return v | 1<<(uint(id)-1) }
func (v voters) has(id sim.NodeID) bool   { return v&(1<<(uint(id)-1)) != 0 }
func (v voters) count() int               { return bits.OnesCount64(uint64(v)) }
func (v voters) reached(q int) bool       { return v.count() >= q }
