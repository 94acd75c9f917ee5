package etcdraft

import (
	"encoding/binary"
	"math"
	"math/bits"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	pb "go.etcd.io/raft/v3/raftpb"
	"google.golang.org/protobuf/proto"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Entry keys are e/ and the index in 16 hex digits, so that a listing of
// the keys is the log in order.
func TestEntryKeys(t *testing.T) {
	for _, c := range []struct {
		index uint64
		key   string
	}{{1, "e/0000000000000001"}, {26, "e/000000000000001a"}, {1000, "e/00000000000003e8"}, {math.MaxUint64, "e/ffffffffffffffff"}} {
		require.Equal(t, c.key, sim.IndexKey(entryAt(c.index)), "index %d", c.index)
	}
	keys := []string{sim.IndexKey(entryAt(10)), sim.IndexKey(entryAt(9)), sim.IndexKey(entryAt(256)), sim.IndexKey(entryAt(255))}
	slices.Sort(keys)
	require.Equal(t, []string{"e/0000000000000009", "e/000000000000000a", "e/00000000000000ff", "e/0000000000000100"}, keys)
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

// encodeCommand allocates exactly what it writes, once; the stored
// encodings reuse the node's buffer and allocate nothing; each decodes
// back.
func TestEncodersAllocateOnce(t *testing.T) {
	r := &protocols.Request{Client: sim.ClientID(3), Seq: 1 << 20, Op: protocols.Op{Kind: protocols.OpCAS, Key: "k1", Value: "v", Expect: "w"}}
	cmd := encodeCommand(r)
	require.Equal(t, len(cmd), cap(cmd))
	back, err := decodeCommand(cmd)
	require.NoError(t, err)
	require.Equal(t, *r, back)
	e := &pb.Entry{Index: proto.Uint64(7), Term: proto.Uint64(300), Type: pb.EntryNormal.Enum(), Data: cmd}
	b := appendEntry(nil, e)
	got, err := decodeEntry(7, b)
	require.NoError(t, err)
	require.True(t, proto.Equal(e, got), "%v %v", e, got)
	hs := &pb.HardState{Term: proto.Uint64(200), Vote: proto.Uint64(3), Commit: proto.Uint64(1 << 30)}
	h := appendHardState(nil, hs)
	hsBack, err := decodeHardState(h)
	require.NoError(t, err)
	require.True(t, proto.Equal(hs, hsBack), "%v %v", hs, hsBack)
	require.Zero(t, testing.AllocsPerRun(10, func() { b = appendEntry(b[:0], e); h = appendHardState(h[:0], hs) }))
}

// logEnd finds the end of a contiguous log by probing, for every length
// near the powers of two it gallops by, after any snapshot, and counts its
// probes.
func TestLogEnd(t *testing.T) {
	for _, after := range []uint64{0, 1, 37, 1 << 40} {
		for length := uint64(0); length <= 260; length++ {
			probes := 0
			got := logEnd(after, func(i uint64) bool {
				probes++
				require.Greater(t, i, after, "probed at or before the snapshot")
				return i-after <= length
			})
			require.Equal(t, after+length, got, "after %d, %d entries", after, length)
			require.LessOrEqual(t, probes, 2*bits.Len64(length)+2, "after %d, %d entries", after, length)
		}
	}
}

// A decoded entry keeps a copy of its data, never the stored bytes it was
// read from: the store writes a value again in place when its key is
// stored again (a follower's log overwritten by a leader), and etcd keeps
// the entries a restart hands it. One block's entries share arrays for
// their data, each clipped to its own.
func TestDecodedEntriesOwnTheirData(t *testing.T) {
	blk := newEntryBlock(3)
	var stored [][]byte
	var ents []*pb.Entry
	for i, data := range []string{"first", "", "third"} {
		e := &pb.Entry{Index: proto.Uint64(uint64(10 + i)), Term: proto.Uint64(2), Type: pb.EntryNormal.Enum(), Data: []byte(data)}
		if data == "" {
			e.Data = nil
		}
		b := appendEntry(nil, e)
		got, err := blk.decode(e.GetIndex(), b)
		require.NoError(t, err)
		require.True(t, proto.Equal(e, got), "%v %v", e, got)
		require.Equal(t, len(got.Data), cap(got.Data), "entry %d's data is not clipped", e.GetIndex())
		stored, ents = append(stored, b), append(ents, got)
	}
	for _, b := range stored {
		clear(b) // the store writing over the values
	}
	require.Equal(t, "first", string(ents[0].Data))
	require.Nil(t, ents[1].Data)
	require.Equal(t, "third", string(ents[2].Data))
}
