package twopc

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// TxnID names a transaction: the coordinator's incarnation in the high 32
// bits and a counter in the low ones, so that a restarted coordinator never
// reuses the id of a transaction it may have started before its crash.
type TxnID int64

func newTxnID(inc, n int64) TxnID { return TxnID(inc<<32 | n) }

// String renders "t3.17": the 17th transaction of incarnation 3.
func (t TxnID) String() string {
	return "t" + strconv.FormatInt(int64(t)>>32, 10) + "." + strconv.FormatInt(int64(t)&0xffffffff, 10)
}

// Incarnation is the coordinator incarnation that started the transaction.
func (t TxnID) Incarnation() int64 { return int64(t) >> 32 }

// OpKind names a participant operation.
type OpKind string

// The operations a transaction does on a participant's keys.
const (
	// OpAdd adds Delta to an account's balance; the participant votes no if
	// the balance would fall below zero.
	OpAdd OpKind = "add"
	// OpPut sets a key to Value.
	OpPut OpKind = "put"
)

// The client workload's operation kinds, as the run summary records them.
const (
	KindTransfer protocols.OpKind = "transfer"
	KindTxn      protocols.OpKind = "txn"
)

// Op is one operation of a transaction on one key.
type Op struct {
	Kind  OpKind `json:"kind"`
	Key   string `json:"key"`
	Delta int64  `json:"delta,omitempty"`
	Value string `json:"value,omitempty"`
}

func (o Op) String() string {
	if o.Kind == OpAdd {
		return fmt.Sprintf("%s%+d", o.Key, o.Delta)
	}
	return o.Key + "=" + o.Value
}

func opsString(ops []Op) string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = o.String()
	}
	return strings.Join(s, ",")
}

// keyIndex parses the number of a key "a12".
func keyIndex(key string) int {
	n, err := strconv.Atoi(strings.TrimLeft(key, "abcdefghijklmnopqrstuvwxyz"))
	if err != nil || n < 0 {
		panic(fmt.Sprintf("twopc: key %q is not a letter followed by a number", key))
	}
	return n
}

// AccountKey names account i.
func AccountKey(i int) string { return "a" + strconv.Itoa(i) }

// Outcome is what became of a transaction (or of one participant's vote).
type Outcome uint8

// Outcomes.
const (
	Unknown   Outcome = iota // not decided (or not known here)
	Committed                // committed
	Aborted                  // aborted
)

func (o Outcome) String() string {
	switch o {
	case Committed:
		return "commit"
	case Aborted:
		return "abort"
	}
	return "?"
}

// Storage layout: every node keeps an append-only log under "l/%09d" (the
// checkers and Blocking read it incrementally), and the coordinator its
// incarnation under "inc".
const (
	logPrefix = "l/"
	incKey    = "inc"
)

func logKey(i int64) string {
	s := strconv.FormatInt(i, 10)
	return logPrefix + strings.Repeat("0", max(0, 9-len(s))) + s
}

// recKind is the kind of a log record.
type recKind uint8

const (
	// A participant's records.
	recPrepared recKind = iota + 1 // voted yes: ops, locks, participants
	recOutcome                     // committed or aborted (abort may come without prepared)
	// The 2PC coordinator's records.
	recDecision // the decision of a transaction
	recEnd      // every participant acknowledged: the coordinator forgets it
	// A Paxos Commit acceptor's records.
	recPromise // promised a ballot for every instance of a transaction
	recAccept  // accepted values of some instances at a ballot
)

// record is one log record; which fields mean something depends on Kind.
type record struct {
	Kind    recKind
	Txn     TxnID
	Time    sim.Time // local clock when written
	Outcome Outcome
	Coord   sim.NodeID
	Parts   []sim.NodeID
	Ops     []Op
	Client  sim.NodeID
	Seq     int64
	Ballot  int64
	Insts   []instValue // recAccept: instance (participant) and value
}

// instValue is a Paxos Commit instance (named by its participant) with a
// value: Committed stands for "prepared", Aborted for "aborted".
type instValue struct {
	Inst  sim.NodeID `json:"inst"`
	Value Outcome    `json:"value"`
}

