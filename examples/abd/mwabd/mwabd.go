// Package mwabd is a multi-writer atomic register, one per key, written
// as a user of synod would write it: in its own module, on synod's public
// API only (protocols, sim), with its own checker and scenarios. It is
// Attiya, Bar-Noy and Dolev's register ("Sharing memory robustly in
// message-passing systems", 1995) with the multi-writer tags of Lynch and
// Shvartsman ("Robust emulation of shared memory using dynamic quorum-
// acknowledged broadcasts", 1997): a tag is (counter, writer), and the
// writer is the node that coordinated the write.
//
// Every node holds a copy of every key (a cell) and coordinates the gets
// and puts clients send it, in two rounds, each waiting for a majority:
//
//   - collect: ask every node for its cell of the key and keep the one
//     with the highest tag;
//   - propagate: make a majority hold a cell at least that high. A put
//     propagates its value under a new tag (the highest counter seen or
//     issued here, plus one, with this node as writer); a get propagates
//     the cell it collected (the write-back) and then answers with it.
//
// Two things keep a tag naming one value. A node coordinates puts
// concurrently, so it never issues a counter twice: it remembers the
// highest it issued (persisted) and counts past it. The deliberate bug
// `reuse-tag` forgets that, and two concurrent puts at one node write two
// values under one tag; the checker in checker.go catches it.
//
// Clients retry at the same node (protocols.RetrySameNode): each node
// remembers, durably, the last put of each client it coordinated and its
// tag, so a retried put is propagated again under the same tag (one write,
// whatever the number of attempts) instead of being written anew, above
// a later write. A retry at another node could not be recognised there.
package mwabd

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Name is the protocol's name in scenarios and on the command line.
const Name = "mwabd"

// BugReuseTag is the deliberate bug: a node forgets the counters it
// issued, so two concurrent puts it coordinates may share a tag.
const BugReuseTag = "reuse-tag"

// Options are set by a scenario's `options:` and by --option.
type Options struct {
	// Bug names a deliberate bug to switch on ("" for none).
	Bug string `json:"bug,omitempty" yaml:"bug"`
	// RoundExpire is how long a node keeps an operation that has not heard
	// from a majority before it gives up on it (the client gave up by
	// then, or retries it).
	RoundExpire sim.Time `json:"round_expire" yaml:"round_expire"`
}

// roundsMax bounds the operations one node coordinates at once; a request
// beyond it fails before it does anything.
const roundsMax = 1024

//go:embed default.yaml
var defaultScenario []byte

// Spec is the protocol's registration: cli.Main, synodtest and
// tuitest.Open all take it.
func Spec() *protocols.Spec {
	return &protocols.Spec{
		Name:        Name,
		Description: "multi-writer ABD register per key, tags (counter, writer node); example module (option bug: reuse-tag)",
		Options:     func() any { return &Options{RoundExpire: 2 * sim.Second} },
		New: func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
			o := *c.Options.(*Options)
			if o.Bug != "" && o.Bug != BugReuseTag {
				return nil, fmt.Errorf("options.bug: %q is not a bug of %s (the one it has is %q)", o.Bug, Name, BugReuseTag)
			}
			if o.RoundExpire <= 0 {
				return nil, fmt.Errorf("options.round_expire: %v must be positive", o.RoundExpire)
			}
			return func(sim.NodeID) protocols.Node { return &Node{opt: o} }, nil
		},
		Checkers: func(protocols.Cluster) []sim.Checker { return []sim.Checker{NewTagChecker()} },
		Messages: []sim.Message{&Ask{}, &Answer{}},
		Ops:      []protocols.OpKind{protocols.OpGet, protocols.OpPut},
		Mix:      &protocols.Mix{Get: 0.5, Put: 0.5},
		Retry:    protocols.RetrySameNode,
		// Linearizable: the key-value history is checked with porcupine.
		Linearizable: true,
		Scenario:     defaultScenario,
	}
}

// Tag orders the writes of one key: by Counter, then by Writer, the node
// that issued it.
type Tag struct {
	Counter int64      `json:"counter"`
	Writer  sim.NodeID `json:"writer"`
}

// Less orders tags.
func (t Tag) Less(u Tag) bool {
	if t.Counter != u.Counter {
		return t.Counter < u.Counter
	}
	return t.Writer < u.Writer
}

