package protocols

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strconv"

	"github.com/synod-dev/synod/sim"
)

// OpKind is a key-value operation.
type OpKind string

// The key-value operations.
const (
	OpGet    OpKind = "get"
	OpPut    OpKind = "put"
	OpAppend OpKind = "append"
	OpCAS    OpKind = "cas" // compare-and-set: Value replaces Expect
	OpNoop   OpKind = "noop"
)

// Op is one key-value operation.
type Op struct {
	Kind   OpKind `json:"kind"`
	Key    string `json:"key,omitempty"`
	Value  string `json:"value,omitempty"`
	Expect string `json:"expect,omitempty"`
}

func (o Op) String() string {
	switch o.Kind {
	case OpGet:
		return "get " + o.Key
	case OpPut:
		return "put " + o.Key + "=" + o.Value
	case OpAppend:
		return "append " + o.Key + "+=" + o.Value
	case OpCAS:
		return "cas " + o.Key + " " + o.Expect + "->" + o.Value
	}
	return string(o.Kind)
}

// Request is a client's request: operation Op, identified by (Client, Seq)
// so that a protocol can apply a retried request exactly once.
type Request struct {
	Client sim.NodeID `json:"client"`
	Seq    int64      `json:"seq"`
	Op     Op         `json:"op"`
}

// MessageType implements sim.Message.
func (*Request) MessageType() string { return "client.Request" }

// Describe renders "c1#4 put k1=v".
func (r *Request) Describe() string {
	return r.Client.String() + "#" + strconv.FormatInt(r.Seq, 10) + " " + r.Op.String()
}

// Status is the outcome a node reports to a client.
type Status string

// Response statuses.
const (
	// StatusOK: the operation was applied (exactly once); Value etc. hold
	// its result.
	StatusOK Status = "ok"
	// StatusNotLeader: this node will not handle it; try Leader (0: unknown).
	// The operation was not applied through this request.
	StatusNotLeader Status = "not_leader"
	// StatusFail: the operation definitely did not take effect (for example
	// a transaction aborted); the client reports it as failed.
	StatusFail Status = "fail"
)

// Response answers a Request.
type Response struct {
	Client sim.NodeID `json:"client"`
	Seq    int64      `json:"seq"`
	Status Status     `json:"status"`
	Leader sim.NodeID `json:"leader,omitempty"`
	// Value is the value read by get, or the value before cas.
	Value string `json:"value,omitempty"`
	// Found reports whether the key existed (get, cas).
	Found bool `json:"found,omitempty"`
	// Swapped reports whether cas replaced the value.
	Swapped bool   `json:"swapped,omitempty"`
	Err     string `json:"err,omitempty"`
}

// MessageType implements sim.Message.
func (*Response) MessageType() string { return "client.Response" }

// Describe renders "c1#4 ok value=x".
func (r *Response) Describe() string {
	s := r.Client.String() + "#" + strconv.FormatInt(r.Seq, 10) + " " + string(r.Status)
	switch {
	case r.Status == StatusNotLeader && r.Leader != 0:
		s += " leader=" + r.Leader.String()
	case r.Status == StatusOK && (r.Found || r.Value != ""):
		s += " value=" + strconv.Quote(r.Value)
	}
	if r.Swapped {
		s += " swapped"
	}
	return s
}

// KV is the replicated key-value state machine every replication protocol
// applies commands to, in log order. It remembers the last request applied
// for each client and its response, so a retried request is answered from
// that table instead of being applied twice (exactly-once semantics). The
// table is part of the state and of every snapshot.
type KV struct {
	Data map[string]string `json:"data"`
	Last Sessions          `json:"last"`

	keys keyCache // not state: strings of keys written lately
	// resp is the response to a request with no session entry to hold it
	// (a no-op, a client 0, a stale retry): see ApplyShared.
	resp Response
}

// keyCache holds the strings of keys written lately, so that a write of a
// key read in place (ApplyRef) stores the string the store has rather than
// a new one: commands write few keys, over and over. Strings are
// immutable, so the cache changes no answer and a copy of the store may
// share it.
type keyCache [keyCacheSize]string

// keyCacheSize is the number of keys a keyCache holds.
const keyCacheSize = 16

// keyString returns key as a string to keep, from c if it holds it.
func keyString[T string | []byte](c *keyCache, key T) string {
	if len(key) == 0 {
		return ""
	}
	slot := &c[((uint(len(key))*31+uint(key[0]))*31+uint(key[len(key)-1]))%keyCacheSize]
	if *slot != string(key) { // a comparison makes no string
		*slot = string(key)
	}
	return *slot
}

// Applied is the deduplication entry of one client.
type Applied struct {
	Seq      int64    `json:"seq"`
	Response Response `json:"response"`
}

