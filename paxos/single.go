package paxos

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Single-decree Paxos, the Synod protocol of "Paxos Made Simple" §2: every
// node plays proposer, acceptor and learner for one value. A client's
// request asks the node to propose that request as the value; once a value
// is chosen, every client asking any node is answered with it.

// SPrepare is phase 1a of the Synod protocol.
type SPrepare struct {
	Ballot Ballot `json:"ballot"`
}

// SPromise is phase 1b: the promise of Ballot, with the acceptor's
// accepted ballot and value if it has one.
type SPromise struct {
	Ballot   Ballot             `json:"ballot"`
	Accepted Ballot             `json:"accepted"`
	Value    *protocols.Request `json:"value,omitempty"` // nil: nothing accepted
}

// SAccept is phase 2a.
type SAccept struct {
	Ballot Ballot            `json:"ballot"`
	Value  protocols.Request `json:"value"`
}

// SAccepted is phase 2b, sent to the proposer, the distinguished learner.
type SAccepted struct {
	Ballot Ballot `json:"ballot"`
}

// SNack refuses Ballot: the acceptor promised Promised.
type SNack struct {
	Ballot   Ballot `json:"ballot"`
	Promised Ballot `json:"promised"`
}

// SDecided tells the other learners the chosen value.
type SDecided struct {
	Value protocols.Request `json:"value"`
}

// MessageType implements sim.Message.
func (*SPrepare) MessageType() string  { return "paxos1.Prepare" }
func (*SPromise) MessageType() string  { return "paxos1.Promise" }
func (*SAccept) MessageType() string   { return "paxos1.Accept" }
func (*SAccepted) MessageType() string { return "paxos1.Accepted" }
func (*SNack) MessageType() string     { return "paxos1.Nack" }
func (*SDecided) MessageType() string  { return "paxos1.Decided" }

// Describe renders the key fields on one line.
func (m *SPrepare) Describe() string { return "bal=" + m.Ballot.String() }
func (m *SPromise) Describe() string {
	if m.Value == nil {
		return "bal=" + m.Ballot.String() + " none"
	}
	return "bal=" + m.Ballot.String() + " acc=" + m.Accepted.String() + " " + cmdString(m.Value)
}
func (m *SAccept) Describe() string {
	return "bal=" + m.Ballot.String() + " " + cmdString(&m.Value)
}
func (m *SAccepted) Describe() string { return "bal=" + m.Ballot.String() }
func (m *SNack) Describe() string {
	return "bal=" + m.Ballot.String() + " promised=" + m.Promised.String()
}
func (m *SDecided) Describe() string { return cmdString(&m.Value) }

var singleMessages = []sim.Message{&SPrepare{}, &SPromise{}, &SAccept{}, &SAccepted{}, &SNack{}, &SDecided{},
	&protocols.Request{}, &protocols.Response{}}

// singleSlot is the slot the Synod protocol's one value is stored under,
// so the checkers read it like a Multi-Paxos slot.
const singleSlot = 0

// Proposer phases.
const (
	phaseIdle = iota
	phase1
	phase2
)

// waiter is a client request waiting for the decision.
type waiter struct {
	client sim.NodeID
	seq    int64
}

// waitersMax bounds the requests a node holds until the decision.
const waitersMax = 1024

// SingleNode plays the three roles of the Synod protocol.
type SingleNode struct {
	cfg *config
	id  sim.NodeID

	// Acceptor.
	promised Ballot
	acc      Ballot
	accVal   protocols.Request
	hasAcc   bool

	// Proposer.
	phase    int
	ballot   Ballot
	maxSeen  Ballot
	own      protocols.Request // the value it proposes unless it must adopt one
	value    protocols.Request // the value of the current ballot
	best     Ballot            // the highest accepted ballot reported in phase 1
	promises voters
	accepts  voters
	retryID  sim.TimerID
	waiters  []waiter

	// Learner.
	decided bool
	chosen  protocols.Request

	enc     protocols.Encoder
	journal journal
	stats   nodeStats
}

func newSingle(cfg *config, id sim.NodeID) *SingleNode { return &SingleNode{cfg: cfg, id: id} }

// Journal implements journaled.
func (n *SingleNode) Journal() *journal { return &n.journal }

// Start recovers the acceptor's promise and accepted value.
func (n *SingleNode) Start(env *sim.Env) {
	if b, ok := env.Load(keyPromised); ok {
		p, err := decodePromised(b)
		if err != nil {
			panic(fmt.Sprintf("%v: %v", n.id, err))
		}
		n.promised = p
	}
	if b, ok := env.Load(accKey(singleSlot)); ok {
		bal, v, err := decodeAccepted(b)
		if err != nil {
			panic(fmt.Sprintf("%v: %v", n.id, err))
		}
		n.acc, n.accVal, n.hasAcc = bal, v, true
	}
	n.maxSeen = n.promised
}

