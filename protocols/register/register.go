// Package register is a multi-writer atomic register in the style of
// Attiya, Bar-Noy and Dolev (ABD, "Sharing memory robustly in
// message-passing systems", 1995), one register per key, over the
// key-value workload's get and put. It is a test protocol: small enough to
// read in one sitting, and shipped with a deliberate bug for the
// linearizability checker and the shrinker to find.
//
// Every node is a replica of every register and coordinates the requests
// clients send it. An operation has two phases, each waiting for a
// majority:
//
//   - query: ask every replica for its (tag, value) and take the highest;
//   - update: make a majority hold a (tag, value) at least that high.
//
// A put updates with a fresh tag (highest seen + 1, ties broken by the
// client). A get updates with the value it read before it answers: the
// read's write-back. Option `bug: no-write-back` skips that phase, and
// reads stop being linearizable: a read that saw a write on one replica
// returns it, and a later read that asks a majority the write has not
// reached yet returns the older value (a new-old inversion).
//
// Replicas persist their registers before acknowledging an update, so
// crashes lose nothing acknowledged. A client that retried a put (after a
// time-out) at another coordinator could have it applied twice with two
// tags, so the Spec declares retry policy never: a client sends each
// operation once and waits for it until its op_timeout. The network can
// still deliver that one request twice, so a coordinator remembers, per
// client and durably, the last request it started, and ignores copies.
package register

import (
	_ "embed"
	"encoding/binary"
	"fmt"
	"math/bits"
	"slices"
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Options configure the register; scenario files set them under `options:`.
type Options struct {
	// Bug switches on a named, deliberate bug: "no-write-back" makes a get
	// answer after its query phase, without writing the value back to a
	// majority. Empty: correct ABD.
	Bug string `json:"bug,omitempty" yaml:"bug"`
	// OpExpire is how long a coordinator keeps an operation that has not
	// gathered its majority (its messages were lost, or a majority is
	// down) before forgetting it; the client has given up by then.
	OpExpire sim.Time `json:"op_expire" yaml:"op_expire"`
}

// BugNoWriteBack is the Bug where reads skip the write-back phase.
const BugNoWriteBack = "no-write-back"

// inflightMax bounds the operations one coordinator has in flight; a
// request beyond it is refused (the client tries another node).
const inflightMax = 1024

// defaultScenario is what `synod run --protocol register` runs.
//
//go:embed default.yaml
var defaultScenario []byte

func init() {
	protocols.Register(protocols.Spec{
		Name:        "register",
		Description: "ABD atomic register per key, get and put only (test protocol; option bug: no-write-back breaks linearizability)",
		Options:     func() any { return &Options{OpExpire: 2 * sim.Second} },
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := *c.Options.(*Options)
			if o.Bug != "" && o.Bug != BugNoWriteBack {
				return nil, fmt.Errorf("options.bug: %q is not a known bug (the one shipped is %q)", o.Bug, BugNoWriteBack)
			}
			if o.OpExpire <= 0 {
				return nil, fmt.Errorf("options.op_expire: %v must be positive", o.OpExpire)
			}
			return func(sim.NodeID) protocols.Node { return &Node{o: o} }, nil
		},
		Messages: []sim.Message{&Query{}, &QueryReply{}, &Update{}, &UpdateAck{},
			&protocols.Request{}, &protocols.Response{}},
		Linearizable: true,
		// A register serves get and put. A put retried at a second
		// coordinator would be applied again with a newer tag, and could
		// overwrite a later write: clients send each operation once.
		Ops:   []protocols.OpKind{protocols.OpGet, protocols.OpPut},
		Mix:   &protocols.Mix{Get: 0.5, Put: 0.5},
		Retry: protocols.RetryNever,
		// The default scenario's faults on a Raft-sized workload hide
		// the register's bug; its own scenario shows it.
		Scenario: defaultScenario,
	})
}

// Tag orders the writes of a register: a higher TS is a later write, and
// Writer (the client that wrote) breaks ties between concurrent writes.
type Tag struct {
	TS     int64      `json:"ts"`
	Writer sim.NodeID `json:"writer"`
}

