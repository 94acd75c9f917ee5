package tui

import (
	"encoding/json"
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/synod-dev/synod/sim"
)

// Subject is what the details pane shows.
type Subject struct {
	Node  sim.NodeID // a node's full Inspect view
	Event *sim.Event // a pending event's full fields
	Entry *Entry     // a processed event from the log
	// Verdicts shows the invariant violations and the linearizability
	// verdict with its explanation (X).
	Verdicts bool
}

// same reports whether two subjects show the same thing.
func (a Subject) same(b Subject) bool {
	switch {
	case a.Verdicts || b.Verdicts:
		return a.Verdicts == b.Verdicts
	case a.Event != nil || b.Event != nil:
		return a.Event != nil && b.Event != nil && a.Event.ID == b.Event.ID
	case a.Entry != nil || b.Entry != nil:
		return a.Entry != nil && b.Entry != nil && a.Entry.Index == b.Entry.Index
	}
	return a.Node == b.Node
}

// Details shows the selected node's full Inspect view (fields, tables,
// log with commit and applied marks) or the selected message's fields.
type Details struct {
	pane
	Keys    SelectKeyMap
	Subject Subject
	Offset  int
	// Lin is what is known of linearizability, Marks the events of the
	// marked explanation (lin.go).
	Lin   linView
	Marks map[int64][]linMark
}

// DetailsDefaultKeyMap is the details pane's keymap (scrolling).
func DetailsDefaultKeyMap() SelectKeyMap { return ClusterDefaultKeyMap() }

// NewDetails returns the details pane.
func NewDetails(s *Session, st Styles) Details {
	return Details{pane: pane{sess: s, st: st}, Keys: DetailsDefaultKeyMap(), Subject: Subject{Node: 1}, Lin: linView{Checking: -1}}
}

// Update scrolls.
func (d Details) Update(msg tea.Msg) (Details, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && d.focused {
		switch {
		case key.Matches(k, d.Keys.Up):
			d.Offset = max(0, d.Offset-1)
		case key.Matches(k, d.Keys.Down):
			d.Offset++
		}
	}
	return d, nil
}

// Lines renders the subject without a size limit.
func (d Details) Lines() []string {
	s := d.sess.Sim()
	switch {
	case d.Subject.Verdicts:
		return verdictLines(d.sess, d.Lin)
	case d.Subject.Event != nil:
		return eventLines(s, d.Subject.Event)
	case d.Subject.Entry != nil:
		e := d.Subject.Entry
		out := []string{fmt.Sprintf("event %d (%s)", e.Index, e.Kind), e.Text}
		if e.Outcome != "" {
			out = append(out, "outcome: "+e.Outcome)
		}
		if e.Note != "" {
			out = append(out, e.Note)
		}
		out = append(out, fmt.Sprintf("effects: %d", e.Effects))
		for _, v := range e.Violations {
			out = append(out, fmt.Sprintf("! invariant %s violated: %s", v.Checker, v.Message))
		}
		if x := d.Lin.Explained; x != nil {
			for _, mk := range d.Marks[e.Index] {
				o := x.Explanation.Ops[mk.Op]
				what := "invoked"
				if mk.Return {
					what = "returned"
				}
				out = append(out, fmt.Sprintf("%s lin %s: %s here", linSymbol(mk.Role), mk.Role, what), "  "+o.Describe())
			}
		}
		return out
	}
	return nodeLines(s, d.Subject.Node)
}

func eventLines(s *sim.Sim, ev *sim.Event) []string {
	out := []string{fmt.Sprintf("pending #%d %s", ev.ID, ev.Kind), describe(s, ev)}
	if ev.Kind == sim.KindDeliver || ev.Kind == sim.KindRequest {
		out = append(out, fmt.Sprintf("sent at %v, due at %v", ev.Sent, ev.At))
		if why := lost(s, ev); why != "" {
			out = append(out, why)
		}
		if ev.Dup {
			out = append(out, "a duplicate made by the network")
		}
		b, err := json.MarshalIndent(ev.Msg, "", "  ")
		if err == nil {
			out = append(out, ev.Msg.MessageType()+":")
			out = append(out, strings.Split(string(b), "\n")...)
		}
	}
	if ev.Fault != nil {
		out = append(out, "fault: "+ev.Fault.String())
	}
	return out
}

