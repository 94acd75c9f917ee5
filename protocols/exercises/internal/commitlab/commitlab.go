// Package commitlab is a solution of the 2pc-recovery exercise written on
// the skeleton's messages and options as a student would write it
// (presumed abort, Bernstein, Hadzilacos & Goodman ch. 7), and the
// mistakes students make in it, each switched on by name. The grader's
// corpus test (protocols/exercises/corpus_test.go) grades the correct
// solution and every mistake.
package commitlab

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
	twopclab "github.com/synod-dev/synod/protocols/exercises/skeletons/2pc"
	"github.com/synod-dev/synod/protocols/twopc"
	"github.com/synod-dev/synod/sim"
)

// Bug names a deliberate mistake; "" is the correct solution.
type Bug string

// The mistakes.
const (
	// ForgetVote: a participant does not save a transaction it voted yes
	// on; restarted, it forgets its vote and its part of the transfer.
	ForgetVote Bug = "forget-vote"
	// CommitOnTimeout: a coordinator missing votes decides commit.
	CommitOnTimeout Bug = "commit-on-timeout"
	// DecisionNotLogged: a coordinator sends a commit decision without
	// logging it; restarted, it answers queries with presumed abort.
	DecisionNotLogged Bug = "decision-not-logged"
	// AbortUncertain: a participant that voted yes aborts on its own when
	// the outcome is slow to come.
	AbortUncertain Bug = "abort-uncertain"
	// NoRetransmit: the coordinator sends each decision once, and an
	// uncertain participant never asks for it.
	NoRetransmit Bug = "no-retransmit"
)

// Spec returns the solution with the given mistake ("" for none).
func Spec(bug Bug) *protocols.Spec {
	base := twopclab.Spec()
	name := "commitlab"
	if bug != "" {
		name += "-" + string(bug)
	}
	s := *base
	s.Name = name
	s.Description = "a 2pc-recovery solution (corpus: " + string(bug) + ")"
	s.New = func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
		o := c.Options.(*twopc.Options)
		parts := o.Participants
		if parts == 0 {
			parts = c.Nodes - 1
		}
		if parts < 1 || 1+parts > c.Nodes {
			return nil, fmt.Errorf("options.participants: %d does not fit %d nodes", parts, c.Nodes)
		}
		return func(id sim.NodeID) protocols.Node { return &Node{opts: o, id: id, parts: parts, bug: bug} }, nil
	}
	return &s
}

// Node is the coordinator (n1) or a participant.
type Node struct {
	opts  *twopc.Options
	id    sim.NodeID
	parts int
	bug   Bug

	// Participant ("data": balances; "p/<txn>": a yes vote's ops).
	data     map[string]int64
	locks    map[string]twopc.TxnID
	prepared map[twopc.TxnID][]twopc.Op
	// done are the transactions finished here: a duplicated Prepare of
	// one must not prepare it again.
	done      map[twopc.TxnID]bool
	committed int64
	aborted   int64

	// Coordinator ("inc": incarnation; "d/<txn>": a decision).
	inc  int64
	seq  int64
	txns map[twopc.TxnID]*txn
}

type txn struct {
	client  sim.NodeID
	seq     int64
	parts   []sim.NodeID
	votes   map[sim.NodeID]bool
	acks    map[sim.NodeID]bool
	decided bool
	commit  bool
}

// participantState is a participant's saved balances and finished
// transactions.
type participantState struct {
	Data map[string]int64     `json:"data"`
	Done map[twopc.TxnID]bool `json:"done"`
}

// decision is a coordinator's log record.
type decision struct {
	Commit bool         `json:"commit"`
	Parts  []sim.NodeID `json:"parts"`
}

func txnKey(prefix string, id twopc.TxnID) string { return prefix + strconv.FormatInt(int64(id), 10) }

func txnOf(key, prefix string) twopc.TxnID {
	v, err := strconv.ParseInt(strings.TrimPrefix(key, prefix), 10, 64)
	if err != nil {
		panic(fmt.Sprintf("commitlab: bad key %q", key))
	}
	return twopc.TxnID(v)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("commitlab: %v", err))
	}
	return b
}

func mustUnmarshal(b []byte, v any) {
	if err := json.Unmarshal(b, v); err != nil {
		panic(fmt.Sprintf("commitlab: %v", err))
	}
}

func (n *Node) coordinator() bool { return n.id == 1 }

func (n *Node) owner(key string) sim.NodeID {
	i, err := strconv.Atoi(strings.TrimPrefix(key, "a"))
	if err != nil {
		panic(fmt.Sprintf("commitlab: key %q is not a<i>", key))
	}
	return sim.NodeID(2 + i%n.parts)
}

