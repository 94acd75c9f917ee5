package sim

// View is a process's own account of its state, for displays. It is
// protocol-neutral: roles, terms or ballots, a log with commit and applied
// marks, and named fields and tables for everything else. The TUI draws any
// protocol's nodes from it without knowing the protocol.
type View struct {
	// Role is the node's role now: "leader", "follower", "candidate",
	// "proposer", "acceptor", "coordinator", "participant", ...
	Role string
	// Term is the term, ballot round or epoch; TermLabel names it ("term",
	// "ballot").
	Term      int64
	TermLabel string
	// Leader is whom the node believes leads (0: nobody).
	Leader NodeID
	// Log holds log entries, oldest first (often only the tail).
	Log []LogLine
	// LogLen is the index of the last entry (the log may be truncated).
	LogLen int64
	// Commit and Applied are the highest committed and applied indexes.
	Commit, Applied int64
	// Snapshot is the index covered by the latest snapshot (0: none).
	Snapshot int64
	// Fields are other named values, in display order.
	Fields []Field
	// Tables hold structured state (next/match indexes, transactions).
	Tables []Table
}

// LogLine is one log entry or slot.
type LogLine struct {
	Index   int64
	Term    int64
	Command string
}

// Field is a named value.
type Field struct {
	Name  string
	Value string
}

// Table is a titled grid of strings.
type Table struct {
	Title   string
	Columns []string
	Rows    [][]string
}

// Get returns the value of the named field, or "".
func (v *View) Get(name string) string {
	for _, f := range v.Fields {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}
