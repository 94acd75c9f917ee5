package etcdraft

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Msg carries one etcd raftpb.Message over the simulated network. In a
// trace it appears with the message's deterministic protobuf encoding
// (Raw) beside the key values (msgFields), so a trace holds exactly what
// etcd sent; reading a trace decodes Raw back into the message. In a run
// it holds only the message itself, as etcd sent it: the key values are
// read from it when a trace or a view asks (a Msg is made for every
// message sent, and filling the key values in at every send was the
// largest allocation of the adapter, an eighth of a chaos run's bytes).
// Msg is a value holding one pointer, so that making it a sim.Message
// allocates nothing (a *Msg was one allocation per message sent). Every
// delivery hands etcd a copy of what etcd may change (copyMessage):
// duplicated deliveries and different nodes never see each other's
// changes, as over a real network, without paying for a protobuf encoding
// and decoding per message (that is done only when a trace is written).
// A Msg is immutable once sent.
type Msg struct {
	pm *pb.Message
}

// msgFields is a Msg as a trace holds it.
type msgFields struct {
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
}

// fields returns the message's key values, read from the carried message.
// Raw is left empty.
func (m Msg) fields() msgFields {
	p := m.pm
	if p == nil {
		return msgFields{}
	}
	return msgFields{
		Type: messageTypeName(p.GetType()), Term: p.GetTerm(), LogTerm: p.GetLogTerm(), Index: p.GetIndex(),
		Commit: p.GetCommit(), Reject: p.GetReject(), Entries: len(p.GetEntries()),
		Snapshot: p.GetSnapshot().GetMetadata().GetIndex(),
	}
}

// typeName is the message's type, as etcd names it.
func (m Msg) typeName() string { return messageTypeName(m.pm.GetType()) }

// MarshalJSON encodes the message's trace fields with Raw, the carried
// message's encoding.
func (m Msg) MarshalJSON() ([]byte, error) {
	out := m.fields()
	if m.pm != nil {
		raw, err := marshalOpts.Marshal(m.pm)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %v", out.Type, err)
		}
		out.Raw = raw
	}
	return json.Marshal(&out)
}

// UnmarshalJSON reads a message from a trace: it decodes Raw, and refuses
// key values that are not Raw's (a trace edited by hand), so that what a
// view shows of the message is what a replay would deliver.
func (m *Msg) UnmarshalJSON(b []byte) error {
	var f msgFields
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	pm := new(pb.Message)
	if err := proto.Unmarshal(f.Raw, pm); err != nil {
		return fmt.Errorf("decode %s: %v", f.Type, err)
	}
	got := Msg{pm: pm}.fields()
	f.Raw = nil
	if !reflect.DeepEqual(got, f) {
		return fmt.Errorf("%s: the fields say %+v, but raw is %+v", f.Type, f, got)
	}
	*m = Msg{pm: pm}
	return nil
}

// MessageType implements sim.Message.
func (Msg) MessageType() string { return "etcdraft.Msg" }

// Describe renders "MsgApp term=3 index=12/2 n=3 commit=11".
func (m Msg) Describe() string {
	f := m.fields()
	var b strings.Builder
	b.WriteString(f.Type)
	b.WriteString(" term=")
	b.WriteString(strconv.FormatUint(f.Term, 10))
	if f.Index != 0 || f.LogTerm != 0 {
		b.WriteString(" index=")
		b.WriteString(strconv.FormatUint(f.Index, 10))
		b.WriteString("/")
		b.WriteString(strconv.FormatUint(f.LogTerm, 10))
	}
	if f.Entries > 0 {
		b.WriteString(" n=")
		b.WriteString(strconv.Itoa(f.Entries))
	}
	if f.Commit != 0 {
		b.WriteString(" commit=")
		b.WriteString(strconv.FormatUint(f.Commit, 10))
	}
	if f.Snapshot != 0 {
		b.WriteString(" snapshot=")
		b.WriteString(strconv.FormatUint(f.Snapshot, 10))
	}
	if f.Reject {
		b.WriteString(" reject")
	}
	return b.String()
}