// Receive applies the shared ballot rule, then the role's handler: the
// acceptor answers phase 1a and 2a, the proposer collects phase 1b and 2b,
// the learner takes decisions.
func (n *SingleNode) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *protocols.Request:
		n.onRequest(env, m)
	case *SPrepare:
		n.see(m.Ballot)
		n.onPrepare(env, from, m)
	case *SAccept:
		n.see(m.Ballot)
		n.onAccept(env, from, m)
	case *SPromise:
		if n.phase == phase1 && m.Ballot == n.ballot {
			n.onPromise(env, from, m)
		}
	case *SAccepted:
		if n.phase == phase2 && m.Ballot == n.ballot {
			n.onAccepted(env, from)
		}
	case *SNack:
		n.see(m.Promised)
		if n.phase != phaseIdle && m.Ballot == n.ballot {
			n.retry(env)
		}
	case *SDecided:
		n.learn(env, &m.Value)
	}
}

// see keeps the highest ballot heard of, so the next ballot goes above it.
func (n *SingleNode) see(b Ballot) {
	if n.maxSeen.Less(b) {
		n.maxSeen = b
	}
}

// onRequest answers with the chosen value, or proposes the request.
func (n *SingleNode) onRequest(env *sim.Env, req *protocols.Request) {
	if n.decided {
		env.Send(req.Client, n.answer(req.Client, req.Seq))
		return
	}
	for i := range n.waiters {
		if n.waiters[i].client == req.Client {
			n.waiters[i].seq = req.Seq
			goto propose
		}
	}
	if len(n.waiters) < waitersMax {
		n.waiters = append(n.waiters, waiter{req.Client, req.Seq})
	}
propose:
	// A node that is not a proposer (Options.Proposers) only waits for
	// the decision, which the proposer tells every learner.
	if n.phase == phaseIdle && n.retryID == 0 && n.cfg.proposes(n.id) {
		n.own = *req
		n.startBallot(env)
	}
}

// answer is the response every client gets once a value is chosen: the
// chosen command, and Swapped when it was this client's own request.
func (n *SingleNode) answer(client sim.NodeID, seq int64) *protocols.Response {
	return &protocols.Response{Client: client, Seq: seq, Status: protocols.StatusOK,
		Value: cmdString(&n.chosen), Found: true, Swapped: n.chosen.Client == client && n.chosen.Seq == seq}
}

// startBallot runs phase 1a for a ballot above every ballot seen.
func (n *SingleNode) startBallot(env *sim.Env) {
	if !n.cfg.proposes(n.id) {
		panic(fmt.Sprintf("%v starts a ballot but is not among options.proposers %v", n.id, n.cfg.Proposers))
	}
	n.stats.Elections++
	n.ballot = n.maxSeen.next(n.id)
	n.maxSeen = n.ballot
	n.phase = phase1
	n.promises, n.accepts = 0, 0
	n.best = Ballot{}
	n.value = n.own
	m := &SPrepare{Ballot: n.ballot}
	n.onPrepare(env, n.id, m)
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, m)
		}
	}
	n.retryID = env.SetTimer(n.cfg.PhaseTimeout, "retry", n.ballot.Round)
}

// retry abandons the current ballot and, with backoff, waits a random time
// before the next; without, it starts the next at once.
func (n *SingleNode) retry(env *sim.Env) {
	n.stats.Preempted++
	n.phase = phaseIdle
	if n.retryID != 0 {
		env.CancelTimer(n.retryID)
		n.retryID = 0
	}
	if n.decided {
		return
	}
	if !n.cfg.Backoff {
		n.startBallot(env)
		return
	}
	n.retryID = env.SetTimer(env.Rand().Between(0, n.cfg.BackoffMax), "backoff", 0)
}

// Timer handles phase time-outs and backoff.
func (n *SingleNode) Timer(env *sim.Env, t sim.Timer) {
	if t.ID != n.retryID {
		return
	}
	n.retryID = 0
	switch t.Name {
	case "retry":
		n.retry(env)
	case "backoff":
		if !n.decided {
			n.startBallot(env)
		}
	}
}

// onPrepare is the acceptor's phase 1b: promise, persist, then answer.
func (n *SingleNode) onPrepare(env *sim.Env, from sim.NodeID, m *SPrepare) {
	if m.Ballot.Less(n.promised) {
		n.reply(env, from, &SNack{Ballot: m.Ballot, Promised: n.promised})
		return
	}
	n.promise(env, m.Ballot)
	p := &SPromise{Ballot: m.Ballot, Accepted: n.acc}
	if n.hasAcc {
		v := n.accVal
		p.Value = &v
	}
	n.reply(env, from, p)
}

// reply sends to a peer, or hands the message to this node's own proposer.
func (n *SingleNode) reply(env *sim.Env, to sim.NodeID, m sim.Message) {
	if to == n.id {
		n.Receive(env, n.id, m)
		return
	}
	env.Send(to, m)
}

