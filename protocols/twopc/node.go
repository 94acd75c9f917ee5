package twopc

import (
	"fmt"
	"strconv"

	"github.com/synod-dev/synod/sim"
)

// Node is one node of either protocol. Its roles follow from its id: n1
// coordinates (and, in Paxos Commit, leads and accepts), n2..n(1+P) are
// participants, and in Paxos Commit the 2F nodes after them are acceptors.
// With Options.Colocate one node holds several roles (n1 is participant,
// coordinator or leader, and acceptor), which talk by messages to their
// own node. Every role keeps its records in the node's one append-only
// log in stable storage and rebuilds itself from it on restart.
type Node struct {
	id    sim.NodeID
	t     *topology
	log   wal
	coord *coordinator
	part  *participant
	acc   *acceptor
	lead  *leader
	now   sim.Time // local time of the last event, for views
}

func newNode(t *topology, id sim.NodeID) *Node {
	n := &Node{id: id, t: t}
	if t.paxos && t.isAcceptor(id) {
		n.acc = newAcceptor(id, t, &n.log)
		if id == t.coord {
			n.lead = newLeader(t, n.acc)
			n.acc.lead = n.lead
		}
	}
	if !t.paxos && id == t.coord {
		n.coord = newCoordinator(t, &n.log)
	}
	if t.isPart(id) {
		n.part = newParticipant(id, t, &n.log)
	}
	return n
}

// Start recovers every role from the log, each from the records it
// wrote, then lets each act on it.
func (n *Node) Start(env *sim.Env) {
	n.now = env.Now()
	env.SetStorageCanon(canonRecord) // (state.go)
	n.log.replay(env, func(r *record) {
		switch {
		case (r.Kind == recPrepared || r.Kind == recOutcome) && n.part != nil:
			n.part.recover(r)
		case (r.Kind == recDecision || r.Kind == recEnd) && n.coord != nil:
			n.coord.recover(r)
		case (r.Kind == recPromise || r.Kind == recAccept) && n.acc != nil:
			n.acc.recover(r)
		default:
			panic(fmt.Sprintf("%v: log record %d of kind %d belongs to no role of this node", n.id, n.log.n, r.Kind))
		}
	})
	if n.coord != nil {
		n.coord.start(env)
	}
	if n.acc != nil {
		n.acc.start(env)
	}
	if n.part != nil {
		n.part.start(env)
	}
}

// Receive dispatches a message to the role that handles it.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	n.now = env.Now()
	switch m := msg.(type) {
	case *TxnRequest:
		switch {
		case n.coord != nil:
			n.coord.onRequest(env, m)
		case n.lead != nil:
			n.lead.onRequest(env, m)
		default:
			env.Send(m.Client, &TxnReply{Client: m.Client, Seq: m.Seq, Reason: fmt.Sprintf("%v is not the coordinator", n.id)})
		}
	case *Prepare:
		if n.part != nil {
			n.part.onPrepare(env, m)
		}
	case *Vote:
		if n.coord != nil {
			n.coord.onVote(env, from, m)
		}
	case *Ack:
		if n.coord != nil {
			n.coord.onAck(env, from, m)
		}
	case *Decision:
		if n.part != nil {
			o := Aborted
			if m.Commit {
				o = Committed
			}
			n.part.onOutcome(env, m.Txn, o, from)
			if !n.t.paxos && from == n.t.coord {
				env.Send(from, &Ack{Txn: m.Txn})
			}
		}
	case *Query:
		// A co-located node answers as coordinator or acceptor, which
		// can find the outcome, rather than as a participant.
		switch {
		case n.coord != nil:
			n.coord.onQuery(env, from, m)
		case n.acc != nil:
			n.acc.onQuery(env, from, m)
		case n.part != nil:
			n.part.onQuery(env, from, m)
		}
	case *QueryReply:
		if n.part != nil && m.Outcome != Unknown {
			n.part.onOutcome(env, m.Txn, m.Outcome, from)
		}
	case *Phase1a:
		if n.acc != nil {
			n.acc.onPhase1a(env, from, m)
		}
	case *Phase1b:
		if n.acc != nil {
			n.acc.onPhase1b(env, from, m)
		}
	case *Phase2a:
		if n.acc != nil {
			n.acc.onPhase2a(env, from, m)
		}
	case *Phase2b:
		if n.acc != nil {
			n.acc.onPhase2b(env, from, m)
		}
		if n.part != nil && n.t.opts.Faster && m.Ballot == 0 {
			n.part.on2b(env, from, m)
		}
	default:
		env.Logf("ignoring %s from %v", msg.MessageType(), from)
	}
}

// Timer dispatches a timer to its role.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	n.now = env.Now()
	switch {
	case n.part != nil && partTimers[t.Name]:
		n.part.timer(env, t)
	case n.coord != nil:
		n.coord.timer(env, t)
	case n.lead != nil && t.Name == "votes":
		n.lead.timer(env, t)
	case n.acc != nil:
		n.acc.timer(env, t)
	}
}

// partTimers are the names of the participant's timers, which tell them
// from the coordinator's, leader's and acceptor's on a co-located node.
var partTimers = map[string]bool{"work": true, "give-up": true, "query": true}

// TimerName names a timer for a reader (the TUI): every timer of a
// node carries the transaction it is for, "work t1.6", not the raw id
// work(4294967302).
func (n *Node) TimerName(t sim.Timer) string { return t.Name + " " + TxnID(t.Arg).String() }

// TimerName names a client's timer: "timeout" carries the operation's
// sequence number, "next" nothing.
func (c *Client) TimerName(t sim.Timer) string {
	if t.Arg == 0 {
		return t.Name
	}
	return t.Name + " #" + strconv.FormatInt(t.Arg, 10)
}

// Inspect shows the node's roles and its transactions: a co-located
// node's coordinator or acceptor view, with its participant's after it.
func (n *Node) Inspect() sim.View {
	var v sim.View
	switch {
	case n.coord != nil:
		v = n.coord.view()
	case n.acc != nil:
		v = n.acc.view()
	case n.part != nil:
		return n.part.view(n.now)
	default:
		return sim.View{Role: "spare"}
	}
	if n.part != nil {
		pv := n.part.view(n.now)
		v.Role += "+" + pv.Role
		v.Fields = append(v.Fields, pv.Fields...)
		v.Tables = append(v.Tables, pv.Tables...)
	}
	return v
}
