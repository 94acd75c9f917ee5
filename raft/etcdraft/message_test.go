package etcdraft

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/synod-dev/synod/sim"
)

func sampleMessages() []*pb.Message {
	return []*pb.Message{
		{Type: pb.MsgApp.Enum(), To: proto.Uint64(2), From: proto.Uint64(1), Term: proto.Uint64(3), LogTerm: proto.Uint64(2),
			Index: proto.Uint64(11), Commit: proto.Uint64(10), Entries: []*pb.Entry{
				{Term: proto.Uint64(3), Index: proto.Uint64(12), Type: pb.EntryNormal.Enum(), Data: []byte("x")},
				{Term: proto.Uint64(3), Index: proto.Uint64(13)},
			}},
		{Type: pb.MsgAppResp.Enum(), To: proto.Uint64(1), From: proto.Uint64(2), Term: proto.Uint64(3), Index: proto.Uint64(9),
			Reject: proto.Bool(true), RejectHint: proto.Uint64(7), LogTerm: proto.Uint64(1)},
		{Type: pb.MsgPreVote.Enum(), To: proto.Uint64(3), From: proto.Uint64(4), Term: proto.Uint64(5), Context: []byte("c")},
		{Type: pb.MsgSnap.Enum(), To: proto.Uint64(5), From: proto.Uint64(1), Term: proto.Uint64(4), Snapshot: newSnapshot(40, 3, []uint64{1, 2, 3, 4, 5}, []byte("{}"))},
		{Type: pb.MsgHeartbeat.Enum(), To: proto.Uint64(2), From: proto.Uint64(1), Term: proto.Uint64(3)},
	}
}

// A delivery gets what etcd sent, or a copy equal to it sharing only what
// etcd never changes (changedByStep); a message read back from a trace
// decodes to the same.
func TestMessageCopyAndTraceRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		t.Run(m.GetType().String(), func(t *testing.T) {
			w := wrap(m)
			got, err := w.unwrap()
			require.NoError(t, err)
			assert.True(t, proto.Equal(m, got), "copy differs:\n%v\n%v", m, got)
			if changedByStep(m.GetType()) {
				assert.NotSame(t, m, got)
			} else {
				assert.Same(t, m, got, "a message etcd only reads is not copied")
			}
			assert.Equal(t, len(got.Entries), cap(got.Entries), "a delivery's entries must be clipped")
			if m.Snapshot != nil {
				assert.NotSame(t, m.Snapshot, got.Snapshot)
				assert.NotSame(t, m.Snapshot.Metadata, got.Snapshot.Metadata)
			}
			enc := sim.Messages.Encode(nil, w)
			back, err := sim.Messages.Decode(enc)
			require.NoError(t, err)
			bm, ok := back.(Msg)
			require.True(t, ok, "decoded as %T", back)
			assert.Equal(t, w.Describe(), bm.Describe())
			dec, err := bm.unwrap()
			require.NoError(t, err)
			assert.True(t, proto.Equal(m, dec), "trace round trip differs:\n%v\n%v", m, dec)
			assert.Same(t, m, w.pm, "encoding for a trace must not change the message")
		})
	}
}

func TestDescribe(t *testing.T) {
	assert.Equal(t, "MsgApp term=3 index=11/2 n=2 commit=10", wrap(sampleMessages()[0]).Describe())
	assert.Equal(t, "MsgAppResp term=3 index=9/1 reject", wrap(sampleMessages()[1]).Describe())
	assert.Equal(t, "MsgSnap term=4 snapshot=40", wrap(sampleMessages()[3]).Describe())
}

// What etcd does to a message it steps stays with that delivery: it
// appends to the entries slice it keeps as its unstable log; a follower
// forwarding a request sets To on it, a MemoryStorage sets the metadata of
// a snapshot it installed, and a leader replaces a refused configuration
// change in a proposal's slice (changedByStep). The sent message, and so
// every other delivery of it, sees none of that.
func TestMessageDeliveriesDoNotShareWhatEtcdChanges(t *testing.T) {
	for _, m := range append(sampleMessages(), &pb.Message{Type: pb.MsgProp.Enum(), To: proto.Uint64(1), From: proto.Uint64(1),
		Entries: []*pb.Entry{{Type: pb.EntryConfChange.Enum(), Data: []byte("cc")}}}) {
		t.Run(m.GetType().String(), func(t *testing.T) {
			if len(m.Entries) > 0 {
				m.Entries = append(make([]*pb.Entry, 0, len(m.Entries)+4), m.Entries...) // room for an append in place
			}
			array := m.Entries[:cap(m.Entries)]
			sent := proto.Clone(m).(*pb.Message)
			w := wrap(m)
			got, err := w.unwrap()
			require.NoError(t, err)
			if changedByStep(got.GetType()) {
				got.To = proto.Uint64(9)
				if got.GetType() == pb.MsgProp {
					got.Entries[0] = &pb.Entry{Type: pb.EntryNormal.Enum()}
				}
				if got.Snapshot != nil {
					got.Snapshot.Metadata.Index = proto.Uint64(99)
				}
			}
			unstable := got.Entries
			_ = append(unstable, &pb.Entry{Data: []byte("appended")})
			for _, e := range array[len(sent.Entries):] {
				assert.Nil(t, e, "an append to a delivery's entries wrote into the sent message's array")
			}
			again, err := w.unwrap()
			require.NoError(t, err)
			assert.True(t, proto.Equal(sent, m), "the sent message changed:\n%v\n%v", sent, m)
			assert.True(t, proto.Equal(sent, again), "the next delivery changed:\n%v\n%v", sent, again)
		})
	}
}

// The table of type names says what protobuf's String says.
func TestMessageTypeNames(t *testing.T) {
	for n := range int32(len(pb.MessageType_name) + 3) {
		assert.Equal(t, pb.MessageType(n).String(), messageTypeName(pb.MessageType(n)), "type %d", n)
	}
}

// A trace's message is read from its raw encoding; key values that are not
// the encoding's (a trace edited by hand) and an encoding that does not
// decode are refused with the reason, so a view never shows one message
// while a replay delivers another.
func TestTraceMessageFieldsMustMatchRaw(t *testing.T) {
	enc := sim.Messages.Encode(nil, wrap(sampleMessages()[0]))
	_, err := sim.Messages.Decode(enc)
	require.NoError(t, err)
	edited := strings.Replace(string(enc), `"term":3`, `"term":4`, 1)
	require.NotEqual(t, string(enc), edited)
	_, err = sim.Messages.Decode([]byte(edited))
	require.ErrorContains(t, err, "MsgApp: the fields say")
	garbled := regexp.MustCompile(`"raw":"[^"]*"`).ReplaceAllString(string(enc), `"raw":"/w=="`) // one byte, 0xff: a truncated field tag
	require.NotEqual(t, string(enc), garbled)
	_, err = sim.Messages.Decode([]byte(garbled))
	require.ErrorContains(t, err, "decode MsgApp")
}

// A message converts to sim.Message without an allocation: one per
// message sent was the adapter's wrap.
func TestWrapDoesNotAllocate(t *testing.T) {
	m := sampleMessages()[0]
	var sink sim.Message
	require.Zero(t, testing.AllocsPerRun(10, func() { sink = wrap(m) }))
	require.NotNil(t, sink)
}
