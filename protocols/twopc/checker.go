package twopc

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// The invariants, one checker each. They all read the nodes' logs in stable
// storage (crashed nodes' included) through one shared tracker, which reads
// each new log record once.
const (
	CheckAtomicity    = "twopc.atomicity"    // never committed at one participant and aborted at another
	CheckVotes        = "twopc.votes"        // commit only if every participant voted yes
	CheckDecision     = "twopc.decision"     // a decision (or a chosen Paxos value) never changes
	CheckDurability   = "twopc.durability"   // a restarted participant has every committed write
	CheckConservation = "twopc.conservation" // bank: the total balance of the committed state never changes
)

// NewCheckers returns the package's checkers for a run of n nodes.
func NewCheckers(o *Options, nodes int, paxos bool) []sim.Checker {
	t, err := newTopology(protocols.Cluster{Nodes: nodes, Options: o}, paxos)
	if err != nil {
		panic(fmt.Sprintf("twopc: checkers for a bad cluster: %v", err))
	}
	tr := &tracker{t: t, last: -1, next: make([]int64, nodes), txns: map[TxnID]*ttxn{},
		data: map[sim.NodeID]map[string]string{}, errs: map[string]error{}}
	names := []string{CheckAtomicity, CheckVotes, CheckDecision, CheckDurability}
	if o.Workload == "bank" {
		names = append(names, CheckConservation)
	}
	out := make([]sim.Checker, len(names))
	for i, n := range names {
		out[i] = &checker{name: n, tr: tr}
	}
	return out
}

// checker is one named invariant over the shared tracker.
type checker struct {
	name string
	tr   *tracker
}

func (c *checker) Name() string { return c.name }

func (c *checker) Check(s *sim.Sim, ev *sim.Event) error {
	c.tr.update(s, ev)
	return c.tr.errs[c.name]
}

// ttxn is what the tracker knows of one transaction.
type ttxn struct {
	parts    []sim.NodeID
	prepared map[sim.NodeID][]Op
	outcome  map[sim.NodeID]Outcome
	decision Outcome
	where    string // who decided, for messages
	// Paxos Commit: accepted (ballot, value) per instance per acceptor,
	// and the value chosen per instance.
	acc    map[sim.NodeID]map[sim.NodeID]ainst
	chosen map[sim.NodeID]Outcome
}

type tracker struct {
	t    *topology
	last int64
	next []int64 // next log record to read, by node
	txns map[TxnID]*ttxn
	data map[sim.NodeID]map[string]string // committed state, by participant
	// Bank conservation: the sum of applied deltas plus the deltas of
	// committed transactions not yet applied at some participant is zero.
	applied int64
	pending int64
	errs    map[string]error
}

func (tr *tracker) txn(id TxnID) *ttxn {
	x := tr.txns[id]
	if x == nil {
		x = &ttxn{prepared: map[sim.NodeID][]Op{}, outcome: map[sim.NodeID]Outcome{}}
		tr.txns[id] = x
	}
	return x
}

func (tr *tracker) fail(name, format string, args ...any) {
	if tr.errs[name] == nil {
		tr.errs[name] = fmt.Errorf(format, args...)
	}
}

// update reads the records written since the last event, once per event.
func (tr *tracker) update(s *sim.Sim, ev *sim.Event) {
	if s.Index() == tr.last {
		return
	}
	tr.last = s.Index()
	clear(tr.errs)
	for i := range tr.next {
		id := sim.NodeID(i + 1)
		st := s.Storage(id)
		for {
			r, ok := readLog(st, tr.next[i])
			if !ok {
				break
			}
			tr.next[i]++
			tr.record(id, &r)
		}
	}
	if tr.applied+tr.pending != 0 {
		tr.fail(CheckConservation, "the committed state holds %+d more than it started with (applied %+d, committed but not yet applied %+d)",
			tr.applied+tr.pending, tr.applied, tr.pending)
	}
	if ev.To > 0 && tr.t.isPart(ev.To) {
		if n, ok := s.Process(ev.To).(*Node); ok && n.part != nil {
			tr.compareData(ev.To, n.part.data)
		}
	}
}

func (tr *tracker) record(id sim.NodeID, r *record) {
	x := tr.txn(r.Txn)
	if len(x.parts) == 0 && len(r.Parts) > 0 {
		x.parts = r.Parts
	}
	switch r.Kind {
	case recPrepared:
		x.prepared[id] = r.Ops
		if x.decision == Committed {
			tr.pending += deltaSum(r.Ops)
		}
	case recOutcome:
		tr.participantOutcome(id, r.Txn, x, r.Outcome)
	case recDecision:
		tr.decide(r.Txn, x, r.Outcome, id.String()+"'s log")
	case recAccept:
		tr.accept(id, r, x)
	}
}