// NewKV returns an empty store.
func NewKV() *KV { return &KV{Data: map[string]string{}} }

// Sessions is the session table: the deduplication entry of each client
// that has had a request applied. Every apply looks up its client's entry,
// and clients are numbered -1, -2, ... (sim.MaxClients at most), so their
// entries sit in a slice by -id-1 and are found without hashing; any other
// id (a node sending requests itself, or one read from a snapshot) is kept
// in a map. It encodes as the map from id to entry it stands for: the
// snapshot format is that of map[sim.NodeID]*Applied (a null entry read
// from a snapshot is taken as none).
type Sessions struct {
	clients []*Applied // by -id-1; nil: none
	others  map[sim.NodeID]*Applied
}

// clientIndex is the slot of id in Sessions.clients (ok false: id is not
// a client's, or beyond sim.MaxClients).
func clientIndex(id sim.NodeID) (int, bool) {
	i := -int(id) - 1
	return i, i >= 0 && i < sim.MaxClients
}

// get returns id's entry (nil: none). The entry may be written in place.
func (s *Sessions) get(id sim.NodeID) *Applied {
	if i, ok := clientIndex(id); ok {
		if i < len(s.clients) {
			return s.clients[i]
		}
		return nil
	}
	return s.others[id]
}

// set makes a id's entry.
func (s *Sessions) set(id sim.NodeID, a *Applied) {
	if i, ok := clientIndex(id); ok {
		if i >= len(s.clients) {
			s.clients = append(s.clients, make([]*Applied, i+1-len(s.clients))...)
		}
		s.clients[i] = a
		return
	}
	if s.others == nil {
		s.others = map[sim.NodeID]*Applied{}
	}
	s.others[id] = a
}

// Len is the number of entries.
func (s *Sessions) Len() int {
	n := len(s.others)
	for _, a := range s.clients {
		if a != nil {
			n++
		}
	}
	return n
}

// asMap is the table as the map it encodes as.
func (s *Sessions) asMap() map[sim.NodeID]*Applied {
	m := make(map[sim.NodeID]*Applied, s.Len())
	for i, a := range s.clients {
		if a != nil {
			m[sim.NodeID(-i-1)] = a
		}
	}
	maps.Copy(m, s.others)
	return m
}

// MarshalJSON encodes the table as a map[sim.NodeID]*Applied, by
// encoding one, so the bytes are encoding/json's (keys in string order).
func (s Sessions) MarshalJSON() ([]byte, error) { return json.Marshal(s.asMap()) }

// UnmarshalJSON reads what MarshalJSON wrote, adding its entries to the
// table as decoding into a map would.
func (s *Sessions) UnmarshalJSON(b []byte) error {
	var m map[sim.NodeID]*Applied
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for id, a := range m { // one slot per id: the order does not matter
		if a != nil {
			s.set(id, a)
		}
	}
	return nil
}

// clone is a deep copy of the table: nothing outside it holds an entry,
// so the entries are copied into one array.
func (s *Sessions) clone() Sessions {
	entries := make([]Applied, 0, s.Len())
	c := Sessions{clients: make([]*Applied, len(s.clients))}
	for i, a := range s.clients {
		if a != nil {
			entries = append(entries, *a)
			c.clients[i] = &entries[len(entries)-1]
		}
	}
	if s.others != nil {
		c.others = make(map[sim.NodeID]*Applied, len(s.others))
		for id, a := range s.others {
			entries = append(entries, *a)
			c.others[id] = &entries[len(entries)-1]
		}
	}
	return c
}

// Duplicate returns the cached response if req was already applied.
func (kv *KV) Duplicate(req *Request) (*Response, bool) {
	r, ok := duplicate(kv.Last.get(req.Client), req.Client, req.Seq)
	if !ok {
		return nil, false
	}
	dup := r // allocated here, not for every request
	return &dup, true
}

// duplicate is Duplicate for request seq of client, given the client's
// session entry a (nil: none).
func duplicate(a *Applied, client sim.NodeID, seq int64) (Response, bool) {
	if a == nil || seq > a.Seq {
		return Response{}, false
	}
	if seq < a.Seq {
		// An older request of a client that has moved on: its answer is
		// gone, and the client no longer waits for it.
		return Response{Client: client, Seq: seq, Status: StatusFail, Err: "stale request"}, true
	}
	return a.Response, true
}

// Apply applies req once and returns its response; a request applied before
// gets its first response again. A no-op changes nothing.
func (kv *KV) Apply(req *Request) *Response {
	r := new(Response)
	kv.ApplyTo(r, req)
	return r
}