// String renders "3:n2".
func (t Tag) String() string { return strconv.FormatInt(t.Counter, 10) + ":" + t.Writer.String() }

// Cell is one node's copy of a key's register. The zero Cell is a key
// never written: a get of it answers "not found".
type Cell struct {
	Tag     Tag    `json:"tag"`
	Value   string `json:"value,omitempty"`
	Written bool   `json:"written,omitempty"`
}

// String renders `"v"@3:n2`, or `-@0:` for a key never written.
func (c Cell) String() string {
	if !c.Written {
		return "-@" + c.Tag.String()
	}
	return strconv.Quote(c.Value) + "@" + c.Tag.String()
}

// The messages: a coordinator Asks every node, in each step of an
// operation, and each node Answers. Round names the operation at its
// coordinator, so that answers to an operation it has given up on, or to
// one from before a crash, are recognised and dropped; Step tells a late
// answer to the collect step from one to the propagate step.

// Step is the step of an operation an Ask or Answer belongs to.
type Step uint8

const (
	// Collect asks for the node's cell of the key; the Answer holds it.
	Collect Step = iota + 1
	// Propagate asks the node to hold the Ask's cell unless it holds a
	// higher tag; the Answer says it does, durably.
	Propagate
)

func (s Step) String() string {
	switch s {
	case Collect:
		return "collect"
	case Propagate:
		return "propagate"
	}
	return "step(" + strconv.Itoa(int(s)) + ")"
}

// Ask is a coordinator's request to a node: Cell only in Propagate.
type Ask struct {
	Round int64  `json:"round"`
	Step  Step   `json:"step"`
	Key   string `json:"key"`
	Cell  Cell   `json:"cell"`
}

// Answer is a node's reply: its cell of the key in Collect.
type Answer struct {
	Round int64 `json:"round"`
	Step  Step  `json:"step"`
	Cell  Cell  `json:"cell"`
}

// MessageType implements sim.Message.
func (*Ask) MessageType() string { return "mwabd.Ask" }

// MessageType implements sim.Message.
func (*Answer) MessageType() string { return "mwabd.Answer" }

// Describe renders `collect r4294967297 k0` or `propagate r4294967297
// k0="c1.1"@1:n1` for traces and the TUI.
func (m *Ask) Describe() string {
	d := m.Step.String() + " r" + strconv.FormatInt(m.Round, 10) + " " + m.Key
	if m.Step == Propagate {
		d += "=" + m.Cell.String()
	}
	return d
}

// Describe renders `collect r4294967297 "c1.1"@1:n1` or `propagate
// r4294967297`.
func (m *Answer) Describe() string {
	d := m.Step.String() + " r" + strconv.FormatInt(m.Round, 10)
	if m.Step == Collect {
		d += " " + m.Cell.String()
	}
	return d
}

// operation is one get or put this node coordinates.
type operation struct {
	req  protocols.Request
	from sim.NodeID // the client to answer
	step Step
	// acks are the nodes that answered the current step (a duplicated
	// answer counts once).
	acks map[sim.NodeID]bool
	// cell is the highest cell collected, then the cell propagated.
	cell Cell
}

// request names a client's request: a retry has the same one.
type request struct {
	client sim.NodeID
	seq    int64
}

// lastPut is the last put a node coordinated for one client, persisted
// once its tag is chosen, so that a retry propagates the same write.
type lastPut struct {
	Seq  int64  `json:"seq"`
	Key  string `json:"key"`
	Cell Cell   `json:"cell"`
}

// Storage keys.
const (
	cellPrefix = "cell/"  // + key: the node's Cell of the key
	putPrefix  = "put/"   // + client: the client's lastPut here
	issuedKey  = "issued" // the highest counter this node issued
	epochKey   = "epoch"  // one more at every start
)

// Node is one replica and coordinator.
type Node struct {
	opt Options
	// Durable state, reloaded at every start.
	cells  map[string]Cell
	puts   map[sim.NodeID]lastPut
	issued int64
	epoch  int64
	// Volatile state: the operations in flight, by round, and by request.
	ops      map[int64]*operation
	inflight map[request]int64
	next     int64 // rounds issued in this epoch
}

