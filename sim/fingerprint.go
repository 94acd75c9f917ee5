package sim

import (
	"encoding/binary"
	"encoding/json"
	"slices"
)

// StateAppender is implemented by a process (or a message) that offers a
// canonical encoding of its state: two values that behave the same from now
// on must append the same bytes, and two that may behave differently must
// append different bytes. Fingerprint hashes it to recognise states a model
// checker has already expanded. Without it Fingerprint falls back to the
// process's Inspect view (for a message, its JSON form), which is slower
// and only as complete as the view.
type StateAppender interface {
	AppendState(b []byte) []byte
}

// Fingerprint returns a 64-bit hash of the run's state as a model checker
// sees it: every process (up or down, its StateAppender encoding or else
// its Inspect view), every node's stable storage, and the pending events as
// a multiset (messages by sender, receiver and content; timers by process,
// name and argument; faults by text). Time, event ids, random streams and
// the checkers' own state are left out, so two schedules that reach the
// same processes with the same events pending are one state.
//
// It is cheap on a fork: each process's part is cached until an event
// reaches that process, and each pending event's part is computed once.
// buf is scratch space, returned for reuse.
//
// Soundness caveat: the Inspect fallback is only as complete as the view.
// A process whose behaviour depends on a field its view does not show (a
// vote count, a timer id) may be merged with a different state, and a
// search may then skip schedules that lead to a bug. Protocols that want a
// sound search implement StateAppender. Hash collisions (64 bits) are
// possible but improbable below billions of states.
func (s *Sim) Fingerprint(buf []byte) (uint64, []byte) {
	procs, pend, buf := s.fingerprintParts(buf)
	return combineFingerprint(procs, pend), buf
}

// SetFingerprintSets makes Fingerprint treat the pending messages as a set
// rather than a multiset: two copies of one message count as one. A model
// checker whose network may deliver any message any number of times (so
// that a copy adds no behaviour) uses it. Forks inherit the setting.
func (s *Sim) SetFingerprintSets(on bool) { s.st.fpSets = on }

// FingerprintAfter returns the fingerprint the run would have after
// Drop(id) (dup false) or Duplicate(id) (dup true), without doing either:
// a search can then skip the branch when it leads to a state already
// seen, without copying the run. ok is false when id is not a pending
// message, or when pending messages are fingerprinted as a set.
func (s *Sim) FingerprintAfter(id EventID, dup bool, buf []byte) (fp uint64, ok bool, out []byte) {
	if s.st.fpSets {
		return 0, false, buf
	}
	procs, pend, buf := s.fingerprintParts(buf)
	q := &s.st.q
	for i := range q.heap {
		if q.heap[i].id != id {
			continue
		}
		if k := q.slab[q.heap[i].slot].Kind; k != KindDeliver && k != KindRequest {
			return 0, false, buf
		}
		if dup {
			pend += q.heap[i].fp
		} else {
			pend -= q.heap[i].fp
		}
		return combineFingerprint(procs, pend), true, buf
	}
	return 0, false, buf
}

func combineFingerprint(procs, pend uint64) uint64 {
	return mix64(procs ^ mix64(pend+0x9e3779b97f4a7c15))
}

// fingerprintParts returns the hash of the processes and the sum of the
// pending events' hashes (each event's is then cached in its queue entry;
// with fpSets, each distinct hash counts once).
func (s *Sim) fingerprintParts(buf []byte) (uint64, uint64, []byte) {
	st := s.st
	h := uint64(14695981039346656037)
	for _, e := range st.procs {
		buf = e.cacheFingerprint(buf)
		h = foldProcess(h, e.fp)
	}
	var arr [64]uint64
	return h, st.sumPending(s.AppendPendingFPs(arr[:0])), buf
}

// sumPending sums pending events' parts: each distinct one once when the
// pending messages are a set.
func (st *state) sumPending(fps []uint64) uint64 {
	if st.fpSets {
		return sumDistinct(fps)
	}
	var sum uint64
	for _, fp := range fps {
		sum += fp
	}
	return sum
}

func (e *Env) cacheFingerprint(buf []byte) []byte {
	if !e.fpOK {
		buf = e.appendState(buf[:0])
		e.fp, e.fpOK = hashBytes(buf), true
	}
	return buf
}