func (r *record) encode() []byte {
	var e protocols.Encoder
	e.Uvarint(uint64(r.Kind))
	e.Varint(int64(r.Txn))
	e.Varint(int64(r.Time))
	e.Uvarint(uint64(r.Outcome))
	e.Varint(int64(r.Coord))
	e.Uvarint(uint64(len(r.Parts)))
	for _, p := range r.Parts {
		e.Varint(int64(p))
	}
	e.Uvarint(uint64(len(r.Ops)))
	for _, o := range r.Ops {
		e.String(string(o.Kind))
		e.String(o.Key)
		e.Varint(o.Delta)
		e.String(o.Value)
	}
	e.Varint(int64(r.Client))
	e.Varint(r.Seq)
	e.Varint(r.Ballot)
	e.Uvarint(uint64(len(r.Insts)))
	for _, iv := range r.Insts {
		e.Varint(int64(iv.Inst))
		e.Uvarint(uint64(iv.Value))
	}
	return e.B
}

// listMax bounds the lengths read back from storage.
const listMax = 1 << 16

func decodeRecord(b []byte) (record, error) {
	d := protocols.Decoder{B: b}
	var r record
	r.Kind = recKind(d.Uvarint())
	r.Txn = TxnID(d.Varint())
	r.Time = sim.Time(d.Varint())
	r.Outcome = Outcome(d.Uvarint())
	r.Coord = sim.NodeID(d.Varint())
	n := d.Uvarint()
	if n > listMax {
		return r, fmt.Errorf("record: %d participants", n)
	}
	for i := uint64(0); i < n && d.Err == nil; i++ {
		r.Parts = append(r.Parts, sim.NodeID(d.Varint()))
	}
	n = d.Uvarint()
	if n > listMax {
		return r, fmt.Errorf("record: %d ops", n)
	}
	for i := uint64(0); i < n && d.Err == nil; i++ {
		r.Ops = append(r.Ops, Op{Kind: OpKind(d.String()), Key: d.String(), Delta: d.Varint(), Value: d.String()})
	}
	r.Client = sim.NodeID(d.Varint())
	r.Seq = d.Varint()
	r.Ballot = d.Varint()
	n = d.Uvarint()
	if n > listMax {
		return r, fmt.Errorf("record: %d instances", n)
	}
	for i := uint64(0); i < n && d.Err == nil; i++ {
		r.Insts = append(r.Insts, instValue{Inst: sim.NodeID(d.Varint()), Value: Outcome(d.Uvarint())})
	}
	if d.Err != nil {
		return r, d.Err
	}
	if r.Kind < recPrepared || r.Kind > recAccept {
		return r, fmt.Errorf("record: kind %d is unknown", r.Kind)
	}
	return r, nil
}

// wal is a node's append-only log in stable storage.
type wal struct {
	n int64 // records written
}

// append persists r as the next record.
func (w *wal) append(env *sim.Env, r *record) {
	r.Time = env.Now()
	env.Store(logKey(w.n), r.encode())
	w.n++
}

// replay reads the whole log back after a restart, calling fn on each record.
func (w *wal) replay(env *sim.Env, fn func(r *record)) {
	for w.n = 0; ; w.n++ {
		b, ok := env.Load(logKey(w.n))
		if !ok {
			return
		}
		r, err := decodeRecord(b)
		if err != nil {
			panic(fmt.Sprintf("%v: log record %d: %v", env.ID(), w.n, err))
		}
		fn(&r)
	}
}

// readLog reads record i of a node's storage (checkers, Blocking).
func readLog(st *sim.Storage, i int64) (record, bool) {
	b, ok := st.Get(logKey(i))
	if !ok {
		return record{}, false
	}
	r, err := decodeRecord(b)
	if err != nil {
		panic(fmt.Sprintf("log record %d: %v", i, err))
	}
	return r, true
}

// partsString renders "n2,n3".
func partsString(ps []sim.NodeID) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}
