package sim

import "fmt"

// EventKind says what an event does.
type EventKind uint8

// The kinds of events a run is made of.
const (
	// KindStart starts (or restarts) a node or client: its Start method runs.
	KindStart EventKind = iota + 1
	// KindDeliver delivers a message between nodes, or a reply to a client.
	KindDeliver
	// KindRequest delivers a client's request to a node.
	KindRequest
	// KindTimer fires a timer a process set.
	KindTimer
	// KindFault applies a fault action (crash, partition, heal, ...).
	KindFault
)

var kindNames = [...]string{"", "start", "deliver", "request", "timer", "fault"}

// String names the kind as traces spell it.
func (k EventKind) String() string {
	if int(k) < len(kindNames) && k > 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// ParseEventKind is the inverse of EventKind.String.
func ParseEventKind(s string) (EventKind, bool) {
	for i, n := range kindNames {
		if n == s && i > 0 {
			return EventKind(i), true
		}
	}
	return 0, false
}

// EventID identifies a pending event. IDs are given out in insertion order,
// so they are deterministic, and they break ties between events due at the
// same simulated time.
type EventID uint64

// TimerID identifies a timer; it is the EventID of the timer's fire event.
type TimerID = EventID

// Timer is what a process gets back when its timer fires: the name and
// argument it set the timer with.
type Timer struct {
	ID   TimerID
	Name string
	Arg  int64
}

// Event is one pending or processed event.
type Event struct {
	ID   EventID
	At   Time
	Kind EventKind
	// From and To: sender and receiver of a delivery or request; To alone is
	// the process of a start or timer event.
	From, To NodeID
	Msg      Message
	Timer    Timer
	Fault    *Fault
	// Dup marks a copy made by the network's duplication.
	Dup bool
	// Sent is when a message left its sender.
	Sent Time
	// epoch is the receiving process's incarnation when a timer was set:
	// timers of an earlier incarnation died with the crash.
	epoch uint32
}

// Describe renders the event on one line: "t=120ms n1->n2 Vote term=3".
// It is the one renderer used by traces' human forms, the TUI's event log,
// error messages and docs.
func (e *Event) Describe() string {
	switch e.Kind {
	case KindDeliver, KindRequest:
		dup := ""
		if e.Dup {
			dup = " (dup)"
		}
		return fmt.Sprintf("t=%v %v->%v %s%s", e.At, e.From, e.To, Describe(e.Msg), dup)
	case KindTimer:
		if e.Timer.Arg != 0 {
			return fmt.Sprintf("t=%v %v timer %s(%d)", e.At, e.To, e.Timer.Name, e.Timer.Arg)
		}
		return fmt.Sprintf("t=%v %v timer %s", e.At, e.To, e.Timer.Name)
	case KindStart:
		return fmt.Sprintf("t=%v %v start", e.At, e.To)
	case KindFault:
		return fmt.Sprintf("t=%v fault %v", e.At, e.Fault)
	}
	return fmt.Sprintf("t=%v %v", e.At, e.Kind)
}

// queue is a binary min-heap of pending events ordered by (At, ID). Events
// live in a slab and are referenced by slot so that sifting moves 24 bytes,
// and freed slots are reused so the steady state allocates nothing.
type queue struct {
	heap []qent
	slab []Event
	free []int32
}

type qent struct {
	at   Time
	id   EventID
	slot int32
	// fp caches the event's fingerprint (0: not computed); see Fingerprint.
	fp uint64
}

// before is the queue's order: the earlier time first, then the lower id.
// Ids are unique, so it is a total order: no two pending events tie, and
// the order of pops does not depend on how the heap is laid out.
func before(a, b *qent) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	return a.id < b.id
}

func (q *queue) len() int { return len(q.heap) }

func (q *queue) push(ev Event) { *q.pushNew(ev.At, ev.ID) = ev }

