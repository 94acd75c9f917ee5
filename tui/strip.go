package tui

import (
	"fmt"
	"strconv"
	"strings"

	tea "charm.land/bubbletea/v2"
)

// Strip is the timeline strip over the run seen so far: who was leader
// when, faults as shaded spans, client operations succeeding (+) or failing
// (x), and the current position (^). One column covers a stretch of events.
type Strip struct {
	pane
}

// NewStrip returns the strip.
func NewStrip(s *Session, st Styles) Strip { return Strip{pane: pane{sess: s, st: st}} }

// Update does nothing: the strip only shows.
func (p Strip) Update(tea.Msg) (Strip, tea.Cmd) { return p, nil }

// StripDefaultKeyMap is empty: the strip has no keys of its own.
func StripDefaultKeyMap() struct{} { return struct{}{} }

const stripLabel = 9

// View renders three lines: leaders, faults and client ops, the cursor.
func (p Strip) View() string {
	w := p.w - stripLabel
	if w < 4 {
		return box(nil, p.w, p.h)
	}
	log := p.sess.Log()
	total := max(p.sess.Furthest(), int64(len(log)), 1)
	var lead, fault strings.Builder
	col := func(c int) (lo, hi int64) {
		return int64(c) * total / int64(w), int64(c+1) * total / int64(w)
	}
	for c := range w {
		lo, hi := col(c)
		if hi <= lo {
			hi = lo + 1
		}
		if lo >= int64(len(log)) {
			lead.WriteString(" ")
			fault.WriteString(" ")
			continue
		}
		hi = min(hi, int64(len(log)))
		last := &log[hi-1]
		if last.Leader == 0 {
			lead.WriteString(p.st.Dim.Render("·"))
		} else {
			lead.WriteString(p.st.Node(int(last.Leader)).Render(strconv.Itoa(int(last.Leader) % 10)))
		}
		var ok, fail, faulty, faultEv bool
		for i := lo; i < hi; i++ {
			e := &log[i]
			ok = ok || e.ClientOK
			fail = fail || e.ClientFail || e.Flags&(flagViolation|flagPanic) != 0
			faulty = faulty || e.Faulty
			faultEv = faultEv || e.Flags&flagFault != 0
		}
		switch {
		case fail:
			fault.WriteString(p.st.Bad.Render("x"))
		case faultEv:
			fault.WriteString(p.st.Shade.Render("▼"))
		case ok && faulty:
			fault.WriteString(p.st.Shade.Render("+"))
		case ok:
			fault.WriteString(p.st.Good.Render("+"))
		case faulty:
			fault.WriteString(p.st.Shade.Render("░"))
		default:
			fault.WriteString(" ")
		}
	}
	cur := p.sess.Index()
	pos := int(cur * int64(w) / total)
	pos = min(pos, w-1)
	info := fmt.Sprintf("^ %d/%d", cur, total)
	cursor := strings.Repeat(" ", pos) + info
	if pos+len(info) > w {
		cursor = strings.Repeat(" ", max(0, pos-len(info)+1)) + fmt.Sprintf("%d/%d ^", cur, total)
	}
	lines := []string{
		p.st.Dim.Render("leader   ") + lead.String(),
		p.st.Dim.Render("fault/op ") + fault.String(),
		p.st.Dim.Render("now      ") + cursor,
	}
	return box(lines, p.w, p.h)
}