// marshalOpts makes the encoding a function of the message alone.
var marshalOpts = proto.MarshalOptions{Deterministic: true}

// wrap carries an outgoing etcd message. It keeps etcd's own object:
// etcd never touches a message once a Ready has handed it out (an etcd
// server's transport encodes messages concurrently with raft), and the
// entries it points to are log entries, which etcd never changes. The
// entries slice is clipped to its length, so that a node that keeps it as
// its log (unwrap) copies it when it appends.
func wrap(m *pb.Message) Msg {
	m.Entries = slices.Clip(m.Entries)
	return Msg{pm: m}
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

// unwrap returns the etcd message for one delivery: the sent message
// itself when etcd only reads what it steps, and otherwise a copy of what
// etcd may change (changedByStep).
func (m Msg) unwrap() (*pb.Message, error) {
	if m.pm == nil {
		return nil, fmt.Errorf("an empty etcd-raft message")
	}
	if changedByStep(m.pm.GetType()) {
		return copyMessage(m.pm), nil
	}
	return m.pm, nil
}

// changedByStep reports whether etcd may change a message of type t that
// it steps, or what the message points to, during the step or later
// (go.etcd.io/raft v3.7.0, read for this; TestEtcdChangesNoSharedMessage
// holds it over chaos runs with each option):
//   - a follower forwarding a proposal, a read index request or a leader
//     transfer to its leader sets To on the message it got
//     (stepFollower), and send then sets From and Term if unset; a leader
//     replaces a refused configuration change in a proposal's entries
//     (stepLeader). None of these travels in this adapter (followers do
//     not forward proposals, and only a leader asks for a read index),
//     but a copy costs nothing there;
//   - a snapshot is copied too, as insurance: etcd keeps the snapshot of
//     a MsgSnap it restores, and although its MemoryStorage copies what
//     it installs before CreateSnapshot sets fields in place, the copy is
//     rare (one per snapshot sent) and cheap.
//
// Every other message is only read: etcd replaces a field's pointer,
// never writes through it, and never changes an entry ("Entries in
// ms.ents are immutable"). It does keep a message's entries slice as its
// unstable log and appends to it, which wrap makes safe by clipping the
// slice. Those messages go to every delivery as they were sent, shared by
// the nodes and the duplicates that get them, as in etcd's own test
// network (rafttest): copying each (three allocations and one per entry)
// was a tenth of an etcd-raft chaos run.
func changedByStep(t pb.MessageType) bool {
	switch t {
	case pb.MsgProp, pb.MsgReadIndex, pb.MsgTransferLeader, pb.MsgSnap:
		return true
	}
	return false
}

// copyMessage copies what etcd may change of a message (changedByStep)
// and shares the rest:
//   - the message itself is new;
//   - the field values are shared (etcd replaces pointers, never writes
//     through them);
//   - the entries are shared, in a slice clipped to its length (an append
//     copies), except a proposal's, which gets a slice of its own;
//   - the snapshot and its metadata are copied.
//
// Byte strings (entry data, snapshot data, context) are shared: etcd never
// writes into them. Responses are local to a node and never travel.
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

// sharingLog keeps every message sent with a copy of it as it was sent
// (Options.sharing, tests only).
type sharingLog struct {
	msgs []Msg
	sent []*pb.Message
}

// record keeps w and a copy of its message; a nil log keeps nothing.
func (l *sharingLog) record(w Msg) {
	if l == nil {
		return
	}
	l.msgs = append(l.msgs, w)
	l.sent = append(l.sent, proto.Clone(w.pm).(*pb.Message))
}

// changed returns the messages that differ from what was sent.
func (l *sharingLog) changed() []string {
	var out []string
	for i, w := range l.msgs {
		if !proto.Equal(w.pm, l.sent[i]) {
			out = append(out, fmt.Sprintf("%s sent as %v, now %v", w.typeName(), l.sent[i], w.pm))
		}
	}
	return out
}
