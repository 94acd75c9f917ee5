package tui

import (
	"fmt"
	"sort"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// EventLogKeyMap is the event log's keymap.
type EventLogKeyMap struct {
	Up, Down, Filter, FilterKind, Clients key.Binding
}

// EventLogDefaultKeyMap is the event log's default keymap.
func EventLogDefaultKeyMap() EventLogKeyMap {
	k := DefaultKeyMap()
	return EventLogKeyMap{Up: k.Up, Down: k.Down, Filter: k.Filter, FilterKind: k.FilterKind, Clients: k.Clients}
}

// EventLog shows the events so far with the current one highlighted and
// the visited future dimmed. It scrolls (the cursor), filters by node and
// by kind, and searches.
type EventLog struct {
	pane
	Keys EventLogKeyMap
	// Node filters on events sent or received by a node (0: all).
	Node sim.NodeID
	// Kind filters on an event kind (0: all).
	Kind sim.EventKind
	// Query keeps events whose text contains it.
	Query string
	// Clients shows client traffic (requests, replies, retry timers).
	// It is folded by default: in a Raft run most early events are
	// clients retrying and "not leader" replies, which drown the
	// election a reader came to see.
	Clients bool
	// Cursor is the index of the event the cursor is on; -1 follows the
	// current position.
	Cursor int64
	// Marks are the events of the shown linearizability explanation: the
	// invocations and returns of its operations, by event index (the
	// root model sets them, lin.go).
	Marks map[int64][]linMark
}

// NewEventLog returns the event log pane.
func NewEventLog(s *Session, st Styles) EventLog {
	return EventLog{pane: pane{sess: s, st: st}, Keys: EventLogDefaultKeyMap(), Cursor: -1}
}

func (l EventLog) match(e *Entry) bool {
	if !l.Clients && e.client() && len(l.Marks[e.Index]) == 0 {
		return false // folded, unless the lin explanation marks it
	}
	if l.Node != 0 && e.To != l.Node && e.From != l.Node {
		return false
	}
	if l.Kind != 0 && e.Kind != l.Kind {
		return false
	}
	if l.Query != "" && !strings.Contains(strings.ToLower(e.Text), strings.ToLower(l.Query)) {
		return false
	}
	return true
}

// visible returns the indexes of the entries that pass the filters. With
// no filter it returns nil and window arithmetic stands in for the list, so
// that drawing a long run does not walk its whole log.
func (l EventLog) visible() []int64 {
	log := l.sess.Log()
	if l.Node == 0 && l.Kind == 0 && l.Query == "" {
		if l.Clients {
			return nil
		}
		if len(l.Marks) == 0 {
			return l.sess.protoIdx
		}
	}
	var out []int64
	for i := range log {
		if l.match(&log[i]) {
			out = append(out, int64(i))
		}
	}
	return out
}

func (l EventLog) filtered() bool { return l.Node != 0 || l.Kind != 0 || l.Query != "" || !l.Clients }

// cursor is the event the cursor is on: the current one unless moved.
func (l EventLog) cursor() int64 {
	if l.Cursor >= 0 {
		return l.Cursor
	}
	return l.sess.Index() - 1
}

// Update scrolls and sets the filters.
func (l EventLog) Update(msg tea.Msg) (EventLog, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return l, nil
	}
	// The cursor moves only with the focus; the filters act from any pane
	// (the root model hands them over): the log is always on screen.
	switch {
	case (key.Matches(k, l.Keys.Up) || key.Matches(k, l.Keys.Down)) && l.focused:
		cur := l.cursor()
		if !l.filtered() {
			n := int64(len(l.sess.Log()))
			if key.Matches(k, l.Keys.Up) {
				l.Cursor = max(0, cur-1)
			} else {
				l.Cursor = min(n-1, cur+1)
			}
			return l, nil
		}
		vis := l.visible()
		if len(vis) == 0 {
			return l, nil
		}
		pos := nearest(vis, cur)
		if key.Matches(k, l.Keys.Up) {
			if vis[pos] >= cur && pos > 0 {
				pos--
			}
		} else if vis[pos] <= cur && pos < len(vis)-1 {
			pos++
		}
		l.Cursor = vis[pos]
	case key.Matches(k, l.Keys.Filter):
		n := sim.NodeID(len(l.sess.Sim().Nodes()))
		l.Node++
		if l.Node > n {
			l.Node = 0
		}
	case key.Matches(k, l.Keys.FilterKind):
		l.Kind = (l.Kind + 1) % (sim.KindFault + 1)
	case key.Matches(k, l.Keys.Clients):
		l.Clients = !l.Clients
	}
	return l, nil
}