// Less orders tags by TS, then Writer.
func (t Tag) Less(u Tag) bool {
	return t.TS < u.TS || t.TS == u.TS && t.Writer < u.Writer
}

func (t Tag) String() string { return strconv.FormatInt(t.TS, 10) + "." + t.Writer.String() }

// Reg is one replica's copy of a register. The zero Reg is a key never
// written (a get of it answers "not found").
type Reg struct {
	Tag   Tag    `json:"tag"`
	Value string `json:"value,omitempty"`
	Found bool   `json:"found,omitempty"`
}

func (r Reg) String() string {
	if !r.Found {
		return "(none)@" + r.Tag.String()
	}
	return strconv.Quote(r.Value) + "@" + r.Tag.String()
}

// Query asks a replica for its copy of Key, for operation Op.
type Query struct {
	Op  int64  `json:"op"`
	Key string `json:"key"`
}

// QueryReply is a replica's copy of the key.
type QueryReply struct {
	Op  int64 `json:"op"`
	Reg Reg   `json:"reg"`
}

// Update asks a replica to hold Reg for Key unless it holds a higher tag.
type Update struct {
	Op  int64  `json:"op"`
	Key string `json:"key"`
	Reg Reg    `json:"reg"`
}

// UpdateAck says the replica holds Op's tag (or a higher one), durably.
type UpdateAck struct {
	Op int64 `json:"op"`
}

// MessageType implements sim.Message.
func (*Query) MessageType() string { return "reg.Query" }

// MessageType implements sim.Message.
func (*QueryReply) MessageType() string { return "reg.QueryReply" }

// MessageType implements sim.Message.
func (*Update) MessageType() string { return "reg.Update" }

// MessageType implements sim.Message.
func (*UpdateAck) MessageType() string { return "reg.UpdateAck" }

// Describe renders "op=3 k0".
func (m *Query) Describe() string { return "op=" + strconv.FormatInt(m.Op, 10) + " " + m.Key }

// Describe renders "op=3 \"c1.2\"@4.c1".
func (m *QueryReply) Describe() string {
	return "op=" + strconv.FormatInt(m.Op, 10) + " " + m.Reg.String()
}

// Describe renders "op=3 k0=\"c1.2\"@4.c1".
func (m *Update) Describe() string {
	return "op=" + strconv.FormatInt(m.Op, 10) + " " + m.Key + "=" + m.Reg.String()
}

// Describe renders "op=3".
func (m *UpdateAck) Describe() string { return "op=" + strconv.FormatInt(m.Op, 10) }

// phase is where a coordinated operation stands.
type phase uint8

const (
	phaseQuery phase = iota + 1
	phaseUpdate
)

// op is an operation this node coordinates.
type op struct {
	req   protocols.Request
	from  sim.NodeID // the client to answer
	phase phase
	// heard has bit i set when node i+1 answered the current phase
	// (duplicated messages count once).
	heard uint64
	// best is the highest copy the query phase heard; the update phase
	// writes it (get) or its successor (put).
	best Reg
}

// Node is one replica and coordinator.
type Node struct {
	o    Options
	regs map[string]Reg // this replica's registers, persisted
	ops  map[int64]*op  // operations coordinated here, by id
	// inc is this node's incarnation (persisted, one more at each start)
	// and next the last operation number given out in it: op ids are
	// inc<<32 | next, so a late reply to an operation from before a crash
	// never matches a new one.
	inc, next int64
	// started is the highest sequence number of each client's requests
	// this node has coordinated, persisted under startedPrefix. Clients
	// send each request once with increasing sequence numbers, so a
	// request at or below it is a copy made by the network: coordinated
	// again, a put would get a second, newer tag and could overwrite a
	// later write (a linearizability violation at duplication 0.5).
	started map[sim.NodeID]int64
}

// regPrefix is the stable-storage prefix of the registers, and
// startedPrefix that of Node.started (the client's number follows it).
const (
	regPrefix     = "reg/"
	startedPrefix = "started/"
)

