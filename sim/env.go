package sim

import (
	"fmt"
)

// Env is a process's window on the world: the only way it acts. One Env
// belongs to each node and client slot for the whole run and outlives
// crashes; the Process value does not.
type Env struct {
	st        *state
	id        NodeID
	idx       int
	p         Process
	rng       *Rand
	store     *Storage
	up        bool
	started   bool
	starting  bool
	paused    bool
	held      []Event
	epoch     uint32
	timers    idSet
	persisted bool
	// The local clock runs at rate against true time; base pairs are where
	// the rate last changed.
	rate      float64
	baseTrue  Time
	baseLocal Time
	// cow says what this Env shares with a fork (see Fork); fp caches the
	// fingerprint of the process and its storage while fpOK.
	cow  uint8
	fpOK bool
	fp   uint64
	// spareP and spareS are memory for the Env's first copies of its
	// process and store, from a discarded fork (ForkInto), or nil.
	spareP Process
	spareS *Storage
	// watch is what a strike nemesis last saw of the node (sim/strike.go).
	watch leaderWatch
}

// ID is this process's id.
func (e *Env) ID() NodeID { return e.id }

// Nodes returns the ids of every node slot in the run, n1..nN. The slice is
// shared: do not modify it.
func (e *Env) Nodes() []NodeID { return e.st.nodeIDs }

// Now is the process's local clock. It equals simulated time unless the
// process's clock drifts.
func (e *Env) Now() Time {
	if e.rate == 1 && e.baseTrue == 0 && e.baseLocal == 0 {
		return e.st.now
	}
	return e.baseLocal + Time(float64(e.st.now-e.baseTrue)*e.rate)
}

// Rand is this process's own seeded random stream.
func (e *Env) Rand() *Rand { e.ownRand(); return e.rng }

// Send sends msg to another process through the network model: it may be
// delayed, lost, duplicated or cut off by a partition.
func (e *Env) Send(to NodeID, msg Message) { e.st.send(e, to, msg) }

// SetTimer asks for a Timer call after d on the local clock. The timer dies
// with a crash.
func (e *Env) SetTimer(d Time, name string, arg int64) TimerID {
	if d < 0 {
		panic(fmt.Sprintf("%v set timer %s with negative duration %v", e.id, name, d))
	}
	st := e.st
	st.stats.TimersSet++
	at := st.now + e.toTrue(d)
	ev := st.pushNew(at)
	id := ev.ID
	ev.Kind, ev.To, ev.Timer, ev.epoch = KindTimer, e.id, Timer{ID: id, Name: name, Arg: arg}, e.epoch
	e.ownTimers()
	e.timers.add(id)
	if st.recOn() { // see state.send
		st.rec.effect(Effect{Kind: EffectTimer, ID: id, At: at, Name: name, Arg: arg})
	}
	return id
}

// CancelTimer cancels a pending timer. Canceling a timer that already fired
// or was canceled does nothing.
func (e *Env) CancelTimer(id TimerID) {
	if !e.timers.has(id) {
		return
	}
	e.ownTimers()
	e.timers.del(id)
	e.st.ownCanceled()
	e.st.canceled.add(id)
	e.st.stats.TimersCanceled++
	e.st.rec.effect(Effect{Kind: EffectCancel, ID: id})
}

// Store persists value under key in stable storage. It survives crashes.
// Messages sent after a Store in the same step leave after the configured
// fsync delay.
func (e *Env) Store(key string, value []byte) {
	e.mustStore("Store")
	e.ownStore()
	e.store.put(key, value)
	e.persisted = true
	e.st.stats.Persists++
	e.st.stats.PersistBytes += int64(len(value))
	e.st.rec.effect(Effect{Kind: EffectStore, Name: key, Arg: int64(len(value))})
}

// SetStorageCanon makes the state fingerprint hash stored values through
// c (see StorageCanon). A process sets it in Start, before it stores
// anything; the store keeps it across crashes.
func (e *Env) SetStorageCanon(c StorageCanon) {
	e.mustStore("SetStorageCanon")
	e.ownStore()
	e.store.setCanon(c)
}