func (tr *tracker) participantOutcome(id sim.NodeID, tid TxnID, x *ttxn, o Outcome) {
	if prev, ok := x.outcome[id]; ok {
		if prev != o {
			tr.fail(CheckDecision, "%v: %v logged %v, then %v", tid, id, prev, o)
		}
		return
	}
	x.outcome[id] = o
	for _, p := range sortedNodes(x.outcome) {
		if po := x.outcome[p]; po != o {
			tr.fail(CheckAtomicity, "%v committed at %v but aborted at %v", tid, pick(o == Committed, id, p), pick(o == Committed, p, id))
		}
	}
	if x.decision != Unknown && x.decision != o {
		tr.fail(CheckAtomicity, "%v decided %v (%s) but %v logged %v", tid, x.decision, x.where, id, o)
	}
	if o != Committed {
		return
	}
	ops, ok := x.prepared[id]
	if !ok {
		tr.fail(CheckVotes, "%v committed at %v, which never voted yes", tid, id)
	}
	// A leg of a transaction already decided was pending: it moves to
	// applied. A commit that is the first sign of the decision adds the
	// other legs to pending.
	d := deltaSum(ops)
	if x.decision == Committed {
		tr.pending -= d
	}
	tr.applied += d
	tr.decide(tid, x, Committed, id.String()+"'s commit")
	m := tr.data[id]
	if m == nil {
		m = map[string]string{}
		tr.data[id] = m
	}
	for _, op := range ops {
		switch op.Kind {
		case OpAdd:
			cur := tr.t.opts.InitialBalance
			if v, ok := m[op.Key]; ok {
				cur = mustInt(v)
			}
			cur += op.Delta
			if cur < 0 {
				tr.fail(CheckConservation, "%v took %s below zero: %d", tid, op.Key, cur)
			}
			m[op.Key] = strconv.FormatInt(cur, 10)
		case OpPut:
			m[op.Key] = op.Value
		}
	}
}

// decide notes a transaction's decision, wherever it was found.
func (tr *tracker) decide(tid TxnID, x *ttxn, o Outcome, where string) {
	if x.decision != Unknown {
		if x.decision != o {
			tr.fail(CheckDecision, "%v decided %v (%s), then %v (%s)", tid, x.decision, x.where, o, where)
		}
		return
	}
	x.decision, x.where = o, where
	for _, p := range sortedNodes(x.outcome) {
		if po := x.outcome[p]; po != o {
			tr.fail(CheckAtomicity, "%v decided %v (%s) but %v logged %v", tid, o, where, p, po)
		}
	}
	if o != Committed {
		return
	}
	for _, p := range x.parts {
		ops, ok := x.prepared[p]
		if !ok {
			tr.fail(CheckVotes, "%v committed (%s) but %v never voted yes", tid, where, p)
			continue
		}
		if _, done := x.outcome[p]; !done {
			tr.pending += deltaSum(ops)
		}
	}
}

// accept follows a Paxos Commit acceptor's accepted values; a value is
// chosen when a majority accepted it at one ballot, and a chosen value
// must never change.
func (tr *tracker) accept(id sim.NodeID, r *record, x *ttxn) {
	if x.acc == nil {
		x.acc = map[sim.NodeID]map[sim.NodeID]ainst{}
		x.chosen = map[sim.NodeID]Outcome{}
	}
	for _, iv := range r.Insts {
		m := x.acc[iv.Inst]
		if m == nil {
			m = map[sim.NodeID]ainst{}
			x.acc[iv.Inst] = m
		}
		m[id] = ainst{ballot: r.Ballot, value: iv.Value}
		n := 0
		for _, a := range m {
			if a.ballot == r.Ballot && a.value == iv.Value {
				n++
			}
		}
		if n < tr.t.majority() {
			continue
		}
		if prev, ok := x.chosen[iv.Inst]; ok && prev != iv.Value {
			tr.fail(CheckDecision, "%v: instance %v chose %s, then %s at ballot %s", r.Txn, iv.Inst, valueString(prev), valueString(iv.Value), ballotString(r.Ballot))
		}
		x.chosen[iv.Inst] = iv.Value
		if iv.Value == Aborted {
			tr.decide(r.Txn, x, Aborted, "acceptors chose "+iv.Inst.String()+":aborted")
		}
	}
	if len(x.parts) == 0 || x.decision != Unknown {
		return
	}
	for _, p := range x.parts {
		if x.chosen[p] != Committed {
			return
		}
	}
	tr.decide(r.Txn, x, Committed, "acceptors chose every vote prepared")
}

// compareData checks a live participant's data against the committed
// state built from its log.
func (tr *tracker) compareData(id sim.NodeID, got map[string]string) {
	want := tr.data[id]
	if len(got) != len(want) {
		tr.fail(CheckDurability, "%v holds %d keys, its committed transactions wrote %d", id, len(got), len(want))
		return
	}
	for k, v := range want {
		if got[k] != v {
			tr.fail(CheckDurability, "%v has %s=%q, committed state has %q", id, k, got[k], v)
			return
		}
	}
}

func deltaSum(ops []Op) int64 {
	var d int64
	for _, op := range ops {
		if op.Kind == OpAdd {
			d += op.Delta
		}
	}
	return d
}

func pick[T any](c bool, a, b T) T {
	if c {
		return a
	}
	return b
}

// sortedNodes returns a map's node ids in order, so that which violation
// is reported first never depends on map iteration order.
func sortedNodes[V any](m map[sim.NodeID]V) []sim.NodeID {
	ids := make([]sim.NodeID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