// Start recovers the registers and starts a new incarnation.
func (n *Node) Start(env *sim.Env) {
	n.regs = map[string]Reg{}
	n.ops = map[int64]*op{}
	for _, k := range env.Keys(regPrefix) {
		b, _ := env.Load(k)
		d := protocols.Decoder{B: b}
		r := decodeReg(&d)
		if d.Err != nil {
			panic(fmt.Sprintf("register: %v on %v: corrupt storage under %q", d.Err, env.ID(), k))
		}
		n.regs[k[len(regPrefix):]] = r
	}
	n.started = map[sim.NodeID]int64{}
	for _, k := range env.Keys(startedPrefix) {
		b, _ := env.Load(k)
		c, errC := strconv.ParseInt(k[len(startedPrefix):], 10, 64)
		seq, errS := strconv.ParseInt(string(b), 10, 64)
		if errC != nil || errS != nil {
			panic(fmt.Sprintf("register: corrupt storage under %q on %v: %q", k, env.ID(), b))
		}
		n.started[sim.NodeID(c)] = seq
	}
	if b, ok := env.Load("inc"); ok {
		n.inc, _ = strconv.ParseInt(string(b), 10, 64)
	}
	n.inc++
	n.next = 0
	env.Store("inc", []byte(strconv.FormatInt(n.inc, 10)))
}

// Receive dispatches by message: replica messages, then coordinator ones.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	switch m := m.(type) {
	case *Query:
		env.Send(from, &QueryReply{Op: m.Op, Reg: n.regs[m.Key]})
	case *Update:
		if n.regs[m.Key].Tag.Less(m.Reg.Tag) {
			n.regs[m.Key] = m.Reg
			var e protocols.Encoder
			encodeReg(&e, m.Reg)
			env.Store(regPrefix+m.Key, e.B)
		}
		env.Send(from, &UpdateAck{Op: m.Op})
	case *protocols.Request:
		n.request(env, from, m)
	case *QueryReply:
		if o := n.heardFrom(env, from, m.Op, phaseQuery); o != nil {
			if o.best.Tag.Less(m.Reg.Tag) {
				o.best = m.Reg
			}
			n.queried(env, m.Op, o)
		}
	case *UpdateAck:
		if o := n.heardFrom(env, from, m.Op, phaseUpdate); o != nil {
			n.updated(env, m.Op, o)
		}
	}
}

// request starts coordinating a client's get or put.
func (n *Node) request(env *sim.Env, from sim.NodeID, req *protocols.Request) {
	fail := func(why string) {
		env.Send(from, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusFail, Err: why})
	}
	switch req.Op.Kind {
	case protocols.OpGet, protocols.OpPut:
	default:
		fail(fmt.Sprintf("the register supports get and put, not %s", req.Op.Kind))
		return
	}
	if req.Seq <= n.started[req.Client] {
		env.Logf("ignoring %s: a copy of a request coordinated here (%v's last is #%d)", req.Describe(), req.Client, n.started[req.Client])
		return
	}
	if len(n.ops) >= inflightMax {
		// Not applied: the client may try another node.
		env.Send(from, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader})
		return
	}
	n.started[req.Client] = req.Seq
	env.Store(startedPrefix+strconv.FormatInt(int64(req.Client), 10), []byte(strconv.FormatInt(req.Seq, 10)))
	n.next++
	id := n.inc<<32 | n.next
	n.ops[id] = &op{req: *req, from: from, phase: phaseQuery}
	env.SetTimer(n.o.OpExpire, "expire", id)
	for _, to := range env.Nodes() {
		env.Send(to, &Query{Op: id, Key: req.Op.Key})
	}
}

// heardFrom counts a reply to operation id's phase ph and returns the
// operation, or nil when the reply is stale (another phase, an operation
// finished or expired, a duplicate).
func (n *Node) heardFrom(env *sim.Env, from sim.NodeID, id int64, ph phase) *op {
	o := n.ops[id]
	if o == nil || o.phase != ph || !from.IsNode() {
		return nil
	}
	bit := uint64(1) << (from - 1)
	if o.heard&bit != 0 {
		return nil
	}
	o.heard |= bit
	return o
}

// quorum is a majority of the nodes.
func quorum(env *sim.Env) int { return len(env.Nodes())/2 + 1 }

