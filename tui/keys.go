package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// KeyMap is every key of the TUI, declared once with its help text. Rebind
// a key by changing its binding before handing the map to New (Options.Keys).
type KeyMap struct {
	// Moving through the run.
	Step, Back           key.Binding
	JumpFwd, JumpBack    key.Binding
	TimeFwd, TimeBack    key.Binding
	Start, End           key.Binding
	Run, Faster, Slower  key.Binding
	NextMark, PrevMark   key.Binding
	BreakViolation       key.Binding
	BreakLeader, BreakOn key.Binding

	// Verdicts: check linearizability here and show the verdicts (X);
	// walk the explanation's operations on the event log (e, E).
	CheckLin, NextLin, PrevLin key.Binding

	// Panes and selection.
	Focus, Up, Down, Details key.Binding
	Filter, FilterKind       key.Binding
	Search, GoToCursor       key.Binding
	Clients                  key.Binding
	ShowTimers               key.Binding

	// Manual scheduling (messages pane).
	Deliver, Drop, Duplicate key.Binding

	// Faults on the selected node.
	Crash, Restart, Pause, Isolate key.Binding
	Split, Cut, Heal               key.Binding
	Request                        key.Binding

	Save, Help, Quit key.Binding
}

// DefaultKeyMap is the default keymap.
func DefaultKeyMap() KeyMap {
	b := func(keys []string, k, h string) key.Binding {
		return key.NewBinding(key.WithKeys(keys...), key.WithHelp(k, h))
	}
	return KeyMap{
		Step:           b([]string{"right", "l"}, "→/l", "step forward"),
		Back:           b([]string{"left", "h"}, "←/h", "step back"),
		JumpFwd:        b([]string{"]"}, "]", "+100 events"),
		JumpBack:       b([]string{"["}, "[", "-100 events"),
		TimeFwd:        b([]string{"}"}, "}", "+100ms sim time"),
		TimeBack:       b([]string{"{"}, "{", "-100ms sim time"),
		Start:          b([]string{"home", "g"}, "g", "go to start"),
		End:            b([]string{"end", "G"}, "G", "go to end"),
		Run:            b([]string{"space"}, "space", "run / pause"),
		Faster:         b([]string{"+", "="}, "+", "faster"),
		Slower:         b([]string{"-"}, "-", "slower"),
		NextMark:       b([]string{"n"}, "n", "next interesting"),
		PrevMark:       b([]string{"N"}, "N", "previous interesting"),
		BreakViolation: b([]string{"V"}, "V", "break: violation"),
		CheckLin:       b([]string{"X"}, "X", "verdicts / check lin"),
		NextLin:        b([]string{"e"}, "e", "next lin mark"),
		PrevLin:        b([]string{"E"}, "E", "prev lin mark"),
		BreakLeader:    b([]string{"L"}, "L", "break: new leader"),
		BreakOn:        b([]string{"T"}, "T", "break: msg type"),
		Focus:          b([]string{"tab"}, "tab", "next pane"),
		Up:             b([]string{"up", "k"}, "↑/k", "select up"),
		Down:           b([]string{"down", "j"}, "↓/j", "select down"),
		Details:        b([]string{"enter"}, "enter", "details"),
		Filter:         b([]string{"f"}, "f", "log: filter node"),
		FilterKind:     b([]string{"F"}, "F", "log: filter kind"),
		Search:         b([]string{"/"}, "/", "log: search"),
		Clients:        b([]string{"C"}, "C", "log: show clients"),
		GoToCursor:     b([]string{"o"}, "o", "log: go to cursor"),
		ShowTimers:     b([]string{"t"}, "t", "msgs: show timers"),
		Deliver:        b([]string{"a"}, "a", "deliver msg now"),
		Drop:           b([]string{"d"}, "d", "drop selected msg"),
		Duplicate:      b([]string{"u"}, "u", "duplicate msg"),
		Crash:          b([]string{"c"}, "c", "crash node"),
		Restart:        b([]string{"r"}, "r", "restart node"),
		Pause:          b([]string{"p"}, "p", "pause/resume node"),
		Isolate:        b([]string{"i"}, "i", "isolate node"),
		Split:          b([]string{"S"}, "S", "split in 2 groups"),
		Cut:            b([]string{"x"}, "x", "cut link from node"),
		Heal:           b([]string{"H"}, "H", "heal all"),
		Request:        b([]string{"R"}, "R", "client request now"),
		Save:           b([]string{"s"}, "s", "save run"),
		Help:           b([]string{"?"}, "?", "help"),
		Quit:           b([]string{"q", "ctrl+c"}, "q", "quit"),
	}
}

// ShortHelp is the status bar's hint line.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Step, k.Back, k.Run, k.NextMark, k.Focus, k.Crash, k.Save, k.Help, k.Quit}
}

// FullHelp is the help overlay, in columns.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Step, k.Back, k.JumpFwd, k.JumpBack, k.TimeFwd, k.TimeBack, k.Start, k.End, k.Run, k.Faster, k.Slower, k.NextMark, k.PrevMark, k.NextLin, k.PrevLin},
		{k.CheckLin, k.BreakViolation, k.BreakLeader, k.BreakOn, k.Focus, k.Up, k.Down, k.Details, k.Filter, k.FilterKind, k.Clients, k.Search, k.GoToCursor, k.ShowTimers, k.Save, k.Help, k.Quit},
		{k.Deliver, k.Drop, k.Duplicate, k.Crash, k.Restart, k.Pause, k.Isolate, k.Split, k.Cut, k.Heal, k.Request},
	}
}

// keyFor is a key press of a binding's first key (the mouse wheel sends
// the select keys, so that rebinding them keeps the wheel working).
func keyFor(b key.Binding) tea.KeyPressMsg {
	switch k := b.Keys()[0]; k {
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	default:
		r := []rune(k)
		return tea.KeyPressMsg{Code: r[0], Text: k}
	}
}
