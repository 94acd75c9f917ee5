package twopc

import (
	"cmp"
	"encoding/binary"
	"slices"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// The model checker's state encoding (sim.StateAppender). Two nodes that
// append the same bytes must behave the same from then on. No decision of
// either protocol reads the clock (times only stretch timers and label
// views and log records), so the encoding leaves times out, and with them
// counters kept for views (counts, recent, asked) and the random stream
// (which draws only durations, and votes when vote_no is set: a search
// with vote_no may merge states that would vote differently). A pending
// timer is encoded as "some" or "none": a node cancels a timer before it
// sets another of the same transaction, so which timer it is follows from
// the pending events. Maps are encoded in key order.

// AppendState implements sim.StateAppender for the explorer.
func (n *Node) AppendState(b []byte) []byte {
	b = binary.AppendVarint(b, n.log.n)
	switch {
	case n.coord != nil:
		b = n.coord.appendState(append(b, 'c'))
	case n.part != nil:
		b = n.part.appendState(append(b, 'p'))
	}
	if n.acc != nil {
		b = n.acc.appendState(append(b, 'a'))
	}
	if n.lead != nil {
		b = n.lead.appendState(append(b, 'l'))
	}
	return b
}

func (c *coordinator) appendState(b []byte) []byte {
	b = binary.AppendVarint(b, c.inc)
	b = binary.AppendVarint(b, c.next)
	b = appendMap(b, c.txns, func(b []byte, tx *ctxn) []byte {
		b = appendRequestOf(b, tx.client, tx.seq, tx.parts)
		for i := range tx.parts {
			var ops []Op // a decision recovered from the log has no ops
			if i < len(tx.ops) {
				ops = tx.ops[i]
			}
			b = appendOps(b, ops)
			b = append(b, byte(tx.votes[i]))
			b = appendBool(b, tx.acks[i])
		}
		b = append(b, byte(tx.state), byte(tx.decision))
		b = appendString(b, tx.reason) // it is sent to the client
		b = appendBool(b, tx.replied)
		return appendBool(b, tx.timer != 0)
	})
	b = appendMap(b, c.decided, func(b []byte, o Outcome) []byte { return append(b, byte(o)) })
	return appendMap(b, c.lastSeq, binary.AppendVarint)
}

func (p *participant) appendState(b []byte) []byte {
	b = appendMap(b, p.data, appendString)
	b = appendMap(b, p.locks, func(b []byte, id TxnID) []byte { return binary.AppendVarint(b, int64(id)) })
	b = appendMap(b, p.active, func(b []byte, tx *ptxn) []byte {
		b = appendRequestOf(b, tx.client, tx.seq, tx.parts)
		b = appendOps(b, tx.ops)
		b = append(b, byte(tx.state))
		b = appendBool(b, tx.work != 0)
		return appendBool(b, tx.query != 0)
	})
	return appendMap(b, p.outcomes, func(b []byte, o Outcome) []byte { return append(b, byte(o)) })
}

func (a *acceptor) appendState(b []byte) []byte {
	return appendMap(b, a.txns, func(b []byte, tx *atxn) []byte {
		b = appendRequestOf(b, tx.client, tx.seq, tx.parts)
		b = binary.AppendVarint(b, tx.promised)
		b = appendMap(b, tx.insts, func(b []byte, in *ainst) []byte {
			b = binary.AppendVarint(b, in.ballot)
			return append(b, byte(in.value))
		})
		b = appendBool(b, tx.bundled)
		b = append(b, byte(tx.decided))
		b = binary.AppendVarint(b, tx.seen)
		b = appendBool(b, tx.timer != 0)
		if tx.rec == nil {
			return append(b, 0)
		}
		r := tx.rec
		b = append(b, byte(r.phase))
		b = binary.AppendVarint(b, r.ballot)
		b = appendMap(b, r.promises, func(b []byte, m *Phase1b) []byte {
			b = binary.AppendVarint(b, m.Ballot)
			b = appendBool(b, m.OK)
			b = binary.AppendVarint(b, m.Promised)
			b = binary.AppendUvarint(b, uint64(len(m.Accepted)))
			for _, ac := range m.Accepted {
				b = binary.AppendVarint(b, int64(ac.Inst))
				b = binary.AppendVarint(b, ac.Ballot)
				b = append(b, byte(ac.Value))
			}
			return b
		})
		b = appendMap(b, r.accepts, appendBool)
		return appendInsts(b, r.values)
	})
}

func (l *leader) appendState(b []byte) []byte {
	b = binary.AppendVarint(b, l.inc)
	b = binary.AppendVarint(b, l.next)
	b = appendMap(b, l.txns, func(b []byte, tx *ltxn) []byte {
		b = appendRequestOf(b, tx.client, tx.seq, tx.parts)
		for i := range tx.parts {
			var ops []Op // a decision recovered from the log has no ops
			if i < len(tx.ops) {
				ops = tx.ops[i]
			}
			b = appendOps(b, ops)
		}
		b = appendMap(b, tx.chosen, func(b []byte, byAcc map[sim.NodeID]Outcome) []byte {
			return appendMap(b, byAcc, func(b []byte, o Outcome) []byte { return append(b, byte(o)) })
		})
		b = append(b, byte(tx.decided))
		b = appendBool(b, tx.replied)
		return appendBool(b, tx.timer != 0)
	})
	return appendMap(b, l.lastSeq, binary.AppendVarint)
}

// canonRecord is the nodes' sim.StorageCanon: a log record without the
// time it was written (kept for Blocking, never read back by a node).
func canonRecord(key string, value, scratch []byte) []byte {
	if !strings.HasPrefix(key, logPrefix) {
		return value
	}
	r, err := decodeRecord(value)
	if err != nil {
		return value // hashed whole; the node panics when it reads it
	}
	r.Time = 0
	return append(scratch, r.encode()...)
}

// appendMap appends the map's length, then each key and value in key order.
func appendMap[K cmp.Ordered, V any](b []byte, m map[K]V, val func([]byte, V) []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(m)))
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b = appendKey(b, k)
		b = val(b, m[k])
	}
	return b
}

func appendKey[K cmp.Ordered](b []byte, k K) []byte {
	switch k := any(k).(type) {
	case string:
		return appendString(b, k)
	case TxnID:
		return binary.AppendVarint(b, int64(k))
	case sim.NodeID:
		return binary.AppendVarint(b, int64(k))
	}
	panic("twopc: appendMap: a key type it does not encode")
}

// appendRequestOf appends who asked for a transaction and its participants.
func appendRequestOf(b []byte, client sim.NodeID, seq int64, parts []sim.NodeID) []byte {
	b = binary.AppendVarint(b, int64(client))
	b = binary.AppendVarint(b, seq)
	b = binary.AppendUvarint(b, uint64(len(parts)))
	for _, p := range parts {
		b = binary.AppendVarint(b, int64(p))
	}
	return b
}

func appendOps(b []byte, ops []Op) []byte {
	b = binary.AppendUvarint(b, uint64(len(ops)))
	for _, o := range ops {
		b = appendString(b, string(o.Kind))
		b = appendString(b, o.Key)
		b = binary.AppendVarint(b, o.Delta)
		b = appendString(b, o.Value)
	}
	return b
}

func appendInsts(b []byte, ivs []instValue) []byte {
	b = binary.AppendUvarint(b, uint64(len(ivs)))
	for _, iv := range ivs {
		b = binary.AppendVarint(b, int64(iv.Inst))
		b = append(b, byte(iv.Value))
	}
	return b
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

var _ sim.StateAppender = (*Node)(nil)
