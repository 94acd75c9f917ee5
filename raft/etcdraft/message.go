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
// In a run it also holds the message itself, as etcd sent it, and every
// delivery hands etcd a copy of what etcd may change (copyMessage):
// duplicated deliveries and different nodes never see each other's
// changes, as over a real network, without paying for a protobuf encoding
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
		Type: messageTypeName(m.GetType()), Term: m.GetTerm(), LogTerm: m.GetLogTerm(), Index: m.GetIndex(),
		Commit: m.GetCommit(), Reject: m.GetReject(), Entries: len(m.GetEntries()),
		Snapshot: m.GetSnapshot().GetMetadata().GetIndex(), pm: m,
	}
}

// messageTypeNames holds etcd's message type names by number: protobuf's
// String looks the name up through the enum's descriptor, and wrap names
// every message sent.
var messageTypeNames = func() []string {
	var names []string
	for n, name := range pb.MessageType_name {
		for int(n) >= len(names) {
			names = append(names, "")
		}
		names[n] = name
	}
	return names
}()

// messageTypeName is t.String() for the types etcd knows.
func messageTypeName(t pb.MessageType) string {
	if int(t) >= 0 && int(t) < len(messageTypeNames) && messageTypeNames[t] != "" {
		return messageTypeNames[t]
	}
	return t.String()
}

// unwrap returns a copy of the etcd message for one delivery.
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

// copyMessage copies what etcd may change of a raftpb.Message it steps,
// and shares the rest, which etcd treats as immutable (go.etcd.io/raft
// v3.7.0, read for this):
//   - the message itself is new: a follower forwarding a request to its
//     leader sets To on the message it got (stepFollower), and send sets
//     From and Term on a message that lacks them;
//   - the field values are shared: etcd replaces a field's pointer, never
//     writes through it;
//   - the entries are shared, in a slice whose capacity is clipped to its
//     length: etcd keeps a message's slice as its unstable log
//     (unstable.truncateAndAppend) and appends to it, which then copies
//     instead of writing into the sender's array. It never changes an
//     entry (MemoryStorage: "Entries in ms.ents are immutable"), only
//     replaces it; the one slice element it replaces in place is a
//     proposal's refused configuration change (stepLeader), so a MsgProp
//     (which never travels here: followers do not forward proposals) gets
//     a slice of its own;
//   - the snapshot and its metadata are copied: the node that installs it
//     keeps it in its MemoryStorage, whose CreateSnapshot later sets the
//     metadata's fields in place.
//
// Byte strings (entry data, snapshot data, context) are shared: etcd never
// writes into them. One allocation per message, where a copy of every
// field and entry took three and one per entry (a tenth of an etcd-raft
// chaos run). Responses are local to a node and never travel.
func copyMessage(m *pb.Message) *pb.Message {
	c := &pb.Message{Type: m.Type, To: m.To, From: m.From, Term: m.Term, LogTerm: m.LogTerm, Index: m.Index,
		Commit: m.Commit, Vote: m.Vote, Reject: m.Reject, RejectHint: m.RejectHint, Context: m.Context}
	switch {
	case len(m.Entries) == 0:
	case m.GetType() == pb.MsgProp:
		c.Entries = slices.Clone(m.Entries)
	default:
		c.Entries = slices.Clip(m.Entries)
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

func clone[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
