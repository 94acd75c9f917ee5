package paxos

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Symmetry (sim.SymmetricProcess) of both Paxos protocols, offered when
// Options.Proposers names a strict subset of the nodes. A ballot is
// ordered by round, then by its proposer's id, so renaming two nodes that
// may propose changes which of two ballots of one round wins: proposers
// are not interchangeable, and each is alone in its class
// (sim.SymmetryClasser), so that every permutation of the group fixes
// them. The acceptor-only nodes are interchangeable: no rule compares
// their ids. A proposer counts them as a set (voters), takes their
// reports in arrival order (P2c compares ballots, which name proposers
// only), and sends to all of them alike; an acceptor answers whoever asks.
// Their ids appear only in those sets (promises, acceptances, a leader's
// acks and answered), which the permuted encodings rename; everything
// else that names a node names a proposer, which the group fixes: ballots,
// the leader believed in and a client's redirect to it, the no-ops a new
// leader fills gaps with, a learner's catch-up request (sent to the
// leader). Timers (wake, heartbeat, retry, backoff) and storage keys
// (promised, acc/<slot>, snap) name no node. Acceptor-only nodes draw
// nothing from their random streams (no election clock).
//
// The clients must send to proposers only (workload.nodes): a client that
// picks a node at random or in id order singles acceptors out.
// protocols.FixedClient says which nodes it names, and the search refuses
// a group that moves one of them.

// The mistakes the symmetry tests exist to catch, set by them: a proposer
// taken for an interchangeable node, and the acceptors a proposer counted
// left unrenamed.
var symmetryMistakeProposer, symmetryMistakeVoters = false, false

// symmetric says why the nodes are not interchangeable, or nil.
func (c *config) symmetric() error {
	why := "a ballot is ordered by round, then by node id, so renaming two nodes that can propose changes which of two ballots of one round wins"
	switch {
	case len(c.Proposers) == 0:
		return fmt.Errorf("options.proposers is empty, so every node proposes: %s; name the proposers (a strict subset of the nodes, say proposers: [1]) to make the others interchangeable", why)
	case len(c.Proposers) == c.n:
		return fmt.Errorf("options.proposers %v names every node: %s, and no node is left to rename", c.Proposers, why)
	}
	return nil
}

// symmetryClass is a node's class: acceptor-only nodes are interchangeable
// (class 0); a proposer is alone in its own.
func (c *config) symmetryClass(id sim.NodeID) int {
	if !c.proposes(id) || symmetryMistakeProposer {
		return 0
	}
	return int(id)
}

// permutedVoters renames the nodes of a set.
func permutedVoters(v voters, p sim.Permutation) voters {
	if symmetryMistakeVoters || p.Identity() {
		return v
	}
	var out voters
	for id := sim.NodeID(1); id <= sim.MaxNodes; id++ {
		if v.has(id) {
			out = out.add(p.Of(id))
		}
	}
	return out
}

func permutedBallot(b Ballot, p sim.Permutation) Ballot {
	b.Node = p.Of(b.Node)
	return b
}

func permutedRequest(r protocols.Request, p sim.Permutation) protocols.Request {
	r.Client = p.Of(r.Client)
	return r
}

func permutedEntries(es []Entry, p sim.Permutation) []Entry {
	if es == nil {
		return nil
	}
	out := make([]Entry, len(es))
	for i, e := range es {
		e.Ballot, e.Cmd = permutedBallot(e.Ballot, p), permutedRequest(e.Cmd, p)
		out[i] = e
	}
	return out
}

// permuteStored renames a record of either protocol (store.go's layout):
// the ballot of a promise, the ballot and command of an acceptance. A
// snapshot holds the key-value state, which names clients only.
func permuteStored(key string, value []byte, p sim.Permutation, scratch []byte) []byte {
	e := protocols.Encoder{B: scratch[:0]}
	switch {
	case key == keyPromised:
		b, err := decodePromised(value)
		if err != nil {
			panic(fmt.Sprintf("paxos: record %q: %v", key, err))
		}
		encodeBallot(&e, permutedBallot(b, p))
	case strings.HasPrefix(key, keyAccPfx):
		b, c, err := decodeAccepted(value)
		if err != nil {
			panic(fmt.Sprintf("paxos: record %q: %v", key, err))
		}
		c = permutedRequest(c, p)
		encodeAccepted(&e, permutedBallot(b, p), &c)
	case key == keySnap:
		return append(e.B, value...)
	default:
		panic(fmt.Sprintf("paxos: stored key %q, which PermuteStored does not know", key))
	}
	return e.B
}