// Start boots or recovers a node.
func (n *Node) Start(env *sim.Env) {
	n.txns = map[twopc.TxnID]*txn{}
	n.data = map[string]int64{}
	n.locks = map[string]twopc.TxnID{}
	n.prepared = map[twopc.TxnID][]twopc.Op{}
	if n.coordinator() {
		if b, ok := env.Load("inc"); ok {
			mustUnmarshal(b, &n.inc)
		}
		n.inc++
		env.Store("inc", mustJSON(n.inc))
		// Logged decisions are sent again until every participant acks;
		// undecided transactions are forgotten: presumed abort.
		for _, k := range env.Keys("d/") {
			b, _ := env.Load(k)
			var d decision
			mustUnmarshal(b, &d)
			id := txnOf(k, "d/")
			n.txns[id] = &txn{parts: d.Parts, acks: map[sim.NodeID]bool{}, decided: true, commit: d.Commit}
			n.sendDecision(env, id)
		}
		return
	}
	for i := 0; i < n.opts.Accounts; i++ {
		if k := twopc.AccountKey(i); n.owner(k) == n.id {
			n.data[k] = n.opts.InitialBalance
		}
	}
	n.done = map[twopc.TxnID]bool{}
	if b, ok := env.Load("data"); ok {
		var st participantState
		mustUnmarshal(b, &st)
		n.data, n.done = st.Data, st.Done
	}
	for _, k := range env.Keys("p/") {
		b, _ := env.Load(k)
		var ops []twopc.Op
		mustUnmarshal(b, &ops)
		id := txnOf(k, "p/")
		n.prepared[id] = ops
		for _, op := range ops {
			n.locks[op.Key] = id
		}
		n.armQuery(env, id)
	}
}

// Receive dispatches a message.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *twopc.TxnRequest:
		n.onRequest(env, m)
	case *twopc.Prepare:
		n.onPrepare(env, from, m)
	case *twopc.Vote:
		n.onVote(env, from, m)
	case *twopc.Decision:
		n.onDecision(env, from, m)
	case *twopc.Ack:
		n.onAck(env, from, m)
	case *twopc.Query:
		n.onQuery(env, from, m)
	}
}

// Timer dispatches a timer.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	id := twopc.TxnID(t.Arg)
	switch t.Name {
	case "vote-timeout":
		if tx := n.txns[id]; tx != nil && !tx.decided {
			n.decide(env, id, n.bug == CommitOnTimeout)
		}
	case "resend":
		if tx := n.txns[id]; tx != nil && tx.decided {
			n.sendDecision(env, id)
		}
	case "query":
		n.onQueryTimeout(env, id)
	}
}

// --- coordinator ----------------------------------------------------------

func (n *Node) onRequest(env *sim.Env, m *twopc.TxnRequest) {
	if !n.coordinator() {
		return
	}
	n.seq++
	id := twopc.TxnID(n.inc<<32 | n.seq)
	byOwner := map[sim.NodeID][]twopc.Op{}
	for _, op := range m.Ops {
		byOwner[n.owner(op.Key)] = append(byOwner[n.owner(op.Key)], op)
	}
	tx := &txn{client: m.Client, seq: m.Seq, votes: map[sim.NodeID]bool{}, acks: map[sim.NodeID]bool{}}
	for p := range byOwner {
		tx.parts = append(tx.parts, p)
	}
	slices.Sort(tx.parts)
	n.txns[id] = tx
	for _, p := range tx.parts {
		env.Send(p, &twopc.Prepare{Txn: id, Parts: tx.parts, Ops: byOwner[p], Client: m.Client, Seq: m.Seq})
	}
	env.SetTimer(n.opts.VoteTimeout, "vote-timeout", int64(id))
}

func (n *Node) onVote(env *sim.Env, from sim.NodeID, m *twopc.Vote) {
	tx := n.txns[m.Txn]
	if tx == nil || tx.decided {
		return
	}
	if !m.Yes {
		n.decide(env, m.Txn, false)
		return
	}
	tx.votes[from] = true
	if len(tx.votes) == len(tx.parts) {
		n.decide(env, m.Txn, true)
	}
}

// decide logs the outcome, then sends it and answers the client.
func (n *Node) decide(env *sim.Env, id twopc.TxnID, commit bool) {
	tx := n.txns[id]
	tx.decided, tx.commit = true, commit
	if commit && n.bug != DecisionNotLogged {
		// Presumed abort: only commits need a log record.
		env.Store(txnKey("d/", id), mustJSON(decision{Commit: true, Parts: tx.parts}))
	}
	n.sendDecision(env, id)
	if tx.client != 0 {
		env.Send(tx.client, &twopc.TxnReply{Client: tx.client, Seq: tx.seq, Txn: id, Committed: commit})
	}
	if !commit {
		delete(n.txns, id) // an abort needs no acks: unknown means abort
	}
}

