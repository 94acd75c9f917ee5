package protocols

import (
	"fmt"
	"maps"
	"slices"

	"github.com/synod-dev/synod/sim"
)

// opChunk is how many records an OpLog keeps per chunk: a copy of the log
// copies at most one chunk (the tail) and one pointer per full chunk, so
// 64 balances the two for the tens of thousands of operations of a long
// run.
const opChunk = 64

// OpLog is a client's history, append-only, in chunks so that the copies
// a run's checkpoints make of a client (sim.ProcessCloner) share every
// finished operation instead of copying the history whole. Full chunks
// are never changed again; only the last record, the operation in flight,
// is changed in place, and it lives in the tail chunk, which each copy
// has to itself.
type OpLog struct {
	full [][]OpRecord // chunks of opChunk records, shared by copies
	tail []OpRecord   // the records after them, this copy's own
}

// Len is the number of records.
func (l *OpLog) Len() int { return len(l.full)*opChunk + len(l.tail) }

// At returns record i. Only the last record may be changed through it.
func (l *OpLog) At(i int) *OpRecord {
	if i < 0 || i >= l.Len() {
		panic(fmt.Sprintf("protocols: op %d of a history of %d", i, l.Len()))
	}
	if c := i / opChunk; c < len(l.full) {
		return &l.full[c][i%opChunk]
	}
	return &l.tail[i-len(l.full)*opChunk]
}

// Append adds a record at the end.
func (l *OpLog) Append(r OpRecord) {
	if len(l.tail) == opChunk {
		// The full tail is shared from now on: its records are final
		// (only the last record is ever in flight, and it is the new one).
		l.full = append(l.full, l.tail)
		l.tail = nil
	}
	if l.tail == nil {
		l.tail = make([]OpRecord, 0, opChunk)
	}
	l.tail = append(l.tail, r)
}

// AppendTo appends every record to dst.
func (l *OpLog) AppendTo(dst []OpRecord) []OpRecord {
	dst = slices.Grow(dst, l.Len())
	for _, c := range l.full {
		dst = append(dst, c...)
	}
	return append(dst, l.tail...)
}

// clone returns a copy that shares the full chunks (the outer slice is
// clipped, so an append by either makes its own) and owns its tail.
func (l *OpLog) clone() OpLog {
	c := OpLog{full: l.full[:len(l.full):len(l.full)]}
	if l.tail != nil {
		c.tail = append(make([]OpRecord, 0, opChunk), l.tail...)
	}
	return c
}

// OpLogger is a HistoryClient that lends its history without copying it:
// checkers that look at a client after every event (the progress checker)
// and the run's summary read it through here.
type OpLogger interface {
	HistoryClient
	OpLog() *OpLog
}

// OpLog implements OpLogger. The log must not be changed.
func (c *KVClient) OpLog() *OpLog { return &c.history }

// CloneProcess implements sim.ProcessCloner: a checkpoint of a long run
// (the TUI's timeline) shares the client's finished operations, its
// workload and its stop time, and copies the rest, which is small.
func (c *KVClient) CloneProcess() sim.Process {
	d := *c
	d.history = c.history.clone()
	d.arrivals = slices.Clone(c.arrivals)
	d.lastSeen = maps.Clone(c.lastSeen)
	return &d
}