// Symmetric implements sim.SymmetricProcess.
func (n *Node) Symmetric() error { return n.cfg.symmetric() }

// SymmetryClass implements sim.SymmetryClasser.
func (n *Node) SymmetryClass() int { return n.cfg.symmetryClass(n.id) }

// AppendStatePermuted implements sim.SymmetricProcess.
func (n *Node) AppendStatePermuted(b []byte, p sim.Permutation) []byte { return n.appendState(b, p) }

// PermuteStored implements sim.SymmetricProcess.
func (n *Node) PermuteStored(key string, value []byte, p sim.Permutation, scratch []byte) []byte {
	return permuteStored(key, value, p, scratch)
}

// Symmetric implements sim.SymmetricProcess.
func (n *SingleNode) Symmetric() error { return n.cfg.symmetric() }

// SymmetryClass implements sim.SymmetryClasser.
func (n *SingleNode) SymmetryClass() int { return n.cfg.symmetryClass(n.id) }

// AppendStatePermuted implements sim.SymmetricProcess.
func (n *SingleNode) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	return n.appendState(b, p)
}

// PermuteStored implements sim.SymmetricProcess.
func (n *SingleNode) PermuteStored(key string, value []byte, p sim.Permutation, scratch []byte) []byte {
	return permuteStored(key, value, p, scratch)
}

// appendJSON appends m's JSON form, as sim.AppendMessage encodes a
// message without a StateAppender encoding.
func appendJSON(b []byte, m sim.Message) []byte {
	j, err := json.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("paxos: %s: %v", m.MessageType(), err))
	}
	return append(b, j...)
}

// AppendStatePermuted implements sim.SymmetricMessage for the messages of
// both protocols: the JSON form of the renamed message (ballots, the
// commands of reported slots).
func (m *Prepare) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot = permutedBallot(m.Ballot, p)
	return appendJSON(b, &c)
}

func (m *Promise) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot, c.Entries = permutedBallot(m.Ballot, p), permutedEntries(m.Entries, p)
	return appendJSON(b, &c)
}

func (m *Accept) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot, c.Cmd = permutedBallot(m.Ballot, p), permutedRequest(m.Cmd, p)
	return appendJSON(b, &c)
}

func (m *Accepted) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot = permutedBallot(m.Ballot, p)
	return appendJSON(b, &c)
}

func (m *Nack) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot, c.Promised = permutedBallot(m.Ballot, p), permutedBallot(m.Promised, p)
	return appendJSON(b, &c)
}

func (m *Heartbeat) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot = permutedBallot(m.Ballot, p)
	return appendJSON(b, &c)
}

func (m *HeartbeatAck) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot = permutedBallot(m.Ballot, p)
	return appendJSON(b, &c)
}

func (m *CatchUp) AppendStatePermuted(b []byte, _ sim.Permutation) []byte { return appendJSON(b, m) }

func (m *Decisions) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Entries = permutedEntries(m.Entries, p)
	return appendJSON(b, &c)
}

func (m *SPrepare) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot = permutedBallot(m.Ballot, p)
	return appendJSON(b, &c)
}

func (m *SPromise) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot, c.Accepted = permutedBallot(m.Ballot, p), permutedBallot(m.Accepted, p)
	if m.Value != nil {
		v := permutedRequest(*m.Value, p)
		c.Value = &v
	}
	return appendJSON(b, &c)
}

func (m *SAccept) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot, c.Value = permutedBallot(m.Ballot, p), permutedRequest(m.Value, p)
	return appendJSON(b, &c)
}

func (m *SAccepted) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot = permutedBallot(m.Ballot, p)
	return appendJSON(b, &c)
}

func (m *SNack) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Ballot, c.Promised = permutedBallot(m.Ballot, p), permutedBallot(m.Promised, p)
	return appendJSON(b, &c)
}

func (m *SDecided) AppendStatePermuted(b []byte, p sim.Permutation) []byte {
	c := *m
	c.Value = permutedRequest(m.Value, p)
	return appendJSON(b, &c)
}

var (
	_ sim.SymmetricProcess = (*Node)(nil)
	_ sim.SymmetryClasser  = (*Node)(nil)
	_ sim.SymmetricProcess = (*SingleNode)(nil)
	_ sim.SymmetryClasser  = (*SingleNode)(nil)
	_ sim.SymmetricMessage = (*Promise)(nil)
	_ sim.SymmetricMessage = (*SPromise)(nil)
	_ sim.SymmetricMessage = (*Decisions)(nil)
	_ sim.SymmetricMessage = (*CatchUp)(nil)
	_ sim.SymmetricMessage = (*HeartbeatAck)(nil)
)