func nodeLines(s *sim.Sim, id sim.NodeID) []string {
	out := []string{id.String()}
	switch {
	case !s.Up(id) && startAt(s, id) >= 0:
		return append(out, "not started yet: it starts at", fmt.Sprintf("  %v (→ gets there)", startAt(s, id)))
	case !s.Up(id):
		return append(out, "crashed: only its stable storage", "survives; r restarts it", fmt.Sprintf("stored keys: %d", len(s.Storage(id).Keys(""))))
	case s.Paused(id):
		out[0] += " (paused)"
		out = append(out, "paused: it handles nothing and its", "timers wait; p resumes it")
	}
	if d := s.Drift(id); d != 1 {
		out[0] += fmt.Sprintf(" clock rate %.3f", d)
	}
	v, ok := s.Inspect(id)
	if !ok {
		return append(out, "(no view)")
	}
	label := v.TermLabel
	if label == "" {
		label = "term"
	}
	out = append(out, fmt.Sprintf("role %s  %s %s  leader %v", v.Role, label, termText(v), v.Leader),
		fmt.Sprintf("log %d  commit %d  applied %d  snapshot %d", v.LogLen, v.Commit, v.Applied, v.Snapshot))
	for _, f := range v.Fields {
		if f.Name == label {
			continue // on the first line already, in the same notation
		}
		out = append(out, fmt.Sprintf("%s: %s", f.Name, f.Value))
	}
	for _, t := range v.Tables {
		out = append(out, t.Title+":")
		out = append(out, tableLines(t)...)
	}
	if len(v.Log) > 0 {
		out = append(out, "log (C committed, A applied):")
		for _, l := range v.Log {
			m := "  "
			if l.Index <= v.Commit {
				m = "C "
			}
			if l.Index <= v.Applied {
				m = "CA"
			}
			out = append(out, fmt.Sprintf("%s %4d t%-3d %s", m, l.Index, l.Term, l.Command))
		}
	}
	return out
}

// startAt is when a node that has not started yet starts, or -1.
func startAt(s *sim.Sim, id sim.NodeID) sim.Time {
	for _, ev := range s.Pending() {
		if ev.Kind == sim.KindStart && ev.To == id {
			return ev.At
		}
	}
	return -1
}

// tableLines renders a table with aligned columns.
func tableLines(t sim.Table) []string {
	w := make([]int, len(t.Columns))
	for i, c := range t.Columns {
		w[i] = len(c)
	}
	for _, r := range t.Rows {
		for i, c := range r {
			if i < len(w) && len(c) > w[i] {
				w[i] = len(c)
			}
		}
	}
	row := func(cells []string) string {
		var b strings.Builder
		b.WriteString(" ")
		for i, c := range cells {
			if i < len(w) {
				fmt.Fprintf(&b, " %-*s", w[i], c)
			}
		}
		return b.String()
	}
	out := []string{row(t.Columns)}
	for _, r := range t.Rows {
		out = append(out, row(r))
	}
	return out
}

// View renders the subject from the scroll offset.
func (d Details) View() string {
	lines := d.Lines()
	if d.Subject.Verdicts || d.Subject.Entry != nil {
		// An explanation's or a checker's lines are long: wrap them,
		// not cut them (a node's tables keep their columns).
		lines = wrapLines(lines, d.w)
	}
	off := min(d.Offset, max(0, len(lines)-1))
	head := d.title("details")
	if d.Subject.Verdicts {
		head = d.title("details: verdicts") + " (X closes)"
	}
	return box(append([]string{head}, lines[off:]...), d.w, d.h)
}

// wrapIndentMax is the hanging indentation of a wrapped line's
// continuations: past the mark and the role column of an explanation's
// lines ("  ✗ cannot-place "), so that they do not read as lines of
// their own.
const wrapIndentMax = 17

// wrapLines wraps each line to w cells at spaces, with a hanging indent.
func wrapLines(lines []string, w int) []string {
	ind := min(wrapIndentMax, w/3)
	if w-ind < 8 {
		return lines
	}
	pad := strings.Repeat(" ", ind)
	var out []string
	for _, l := range lines {
		first, rest, _ := strings.Cut(ansi.Wrap(l, w, " "), "\n")
		out = append(out, first)
		if rest != "" {
			rest = strings.ReplaceAll(rest, "\n", " ")
			for _, r := range strings.Split(ansi.Wrap(rest, w-ind, " "), "\n") {
				out = append(out, pad+r)
			}
		}
	}
	return out
}