// ApplyTo is Apply with the response written to *r: for a caller that
// fills one Response again and again and copies it only when it sends it
// (Raft's KVStateMachine: every node applies each command, only the leader
// answers, so a response allocated per command was mostly garbage).
func (kv *KV) ApplyTo(r *Response, req *Request) {
	*r = *applyOp(kv, req.Client, req.Seq, req.Op.Kind, req.Op.Key, req.Op.Value, req.Op.Expect)
}

// ApplyRef is ApplyTo for a request read in place from its encoding
// (Decoder.RequestRef), for a replica that decodes each command from its
// log on every node: it makes strings only of what the store keeps (the
// key and value a write stores), never of what it only reads (a get's
// key, a cas's expected value, a refused cas's new value). req's bytes
// are not kept.
func (kv *KV) ApplyRef(r *Response, req *RequestRef) {
	*r = *kv.ApplyShared(req)
}

// ApplyShared is ApplyRef returning the response where the store keeps
// it (the client's session entry, or a response of the store's own for a
// request without one), not a copy: for a replica on which every node
// applies each command and only the one that proposed it answers, so
// that the response is copied only to be sent. It is the store's: valid
// until the next apply, never to be changed.
func (kv *KV) ApplyShared(req *RequestRef) *Response {
	return applyOp(kv, req.Client, req.Seq, req.Kind, req.Key, req.Value, req.Expect)
}

// applyOp is ApplyTo, ApplyRef and ApplyShared: the operation's strings
// are either strings or bytes read in place, and string(key) of bytes
// allocates only where the map keeps the key (Go makes no string for a
// look-up or a comparison). It returns the response where the store keeps
// it (ApplyShared).
func applyOp[T string | []byte](kv *KV, client sim.NodeID, seq int64, kind OpKind, key, value, expect T) *Response {
	if kind == OpNoop {
		kv.resp = Response{Client: client, Seq: seq, Status: StatusOK}
		return &kv.resp
	}
	last := kv.Last.get(client) // looked up once, and written in place below
	if last != nil && seq == last.Seq {
		return &last.Response // a retry: its first response (duplicate)
	}
	if dup, ok := duplicate(last, client, seq); ok {
		kv.resp = dup
		return &kv.resp
	}
	// The response is built on the stack and copied out once, to the
	// session entry: each write to a field of a response on the heap
	// would cost a write barrier while the collector runs.
	resp := Response{Client: client, Seq: seq, Status: StatusOK}
	switch kind {
	case OpGet:
		resp.Value, resp.Found = kv.Data[string(key)]
	case OpPut:
		kv.Data[keyString(&kv.keys, key)] = string(value) // the old value is not needed
	case OpAppend:
		kv.Data[keyString(&kv.keys, key)] = kv.Data[string(key)] + string(value)
	case OpCAS:
		resp.Value, resp.Found = kv.Data[string(key)]
		if resp.Value == string(expect) {
			kv.Data[keyString(&kv.keys, key)] = string(value)
			resp.Swapped = true
		}
	default:
		resp.Status, resp.Err = StatusFail, fmt.Sprintf("unknown operation %q", kind)
	}
	switch {
	case client == 0:
		kv.resp = resp
		return &kv.resp
	case last != nil:
		// The client's entry is overwritten in place: an allocation less
		// per applied command (the hot path of every replication
		// protocol). That is sound because nothing outside the store holds
		// an *Applied: Duplicate and Apply hand out copies, ApplyShared's
		// caller copies before the next apply, and Clone copies every
		// entry. The fields are assigned, not a new Applied: that built a
		// temporary and copied it.
		last.Seq, last.Response = seq, resp
		return &last.Response
	default:
		a := &Applied{Seq: seq, Response: resp}
		kv.Last.set(client, a)
		return &a.Response
	}
}

// Encode serializes the store deterministically (for snapshots).
func (kv *KV) Encode() []byte {
	b, err := json.Marshal(kv)
	if err != nil {
		panic(fmt.Sprintf("protocols: encode KV: %v", err))
	}
	return b
}

// DecodeKV restores a store serialized by Encode.
func DecodeKV(b []byte) (*KV, error) {
	kv := NewKV()
	if err := json.Unmarshal(b, kv); err != nil {
		return nil, fmt.Errorf("decode KV snapshot: %v", err)
	}
	if kv.Data == nil {
		kv.Data = map[string]string{}
	}
	return kv, nil
}

// Keys returns the stored keys, sorted.
func (kv *KV) Keys() []string {
	keys := make([]string, 0, len(kv.Data))
	for k := range kv.Data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// NodeIDOf converts an integer read back from storage into a node id.
func NodeIDOf(v int64) sim.NodeID { return sim.NodeID(v) }

// Clone returns a deep copy of the store (for model checkers that copy
// processes).
func (kv *KV) Clone() *KV {
	if kv == nil {
		return nil
	}
	return &KV{Data: maps.Clone(kv.Data), Last: kv.Last.clone()}
}