// pushNew queues an event due at `at` with the given id and returns it in
// the slab, zero but for At and ID, for the caller to fill in before the
// queue changes again (a push may move the slab). A send filled in place
// writes the one pointer it has (its message) through a write barrier,
// where copying in a whole Event barriers each of its pointer words, nil
// or not, while the collector marks.
func (q *queue) pushNew(at Time, id EventID) *Event {
	var slot int32
	if n := len(q.free); n > 0 {
		slot = q.free[n-1]
		q.free = q.free[:n-1]
	} else {
		slot = int32(len(q.slab))
		q.slab = append(q.slab, Event{})
	}
	q.heap = append(q.heap, qent{at: at, id: id, slot: slot})
	q.up(len(q.heap) - 1)
	ev := &q.slab[slot]
	if ev.Kind != 0 || ev.Msg != nil || ev.Fault != nil {
		// popInto and take zero a slot as they free it.
		notZeroed(slot, ev)
	}
	ev.At, ev.ID = at, id
	return ev
}

// notZeroed panics: pushNew found a freed slot still holding an event.
// Out of line, the message's formatting costs a push nothing.
//
//go:noinline
func notZeroed(slot int32, ev *Event) {
	panic(fmt.Sprintf("sim: queue slot %d freed but not zeroed: %s", slot, ev.Describe()))
}

// pop removes the earliest event and returns it.
func (q *queue) pop() Event {
	var ev Event
	q.popInto(&ev)
	return ev
}

// popInto removes the earliest event into *dst: the event loop's pop,
// which moves the event from the slab to where it is processed in one
// copy instead of two.
func (q *queue) popInto(dst *Event) {
	slot := q.heap[0].slot
	n := len(q.heap) - 1
	q.heap[0] = q.heap[n]
	q.heap = q.heap[:n]
	if n > 0 {
		q.down(0)
	}
	moveEvent(dst, &q.slab[slot])
	q.free = append(q.free, slot)
}

// moveEvent moves *src to *dst and leaves *src zero, one field at a time.
// While the collector marks, a copy or clear of a whole Event goes through
// the runtime's bulk barrier, which walks the type's pointer map word by
// word (popInto's copy and clear were 2% of an etcd-raft chaos run, most
// of it that barrier); a field's write takes the compiler's inline barrier
// on its own pointer word only, and none when the collector is idle.
// TestMoveEventMovesEveryField fails when Event gains a field this misses.
func moveEvent(dst, src *Event) {
	dst.ID, dst.At, dst.Kind, dst.From, dst.To = src.ID, src.At, src.Kind, src.From, src.To
	dst.Msg = src.Msg
	dst.Timer.ID, dst.Timer.Name, dst.Timer.Arg = src.Timer.ID, src.Timer.Name, src.Timer.Arg
	dst.Fault = src.Fault
	dst.Dup, dst.Sent, dst.epoch = src.Dup, src.Sent, src.epoch
	src.ID, src.At, src.Kind, src.From, src.To = 0, 0, 0, 0, 0
	src.Msg = nil
	src.Timer.ID, src.Timer.Name, src.Timer.Arg = 0, "", 0
	src.Fault = nil
	src.Dup, src.Sent, src.epoch = false, 0, 0
}

func (q *queue) take(slot int32) Event {
	ev := q.slab[slot]
	q.slab[slot] = Event{}
	q.free = append(q.free, slot)
	return ev
}

// remove deletes the event at heap position i and returns it.
func (q *queue) remove(i int) Event {
	slot := q.heap[i].slot
	n := len(q.heap) - 1
	if i != n {
		q.heap[i] = q.heap[n]
		q.heap = q.heap[:n]
		q.down(i)
		q.up(i)
	} else {
		q.heap = q.heap[:n]
	}
	return q.take(slot)
}

// find returns the heap position of the event with the given id, or -1.
func (q *queue) find(id EventID) int {
	for i := range q.heap {
		if q.heap[i].id == id {
			return i
		}
	}
	return -1
}

// up and down sift the entry at i into place. They carry it aside and move
// the entries it passes by one slot each, where swapping wrote it at every
// level too; they compare exactly as swapping did, so the heap's layout,
// which Fingerprint and Pending walk, is the same.
func (q *queue) up(i int) {
	h := q.heap
	x := h[i]
	for i > 0 {
		p := (i - 1) / 2
		if !before(&x, &h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = x
}

func (q *queue) down(i int) {
	h := q.heap
	n := len(h)
	x := h[i]
	for {
		l := 2*i + 1
		if l >= n || l < 0 { // l < 0: overflow, for the bounds check
			break
		}
		m := l
		if r := l + 1; r < n && before(&h[r], &h[l]) {
			m = r
		}
		if !before(&h[m], &x) {
			break
		}
		h[i] = h[m]
		i = m
	}
	h[i] = x
}
