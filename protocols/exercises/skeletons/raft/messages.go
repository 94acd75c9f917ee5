package raftlab

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Entry is one log entry: the term it was created in and a client's
// command (a no-op when Noop is set).
type Entry struct {
	Term int64             `json:"term"`
	Noop bool              `json:"noop,omitempty"`
	Req  protocols.Request `json:"req"`
}

// Command renders the entry for views and traces.
func (e *Entry) Command() string {
	if e.Noop {
		return "noop"
	}
	return sim.Describe(&e.Req)
}

// RequestVote is sent by a candidate (Figure 2, "RequestVote RPC").
type RequestVote struct {
	Term         int64 `json:"term"`
	LastLogIndex int64 `json:"last_log_index"`
	LastLogTerm  int64 `json:"last_log_term"`
}

// RequestVoteReply answers RequestVote.
type RequestVoteReply struct {
	Term    int64 `json:"term"`
	Granted bool  `json:"granted"`
}

// AppendEntries replicates entries and serves as the heartbeat (Figure 2,
// "AppendEntries RPC").
type AppendEntries struct {
	Term         int64   `json:"term"`
	PrevLogIndex int64   `json:"prev_log_index"`
	PrevLogTerm  int64   `json:"prev_log_term"`
	Entries      []Entry `json:"entries,omitempty"`
	LeaderCommit int64   `json:"leader_commit"`
}

// AppendEntriesReply answers AppendEntries. Match is the index of the
// follower's last entry known to match the leader's log when Success;
// otherwise a hint of where to retry from (your choice of backtracking).
type AppendEntriesReply struct {
	Term    int64 `json:"term"`
	Success bool  `json:"success"`
	Match   int64 `json:"match"`
}

// InstallSnapshot sends a follower the leader's snapshot (Figure 13).
type InstallSnapshot struct {
	Term              int64  `json:"term"`
	LastIncludedIndex int64  `json:"last_included_index"`
	LastIncludedTerm  int64  `json:"last_included_term"`
	Data              []byte `json:"data"`
}

// InstallSnapshotReply answers InstallSnapshot.
type InstallSnapshotReply struct {
	Term  int64 `json:"term"`
	Match int64 `json:"match"`
}

func (*RequestVote) MessageType() string          { return "raftlab.RequestVote" }
func (*RequestVoteReply) MessageType() string     { return "raftlab.RequestVoteReply" }
func (*AppendEntries) MessageType() string        { return "raftlab.AppendEntries" }
func (*AppendEntriesReply) MessageType() string   { return "raftlab.AppendEntriesReply" }
func (*InstallSnapshot) MessageType() string      { return "raftlab.InstallSnapshot" }
func (*InstallSnapshotReply) MessageType() string { return "raftlab.InstallSnapshotReply" }

func (m *RequestVote) Describe() string {
	return fmt.Sprintf("term=%d last=%d/%d", m.Term, m.LastLogIndex, m.LastLogTerm)
}
func (m *RequestVoteReply) Describe() string {
	return fmt.Sprintf("term=%d granted=%v", m.Term, m.Granted)
}
func (m *AppendEntries) Describe() string {
	return fmt.Sprintf("term=%d prev=%d/%d n=%d commit=%d", m.Term, m.PrevLogIndex, m.PrevLogTerm, len(m.Entries), m.LeaderCommit)
}
func (m *AppendEntriesReply) Describe() string {
	return fmt.Sprintf("term=%d ok=%v match=%d", m.Term, m.Success, m.Match)
}
func (m *InstallSnapshot) Describe() string {
	return fmt.Sprintf("term=%d last=%d/%d bytes=%d", m.Term, m.LastIncludedIndex, m.LastIncludedTerm, len(m.Data))
}
func (m *InstallSnapshotReply) Describe() string {
	return fmt.Sprintf("term=%d match=%d", m.Term, m.Match)
}

// messages are one example of each message type, for the trace codec.
var messages = []sim.Message{&RequestVote{}, &RequestVoteReply{}, &AppendEntries{}, &AppendEntriesReply{},
	&InstallSnapshot{}, &InstallSnapshotReply{}, &protocols.Request{}, &protocols.Response{}}
