package raft

import (
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// EntryKind says what a log entry carries.
type EntryKind uint8

// The kinds of log entries.
const (
	// EntryCommand is a client's key-value request.
	EntryCommand EntryKind = iota
	// EntryNoop is the empty entry a new leader appends (§8) so that it
	// can commit the entries of earlier terms.
	EntryNoop
	// EntryConfig is a single-server configuration change; it takes effect
	// on every server as soon as it is in the server's log (thesis §4.1).
	EntryConfig
)

// Entry is one log entry. Entries are shared between the logs of the nodes
// and the messages of a run, by pointer (raftLog), and are never modified
// once created.
type Entry struct {
	Term   int64             `json:"term"`
	Kind   EntryKind         `json:"kind,omitempty"`
	Req    protocols.Request `json:"req,omitzero"`
	Config *Config           `json:"config,omitempty"`
}

// Config is a cluster configuration: its voting members, and how many
// changes of Options.Membership it includes.
type Config struct {
	Members []sim.NodeID `json:"members"`
	Version int          `json:"version"`
	// Removed is the node the last change removed: the leader keeps it up to
	// date until it has learnt that it is no longer a member.
	Removed sim.NodeID `json:"removed,omitempty"`
}

// Has reports whether id is a voting member.
func (c *Config) Has(id sim.NodeID) bool {
	for _, m := range c.Members {
		if m == id {
			return true
		}
	}
	return false
}

func (c *Config) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range c.Members {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(m.String())
	}
	b.WriteString("} v")
	b.WriteString(strconv.Itoa(c.Version))
	return b.String()
}

// Command renders the entry's command briefly, for views and traces.
func (e *Entry) Command() string {
	switch e.Kind {
	case EntryNoop:
		return "noop"
	case EntryConfig:
		return "config " + e.Config.String()
	}
	return e.Req.Describe()
}

// RequestVote asks for a vote (§5.2), or with PreVote for a pre-vote: the
// recipient says whether it would vote in Term without changing any state.
type RequestVote struct {
	Term      int64      `json:"term"`
	Candidate sim.NodeID `json:"candidate"`
	LastIndex int64      `json:"last_index"`
	LastTerm  int64      `json:"last_term"`
	PreVote   bool       `json:"pre_vote,omitempty"`
}

// MessageType implements sim.Message.
func (*RequestVote) MessageType() string { return "raft.RequestVote" }

// Describe renders "term=3 last=12/2 pre".
func (m *RequestVote) Describe() string {
	s := "term=" + itoa(m.Term) + " last=" + itoa(m.LastIndex) + "/" + itoa(m.LastTerm)
	if m.PreVote {
		s += " pre"
	}
	return s
}

// RequestVoteReply answers a RequestVote. A granted pre-vote carries the
// term asked about; every other reply carries the voter's term.
type RequestVoteReply struct {
	Term    int64 `json:"term"`
	Granted bool  `json:"granted"`
	PreVote bool  `json:"pre_vote,omitempty"`
}

// MessageType implements sim.Message.
func (*RequestVoteReply) MessageType() string { return "raft.RequestVoteReply" }

// Describe renders "term=3 granted".
func (m *RequestVoteReply) Describe() string {
	s := "term=" + itoa(m.Term)
	if m.Granted {
		s += " granted"
	} else {
		s += " rejected"
	}
	if m.PreVote {
		s += " pre"
	}
	return s
}

// AppendEntries replicates entries and carries the heartbeat (§5.3). Round
// numbers the leader's heartbeat rounds; the reply echoes it, which
// confirms leadership for ReadIndex reads and leases.
type AppendEntries struct {
	Term      int64      `json:"term"`
	Leader    sim.NodeID `json:"leader"`
	PrevIndex int64      `json:"prev_index"`
	PrevTerm  int64      `json:"prev_term"`
	Entries   []*Entry   `json:"entries,omitempty"`
	Commit    int64      `json:"commit"`
	Round     int64      `json:"round,omitempty"`
}

// MessageType implements sim.Message.
func (*AppendEntries) MessageType() string { return "raft.AppendEntries" }

// Describe renders "term=3 prev=12/2 n=3 commit=11".
func (m *AppendEntries) Describe() string {
	return "term=" + itoa(m.Term) + " prev=" + itoa(m.PrevIndex) + "/" + itoa(m.PrevTerm) +
		" n=" + strconv.Itoa(len(m.Entries)) + " commit=" + itoa(m.Commit)
}

// AppendEntriesReply answers an AppendEntries or an InstallSnapshot. On
// success Match is the index up to which the follower's log now equals the
// leader's. On a rejection, Reject is the PrevIndex refused, and
// ConflictTerm / ConflictIndex let the leader skip a whole term at once:
// ConflictTerm is the follower's term at PrevIndex (0 if its log is
// shorter) and ConflictIndex the first index it holds of that term (or its
// last index + 1).
type AppendEntriesReply struct {
	Term          int64 `json:"term"`
	Success       bool  `json:"success"`
	Match         int64 `json:"match,omitempty"`
	Reject        int64 `json:"reject,omitempty"`
	ConflictTerm  int64 `json:"conflict_term,omitempty"`
	ConflictIndex int64 `json:"conflict_index,omitempty"`
	Round         int64 `json:"round,omitempty"`
}

// MessageType implements sim.Message.
func (*AppendEntriesReply) MessageType() string { return "raft.AppendEntriesReply" }

// Describe renders "term=3 ok match=14" or "term=3 reject=12 conflict=9/2".
func (m *AppendEntriesReply) Describe() string {
	if m.Success {
		return "term=" + itoa(m.Term) + " ok match=" + itoa(m.Match)
	}
	return "term=" + itoa(m.Term) + " reject=" + itoa(m.Reject) + " conflict=" + itoa(m.ConflictIndex) + "/" + itoa(m.ConflictTerm)
}

// InstallSnapshot sends the leader's snapshot to a follower whose next
// entry the leader has compacted away (§7).
type InstallSnapshot struct {
	Term     int64      `json:"term"`
	Leader   sim.NodeID `json:"leader"`
	Index    int64      `json:"index"`
	LastTerm int64      `json:"last_term"`
	Config   *Config    `json:"config"`
	Digest   uint64     `json:"digest"`
	Data     []byte     `json:"data"`
	Round    int64      `json:"round,omitempty"`
}

// MessageType implements sim.Message.
func (*InstallSnapshot) MessageType() string { return "raft.InstallSnapshot" }

// Describe renders "term=3 index=1000/2 bytes=512".
func (m *InstallSnapshot) Describe() string {
	return "term=" + itoa(m.Term) + " index=" + itoa(m.Index) + "/" + itoa(m.LastTerm) + " bytes=" + strconv.Itoa(len(m.Data))
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