func (n *SingleNode) promise(env *sim.Env, b Ballot) {
	if b == n.promised {
		return
	}
	n.promised = b
	n.enc.B = n.enc.B[:0]
	encodeBallot(&n.enc, b)
	env.Store(keyPromised, n.enc.B)
}

// onAccept is the acceptor's phase 2b.
func (n *SingleNode) onAccept(env *sim.Env, from sim.NodeID, m *SAccept) {
	below := m.Ballot.Less(n.promised)
	if below && n.cfg.Bug != BugAcceptBelowPromise { // the mistake: the promise is not checked
		n.reply(env, from, &SNack{Ballot: m.Ballot, Promised: n.promised})
		return
	}
	if !below {
		n.promise(env, m.Ballot)
	}
	if !n.hasAcc || n.acc != m.Ballot {
		n.acc, n.accVal, n.hasAcc = m.Ballot, m.Value, true
		n.enc.B = n.enc.B[:0]
		encodeAccepted(&n.enc, m.Ballot, &m.Value)
		env.Store(accKey(singleSlot), n.enc.B)
		n.journal.addAccepted(singleSlot, m.Ballot, &m.Value)
	}
	n.reply(env, from, &SAccepted{Ballot: m.Ballot})
}

// onPromise collects phase 1b; with a quorum the proposer adopts the value
// of the highest accepted ballot reported (P2c), or keeps its own.
func (n *SingleNode) onPromise(env *sim.Env, from sim.NodeID, m *SPromise) {
	// With the deliberate bug the proposer ignores accepted values (P2c
	// broken) and keeps proposing its own.
	// With first-accepted it adopts the first value reported, not the
	// highest ballot's (P2c mis-picked).
	if m.Value != nil && n.cfg.Bug != BugIgnoreAccepted && (n.best.IsZero() || (n.best.Less(m.Accepted) && n.cfg.Bug != BugFirstAccepted)) {
		n.best, n.value = m.Accepted, *m.Value
	}
	n.promises = n.promises.add(from)
	if !n.promises.reached(n.cfg.q1) {
		return
	}
	n.phase = phase2
	m2 := &SAccept{Ballot: n.ballot, Value: n.value}
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, m2)
		}
	}
	n.onAccept(env, n.id, m2)
}

// onAccepted collects phase 2b; a quorum means the value is chosen.
func (n *SingleNode) onAccepted(env *sim.Env, from sim.NodeID) {
	n.accepts = n.accepts.add(from)
	if !n.accepts.reached(n.cfg.q2) {
		return
	}
	n.phase = phaseIdle
	if n.retryID != 0 {
		env.CancelTimer(n.retryID)
		n.retryID = 0
	}
	v := n.value
	d := &SDecided{Value: v}
	for _, to := range env.Nodes() {
		if to != n.id {
			env.Send(to, d)
		}
	}
	n.learn(env, &v)
}

// learn records the chosen value and answers every waiting client.
func (n *SingleNode) learn(env *sim.Env, v *protocols.Request) {
	if n.decided {
		if n.chosen != *v {
			panic(fmt.Sprintf("%v learned %s after %s", n.id, cmdString(v), cmdString(&n.chosen)))
		}
		return
	}
	n.decided, n.chosen = true, *v
	n.journal.add(changeLearned, singleSlot, v)
	if env.Tracing() {
		env.Logf("learned %s", cmdString(v))
	}
	for _, w := range n.waiters {
		env.Send(w.client, n.answer(w.client, w.seq))
	}
	n.waiters = nil
}

// Inspect shows the three roles' state.
func (n *SingleNode) Inspect() sim.View {
	role, roles := "acceptor", "acceptor, learner"
	switch n.phase {
	case phase1:
		role, roles = "proposer", "proposer (phase 1), acceptor, learner"
	case phase2:
		role, roles = "proposer", "proposer (phase 2), acceptor, learner"
	}
	if n.decided {
		role = "learner"
	}
	v := sim.View{Role: role, Term: n.ballot.Round, TermLabel: "ballot", Leader: n.ballot.Node}
	if n.phase == phaseIdle {
		v.Leader = 0
	}
	if n.hasAcc {
		v.Log = []sim.LogLine{{Index: singleSlot, Term: n.acc.Round, Command: "bal=" + n.acc.String() + " " + cmdString(&n.accVal) + chosenMark(n.decided && n.chosen == n.accVal)}}
	}
	chosen := "-"
	if n.decided {
		chosen = cmdString(&n.chosen)
		v.Commit = 1
	}
	v.Fields = []sim.Field{
		{Name: "roles", Value: roles},
		{Name: "ballot", Value: n.ballot.String()},
		{Name: "promised", Value: n.promised.String()},
		{Name: "accepted", Value: n.acc.String()},
		{Name: "chosen", Value: chosen},
		{Name: "waiting", Value: fmt.Sprint(len(n.waiters))},
	}
	return v
}