func foldProcess(h, fp uint64) uint64 { return (h ^ fp) * 1099511628211 }

// sumDistinct sums the distinct values of fps. Copies are rare: a 256-bit
// filter finds the candidates, a scan of the earlier ones decides.
func sumDistinct(fps []uint64) uint64 {
	var seen [4]uint64
	var sum uint64
	for i, fp := range fps {
		bit := uint64(1) << (fp & 63)
		w := &seen[(fp>>6)&3]
		if *w&bit != 0 && slices.Contains(fps[:i], fp) {
			continue
		}
		*w |= bit
		sum += fp
	}
	return sum
}

// AppendProcessFingerprints appends each process's part of the
// fingerprint (its state and stable storage; nodes n1..nN, then clients)
// to out. ProcessIndex says where a node's part is.
func (s *Sim) AppendProcessFingerprints(out []uint64) []uint64 {
	buf := s.st.fpScratch[:0] // a local array would escape (AppendState)
	for _, e := range s.st.procs {
		buf = e.cacheFingerprint(buf)
		out = append(out, e.fp)
	}
	s.st.fpScratch = buf[:0]
	return out
}

// ProcessIndex returns the position of node id's part among
// AppendProcessFingerprints', or -1 when there is no such node.
func (s *Sim) ProcessIndex(id NodeID) int {
	if e := s.st.proc(id); e != nil {
		return e.idx
	}
	return -1
}

// AppendPendingFPs appends the fingerprint of each pending event (void
// timers left out), in no particular order.
func (s *Sim) AppendPendingFPs(fps []uint64) []uint64 {
	for i := range s.st.q.heap {
		if _, fp, ok := s.st.pendingFP(i); ok {
			fps = append(fps, fp)
		}
	}
	return fps
}

// pendingFP returns the event of queue entry i and its fingerprint part
// (computed once, then cached in the entry); ok is false for a void timer,
// which the fingerprint leaves out.
func (st *state) pendingFP(i int) (ev *Event, fp uint64, ok bool) {
	qe := &st.q.heap[i]
	ev = &st.q.slab[qe.slot]
	if ev.Kind == KindTimer && st.voidTimer(ev) {
		return ev, 0, false
	}
	if qe.fp == 0 {
		b := appendEvent(st.fpScratch[:0], ev)
		qe.fp = hashBytes(b) | 1
		st.fpScratch = b[:0]
	}
	return ev, qe.fp, true
}

// CombineFingerprint returns the fingerprint of a state whose processes'
// parts are procs (as AppendProcessFingerprints gives them) and whose
// pending events' parts are pending (as AppendPendingFPs gives them, in
// any order): what Fingerprint would return for it. A search uses it to
// know a child's fingerprint from its parent's parts and what the step
// changed, without making the child.
func (s *Sim) CombineFingerprint(procs, pending []uint64) uint64 {
	return CombineParts(procs, s.PendingSum(pending))
}

// PendingSum returns the pending events' share of the fingerprint, from
// their parts (as AppendPendingFPs gives them, in any order): their sum,
// or with FingerprintSets the sum of the distinct parts.
func (s *Sim) PendingSum(pending []uint64) uint64 { return s.st.sumPending(pending) }

// FingerprintSets reports whether pending messages are fingerprinted as
// a set (SetFingerprintSets).
func (s *Sim) FingerprintSets() bool { return s.st.fpSets }

// CombineParts returns the fingerprint of a state whose processes' parts
// are procs and whose pending events' share is pendingSum (PendingSum).
func CombineParts(procs []uint64, pendingSum uint64) uint64 {
	h := uint64(14695981039346656037)
	for _, fp := range procs {
		h = foldProcess(h, fp)
	}
	return combineFingerprint(h, pendingSum)
}

// AppendPendingRefs is AppendPendingFingerprints without copying the
// events: it appends pointers to them, which stay valid only while the run
// is not changed (a search lists a state's branches this way, then forks
// it to take them).
func (s *Sim) AppendPendingRefs(evs []*Event, fps []uint64) ([]*Event, []uint64) {
	n0, f0 := len(evs), len(fps)
	for i := range s.st.q.heap {
		if ev, fp, ok := s.st.pendingFP(i); ok {
			evs = append(evs, ev)
			fps = append(fps, fp)
		}
	}
	out, ofp := evs[n0:], fps[f0:]
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && (out[j].At < out[j-1].At || out[j].At == out[j-1].At && out[j].ID < out[j-1].ID); j-- {
			out[j], out[j-1] = out[j-1], out[j]
			ofp[j], ofp[j-1] = ofp[j-1], ofp[j]
		}
	}
	return evs, fps
}

