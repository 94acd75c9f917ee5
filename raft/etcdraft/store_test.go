package etcdraft

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// entryAt names by number the very key entryKey makes, so that the store,
// the trace and the checkers see the same keys as before it.
func TestEntryAtNamesEntryKey(t *testing.T) {
	for _, i := range []uint64{0, 1, 9, 10, 11, 99, 100, 12345, 1 << 32, entryAreaMax - 1, entryAreaMax,
		entryAreaMax + 1, 123*entryAreaMax + 456, math.MaxUint64} {
		require.Equal(t, entryKey(i), sim.IndexKey(entryAt(i)), "index %d", i)
	}
}

// The encoders' room is exact: uvarintLen is binary.AppendUvarint's length.
func TestUvarintLen(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 16383, 16384, 1 << 35, 1<<63 - 1, 1 << 63, ^uint64(0)} {
		if got, want := uvarintLen(v), len(binary.AppendUvarint(nil, v)); got != want {
			t.Errorf("uvarintLen(%d) = %d, want %d", v, got, want)
		}
		if got, want := varintLen(int64(v)), len(binary.AppendVarint(nil, int64(v))); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", int64(v), got, want)
		}
	}
	for _, v := range []int64{-1, -64, -65, -8192, math.MinInt64} {
		if got, want := varintLen(v), len(binary.AppendVarint(nil, v)); got != want {
			t.Errorf("varintLen(%d) = %d, want %d", v, got, want)
		}
	}
}

// Each encoder allocates exactly what it writes, once.
func TestEncodersAllocateOnce(t *testing.T) {
	r := &protocols.Request{Client: sim.ClientID(3), Seq: 1 << 20, Op: protocols.Op{Kind: protocols.OpCAS, Key: "k1", Value: "v", Expect: "w"}}
	cmd := encodeCommand(r)
	require.Equal(t, len(cmd), cap(cmd))
	back, err := decodeCommand(cmd)
	require.NoError(t, err)
	require.Equal(t, *r, back)
	e := &pb.Entry{Index: proto.Uint64(7), Term: proto.Uint64(300), Type: pb.EntryNormal.Enum(), Data: cmd}
	b := encodeEntry(e)
	require.Equal(t, len(b), cap(b))
	got, err := decodeEntry(7, b)
	require.NoError(t, err)
	require.True(t, proto.Equal(e, got), "%v %v", e, got)
	hs := &pb.HardState{Term: proto.Uint64(200), Vote: proto.Uint64(3), Commit: proto.Uint64(1 << 30)}
	h := encodeHardState(hs)
	require.Equal(t, len(h), cap(h))
	require.Equal(t, 1.0, testing.AllocsPerRun(10, func() { encodeEntry(e) }))
}
