package protocols

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// KV.Apply overwrites a client's session entry in place: what it handed
// out before (a response in flight, a clone's table) must not change with
// it.
func TestKVSessionEntryOverwrittenInPlaceSharesNothing(t *testing.T) {
	kv := NewKV()
	r1 := kv.Apply(&Request{Client: -1, Seq: 1, Op: Op{Kind: OpPut, Key: "k", Value: "a"}})
	clone := kv.Clone()
	r2 := kv.Apply(&Request{Client: -1, Seq: 2, Op: Op{Kind: OpGet, Key: "k"}})
	require.Equal(t, Response{Client: -1, Seq: 1, Status: StatusOK}, *r1, "the first response changed")
	require.Equal(t, Response{Client: -1, Seq: 2, Status: StatusOK, Value: "a", Found: true}, *r2)
	dup, ok := clone.Duplicate(&Request{Client: -1, Seq: 1})
	require.True(t, ok, "the clone forgot seq 1")
	require.Equal(t, *r1, *dup, "the clone's session entry changed with the original's")
	dup, ok = kv.Duplicate(&Request{Client: -1, Seq: 2})
	require.True(t, ok)
	require.Equal(t, *r2, *dup)
	dup.Value = "changed by the caller"
	again, _ := kv.Duplicate(&Request{Client: -1, Seq: 2})
	require.Equal(t, "a", again.Value, "a caller's change to a duplicate's response reached the table")
}

// The decoder reads back what the encoder wrote, with known operation
// kinds, other names and empty strings alike.
func TestDecoderReadsRequestsBack(t *testing.T) {
	for _, kind := range []OpKind{OpGet, OpPut, OpAppend, OpCAS, OpNoop, "custom", ""} {
		want := Request{Client: 3, Seq: 7, Op: Op{Kind: kind, Key: "k1", Value: "v", Expect: ""}}
		var e Encoder
		e.Request(&want)
		e.Bytes(nil)
		e.Bytes([]byte("xy"))
		d := Decoder{B: e.B}
		got := d.Request()
		require.NoError(t, d.Err)
		require.Equal(t, want, got)
		require.Nil(t, d.Bytes())
		require.Equal(t, []byte("xy"), d.Bytes())
		require.NoError(t, d.Err)
		require.Empty(t, d.B)
		short := Decoder{B: e.B[:len(e.B)-1]}
		short.Request()
		short.Bytes()
		short.Bytes()
		require.Error(t, short.Err, "a truncated encoding of %q read without error", kind)
	}
}
