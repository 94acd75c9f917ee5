package tui

import (
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/synod-dev/synod/sim"
)

// MessagesKeyMap is the messages pane's keymap.
type MessagesKeyMap struct {
	Up, Down, ShowTimers key.Binding
}

// MessagesDefaultKeyMap is the messages pane's default keymap.
func MessagesDefaultKeyMap() MessagesKeyMap {
	k := DefaultKeyMap()
	return MessagesKeyMap{Up: k.Up, Down: k.Down, ShowTimers: k.ShowTimers}
}

// Messages lists the pending events: messages in flight (from->to, type,
// key fields, delivery time, duplicate and to-be-dropped marks), faults,
// and timers when asked. The selected one is what manual scheduling acts on.
type Messages struct {
	pane
	Keys     MessagesKeyMap
	Selected int
	Timers   bool
}

// NewMessages returns the messages pane.
func NewMessages(s *Session, st Styles) Messages {
	return Messages{pane: pane{sess: s, st: st}, Keys: MessagesDefaultKeyMap()}
}

// Items returns the events the pane lists, in delivery order.
func (m Messages) Items() []sim.Event {
	all := m.sess.Sim().Pending()
	out := all[:0]
	for _, ev := range all {
		if ev.Kind == sim.KindTimer && !m.Timers {
			continue
		}
		out = append(out, ev)
	}
	return out
}

// Current is the selected pending event.
func (m Messages) Current() (sim.Event, bool) {
	items := m.Items()
	if len(items) == 0 {
		return sim.Event{}, false
	}
	return items[min(m.Selected, len(items)-1)], true
}

// Update moves the selection and toggles timers.
func (m Messages) Update(msg tea.Msg) (Messages, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	// The selection moves only with the focus; timers toggle from any
	// pane (the root model hands the key over).
	switch {
	case key.Matches(k, m.Keys.Up) && m.focused:
		m.Selected = max(0, m.Selected-1)
	case key.Matches(k, m.Keys.Down) && m.focused:
		m.Selected++
	case key.Matches(k, m.Keys.ShowTimers):
		m.Timers = !m.Timers
	}
	if n := len(m.Items()); m.Selected >= n {
		m.Selected = max(0, n-1)
	}
	return m, nil
}

// lost says why a pending message will be lost, or "".
func lost(s *sim.Sim, ev *sim.Event) string {
	if ev.Kind != sim.KindDeliver && ev.Kind != sim.KindRequest {
		return ""
	}
	switch {
	case !s.Up(ev.To):
		return "✗ to-be-dropped: " + ev.To.String() + " down"
	case s.Blocked(ev.From, ev.To):
		return "✗ to-be-dropped: partition"
	}
	return ""
}

// View renders the list, keeping the selection in view.
func (m Messages) View() string {
	s := m.sess.Sim()
	items := m.Items()
	what := "messages in flight"
	if m.Timers {
		what += " + timers"
	}
	lines := []string{m.title(fmt.Sprintf("%s (%d)", what, len(items)))}
	rows := m.h - 1
	first := 0
	if m.Selected >= rows && rows > 0 {
		first = m.Selected - rows + 1
	}
	for i := first; i < len(items) && len(lines) <= rows; i++ {
		ev := &items[i]
		// Marks first, so that narrow panes still show them: ✗ will be
		// lost (partition, receiver down), ⧉ a duplicate.
		mark := " "
		switch {
		case lost(s, ev) != "":
			mark = m.st.Bad.Render("✗")
		case ev.Dup:
			mark = "⧉"
		}
		line := mark + briefFit(ev.At, describe(s, ev), m.w)
		if i == m.Selected {
			line = m.st.Cursor.Render(fit(line, m.w))
		}
		lines = append(lines, line)
	}
	if len(items) == 0 {
		lines = append(lines, m.st.Dim.Render("(nothing pending)"))
	}
	return box(lines, m.w, m.h)
}
