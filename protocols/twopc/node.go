package twopc

import (
	"fmt"

	"github.com/synod-dev/synod/sim"
)

// Node is one node of either protocol. Its role follows from its id: n1
// coordinates (and, in Paxos Commit, leads and accepts), n2..n(1+P) are
// participants, and in Paxos Commit the 2F nodes after them are acceptors.
// Every role keeps an append-only log in stable storage and rebuilds itself
// from it on restart.
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
	switch {
	case t.paxos && id == t.coord:
		n.acc = newAcceptor(id, t, &n.log)
		n.lead = newLeader(t, n.acc)
		n.acc.lead = n.lead
	case t.paxos && t.isAcceptor(id):
		n.acc = newAcceptor(id, t, &n.log)
	case id == t.coord:
		n.coord = newCoordinator(t, &n.log)
	case t.isPart(id):
		n.part = newParticipant(id, t, &n.log)
	}
	return n
}

// Start recovers every role from the log, then lets each act on it.
func (n *Node) Start(env *sim.Env) {
	n.now = env.Now()
	env.SetStorageCanon(canonRecord) // (state.go)
	n.log.replay(env, func(r *record) {
		switch {
		case n.part != nil:
			n.part.recover(r)
		case n.coord != nil:
			n.coord.recover(r)
		case n.acc != nil:
			n.acc.recover(r)
		}
	})
	switch {
	case n.coord != nil:
		n.coord.start(env)
	case n.part != nil:
		n.part.start(env)
	case n.acc != nil:
		n.acc.start(env)
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
		switch {
		case n.coord != nil:
			n.coord.onQuery(env, from, m)
		case n.part != nil:
			n.part.onQuery(env, from, m)
		case n.acc != nil:
			n.acc.onQuery(env, from, m)
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
	default:
		env.Logf("ignoring %s from %v", msg.MessageType(), from)
	}
}

// Timer dispatches a timer to its role.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	n.now = env.Now()
	switch {
	case n.coord != nil:
		n.coord.timer(env, t)
	case n.part != nil:
		n.part.timer(env, t)
	case n.lead != nil && t.Name == "votes":
		n.lead.timer(env, t)
	case n.acc != nil:
		n.acc.timer(env, t)
	}
}

// Inspect shows the node's role and its transactions.
func (n *Node) Inspect() sim.View {
	switch {
	case n.coord != nil:
		return n.coord.view()
	case n.part != nil:
		return n.part.view(n.now)
	case n.acc != nil:
		return n.acc.view()
	}
	return sim.View{Role: "spare"}
}
