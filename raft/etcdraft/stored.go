package etcdraft

import (
	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
	pb "go.etcd.io/raft/v3/raftpb"
)

// storedLog reads a node's log from its stable storage: the checkers'
// view of the truth, for live and crashed nodes alike.
type storedLog struct{ st *sim.Storage }

// snapshot returns the index and term of the stored snapshot, or the boot
// snapshot.
func (l storedLog) snapshot() (index, term uint64) {
	b, ok := l.st.Peek(keySnapshot)
	if !ok {
		return bootIndex, bootTerm
	}
	d := protocols.Decoder{B: b}
	return d.Uvarint(), d.Uvarint()
}

// entry returns the stored entry at index, decoded into a new raftpb
// entry that owns its data.
func (l storedLog) entry(index uint64) (*pb.Entry, bool) {
	b, ok := l.raw(index)
	if !ok {
		return nil, false
	}
	e, err := decodeEntry(index, b)
	if err != nil {
		return nil, false
	}
	return e, true
}

// raw returns the stored entry at index as stored (term, type, data),
// without copying: the store's own bytes, valid until the next event and
// never to be changed; a checker that keeps them copies them. The
// checkers compare entries in this form, where equal bytes are equal
// entries, and decode one (parseEntry) only to learn its term or explain
// a difference.
func (l storedLog) raw(index uint64) ([]byte, bool) {
	return l.st.PeekAt(entryAt(index))
}

// parseEntry returns the term and data of a stored entry (its data
// aliases b).
func parseEntry(b []byte) (term uint64, data []byte, ok bool) {
	term, _, data, err := entryFields(b)
	return term, data, err == nil
}

// term returns the term at index: of an entry, or of the snapshot that
// ends at index.
func (l storedLog) term(index uint64) (uint64, bool) {
	if b, ok := l.raw(index); ok {
		if t, _, ok := parseEntry(b); ok {
			return t, true
		}
		return 0, false
	}
	if si, st := l.snapshot(); si == index {
		return st, true
	}
	return 0, false
}