// AppendPendingFingerprints is AppendPending that also appends each
// event's fingerprint (as Fingerprint counts it) to fps, in the same order.
func (s *Sim) AppendPendingFingerprints(evs []Event, fps []uint64) ([]Event, []uint64) {
	var arr [32]*Event
	refs, fps := s.AppendPendingRefs(arr[:0], fps)
	for _, ev := range refs {
		evs = append(evs, *ev)
	}
	return evs, fps
}

func (e *Env) appendState(b []byte) []byte {
	b = binary.AppendVarint(b, int64(e.id))
	if !e.up {
		b = append(b, 0)
	} else if sa, ok := e.p.(StateAppender); ok {
		b = append(b, 1)
		b = sa.AppendState(b)
	} else if in, ok := e.p.(Inspector); ok {
		b = append(b, 2)
		v := in.Inspect()
		b = appendView(b, &v)
	} else {
		b = append(b, 3)
	}
	if e.store != nil {
		b = binary.LittleEndian.AppendUint64(b, e.store.Fingerprint())
	}
	return append(b, 0xff)
}

func appendView(b []byte, v *View) []byte {
	b = appendString(b, v.Role)
	b = binary.AppendVarint(b, v.Term)
	b = binary.AppendVarint(b, int64(v.Leader))
	b = binary.AppendVarint(b, v.LogLen)
	b = binary.AppendVarint(b, v.Commit)
	b = binary.AppendVarint(b, v.Applied)
	b = binary.AppendVarint(b, v.Snapshot)
	for _, l := range v.Log {
		b = binary.AppendVarint(b, l.Index)
		b = binary.AppendVarint(b, l.Term)
		b = appendString(b, l.Command)
	}
	for _, f := range v.Fields {
		b = appendString(b, f.Name)
		b = appendString(b, f.Value)
	}
	for _, t := range v.Tables {
		b = appendString(b, t.Title)
		for _, r := range t.Rows {
			for _, c := range r {
				b = appendString(b, c)
			}
		}
	}
	return b
}

func appendEvent(b []byte, ev *Event) []byte {
	b = append(b, byte(ev.Kind))
	b = binary.AppendVarint(b, int64(ev.From))
	b = binary.AppendVarint(b, int64(ev.To))
	switch ev.Kind {
	case KindDeliver, KindRequest:
		b = appendMessage(b, ev.Msg)
	case KindTimer:
		b = appendString(b, ev.Timer.Name)
		b = binary.AppendVarint(b, ev.Timer.Arg)
	case KindFault:
		if ev.Fault != nil {
			b = appendString(b, ev.Fault.String())
		}
	}
	return b
}

// AppendMessage appends a message's canonical encoding: its type, then its
// StateAppender encoding or else its JSON form.
func AppendMessage(b []byte, m Message) []byte { return appendMessage(b, m) }

func appendMessage(b []byte, m Message) []byte {
	if m == nil {
		return append(b, 0)
	}
	b = appendString(b, m.MessageType())
	if sa, ok := m.(StateAppender); ok {
		return sa.AppendState(b)
	}
	// Messages are JSON-encodable by contract: their exported fields are
	// their content.
	j, err := json.Marshal(m)
	if err != nil {
		return appendString(b, Describe(m))
	}
	return append(b, j...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// hashBytes hashes b eight bytes at a time: fixed, so fingerprints (and
// which of two colliding states a search keeps) are the same on every
// run and machine. It is not meant to resist an adversary.
func hashBytes(b []byte) uint64 {
	h := uint64(len(b)) * 0x9e3779b97f4a7c15
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * 0xbf58476d1ce4e5b9
		h ^= h >> 29
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	h = (h ^ tail) * 0x94d049bb133111eb
	return mix64(h)
}

// mix64 is a 64-bit finalizer, so that summing the hashes of a multiset's
// members does not cancel structure.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
