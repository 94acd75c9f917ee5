package etcdraft

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Msg carries one etcd raftpb.Message over the simulated network. In a
// trace it appears with the message's deterministic protobuf encoding
// (Raw) beside the key values, so a trace holds exactly what etcd sent.
// In a run it also holds the message itself, a private copy taken when it
// was sent, and every delivery hands etcd a fresh copy of that: duplicated
// deliveries and different nodes never share etcd's message or entry
// objects, as over a real network, without paying for a protobuf encoding
// and decoding per message (that is done only when a trace is written). A
// Msg is immutable once sent; a Msg decoded from a trace has only Raw.
type Msg struct {
	Type    string `json:"type"`
	Term    uint64 `json:"term"`
	LogTerm uint64 `json:"log_term,omitempty"`
	Index   uint64 `json:"index,omitempty"`
	Commit  uint64 `json:"commit,omitempty"`
	Reject  bool   `json:"reject,omitempty"`
	Entries int    `json:"entries,omitempty"`
	// Snapshot is the index of a carried snapshot (MsgSnap).
	Snapshot uint64 `json:"snapshot,omitempty"`
	// Raw is the protobuf encoding of the raftpb.Message.
	Raw []byte `json:"raw"`

	pm *pb.Message
}

// msgJSON is Msg without its methods, for encoding.
type msgJSON Msg

// MarshalJSON encodes the message with Raw filled in from the carried
// message. It does not change m: a message may be shared by clones of a run
// that execute in parallel.
func (m *Msg) MarshalJSON() ([]byte, error) {
	out := msgJSON(*m)
	if out.Raw == nil && m.pm != nil {
		raw, err := marshalOpts.Marshal(m.pm)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %v", m.Type, err)
		}
		out.Raw = raw
	}
	out.pm = nil
	return json.Marshal(&out)
}

// MessageType implements sim.Message.
func (*Msg) MessageType() string { return "etcdraft.Msg" }

// Describe renders "MsgApp term=3 index=12/2 n=3 commit=11".
func (m *Msg) Describe() string {
	var b strings.Builder
	b.WriteString(m.Type)
	b.WriteString(" term=")
	b.WriteString(strconv.FormatUint(m.Term, 10))
	if m.Index != 0 || m.LogTerm != 0 {
		b.WriteString(" index=")
		b.WriteString(strconv.FormatUint(m.Index, 10))
		b.WriteString("/")
		b.WriteString(strconv.FormatUint(m.LogTerm, 10))
	}
	if m.Entries > 0 {
		b.WriteString(" n=")
		b.WriteString(strconv.Itoa(m.Entries))
	}
	if m.Commit != 0 {
		b.WriteString(" commit=")
		b.WriteString(strconv.FormatUint(m.Commit, 10))
	}
	if m.Snapshot != 0 {
		b.WriteString(" snapshot=")
		b.WriteString(strconv.FormatUint(m.Snapshot, 10))
	}
	if m.Reject {
		b.WriteString(" reject")
	}
	return b.String()
}

// marshalOpts makes the encoding a function of the message alone.
var marshalOpts = proto.MarshalOptions{Deterministic: true}

// wrap carries an outgoing etcd message. It keeps etcd's own object:
// etcd never touches a message once a Ready has handed it out (an etcd
// server's transport encodes messages concurrently with raft), and the
// entries it points to are log entries, which etcd never changes.
func wrap(m *pb.Message) *Msg {
	return &Msg{
		Type: m.GetType().String(), Term: m.GetTerm(), LogTerm: m.GetLogTerm(), Index: m.GetIndex(),
		Commit: m.GetCommit(), Reject: m.GetReject(), Entries: len(m.GetEntries()),
		Snapshot: m.GetSnapshot().GetMetadata().GetIndex(), pm: m,
	}
}

// unwrap returns a fresh copy of the etcd message for one delivery.
func (m *Msg) unwrap() (*pb.Message, error) {
	if m.pm != nil {
		return copyMessage(m.pm), nil
	}
	var out pb.Message
	if err := proto.Unmarshal(m.Raw, &out); err != nil {
		return nil, fmt.Errorf("decode %s: %v", m.Type, err)
	}
	return &out, nil
}

// copyMessage copies the fields of a raftpb.Message that travel between
// nodes, keeping which optional fields are set. Byte strings (entry data,
// snapshot data, context) are shared: etcd never writes into them.
// Responses are local to a node and never travel.
func copyMessage(m *pb.Message) *pb.Message {
	// One allocation holds every integer field of the copy.
	var v struct {
		to, from, term, logTerm, index, commit, vote, rejectHint uint64
		typ                                                      pb.MessageType
		reject                                                   bool
	}
	box := &v
	c := &pb.Message{Context: m.Context}
	set := func(dst **uint64, src *uint64, slot *uint64) {
		if src != nil {
			*slot = *src
			*dst = slot
		}
	}
	set(&c.To, m.To, &box.to)
	set(&c.From, m.From, &box.from)
	set(&c.Term, m.Term, &box.term)
	set(&c.LogTerm, m.LogTerm, &box.logTerm)
	set(&c.Index, m.Index, &box.index)
	set(&c.Commit, m.Commit, &box.commit)
	set(&c.Vote, m.Vote, &box.vote)
	set(&c.RejectHint, m.RejectHint, &box.rejectHint)
	if m.Type != nil {
		box.typ = *m.Type
		c.Type = &box.typ
	}
	if m.Reject != nil {
		box.reject = *m.Reject
		c.Reject = &box.reject
	}
	if len(m.Entries) > 0 {
		c.Entries = make([]*pb.Entry, len(m.Entries))
		for i, e := range m.Entries {
			c.Entries[i] = copyEntry(e)
		}
	}
	if s := m.Snapshot; s != nil {
		c.Snapshot = &pb.Snapshot{Data: s.Data}
		if md := s.Metadata; md != nil {
			c.Snapshot.Metadata = &pb.SnapshotMetadata{Index: clone(md.Index), Term: clone(md.Term)}
			if cs := md.ConfState; cs != nil {
				c.Snapshot.Metadata.ConfState = &pb.ConfState{Voters: slices.Clone(cs.Voters), Learners: slices.Clone(cs.Learners),
					VotersOutgoing: slices.Clone(cs.VotersOutgoing), LearnersNext: slices.Clone(cs.LearnersNext), AutoLeave: clone(cs.AutoLeave)}
			}
		}
	}
	return c
}

// copyEntry copies an entry in two allocations.
func copyEntry(e *pb.Entry) *pb.Entry {
	var v struct {
		term, index uint64
		typ         pb.EntryType
		c           pb.Entry
	}
	box := &v
	c := &box.c
	c.Data = e.Data
	if e.Term != nil {
		box.term = *e.Term
		c.Term = &box.term
	}
	if e.Index != nil {
		box.index = *e.Index
		c.Index = &box.index
	}
	if e.Type != nil {
		box.typ = *e.Type
		c.Type = &box.typ
	}
	return c
}

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
