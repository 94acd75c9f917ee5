package sim

import (
	"bytes"
	"testing"
)

// strayMsg is a message type no run declares.
type strayMsg struct{}

func (*strayMsg) MessageType() string { return "test.Stray" }

// stray pings like ping, and n2 sends a strayMsg at its tenth delivery.
type stray struct{ ping }

func (s *stray) Receive(env *Env, from NodeID, msg Message) {
	if env.ID() == 2 && s.seen == 9 {
		env.Send(1, &strayMsg{})
	}
	s.ping.Receive(env, from, msg)
}

// TestUndeclaredMessageStopsAtFirstSend: a run that declares its message
// types stops at the first send of another type, with an error naming the
// type and the declaration, whether or not a trace is recorded. The
// declared types run as before.
func TestUndeclaredMessageStopsAtFirstSend(t *testing.T) {
	for _, traced := range []bool{false, true} {
		f := Factory{Node: func(NodeID) Process { return &stray{} },
			Messages: []Message{&pingMsg{}}, MessagesFrom: "Spec.Messages of protocol pingtest"}
		s, err := New(pingConfig(1), f)
		if err != nil {
			t.Fatal(err)
		}
		if traced {
			tw, err := NewTraceWriter(&bytes.Buffer{}, nil, s.Config())
			if err != nil {
				t.Fatal(err)
			}
			s.AddObserver(tw)
		}
		s.Run()
		pe, ok := s.Err().(*PanicError)
		if !ok {
			t.Fatalf("traced=%v: got error %v (stopped: %s), want the send refused", traced, s.Err(), s.Stopped())
		}
		want := `n2 sent test.Stray to n1: message type "test.Stray" (*sim.strayMsg) is not registered in Spec.Messages of protocol pingtest; add &sim.strayMsg{} to it`
		if !bytes.Contains([]byte(pe.Value), []byte(want)) {
			t.Errorf("traced=%v: got %q, want it to contain %q", traced, pe.Value, want)
		}
		if pe.Node != 2 || s.Stopped() != StopPanic {
			t.Errorf("traced=%v: stopped %q at %v, want %q at n2", traced, s.Stopped(), pe.Node, StopPanic)
		}
	}
	// Declared types pass, also in a deep copy (Clone, as the explorer
	// makes) and a fork: reflect types copied by value would not.
	s, err := New(pingConfig(1), Factory{Node: func(NodeID) Process { return &ping{} }, Messages: []Message{&pingMsg{}}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		s.Step()
	}
	for name, c := range map[string]*Sim{"clone": s.Clone(), "fork": s.Fork(), "original": s} {
		if c.Run(); c.Err() != nil {
			t.Fatalf("%s, declared messages only: %v", name, c.Err())
		}
	}
}

// valueMsg is a message type with a value receiver: both valueMsg and
// *valueMsg are Messages, and they are different types.
type valueMsg struct{ X int }

func (valueMsg) MessageType() string { return "test.Value" }

// TestTypeWord: the registered-type check compares interface type words,
// which must be equal exactly when the dynamic types are, whatever the
// values (and wherever they were made).
func TestTypeWord(t *testing.T) {
	same := [][2]Message{
		{&pingMsg{Hop: 1}, &pingMsg{Hop: 2}},
		{sharedPing, &pingMsg{}},
		{valueMsg{1}, valueMsg{2}},
		{&valueMsg{1}, &valueMsg{2}},
	}
	for _, p := range same {
		if typeWord(p[0]) != typeWord(p[1]) {
			t.Errorf("%T and %T: type words differ, want equal", p[0], p[1])
		}
	}
	kinds := []Message{&pingMsg{}, &strayMsg{}, valueMsg{}, &valueMsg{}}
	for i, a := range kinds {
		for j, b := range kinds {
			if eq := typeWord(a) == typeWord(b); eq != (i == j) {
				t.Errorf("%T and %T: type words equal %v, want %v", a, b, eq, i == j)
			}
		}
	}
}