// nearest returns the position in vis (sorted) of the last index <= i
// (or 0).
func nearest(vis []int64, i int64) int {
	return max(0, sort.Search(len(vis), func(j int) bool { return vis[j] > i })-1)
}

// Filters describes the active filters.
func (l EventLog) Filters() string {
	var f []string
	if l.Node != 0 {
		f = append(f, "node "+l.Node.String())
	}
	if l.Kind != 0 {
		f = append(f, "kind "+l.Kind.String())
	}
	if l.Query != "" {
		f = append(f, fmt.Sprintf("/%s", l.Query))
	}
	if !l.Clients {
		f = append(f, "clients folded: "+l.Keys.Clients.Help().Key)
	}
	return strings.Join(f, ", ")
}

// View renders the log around the cursor.
func (l EventLog) View() string {
	log := l.sess.Log()
	cur := l.sess.Index() - 1
	title := "event log"
	if f := l.Filters(); f != "" {
		title += " [" + f + "]"
	}
	lines := []string{l.title(title)}
	rows := l.h - 1
	if rows <= 0 {
		return box(lines, l.w, l.h)
	}
	vis := l.visible()
	if !l.filtered() {
		// The window around the cursor, without listing the whole log.
		first := max(0, min(l.cursor()-int64(rows/2), int64(len(log)-rows)))
		for i := first; i < min(int64(len(log)), first+int64(rows)); i++ {
			vis = append(vis, i)
		}
	} else {
		at := nearest(vis, l.cursor())
		first := max(0, at-rows/2)
		if first+rows > len(vis) {
			first = max(0, len(vis)-rows)
		}
		vis = vis[first:min(len(vis), first+rows)]
	}
	for _, i := range vis {
		e := &log[i]
		line := fmt.Sprintf("%5d %s", e.Index, briefFit(e.At, e.Text, l.w))
		if e.Outcome != "" {
			line += " (" + e.Outcome + ")"
		}
		if e.Note != "" {
			line += " (no-op)"
		}
		marks := l.Marks[i]
		switch {
		case len(marks) > 0:
			// The explanation's marks win over ! and *: they are what
			// e/E walk; the details pane shows the rest.
			line = linSymbol(marks[0].Role) + line
		case e.Flags&(flagViolation|flagPanic) != 0:
			line = "!" + line
		case e.Interesting():
			line = "*" + line
		default:
			line = " " + line
		}
		switch {
		case i == cur:
			line = l.st.Cursor.Render(fit(line, l.w))
		case i == l.Cursor:
			line = l.st.Bold.Render(line)
		case i > cur:
			line = l.st.Dim.Render(line)
		case e.Flags&flagViolation != 0, len(marks) > 0 && marks[0].Role == protocols.RoleCannotPlace:
			line = l.st.Bad.Render(line)
		}
		lines = append(lines, line)
	}
	switch {
	case len(vis) == 0 && len(log) > 0:
		// Filtered to nothing: say which keys widen it, not "no events".
		lines = append(lines, l.st.Dim.Render(fmt.Sprintf("(no event matches: %s shows clients, %s/%s change filters)",
			l.Keys.Clients.Help().Key, l.Keys.Filter.Help().Key, l.Keys.FilterKind.Help().Key)))
	case len(vis) == 0:
		lines = append(lines, l.st.Dim.Render("(no events yet: → steps)"))
	}
	return box(lines, l.w, l.h)
}
