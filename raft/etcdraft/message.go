package etcdraft

import (
	"fmt"
	"strconv"
	"strings"

	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"
)

// Msg carries one etcd raftpb.Message over the simulated network. The
// message travels as its deterministic protobuf encoding (Raw), so a trace
// holds exactly what etcd sent; the other fields repeat the key values for
// Describe and for readers of the JSON trace. A Msg is immutable once sent:
// every delivery decodes a fresh raftpb.Message from Raw, so etcd never
// shares a message (or its entries) with another delivery or node.
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

// wrap encodes an outgoing etcd message.
func wrap(m *pb.Message) *Msg {
	raw, err := marshalOpts.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("etcdraft: encode %v: %v", m.GetType(), err))
	}
	return &Msg{
		Type: m.GetType().String(), Term: m.GetTerm(), LogTerm: m.GetLogTerm(), Index: m.GetIndex(),
		Commit: m.GetCommit(), Reject: m.GetReject(), Entries: len(m.GetEntries()),
		Snapshot: m.GetSnapshot().GetMetadata().GetIndex(), Raw: raw,
	}
}

// unwrap decodes a fresh copy of the etcd message.
func (m *Msg) unwrap() (*pb.Message, error) {
	var out pb.Message
	if err := proto.Unmarshal(m.Raw, &out); err != nil {
		return nil, fmt.Errorf("decode %s: %v", m.Type, err)
	}
	return &out, nil
}
