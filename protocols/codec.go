package protocols

import (
	"encoding/binary"
	"errors"

	"github.com/synod-dev/synod/sim"
)

// Encoder appends a compact binary encoding; protocols use it to persist
// their state through sim.Env.Store.
type Encoder struct{ B []byte }

// Uvarint appends an unsigned integer.
func (e *Encoder) Uvarint(v uint64) { e.B = binary.AppendUvarint(e.B, v) }

// Varint appends a signed integer.
func (e *Encoder) Varint(v int64) { e.B = binary.AppendVarint(e.B, v) }

// String appends a length-prefixed string.
func (e *Encoder) String(s string) { e.Uvarint(uint64(len(s))); e.B = append(e.B, s...) }

// Bytes appends a length-prefixed byte string.
func (e *Encoder) Bytes(b []byte) { e.Uvarint(uint64(len(b))); e.B = append(e.B, b...) }

// Bool appends a boolean.
func (e *Encoder) Bool(v bool) {
	if v {
		e.B = append(e.B, 1)
	} else {
		e.B = append(e.B, 0)
	}
}

// Request appends a client request.
func (e *Encoder) Request(r *Request) {
	e.Varint(int64(r.Client))
	e.Varint(r.Seq)
	e.String(string(r.Op.Kind))
	e.String(r.Op.Key)
	e.String(r.Op.Value)
	e.String(r.Op.Expect)
}

// Decoder reads what Encoder wrote. The first error sticks and later reads
// return zero values, so callers check Err once at the end.
type Decoder struct {
	B   []byte
	Err error
}

var errShort = errors.New("protocols: truncated encoding")

// Uvarint reads an unsigned integer.
func (d *Decoder) Uvarint() uint64 {
	if d.Err != nil {
		return 0
	}
	v, rest, ok := UvarintIn(d.B)
	if !ok {
		d.Err = errShort
		return 0
	}
	d.B = rest
	return v
}

// Varint reads a signed integer.
func (d *Decoder) Varint() int64 {
	if d.Err != nil {
		return 0
	}
	v, rest, ok := varintIn(d.B)
	if !ok {
		d.Err = errShort
		return 0
	}
	d.B = rest
	return v
}

// UvarintIn reads an unsigned integer from the front of b and returns it
// with the rest of b (ok false, b unchanged: truncated or overflowing).
// Most integers a protocol stores are small, so a one-byte integer is
// read without binary.Uvarint's loop; the decoders below work on a local
// slice and write the Decoder once, since every node decodes every
// command it applies. A protocol reading its own stored records on a hot
// path may use it the same way.
func UvarintIn(b []byte) (v uint64, rest []byte, ok bool) {
	if len(b) > 0 && b[0] < 0x80 {
		return uint64(b[0]), b[1:], true
	}
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, b, false
	}
	return v, b[n:], true
}

// varintIn is UvarintIn for a signed integer (binary.Varint's zig-zag
// encoding).
func varintIn(b []byte) (v int64, rest []byte, ok bool) {
	ux, rest, ok := UvarintIn(b)
	v = int64(ux >> 1)
	if ux&1 != 0 {
		v = ^v
	}
	return v, rest, ok
}

// bytesIn reads a length-prefixed byte string in place from the front of
// b: the result aliases b (ok false, b unchanged: truncated).
func bytesIn(b []byte) (s, rest []byte, ok bool) {
	n, rest, ok := UvarintIn(b)
	if !ok || uint64(len(rest)) < n {
		return nil, b, false
	}
	return rest[:n:n], rest[n:], true
}

// String reads a string (one copy of its bytes, none when it is empty).
func (d *Decoder) String() string { return string(d.next()) }

// Bytes reads a byte string (a copy).
func (d *Decoder) Bytes() []byte {
	b := d.next()
	if b == nil {
		return nil
	}
	return append([]byte(nil), b...)
}

// next reads a length-prefixed byte string in place: the result aliases
// d.B, so callers copy it (nil when the encoding is short).
func (d *Decoder) next() []byte {
	if d.Err != nil {
		return nil
	}
	b, rest, ok := bytesIn(d.B)
	if !ok {
		d.Err = errShort
		return nil
	}
	d.B = rest
	return b
}

// opKind reads an operation kind (see opKindOf).
func (d *Decoder) opKind() OpKind { return opKindOf(d.next()) }

// opKindOf is the operation kind named b. The known kinds come back as
// the constants, without a copy: restart recovery decodes one per stored
// entry. Any other name is copied as it is.
func opKindOf(b []byte) OpKind {
	switch OpKind(b) { // a switch on the bytes makes no string
	case OpPut:
		return OpPut
	case OpGet:
		return OpGet
	case OpAppend:
		return OpAppend
	case OpCAS:
		return OpCAS
	case OpNoop:
		return OpNoop
	}
	return OpKind(b)
}

// Bool reads a boolean.
func (d *Decoder) Bool() bool {
	if d.Err != nil {
		return false
	}
	if len(d.B) == 0 {
		d.Err = errShort
		return false
	}
	v := d.B[0] != 0
	d.B = d.B[1:]
	return v
}

// Request reads a client request.
func (d *Decoder) Request() Request {
	var r Request
	r.Client = NodeIDOf(d.Varint())
	r.Seq = d.Varint()
	r.Op.Kind = d.opKind()
	r.Op.Key = d.String()
	r.Op.Value = d.String()
	r.Op.Expect = d.String()
	return r
}

// RequestRef is a client request read in place from its encoding
// (Decoder.RequestRef): the operation's key, value and expected value
// alias the encoded bytes instead of being copied into strings. A replica
// that applies a command from its log (KV.ApplyRef) keeps only part of it,
// and copying the rest on every node for every command was garbage. It is
// valid while the encoded bytes are unchanged.
type RequestRef struct {
	Client             sim.NodeID
	Seq                int64
	Kind               OpKind
	Key, Value, Expect []byte
}

// RequestRef reads a client request in place (see RequestRef). Every node
// reads every command it applies this way, so the fields are read from a
// local slice, which is written back to the Decoder once. As with the
// other reads, a truncated encoding sets Err and leaves the fields from
// the one that failed on zero.
func (d *Decoder) RequestRef() (r RequestRef) {
	if d.Err != nil {
		return r
	}
	b := d.B
	client, b, ok := varintIn(b)
	if !ok {
		return d.short(b, r)
	}
	r.Client = NodeIDOf(client)
	if r.Seq, b, ok = varintIn(b); !ok {
		return d.short(b, r)
	}
	kind, b, ok := bytesIn(b)
	if !ok {
		return d.short(b, r)
	}
	r.Kind = opKindOf(kind)
	if r.Key, b, ok = bytesIn(b); !ok {
		return d.short(b, r)
	}
	if r.Value, b, ok = bytesIn(b); !ok {
		return d.short(b, r)
	}
	if r.Expect, b, ok = bytesIn(b); !ok {
		return d.short(b, r)
	}
	d.B = b
	return r
}

// short records a truncated encoding found at b while reading r.
func (d *Decoder) short(b []byte, r RequestRef) RequestRef {
	d.B, d.Err = b, errShort
	return r
}
