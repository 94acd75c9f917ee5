package protocols

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
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

// ApplyRef, which reads a command in place from its encoding, leaves the
// store and answers exactly as ApplyTo does with the decoded request, for
// every operation, retries and stale retries included; the store owns what
// it keeps (the encoding is overwritten afterwards); and a get or a
// refused cas of a key the store has allocates nothing.
func TestApplyRefAppliesAsApplyTo(t *testing.T) {
	reqs := []Request{
		{Client: -1, Seq: 1, Op: Op{Kind: OpPut, Key: "k", Value: "a"}},
		{Client: -2, Seq: 1, Op: Op{Kind: OpAppend, Key: "k", Value: "b"}},
		{Client: -1, Seq: 2, Op: Op{Kind: OpGet, Key: "k"}},
		{Client: -1, Seq: 2, Op: Op{Kind: OpGet, Key: "k"}}, // a retry
		{Client: -2, Seq: 2, Op: Op{Kind: OpCAS, Key: "k", Expect: "x", Value: "c"}},
		{Client: -2, Seq: 3, Op: Op{Kind: OpCAS, Key: "k", Expect: "ab", Value: "c"}},
		{Client: -2, Seq: 1, Op: Op{Kind: OpPut, Key: "k", Value: "stale"}},
		{Client: -3, Seq: 1, Op: Op{Kind: OpGet, Key: "missing"}},
		{Client: -3, Seq: 2, Op: Op{Kind: OpNoop}},
		{Client: -3, Seq: 3, Op: Op{Kind: "frob", Key: "k"}},
		// Keys that share a slot of the store's key cache.
		{Client: -3, Seq: 4, Op: Op{Kind: OpPut, Key: "kA0", Value: "1"}},
		{Client: -3, Seq: 5, Op: Op{Kind: OpPut, Key: "kB0", Value: "2"}},
		{Client: -3, Seq: 6, Op: Op{Kind: OpAppend, Key: "kA0", Value: "3"}},
		{Client: -3, Seq: 7, Op: Op{Kind: OpCAS, Key: "kB0", Expect: "2", Value: "4"}},
		{Client: -3, Seq: 8, Op: Op{Kind: OpGet, Key: "kA0"}},
		{Client: -3, Seq: 9, Op: Op{Kind: OpPut, Key: "", Value: "empty key"}},
	}
	want, got := NewKV(), NewKV()
	for i, req := range reqs {
		var wr, gr Response
		want.ApplyTo(&wr, &req)
		var enc Encoder
		enc.Request(&req)
		d := Decoder{B: enc.B}
		ref := d.RequestRef()
		require.NoError(t, d.Err, "request %d", i)
		got.ApplyRef(&gr, &ref)
		for k := range enc.B {
			enc.B[k] = 0 // the store must have copied what it keeps
		}
		require.Equal(t, wr, gr, "request %d: %s", i, req.Describe())
		require.Equal(t, want, got, "request %d: %s", i, req.Describe())
	}
	get := Request{Client: -1, Seq: 10, Op: Op{Kind: OpGet, Key: "k"}}
	cas := Request{Client: -1, Seq: 11, Op: Op{Kind: OpCAS, Key: "k", Expect: "nope", Value: "v"}}
	for _, req := range []Request{get, cas} {
		var enc Encoder
		enc.Request(&req)
		var r Response
		allocs := testing.AllocsPerRun(10, func() {
			d := Decoder{B: enc.B}
			ref := d.RequestRef()
			ref.Seq = req.Seq + 1000 // past the session entry: applied, not a duplicate
			got.ApplyRef(&r, &ref)
			req.Seq += 1000
		})
		require.Zero(t, allocs, "%s", req.Describe())
	}
	// A put of a key the store has written lately makes one string, the
	// value's: the key's string is the one the store has.
	put := Request{Client: -1, Seq: 1 << 40, Op: Op{Kind: OpPut, Key: "kk", Value: "vv"}}
	var enc Encoder
	enc.Request(&put)
	var r Response
	allocs := testing.AllocsPerRun(10, func() {
		d := Decoder{B: enc.B}
		ref := d.RequestRef()
		ref.Seq = put.Seq
		got.ApplyRef(&r, &ref)
		put.Seq++
	})
	require.Equal(t, 1.0, allocs, "%s", put.Describe())
}

// RequestRef reads what Request reads, in place: the same fields from a
// whole encoding (long integers and strings included), and from every
// truncation of it the same error, with the fields read before the
// truncation and nothing after it.
func TestRequestRefReadsAsRequest(t *testing.T) {
	long := strings.Repeat("v", 200) // a length prefix of two bytes
	want := Request{Client: -1000, Seq: 1 << 40, Op: Op{Kind: OpCAS, Key: "k1", Value: long, Expect: "x"}}
	var e Encoder
	e.Request(&want)
	e.Uvarint(7)
	for end := 0; end <= len(e.B); end++ {
		d, dref := Decoder{B: e.B[:end]}, Decoder{B: e.B[:end]}
		got, ref := d.Request(), dref.RequestRef()
		require.Equal(t, d.Err, dref.Err, "prefix of %d bytes", end)
		require.Equal(t, got, Request{Client: ref.Client, Seq: ref.Seq,
			Op: Op{Kind: ref.Kind, Key: string(ref.Key), Value: string(ref.Value), Expect: string(ref.Expect)}},
			"prefix of %d bytes", end)
		if end == len(e.B) {
			require.NoError(t, dref.Err)
			require.Equal(t, want, got)
			require.Equal(t, uint64(7), dref.Uvarint(), "RequestRef did not leave the decoder after the request")
		}
	}
	sticky := Decoder{B: e.B, Err: errShort}
	require.Equal(t, RequestRef{}, sticky.RequestRef(), "a decoder with an error read on")
}