// Delete removes key from stable storage.
func (e *Env) Delete(key string) {
	e.mustStore("Delete")
	if !e.store.Has(key) {
		return
	}
	e.ownStore()
	if e.store.del(key) {
		e.persisted = true
		e.st.stats.Persists++
		e.st.rec.effect(Effect{Kind: EffectDelete, Name: key})
	}
}

// StoreAt is Store(IndexKey(prefix, i), value), for a log's entries:
// the store keeps such keys in an array by number, and this reaches them
// without making or hashing the key (the trace still names it).
func (e *Env) StoreAt(prefix string, i uint64, value []byte) {
	e.mustStore("StoreAt")
	e.ownStore()
	e.store.putAt(prefix, i, value)
	e.persisted = true
	e.st.stats.Persists++
	e.st.stats.PersistBytes += int64(len(value))
	if r := e.st.rec; r != nil && r.on {
		r.effect(Effect{Kind: EffectStore, Name: IndexKey(prefix, i), Arg: int64(len(value))})
	}
}

// DeleteAt is Delete(IndexKey(prefix, i)) without making the key.
func (e *Env) DeleteAt(prefix string, i uint64) {
	e.mustStore("DeleteAt")
	if !e.store.HasAt(prefix, i) {
		return
	}
	e.ownStore()
	if e.store.delAt(prefix, i) {
		e.persisted = true
		e.st.stats.Persists++
		if r := e.st.rec; r != nil && r.on {
			r.effect(Effect{Kind: EffectDelete, Name: IndexKey(prefix, i)})
		}
	}
}

// LoadAt is Load(IndexKey(prefix, i)) without making the key.
func (e *Env) LoadAt(prefix string, i uint64) ([]byte, bool) {
	e.mustStore("LoadAt")
	return e.store.GetAt(prefix, i)
}

// PeekAt is LoadAt without the copy, for a restart's recovery, which
// decodes every stored entry once and keeps none of their bytes. The
// caller must not change the value, and must not keep it (or anything
// that aliases it) past the handler it is called in: the store writes a
// value's bytes again in place when the same key is stored again. No other
// write changes them (a fork's copy of a store never writes into the
// values it shares, and a delete leaves them be), so a value peeked here
// stays as read until this process stores under its key.
func (e *Env) PeekAt(prefix string, i uint64) ([]byte, bool) {
	e.mustStore("PeekAt")
	return e.store.PeekAt(prefix, i)
}

// HasAt reports whether IndexKey(prefix, i) is stored, without making
// the key or copying the value.
func (e *Env) HasAt(prefix string, i uint64) bool {
	e.mustStore("HasAt")
	return e.store.HasAt(prefix, i)
}

// Load returns a copy of what is stored under key.
func (e *Env) Load(key string) ([]byte, bool) {
	e.mustStore("Load")
	return e.store.Get(key)
}

// Keys lists stored keys with the prefix, sorted.
func (e *Env) Keys(prefix string) []string {
	e.mustStore("Keys")
	return e.store.Keys(prefix)
}

func (e *Env) mustStore(op string) {
	if e.store == nil {
		panic(fmt.Sprintf("%v called %s: clients have no stable storage", e.id, op))
	}
}

// Event is the index of the event being handled (the trace's "index"): a
// client records it beside an operation's invocation and return so that a
// failure's explanation can point into the trace. Protocols must not let
// it change their behaviour.
func (e *Env) Event() int64 { return e.st.index - 1 }

// Tracing reports whether notes are recorded; check it before building an
// expensive note.
func (e *Env) Tracing() bool { return e.st.recording }

// Logf records a note in the trace ("became leader in term 3"). Notes cost
// nothing when no trace or observer is attached.
func (e *Env) Logf(format string, args ...any) {
	if !e.st.recording {
		return
	}
	e.st.rec.effect(Effect{Kind: EffectNote, Name: fmt.Sprintf(format, args...)})
}
