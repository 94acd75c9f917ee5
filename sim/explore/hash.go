package explore

import (
	"encoding/binary"
	"encoding/json"

	"github.com/synod-dev/synod/sim"
)

// StateAppender is implemented by a process (or a message) that offers a
// canonical encoding of its state: two values that behave the same from now
// on must append the same bytes, and two that may behave differently must
// append different bytes. The explorer hashes it to recognise states it has
// already expanded. Without it the explorer falls back to the process's
// Inspect view (see Hash for what that misses).
type StateAppender interface {
	AppendState(b []byte) []byte
}

// Hash returns a 64-bit hash of the run's state as the explorer sees it:
// every process (up or down, its StateAppender encoding or else its
// Inspect view), every node's stable storage, and the pending events as a
// multiset (messages by sender, receiver and content; timers by process,
// name and argument; faults by text). Time, event ids and the checkers'
// own state are left out, so two schedules reaching the same node states
// with the same messages in flight are one state.
//
// Soundness caveat: the Inspect fallback is only as complete as the view.
// A node whose behaviour depends on a field its view does not show (a vote
// count, a timer id, a random stream) may be merged with a different state,
// and the search may then skip schedules that lead to a bug. Protocols
// that want a sound search implement StateAppender. Hash collisions (64
// bits) are possible but improbable below billions of states.
func Hash(s *sim.Sim, buf []byte) (uint64, []byte) {
	b := buf[:0]
	cfg := s.Config()
	for i := 1; i <= cfg.Nodes+cfg.Clients; i++ {
		id := sim.NodeID(i)
		if i > cfg.Nodes {
			id = sim.ClientID(i - cfg.Nodes)
		}
		b = appendProcess(b, s, id)
	}
	h := fnv(b)
	var pend uint64
	for _, ev := range s.Pending() {
		b = appendEvent(b[:0], &ev)
		pend += mix(fnv(b))
	}
	return mix(h ^ mix(pend+0x9e3779b97f4a7c15)), b
}

func appendProcess(b []byte, s *sim.Sim, id sim.NodeID) []byte {
	b = binary.AppendVarint(b, int64(id))
	if !s.Up(id) {
		b = append(b, 0)
	} else if sa, ok := s.Process(id).(StateAppender); ok {
		b = append(b, 1)
		b = sa.AppendState(b)
	} else if v, ok := s.Inspect(id); ok {
		b = append(b, 2)
		b = appendView(b, &v)
	} else {
		b = append(b, 3)
	}
	if id.IsNode() {
		if st := s.Storage(id); st != nil {
			for _, k := range st.Keys("") {
				v, _ := st.Get(k)
				b = appendString(b, k)
				b = appendString(b, string(v))
			}
		}
	}
	return append(b, 0xff)
}

func appendView(b []byte, v *sim.View) []byte {
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

func appendEvent(b []byte, ev *sim.Event) []byte {
	b = append(b, byte(ev.Kind))
	b = binary.AppendVarint(b, int64(ev.From))
	b = binary.AppendVarint(b, int64(ev.To))
	switch ev.Kind {
	case sim.KindDeliver, sim.KindRequest:
		b = appendMessage(b, ev.Msg)
	case sim.KindTimer:
		b = appendString(b, ev.Timer.Name)
		b = binary.AppendVarint(b, ev.Timer.Arg)
	case sim.KindFault:
		if ev.Fault != nil {
			b = appendString(b, ev.Fault.String())
		}
	}
	return b
}

func appendMessage(b []byte, m sim.Message) []byte {
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
		return appendString(b, sim.Describe(m))
	}
	return append(b, j...)
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// fnv is FNV-1a over b, 64 bits: fixed, so hashes (and which of two
// colliding states is kept) are the same on every run.
func fnv(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// mix is a 64-bit finalizer (splitmix64), so that summing hashes of a
// multiset's members does not cancel structure.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
