package tui

import (
	"fmt"
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/synod-dev/synod/sim"
)

// Styles are the TUI's colours. With NO_COLOR set every style is plain
// (bold and reverse video only), and every colour has a text twin (role
// names, marks), so nothing is told by colour alone.
type Styles struct {
	NoColor  bool
	Title    lipgloss.Style
	Dim      lipgloss.Style
	Bold     lipgloss.Style
	Cursor   lipgloss.Style // the selected row / current event
	Focused  lipgloss.Style // a focused pane's title
	Bad      lipgloss.Style // violations, crashed nodes, drops
	Good     lipgloss.Style // client ops that succeeded
	Shade    lipgloss.Style // faulty spans on the strip
	Status   lipgloss.Style
	roleCols map[string]color.Color
	nodeCols []color.Color
}

// NewStyles returns the styles; noColor gives the monochrome set.
func NewStyles(noColor bool) Styles {
	s := Styles{NoColor: noColor}
	plain := lipgloss.NewStyle()
	s.Bold = plain.Bold(true)
	s.Cursor = plain.Reverse(true)
	s.Focused = plain.Bold(true).Underline(true)
	s.Title = plain.Bold(true)
	s.Status = plain.Reverse(true)
	if noColor {
		s.Dim, s.Bad, s.Good, s.Shade = plain, plain.Bold(true), plain, plain
		return s
	}
	s.Dim = plain.Foreground(lipgloss.Color("245"))
	s.Bad = plain.Foreground(lipgloss.Color("203")).Bold(true)
	s.Good = plain.Foreground(lipgloss.Color("114"))
	s.Shade = plain.Foreground(lipgloss.Color("173"))
	s.Status = plain.Background(lipgloss.Color("236")).Foreground(lipgloss.Color("252"))
	s.roleCols = map[string]color.Color{
		"leader": lipgloss.Color("42"), "coordinator": lipgloss.Color("42"), "primary": lipgloss.Color("42"),
		"candidate": lipgloss.Color("220"), "pre-candidate": lipgloss.Color("178"), "precandidate": lipgloss.Color("178"),
		"follower": lipgloss.Color("75"), "backup": lipgloss.Color("75"), "participant": lipgloss.Color("75"),
		"proposer": lipgloss.Color("213"), "acceptor": lipgloss.Color("80"), "learner": lipgloss.Color("146"),
		"down": lipgloss.Color("203"),
	}
	s.nodeCols = []color.Color{lipgloss.Color("42"), lipgloss.Color("75"), lipgloss.Color("220"), lipgloss.Color("213"),
		lipgloss.Color("80"), lipgloss.Color("209"), lipgloss.Color("141"), lipgloss.Color("150")}
	return s
}

// Role styles a role name: one colour per role (bold for leaders when
// there is no colour).
func (s Styles) Role(role string) lipgloss.Style {
	st := lipgloss.NewStyle()
	if s.NoColor {
		if role == "leader" || role == "coordinator" || role == "primary" {
			return st.Bold(true)
		}
		return st
	}
	if c, ok := s.roleCols[strings.ToLower(role)]; ok {
		return st.Foreground(c)
	}
	return st.Foreground(lipgloss.Color("252"))
}

// Node styles a node id with its own colour (for the leader strip).
func (s Styles) Node(i int) lipgloss.Style {
	if s.NoColor || i <= 0 {
		return lipgloss.NewStyle()
	}
	return lipgloss.NewStyle().Foreground(s.nodeCols[(i-1)%len(s.nodeCols)])
}

// fit cuts or pads a rendered line to exactly w cells.
func fit(line string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(line) > w {
		line = ansi.Truncate(line, w, "…")
	}
	if n := w - ansi.StringWidth(line); n > 0 {
		line += strings.Repeat(" ", n)
	}
	return line
}

