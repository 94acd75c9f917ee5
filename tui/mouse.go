package tui

import tea "charm.land/bubbletea/v2"

// Mouse support is optional: the keyboard covers everything. A click on a
// node card selects the node (and focuses the cluster); a click on a pending
// message selects it (and focuses the messages pane); the wheel scrolls the
// pane under the pointer.

// firstRow is the first list item shown when sel must stay in rows rows:
// the panes scroll the same way.
func firstRow(sel, rows int) int {
	if rows > 0 && sel >= rows {
		return sel - rows + 1
	}
	return 0
}

// middleTop is the screen row of the middle panes' titles.
func (m *Model) middleTop() int { return 1 + m.cluster.h + m.strip.h }

// messagesShown reports whether the messages pane is on screen and at
// which column it starts.
func (m *Model) messagesShown() (int, bool) {
	if m.showVerdicts {
		return 0, false // the verdicts take its place
	}
	if m.wide() || !(m.showDetails || m.focus == focusDetails) {
		return m.log.w + 1, true
	}
	return 0, false
}

func (m *Model) onMouse(msg tea.MouseMsg) {
	ms := msg.Mouse()
	n := len(m.sess.Sim().Nodes())
	top := m.middleTop()
	mx, shown := m.messagesShown()
	inMsgs := shown && ms.Y > top && ms.X >= mx && ms.X < mx+m.msgs.w
	switch msg.(type) {
	case tea.MouseClickMsg:
		if ms.Button != tea.MouseLeft {
			return
		}
		switch {
		case ms.Y >= 2 && ms.Y < 1+m.cluster.h:
			if i := firstRow(m.cluster.Selected, m.cluster.h-1) + ms.Y - 2; i < n {
				m.cluster.Selected = i
				m.setFocus(focusCluster)
			}
		case inMsgs:
			if i := firstRow(m.msgs.Selected, m.msgs.h-1) + ms.Y - top - 1; i < len(m.msgs.Items()) {
				m.msgs.Selected = i
				m.setFocus(focusMessages)
			}
		}
	case tea.MouseWheelMsg:
		k := keyFor(m.keys.Down)
		if ms.Button == tea.MouseWheelUp {
			k = keyFor(m.keys.Up)
		}
		switch {
		case inMsgs:
			m.setFocus(focusMessages)
		case ms.Y > top && ms.X < m.log.w:
			m.setFocus(focusLog)
		case ms.Y > top && m.showVerdicts:
			m.setFocus(focusDetails) // scroll a long explanation
		default:
			return
		}
		m.dispatch(k)
	}
}
