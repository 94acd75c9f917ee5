package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/synod-dev/synod/sim"
)

// pane is what every pane shares: the session it shows, its size, whether
// it has the focus, and the styles.
type pane struct {
	sess    *Session
	st      Styles
	w, h    int
	focused bool
}

// SetSize sets the pane's size in cells.
func (p *pane) SetSize(w, h int) { p.w, p.h = w, h }

// SetFocus gives or takes the focus.
func (p *pane) SetFocus(f bool) { p.focused = f }

func (p *pane) title(s string) string {
	if p.focused {
		return p.st.Focused.Render(s)
	}
	return p.st.Title.Render(s)
}

// SelectKeyMap moves a selection.
type SelectKeyMap struct{ Up, Down key.Binding }

// Cluster shows one card per node: id, up / crashed / paused, role, term or
// ballot, the tail of the log with commit and applied marks, and its
// pending timers; above them, the partition groups and cut links.
type Cluster struct {
	pane
	Keys     SelectKeyMap
	Selected int // 0-based node index
}

// ClusterDefaultKeyMap is the cluster pane's keymap.
func ClusterDefaultKeyMap() SelectKeyMap {
	k := DefaultKeyMap()
	return SelectKeyMap{Up: k.Up, Down: k.Down}
}

// NewCluster returns the cluster pane.
func NewCluster(s *Session, st Styles) Cluster {
	return Cluster{pane: pane{sess: s, st: st}, Keys: ClusterDefaultKeyMap()}
}

// Update moves the node selection.
func (c Cluster) Update(msg tea.Msg) (Cluster, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && c.focused {
		n := len(c.sess.Sim().Nodes())
		switch {
		case key.Matches(k, c.Keys.Up):
			c.Selected = (c.Selected + n - 1) % n
		case key.Matches(k, c.Keys.Down):
			c.Selected = (c.Selected + 1) % n
		}
	}
	return c, nil
}

// Node is the selected node's id.
func (c Cluster) Node() sim.NodeID { return sim.NodeID(c.Selected + 1) }

// partitionLine describes who can hear whom: the groups and the one-way cuts.
func partitionLine(s *sim.Sim) string {
	if !s.Partitioned() {
		return "network: connected"
	}
	groups := map[int][]string{}
	var keys []int
	for _, id := range s.Nodes() {
		g := s.Group(id)
		if _, ok := groups[g]; !ok {
			keys = append(keys, g)
		}
		groups[g] = append(groups[g], id.String())
	}
	sort.Ints(keys)
	var parts []string
	for _, g := range keys {
		parts = append(parts, "{"+strings.Join(groups[g], " ")+"}")
	}
	out := "network: "
	if len(keys) > 1 {
		out += strings.Join(parts, " | ")
	} else {
		out += "one group"
	}
	var cuts []string
	for _, a := range s.Nodes() {
		for _, b := range s.Nodes() {
			if a != b && s.Group(a) == s.Group(b) && s.Blocked(a, b) {
				cuts = append(cuts, a.String()+"-/->"+b.String())
			}
		}
	}
	if len(cuts) > 0 {
		out += "  cut: " + strings.Join(cuts, " ")
	}
	return out
}

// View renders the cards, one line each.
func (c Cluster) View() string {
	s := c.sess.Sim()
	timers := map[sim.NodeID][]string{}
	starting := map[sim.NodeID]bool{}
	for _, ev := range s.Pending() {
		if ev.Kind == sim.KindTimer && ev.To.IsNode() {
			timers[ev.To] = append(timers[ev.To], fmt.Sprintf("%s@%.1fms", timerName(s, &ev), ev.At.Milliseconds()))
		}
		if ev.Kind == sim.KindStart {
			starting[ev.To] = true
		}
	}
	lines := []string{c.title("cluster") + "  " + partitionLine(s)}
	nodes := s.Nodes()
	// One role column for all cards, as wide as the longest role shown.
	roleW := 9
	for _, id := range nodes {
		if v, ok := s.Inspect(id); ok {
			roleW = max(roleW, len(v.Role))
		}
	}
	// Keep the selected node in view when the pane is shorter than the cluster.
	first := 0
	if rows := c.h - 1; rows > 0 && c.Selected >= rows {
		first = c.Selected - rows + 1
	}
	for i := first; i < len(nodes); i++ {
		lines = append(lines, c.card(s, nodes[i], i == c.Selected, timers[nodes[i]], starting, roleW))
	}
	return box(lines, c.w, c.h)
}