// Start reloads the durable state and begins a new epoch: rounds are
// epoch<<32 | n, so a reply to a round of an earlier life matches none.
func (n *Node) Start(env *sim.Env) {
	n.cells = map[string]Cell{}
	n.puts = map[sim.NodeID]lastPut{}
	n.ops = map[int64]*operation{}
	n.inflight = map[request]int64{}
	n.next = 0
	for _, k := range env.Keys(cellPrefix) {
		var c Cell
		load(env, k, &c)
		n.cells[k[len(cellPrefix):]] = c
	}
	for _, k := range env.Keys(putPrefix) {
		var p lastPut
		load(env, k, &p)
		id, err := strconv.ParseInt(k[len(putPrefix):], 10, 64)
		if err != nil {
			panic(fmt.Sprintf("mwabd: %v: storage key %q names no client: %v", env.ID(), k, err))
		}
		n.puts[sim.NodeID(id)] = p
	}
	load(env, issuedKey, &n.issued)
	load(env, epochKey, &n.epoch)
	n.epoch++
	store(env, epochKey, n.epoch)
}

// Receive serves the replica's side first (Asks), then the coordinator's
// (requests and the Answers to its rounds).
func (n *Node) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	switch m := m.(type) {
	case *Ask:
		n.serve(env, from, m)
	case *protocols.Request:
		n.begin(env, from, m)
	case *Answer:
		op := n.answered(from, m)
		if op == nil {
			return
		}
		if m.Step == Collect {
			if op.cell.Tag.Less(m.Cell.Tag) {
				op.cell = m.Cell
			}
			n.collected(env, m.Round, op)
		} else if len(op.acks) >= majority(env) {
			n.finish(env, m.Round, op)
		}
	default:
		env.Logf("ignoring %T from %v: not a message of %s", m, from, Name)
	}
}

// serve answers a coordinator's Ask.
func (n *Node) serve(env *sim.Env, from sim.NodeID, m *Ask) {
	switch m.Step {
	case Collect:
		env.Send(from, &Answer{Round: m.Round, Step: Collect, Cell: n.cells[m.Key]})
	case Propagate:
		n.adopt(env, m.Key, m.Cell)
		env.Send(from, &Answer{Round: m.Round, Step: Propagate})
	default:
		panic(fmt.Sprintf("mwabd: %v: ask from %v in %v", env.ID(), from, m.Step))
	}
}

// adopt makes the node hold c for key if c's tag is higher than its own,
// durably before it acknowledges.
func (n *Node) adopt(env *sim.Env, key string, c Cell) {
	if !n.cells[key].Tag.Less(c.Tag) {
		return
	}
	n.cells[key] = c
	store(env, cellPrefix+key, c)
}

// begin starts coordinating a client's request, or recognises a retry.
func (n *Node) begin(env *sim.Env, from sim.NodeID, req *protocols.Request) {
	id := request{req.Client, req.Seq}
	if _, busy := n.inflight[id]; busy {
		env.Logf("c%v#%d is in flight here already: its answer will come", -req.Client, req.Seq)
		return
	}
	if len(n.ops) >= roundsMax {
		env.Send(from, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusFail,
			Err: fmt.Sprintf("%v coordinates %d operations (roundsMax)", env.ID(), roundsMax)})
		return
	}
	op := &operation{req: *req, from: from, step: Collect, acks: map[sim.NodeID]bool{}}
	if req.Op.Kind == protocols.OpPut {
		if p, ok := n.puts[req.Client]; ok && p.Seq == req.Seq {
			// A retry of a put whose tag was chosen: the same write again.
			if p.Key != req.Op.Key || p.Cell.Value != req.Op.Value {
				panic(fmt.Sprintf("mwabd: %v: retry %s differs from the put remembered for it (%s=%s)", env.ID(), req.Describe(), p.Key, p.Cell))
			}
			op.step, op.cell = Propagate, p.Cell
			n.send(env, op, n.track(env, id, op))
			return
		} else if ok && p.Seq > req.Seq {
			env.Logf("ignoring %s: c%v's put #%d came after it", req.Describe(), -req.Client, p.Seq)
			return
		}
	}
	n.send(env, op, n.track(env, id, op))
}

// track files op under a new round and sets its expiry.
func (n *Node) track(env *sim.Env, id request, op *operation) int64 {
	n.next++
	round := n.epoch<<32 | n.next
	n.ops[round] = op
	n.inflight[id] = round
	env.SetTimer(n.opt.RoundExpire, "expire", round)
	return round
}

