package raft

import "fmt"

// raftLog holds the entries after the snapshot: entries[k] has index
// snapIndex+1+k. Messages may share its backing array, so an entry below
// len(entries) is never overwritten in place: truncation copies.
//
// The log holds pointers: an entry is made once, by the leader that
// proposes it (or by a restart that reads it back), and every log and
// message that has it shares it; no one changes an entry (Entry). A log's
// array then takes 8 bytes an entry instead of the entry's 104, which
// every append that outgrows the array, truncation, compaction and
// restart copies.
type raftLog struct {
	snapIndex int64
	snapTerm  int64
	entries   []*Entry
	// gen counts the times entries were removed from the end or the log
	// was replaced, so that checkers know to look at it afresh.
	gen uint64
}

// last is the index of the last entry (the snapshot's if the log is empty).
func (l *raftLog) last() int64 { return l.snapIndex + int64(len(l.entries)) }

// lastTerm is the term of the last entry.
func (l *raftLog) lastTerm() int64 {
	if n := len(l.entries); n > 0 {
		return l.entries[n-1].Term
	}
	return l.snapTerm
}

// term returns the term of the entry at i; ok is false when i is compacted
// away or beyond the end.
func (l *raftLog) term(i int64) (term int64, ok bool) {
	switch {
	case i == l.snapIndex:
		return l.snapTerm, true
	case i < l.snapIndex || i > l.last():
		return 0, false
	}
	return l.entries[i-l.snapIndex-1].Term, true
}

// mustTerm is term for an index the caller knows is present.
func (l *raftLog) mustTerm(i int64) int64 {
	t, ok := l.term(i)
	if !ok {
		panic(fmt.Sprintf("log: no term at index %d (snapshot %d, last %d)", i, l.snapIndex, l.last()))
	}
	return t
}

// at returns the entry at i, which must be in the log.
func (l *raftLog) at(i int64) *Entry {
	if i <= l.snapIndex || i > l.last() {
		panic(fmt.Sprintf("log: entry %d outside (%d, %d]", i, l.snapIndex, l.last()))
	}
	return l.entries[i-l.snapIndex-1]
}

// slice returns entries lo..hi-1 with capacity clipped, so that no holder
// can append into the log's array.
func (l *raftLog) slice(lo, hi int64) []*Entry {
	if lo <= l.snapIndex || hi > l.last()+1 || lo > hi {
		panic(fmt.Sprintf("log: slice [%d, %d) outside (%d, %d]", lo, hi, l.snapIndex, l.last()))
	}
	a, b := lo-l.snapIndex-1, hi-l.snapIndex-1
	return l.entries[a:b:b]
}

// append adds entries at the end.
func (l *raftLog) append(es ...*Entry) { l.entries = append(l.entries, es...) }

// truncateAfter drops the entries after i. It copies the kept prefix to a
// fresh array, because in-flight messages may still point into the old one.
func (l *raftLog) truncateAfter(i int64) {
	if i < l.snapIndex || i > l.last() {
		panic(fmt.Sprintf("log: truncate after %d outside [%d, %d]", i, l.snapIndex, l.last()))
	}
	l.gen++
	keep := l.entries[:i-l.snapIndex]
	l.entries = append(make([]*Entry, 0, max(len(keep)+16, cap(l.entries))), keep...)
}

// compact drops the entries up to and including i, which becomes the
// snapshot's index.
func (l *raftLog) compact(i, term int64) {
	if i <= l.snapIndex {
		panic(fmt.Sprintf("log: compact to %d at or below snapshot %d", i, l.snapIndex))
	}
	// The new array has the old one's capacity: the log grows back to
	// about the size it had at the last compaction, and growing it again
	// from a small array would copy it several times over.
	if i >= l.last() {
		l.entries = make([]*Entry, 0, cap(l.entries))
	} else {
		rest := l.entries[i-l.snapIndex:]
		l.entries = append(make([]*Entry, 0, max(len(rest)+16, cap(l.entries))), rest...)
	}
	l.snapIndex, l.snapTerm = i, term
}

// firstOfTerm returns the first index at or before i (and after the
// snapshot) holding term t, scanning back from i; i must hold term t.
func (l *raftLog) firstOfTerm(i, t int64) int64 {
	for i-1 > l.snapIndex && l.mustTerm(i-1) == t {
		i--
	}
	return i
}

// lastOfTerm returns the last index holding term t, or 0 if none does.
// Terms never decrease along a log, so the scan stops below t.
func (l *raftLog) lastOfTerm(t int64) int64 {
	for i := l.last(); i > l.snapIndex; i-- {
		switch et := l.mustTerm(i); {
		case et == t:
			return i
		case et < t:
			return 0
		}
	}
	return 0
}

// upToDate reports whether a log ending at lastIndex/lastTerm is at least as
// up to date as this one (§5.4.1).
func (l *raftLog) upToDate(lastIndex, lastTerm int64) bool {
	lt := l.lastTerm()
	return lastTerm > lt || (lastTerm == lt && lastIndex >= l.last())
}