func (c Cluster) card(s *sim.Sim, id sim.NodeID, sel bool, timers []string, starting map[sim.NodeID]bool, roleW int) string {
	mark := " "
	if sel {
		mark = "▸"
	}
	name := id.String()
	if sel {
		name = c.st.Cursor.Render(name)
	}
	group := ""
	if s.Partitioned() {
		group = fmt.Sprintf(" g%d", s.Group(id))
	}
	if !s.Up(id) {
		if starting[id] {
			return fmt.Sprintf("%s%s ○ starting%s", mark, name, group)
		}
		return fmt.Sprintf("%s%s %s%s", mark, name, c.st.Bad.Render("✗ crashed"), group)
	}
	v, ok := s.Inspect(id)
	state := "●"
	if s.Paused(id) {
		state = c.st.Bad.Render("‖ paused")
	}
	if !ok {
		return fmt.Sprintf("%s%s %s%s (no view)", mark, name, state, group)
	}
	role := c.st.Role(v.Role).Render(fmt.Sprintf("%-*s", roleW, v.Role))
	out := fmt.Sprintf("%s%s %s %s%s", mark, name, state, role, group)
	if v.TermLabel != "" || v.Term != 0 {
		label := v.TermLabel
		if label == "" {
			label = "term"
		}
		out += fmt.Sprintf(" %s %-3s", label, termText(v))
	}
	if v.LogLen > 0 || v.Commit > 0 || v.Applied > 0 || len(v.Log) > 0 || v.TermLabel == "term" {
		out += " " + logTail(v, c.tailLen(), c.st)
	} else {
		// No log (two-phase commit and friends): the first fields instead.
		for i, f := range v.Fields {
			if i == 3 {
				break
			}
			out += " " + f.Name + "=" + f.Value
		}
	}
	if len(timers) > 0 {
		out += c.st.Dim.Render("  ⏱ " + strings.Join(timers, " "))
	}
	return out
}

// termText renders a view's term or ballot in one notation everywhere: a
// field named like the term label is its full rendering (Paxos's ballot
// "1.2", round and node, where Term holds only the round), else the
// number.
func termText(v sim.View) string {
	if v.TermLabel != "" {
		for _, f := range v.Fields {
			if f.Name == v.TermLabel {
				return f.Value
			}
		}
	}
	return strconv.FormatInt(v.Term, 10)
}

func (c Cluster) tailLen() int {
	switch {
	case c.w >= 140:
		return 8
	case c.w >= 100:
		return 5
	}
	return 3
}

// logTail renders "log 12 c11 a10 [10:3 11:3│12:3]": the last entries as
// index:term, with │ after the committed prefix; uncommitted entries dim.
func logTail(v sim.View, n int, st Styles) string {
	out := fmt.Sprintf("log %d c%d a%d", v.LogLen, v.Commit, v.Applied)
	if v.Snapshot > 0 {
		out += fmt.Sprintf(" s%d", v.Snapshot)
	}
	if len(v.Log) == 0 || n == 0 {
		return out
	}
	tail := v.Log
	if len(tail) > n {
		tail = tail[len(tail)-n:]
	}
	var b strings.Builder
	b.WriteString(" [")
	for i, l := range tail {
		if i > 0 {
			if tail[i-1].Index <= v.Commit && l.Index > v.Commit {
				b.WriteString("│")
			} else {
				b.WriteString(" ")
			}
		}
		e := fmt.Sprintf("%d:%d", l.Index, l.Term)
		if l.Index > v.Commit {
			e = st.Dim.Render(e)
		}
		b.WriteString(e)
	}
	b.WriteString("]")
	return out + b.String()
}