// send asks every node (itself included) for op's current step.
func (n *Node) send(env *sim.Env, op *operation, round int64) {
	ask := Ask{Round: round, Step: op.step, Key: op.req.Op.Key}
	if op.step == Propagate {
		ask.Cell = op.cell
	}
	for _, to := range env.Nodes() {
		m := ask // a message is never shared once sent
		env.Send(to, &m)
	}
}

// answered records an Answer and returns its operation, or nil for an
// answer to a round no longer in that step, or one already counted.
func (n *Node) answered(from sim.NodeID, m *Answer) *operation {
	op := n.ops[m.Round]
	if op == nil || op.step != m.Step || op.acks[from] {
		return nil
	}
	op.acks[from] = true
	return op
}

func majority(env *sim.Env) int { return len(env.Nodes())/2 + 1 }

// collected moves an operation to its propagate step once a majority
// answered: a get writes back what it read, a put writes its value under
// a new tag.
func (n *Node) collected(env *sim.Env, round int64, op *operation) {
	if len(op.acks) < majority(env) {
		return
	}
	if op.req.Op.Kind == protocols.OpPut {
		counter := op.cell.Tag.Counter
		if n.opt.Bug != BugReuseTag {
			counter = max(counter, n.issued)
		}
		tag := Tag{Counter: counter + 1, Writer: env.ID()}
		if !op.cell.Tag.Less(tag) {
			panic(fmt.Sprintf("mwabd: %v: new tag %v is not above the highest collected %v", env.ID(), tag, op.cell.Tag))
		}
		op.cell = Cell{Tag: tag, Value: op.req.Op.Value, Written: true}
		n.issued = max(n.issued, tag.Counter)
		store(env, issuedKey, n.issued)
		p := lastPut{Seq: op.req.Seq, Key: op.req.Op.Key, Cell: op.cell}
		n.puts[op.req.Client] = p
		store(env, putPrefix+strconv.FormatInt(int64(op.req.Client), 10), p)
	}
	op.step = Propagate
	clear(op.acks)
	n.send(env, op, round)
}

// finish answers the client: the write is held by a majority.
func (n *Node) finish(env *sim.Env, round int64, op *operation) {
	resp := &protocols.Response{Client: op.req.Client, Seq: op.req.Seq, Status: protocols.StatusOK}
	if op.req.Op.Kind == protocols.OpGet {
		resp.Value, resp.Found = op.cell.Value, op.cell.Written
	}
	n.forget(round, op)
	env.Send(op.from, resp)
}

func (n *Node) forget(round int64, op *operation) {
	delete(n.ops, round)
	delete(n.inflight, request{op.req.Client, op.req.Seq})
}

// Timer gives up on a round that has not heard from a majority.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	if op := n.ops[t.Arg]; t.Name == "expire" && op != nil {
		env.Logf("giving up on %s: %d of %d answered in %v", op.req.Describe(), len(op.acks), majority(env), n.opt.RoundExpire)
		n.forget(t.Arg, op)
	}
}

// Inspect shows the cells and the operations in flight.
func (n *Node) Inspect() sim.View {
	v := sim.View{Role: "replica"}
	keys := make([]string, 0, len(n.cells))
	for k := range n.cells {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v.Fields = append(v.Fields, sim.Field{Name: k, Value: n.cells[k].String()})
	}
	v.Fields = append(v.Fields, sim.Field{Name: "issued", Value: strconv.FormatInt(n.issued, 10)})
	if len(n.ops) > 0 {
		v.Fields = append(v.Fields, sim.Field{Name: "in flight", Value: strconv.Itoa(len(n.ops))})
	}
	return v
}

// store persists v as JSON under key.
func store(env *sim.Env, key string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("mwabd: %v: encoding %q: %v", env.ID(), key, err))
	}
	env.Store(key, b)
}

// load reads key into v, leaving v as it is when the key is absent.
func load(env *sim.Env, key string, v any) {
	b, ok := env.Load(key)
	if !ok {
		return
	}
	if err := json.Unmarshal(b, v); err != nil {
		panic(fmt.Sprintf("mwabd: %v: corrupt storage under %q: %v", env.ID(), key, err))
	}
}