// kvMapEncoding is the layout of KV when its session table was a
// map[sim.NodeID]*Applied: the snapshot format Encode keeps.
type kvMapEncoding struct {
	Data map[string]string       `json:"data"`
	Last map[sim.NodeID]*Applied `json:"last"`
}

// The session table is a slice for clients' ids and a map for others,
// but a store encodes byte for byte as it did when the table was a map
// (the snapshot format: ids as text in string order, "c10" before "c2"), reads
// back to the same answers, and clones to an independent copy that
// encodes the same. The entries are followed here by a model kept as the
// old map.
func TestKVEncodesSessionsAsTheMap(t *testing.T) {
	kv := NewKV()
	model := kvMapEncoding{Data: map[string]string{}, Last: map[sim.NodeID]*Applied{}}
	rng := rand.New(rand.NewPCG(3, 4))
	ids := []sim.NodeID{-1, -2, -3, -9, -10, -11, -12, -100, -sim.MaxClients, -sim.MaxClients - 1, 0, 2, 7}
	seqs := map[sim.NodeID]int64{}
	kinds := []OpKind{OpGet, OpPut, OpAppend, OpCAS, OpNoop}
	for i := range 400 {
		id := ids[rng.IntN(len(ids))]
		if rng.IntN(4) > 0 {
			seqs[id]++ // else a retry, or a stale one after a crash of the client's memory
		}
		req := Request{Client: id, Seq: seqs[id] - int64(rng.IntN(2)), Op: Op{Kind: kinds[rng.IntN(len(kinds))],
			Key: "k" + strconv.Itoa(rng.IntN(3)), Value: "<v&" + strconv.Itoa(i) + ">\u2028", Expect: "x"}}
		a, known := model.Last[id]
		resp := kv.Apply(&req)
		if req.Op.Kind != OpNoop && id != 0 && (!known || req.Seq > a.Seq) {
			model.Last[id] = &Applied{Seq: req.Seq, Response: *resp}
		}
	}
	model.Data = kv.Data
	want, err := json.Marshal(model)
	require.NoError(t, err)
	require.Equal(t, string(want), string(kv.Encode()))
	require.Equal(t, len(model.Last), kv.Last.Len())
	require.Contains(t, string(want), `"c1":`, "the run gave client c1 no session")
	require.Contains(t, string(want), `"n7":`, "the run gave node n7 no session")

	back, err := DecodeKV(want)
	require.NoError(t, err)
	clone := kv.Clone()
	for _, c := range []*KV{back, clone} {
		require.Equal(t, string(want), string(c.Encode()))
		for id, a := range model.Last {
			got, ok := c.Duplicate(&Request{Client: id, Seq: a.Seq})
			require.True(t, ok, "%v", id)
			require.Equal(t, a.Response, *got, "%v", id)
		}
	}
	clone.Apply(&Request{Client: -1, Seq: 1 << 50, Op: Op{Kind: OpPut, Key: "k0", Value: "clone"}})
	clone.Apply(&Request{Client: 7, Seq: 1 << 50, Op: Op{Kind: OpPut, Key: "k0", Value: "clone"}})
	require.Equal(t, string(want), string(kv.Encode()), "applying to the clone changed the original")

	empty, err := DecodeKV([]byte(`{"data":null,"last":null}`))
	require.NoError(t, err)
	require.Equal(t, `{"data":{},"last":{}}`, string(empty.Encode()))
	_, err = DecodeKV([]byte(`{"data":{},"last":{"x":{}}}`))
	require.Error(t, err, "a session of a client that is not a number")
}

// ApplyShared answers as ApplyTo, without a copy: a client's response is
// its session entry's, so a retry gets the very same response, and the
// next request of that client overwrites it (the caller copies what it
// keeps).
func TestApplySharedAnswersFromTheSession(t *testing.T) {
	ref := func(req Request) *RequestRef {
		var enc Encoder
		enc.Request(&req)
		d := Decoder{B: enc.B}
		r := d.RequestRef()
		require.NoError(t, d.Err)
		return &r
	}
	want, got := NewKV(), NewKV()
	put := Request{Client: -1, Seq: 1, Op: Op{Kind: OpPut, Key: "k", Value: "a"}}
	get := Request{Client: -1, Seq: 2, Op: Op{Kind: OpGet, Key: "k"}}
	noop := Request{Client: -2, Seq: 1, Op: Op{Kind: OpNoop}}
	for _, req := range []Request{put, get, noop} {
		var w Response
		want.ApplyTo(&w, &req)
		require.Equal(t, w, *got.ApplyShared(ref(req)), "%s", req.Describe())
	}
	first := got.ApplyShared(ref(get)) // a retry
	require.Equal(t, Response{Client: -1, Seq: 2, Status: StatusOK, Value: "a", Found: true}, *first)
	require.Same(t, &got.Last.get(-1).Response, first, "the session entry's response, not a copy")
	got.ApplyShared(ref(Request{Client: -1, Seq: 3, Op: Op{Kind: OpGet, Key: "nope"}}))
	require.Equal(t, int64(3), first.Seq, "overwritten by the client's next request")
}
