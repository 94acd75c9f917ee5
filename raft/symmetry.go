package raft

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Symmetry (sim.SymmetricProcess): Raft's servers are interchangeable. No
// rule compares two node ids (elections are won by votes, terms order
// leaders, quorums count), so a state with its node ids renamed behaves as
// the original with the same renaming, and a model checker may keep one
// state of each class (sim/explore: Options.Symmetry). Node ids appear in
// votedFor (state and the "hs" record), the leader, the per-node arrays of
// votes and progress (indexed by id), the Candidate and Leader of messages
// and configurations; AppendStatePermuted (clone.go) and PermuteStored
// rename them all. Client ids are not node ids and stay.
//
// A membership change names the nodes it adds and removes, so with
// Options.Membership the nodes are not interchangeable (Symmetric).

// Symmetric implements sim.SymmetricProcess.
func (n *Node) Symmetric() error {
	if len(n.opts.Membership) > 0 {
		return errors.New("raft options.membership names nodes, so they are not interchangeable")
	}
	return nil
}

// symmetryMistakeVote, set by a test, forgets to rename votedFor: the
// mistake the symmetry tests exist to catch (sim/explore).
var symmetryMistakeVote = false

// permutedVote renames a vote (the one place the test mistake lives).
func permutedVote(v sim.NodeID, p sim.Permutation) sim.NodeID {
	if symmetryMistakeVote {
		return v
	}
	return p.Of(v)
}

// permutedMembers returns the members renamed by p, in id order (a
// configuration keeps its members sorted). It does not allocate for the
// identity.
func permutedMembers(ms []sim.NodeID, p sim.Permutation) []sim.NodeID {
	same := true
	for _, m := range ms {
		same = same && p.Of(m) == m
	}
	if same {
		return ms
	}
	out := make([]sim.NodeID, len(ms))
	for i, m := range ms {
		out[i] = p.Of(m)
	}
	slices.Sort(out)
	return out
}

// PermuteStored implements sim.SymmetricProcess: the record as the renamed
// node would have stored it (storage.go's layout: votedFor in "hs", a
// configuration in "snap" and in configuration entries).
func (n *Node) PermuteStored(key string, value []byte, p sim.Permutation, scratch []byte) []byte {
	e := protocols.Encoder{B: scratch[:0]}
	d := protocols.Decoder{B: value}
	switch {
	case key == keyHardState:
		e.Varint(d.Varint())
		e.Varint(int64(permutedVote(sim.NodeID(d.Varint()), p)))
	case key == keySnapshot:
		e.Varint(d.Varint())
		e.Varint(d.Varint())
		e.Uvarint(d.Uvarint())
		c := decodeConfig(&d)
		encodeConfig(&e, permutedConfig(c, p))
		e.Bytes(d.Bytes())
	case strings.HasPrefix(key, logPrefix):
		en := decodeEntry(&d)
		if en.Kind != EntryConfig {
			return append(e.B, value...)
		}
		en.Config = permutedConfig(en.Config, p)
		encodeEntry(&e, &en)
	default:
		panic(fmt.Sprintf("raft: %v stores key %q, which PermuteStored does not know", n.id, key))
	}
	if d.Err != nil {
		panic(fmt.Sprintf("raft: %v: corrupt record %q: %v", n.id, key, d.Err))
	}
	return e.B
}

func permutedConfig(c *Config, p sim.Permutation) *Config {
	return &Config{Members: permutedMembers(c.Members, p), Version: c.Version, Removed: p.Of(c.Removed)}
}

// AppendStatePermuted implements sim.SymmetricMessage: no node id inside.
func (m *RequestVoteReply) AppendStatePermuted(b []byte, _ sim.Permutation) []byte {
	return m.AppendState(b)
}

// AppendStatePermuted implements sim.SymmetricMessage: no node id inside.
func (m *AppendEntriesReply) AppendStatePermuted(b []byte, _ sim.Permutation) []byte {
	return m.AppendState(b)
}