// queried moves an operation on once a majority answered its query.
func (n *Node) queried(env *sim.Env, id int64, o *op) {
	if bits.OnesCount64(o.heard) < quorum(env) {
		return
	}
	if o.req.Op.Kind == protocols.OpGet && n.o.Bug == BugNoWriteBack {
		n.answer(env, id, o) // the bug: no write-back
		return
	}
	w := o.best
	if o.req.Op.Kind == protocols.OpPut {
		w = Reg{Tag: Tag{TS: o.best.Tag.TS + 1, Writer: o.req.Client}, Value: o.req.Op.Value, Found: true}
		if !o.best.Tag.Less(w.Tag) {
			panic(fmt.Sprintf("register: put tag %v is not above the highest seen %v on %v", w.Tag, o.best.Tag, env.ID()))
		}
	}
	o.phase, o.heard = phaseUpdate, 0
	for _, to := range env.Nodes() {
		env.Send(to, &Update{Op: id, Key: o.req.Op.Key, Reg: w})
	}
}

// updated answers the client once a majority holds the operation's tag.
func (n *Node) updated(env *sim.Env, id int64, o *op) {
	if bits.OnesCount64(o.heard) >= quorum(env) {
		n.answer(env, id, o)
	}
}

func (n *Node) answer(env *sim.Env, id int64, o *op) {
	resp := &protocols.Response{Client: o.req.Client, Seq: o.req.Seq, Status: protocols.StatusOK}
	if o.req.Op.Kind == protocols.OpGet {
		resp.Value, resp.Found = o.best.Value, o.best.Found
	}
	delete(n.ops, id)
	env.Send(o.from, resp)
}

// Timer forgets an operation that never gathered its majority.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	if t.Name == "expire" {
		if o := n.ops[t.Arg]; o != nil {
			env.Logf("forgetting %s: no majority in %v", o.req.Describe(), n.o.OpExpire)
			delete(n.ops, t.Arg)
		}
	}
}

// Inspect shows the registers and the operations in flight.
func (n *Node) Inspect() sim.View {
	v := sim.View{Role: "replica"}
	for _, k := range n.keys() {
		v.Fields = append(v.Fields, sim.Field{Name: k, Value: n.regs[k].String()})
	}
	if len(n.ops) > 0 {
		v.Fields = append(v.Fields, sim.Field{Name: "in flight", Value: strconv.Itoa(len(n.ops))})
	}
	return v
}

func (n *Node) keys() []string {
	keys := make([]string, 0, len(n.regs))
	for k := range n.regs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// AppendState implements sim.StateAppender: the registers, the
// operations in flight (by id) and the last request started per client,
// which decide everything the node does next. The incarnation is left out: it only keeps ids apart.
func (n *Node) AppendState(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(n.regs)))
	for _, k := range n.keys() {
		e := protocols.Encoder{B: b}
		e.String(k)
		encodeReg(&e, n.regs[k])
		b = e.B
	}
	ids := make([]int64, 0, len(n.ops))
	for id := range n.ops {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b = binary.AppendUvarint(b, uint64(len(ids)))
	for _, id := range ids {
		o := n.ops[id]
		e := protocols.Encoder{B: binary.AppendVarint(b, id&(1<<32-1))}
		e.Request(&o.req)
		e.Varint(int64(o.from))
		e.Uvarint(uint64(o.phase))
		e.Uvarint(o.heard)
		encodeReg(&e, o.best)
		b = e.B
	}
	clients := make([]sim.NodeID, 0, len(n.started))
	for c := range n.started {
		clients = append(clients, c)
	}
	slices.Sort(clients)
	b = binary.AppendUvarint(b, uint64(len(clients)))
	for _, c := range clients {
		b = binary.AppendVarint(binary.AppendVarint(b, int64(c)), n.started[c])
	}
	return binary.AppendVarint(b, n.next)
}

func encodeReg(e *protocols.Encoder, r Reg) {
	e.Varint(r.Tag.TS)
	e.Varint(int64(r.Tag.Writer))
	e.String(r.Value)
	e.Bool(r.Found)
}

func decodeReg(d *protocols.Decoder) Reg {
	return Reg{Tag: Tag{TS: d.Varint(), Writer: sim.NodeID(d.Varint())}, Value: d.String(), Found: d.Bool()}
}