// box lays lines out as a w x h block: each line fitted, missing lines blank.
func box(lines []string, w, h int) string {
	out := make([]string, h)
	for i := range out {
		l := ""
		if i < len(lines) {
			l = lines[i]
		}
		out[i] = fit(l, w)
	}
	return strings.Join(out, "\n")
}

// brief renders an event compactly for the narrow panes: the time in
// milliseconds, then the rest of the one renderer's line
// ((*sim.Event).Describe without its "t=" prefix).
func brief(at sim.Time, text string) string {
	if strings.HasPrefix(text, "t=") {
		if _, rest, ok := strings.Cut(text, " "); ok {
			text = rest
		}
	}
	return fmt.Sprintf("%9.3fms %s", at.Milliseconds(), text)
}

// briefNarrowMax is the widest pane that gets the compact form of an
// event (compact): at 80 columns the log and messages panes are 40 wide,
// and "raft.RequestV…" told neither the kind nor the answer.
const briefNarrowMax = 60

// briefFit is brief for a pane w cells wide: compact below briefNarrowMax.
func briefFit(at sim.Time, text string, w int) string {
	if w >= briefNarrowMax {
		return brief(at, text)
	}
	if strings.HasPrefix(text, "t=") {
		if _, rest, ok := strings.Cut(text, " "); ok {
			text = rest
		}
	}
	return fmt.Sprintf("%7.1fms %s", at.Milliseconds(), compact(text))
}

// shortWords abbreviates the words of message type names for narrow panes.
var shortWords = map[string]string{
	"Request": "Req", "Reply": "Rep", "Response": "Resp", "Append": "App", "Entries": "Ent",
	"Install": "Inst", "Snapshot": "Snap", "Heartbeat": "Hb", "Accepted": "Acc'd", "Prepare": "Prep",
}

// answerMarks turn an answer's word in a description into a mark after the
// type: granted or refused, success or failure, at a glance.
var answerMarks = []struct{ word, mark string }{
	{" granted", "✓"}, {" rejected", "✗"}, {" ok", "✓"}, {" reject=", "✗"},
	{" yes", "✓"}, {" no", "✗"}, // 2PC's votes
}

// compact shortens a timer's line "n3 timer election" to "n3 ⏱election",
// and one renderer's line "n2->n3 raft.RequestVoteReply
// term=1 granted" to "n2->n3 ReqVoteRep✓ term=1": the type without its
// package, its words abbreviated, and the answer as a mark right after it
// (the details pane shows the full line).
func compact(text string) string {
	if a, b, ok := strings.Cut(text, " timer "); ok && !strings.Contains(a, " ") {
		return a + " ⏱" + b // "n3 ⏱election", the cards' timer mark
	}
	words := strings.Fields(text)
	at := -1
	for i, w := range words {
		if j := strings.IndexByte(w, '.'); j > 0 && j < len(w)-1 && !strings.ContainsAny(w, "=:()") {
			at = i
			break
		}
	}
	if at < 0 {
		return text
	}
	typ := words[at][strings.IndexByte(words[at], '.')+1:]
	var b strings.Builder
	start := 0
	for i := 1; i <= len(typ); i++ {
		if i == len(typ) || (typ[i] >= 'A' && typ[i] <= 'Z') {
			w := typ[start:i]
			if s, ok := shortWords[w]; ok {
				w = s
			}
			b.WriteString(w)
			start = i
		}
	}
	rest := " " + strings.Join(words[at+1:], " ")
	for _, m := range answerMarks {
		if strings.Contains(rest+" ", m.word+" ") || (strings.HasSuffix(m.word, "=") && strings.Contains(rest, m.word)) {
			if !strings.HasSuffix(m.word, "=") {
				rest = strings.Replace(rest+" ", m.word+" ", " ", 1)
			}
			b.WriteString(m.mark)
			break
		}
	}
	out := append(append([]string(nil), words[:at]...), b.String())
	return strings.TrimRight(strings.Join(out, " ")+rest, " ")
}