func (n *Node) sendDecision(env *sim.Env, id twopc.TxnID) {
	tx := n.txns[id]
	for _, p := range tx.parts {
		if !tx.acks[p] {
			env.Send(p, &twopc.Decision{Txn: id, Commit: tx.commit})
		}
	}
	if tx.commit && n.bug != NoRetransmit {
		env.SetTimer(n.opts.ResendInterval, "resend", int64(id))
	}
}

func (n *Node) onAck(env *sim.Env, from sim.NodeID, m *twopc.Ack) {
	tx := n.txns[m.Txn]
	if tx == nil || !tx.decided {
		return
	}
	tx.acks[from] = true
	if len(tx.acks) == len(tx.parts) {
		env.Delete(txnKey("d/", m.Txn))
		delete(n.txns, m.Txn)
	}
}

func (n *Node) onQuery(env *sim.Env, from sim.NodeID, m *twopc.Query) {
	tx := n.txns[m.Txn]
	switch {
	case tx == nil:
		env.Send(from, &twopc.Decision{Txn: m.Txn, Commit: false}) // presumed abort
	case tx.decided:
		env.Send(from, &twopc.Decision{Txn: m.Txn, Commit: tx.commit})
	}
}

// --- participant ----------------------------------------------------------

func (n *Node) onPrepare(env *sim.Env, from sim.NodeID, m *twopc.Prepare) {
	if _, ok := n.prepared[m.Txn]; ok {
		env.Send(from, &twopc.Vote{Txn: m.Txn, Yes: true})
		return
	}
	if n.done[m.Txn] {
		env.Send(from, &twopc.Vote{Txn: m.Txn, Reason: "finished"})
		return
	}
	after := map[string]int64{}
	for _, op := range m.Ops {
		if t, locked := n.locks[op.Key]; locked && t != m.Txn {
			env.Send(from, &twopc.Vote{Txn: m.Txn, Reason: "locked"})
			return
		}
		if op.Kind != twopc.OpAdd {
			continue
		}
		v, ok := after[op.Key]
		if !ok {
			v = n.data[op.Key]
		}
		if after[op.Key] = v + op.Delta; after[op.Key] < 0 {
			env.Send(from, &twopc.Vote{Txn: m.Txn, Reason: "balance"})
			return
		}
	}
	n.prepared[m.Txn] = m.Ops
	for _, op := range m.Ops {
		n.locks[op.Key] = m.Txn
	}
	if n.bug != ForgetVote {
		env.Store(txnKey("p/", m.Txn), mustJSON(m.Ops))
	}
	env.Send(from, &twopc.Vote{Txn: m.Txn, Yes: true})
	n.armQuery(env, m.Txn)
}

func (n *Node) armQuery(env *sim.Env, id twopc.TxnID) {
	if n.bug == NoRetransmit {
		return
	}
	env.SetTimer(n.opts.QueryTimeout, "query", int64(id))
}

func (n *Node) onDecision(env *sim.Env, from sim.NodeID, m *twopc.Decision) {
	n.finish(env, m.Txn, m.Commit)
	env.Send(from, &twopc.Ack{Txn: m.Txn})
}

// finish applies (commit) or discards (abort) a prepared transaction
// once, saved before the ack leaves.
func (n *Node) finish(env *sim.Env, id twopc.TxnID, commit bool) {
	ops, ok := n.prepared[id]
	if !ok {
		return
	}
	if commit {
		for _, op := range ops {
			if op.Kind == twopc.OpAdd {
				n.data[op.Key] += op.Delta
			}
		}
		n.committed++
	} else {
		n.aborted++
	}
	n.done[id] = true
	env.Store("data", mustJSON(participantState{Data: n.data, Done: n.done}))
	for _, op := range ops {
		delete(n.locks, op.Key)
	}
	delete(n.prepared, id)
	env.Delete(txnKey("p/", id))
}

func (n *Node) onQueryTimeout(env *sim.Env, id twopc.TxnID) {
	if _, ok := n.prepared[id]; !ok {
		return
	}
	if n.bug == AbortUncertain {
		n.finish(env, id, false)
		return
	}
	env.Send(1, &twopc.Query{Txn: id})
	n.armQuery(env, id)
}

// Inspect shows what the grader reads.
func (n *Node) Inspect() sim.View {
	if n.coordinator() {
		return sim.View{Role: "coordinator", Fields: []sim.Field{{Name: "active", Value: strconv.Itoa(len(n.txns))}}}
	}
	keys := make([]string, 0, len(n.data))
	for k := range n.data {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	kv := make([]string, len(keys))
	for i, k := range keys {
		kv[i] = k + "=" + strconv.FormatInt(n.data[k], 10)
	}
	return sim.View{Role: "participant", Fields: []sim.Field{
		{Name: "data", Value: strings.Join(kv, " ")},
		{Name: "uncertain", Value: strconv.Itoa(len(n.prepared))},
		{Name: "committed", Value: strconv.FormatInt(n.committed, 10)},
		{Name: "aborted", Value: strconv.FormatInt(n.aborted, 10)},
	}}
}
