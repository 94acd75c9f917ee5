package twopc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Paxos Commit (Gray and Lamport, "Consensus on Transaction Commit"): the
// vote of each participant is chosen by its own Paxos instance among 2F+1
// acceptors. A participant proposes its vote at ballot 0 by sending it to
// every acceptor (phase 2a); the leader (n1) learns the chosen votes from
// the acceptors' phase 2b messages and decides commit if every instance
// chose "prepared". No single node's storage holds the decision: it is the
// set of values a majority of acceptors accepted, so any acceptor can find
// it again (phase 1 at a higher ballot, proposing "aborted" for instances
// that chose nothing), which is why the coordinator's crash blocks nobody.

// ainst is an acceptor's state in one instance (one participant's vote).
type ainst struct {
	ballot int64   // ballot of the accepted value
	value  Outcome // Committed: prepared, Aborted: aborted, Unknown: none
}

// atxn is an acceptor's state for one transaction.
type atxn struct {
	id       TxnID
	client   sim.NodeID // the request, to answer when this node finds the outcome
	seq      int64
	parts    []sim.NodeID
	promised int64 // one promise covers every instance of the transaction
	insts    map[sim.NodeID]*ainst
	bundled  bool // the ballot-0 bundle went to the leader
	// held are ballot-0 prepared votes not yet accepted
	// (Options.BundleAccepts): accepted together, in one write, once every
	// participant's is here; dropped when a higher ballot is promised.
	held     []instValue
	decided  Outcome
	seen     int64 // highest ballot heard of, for the next round
	rec      *recovery
	attempts int // recovery attempts, for the backoff
	timer    sim.TimerID
}

// recovery is an acceptor's attempt to lead a transaction to a decision.
type recovery struct {
	ballot   int64
	phase    int
	promises map[sim.NodeID]*Phase1b
	accepts  map[sim.NodeID]bool
	values   []instValue
}

// acceptor is a Paxos Commit acceptor; any acceptor can lead recovery.
type acceptor struct {
	id   sim.NodeID
	t    *topology
	log  *wal
	txns map[TxnID]*atxn
	lead *leader // n1 only
}

func newAcceptor(id sim.NodeID, t *topology, log *wal) *acceptor {
	return &acceptor{id: id, t: t, log: log, txns: map[TxnID]*atxn{}}
}

func (a *acceptor) get(id TxnID, parts []sim.NodeID) *atxn {
	tx := a.txns[id]
	if tx == nil {
		tx = &atxn{id: id, insts: map[sim.NodeID]*ainst{}}
		a.txns[id] = tx
	}
	if len(tx.parts) == 0 && len(parts) > 0 {
		tx.parts = parts
	}
	return tx
}

func (a *acceptor) recover(r *record) {
	tx := a.get(r.Txn, r.Parts)
	tx.noteClient(r.Client, r.Seq)
	switch r.Kind {
	case recPromise:
		tx.promised = max(tx.promised, r.Ballot)
	case recAccept:
		tx.promised = max(tx.promised, r.Ballot)
		for _, iv := range r.Insts {
			tx.insts[iv.Inst] = &ainst{ballot: r.Ballot, value: iv.Value}
		}
	}
	tx.seen = max(tx.seen, tx.promised)
}

func (a *acceptor) start(env *sim.Env) {
	if a.lead != nil {
		a.lead.start(env)
	}
}

// send delivers m to acceptor to: a local call for itself, else the network.
func (a *acceptor) send(env *sim.Env, to sim.NodeID, m sim.Message) {
	if to != a.id {
		env.Send(to, m)
		return
	}
	switch m := m.(type) {
	case *Phase1a:
		a.onPhase1a(env, a.id, m)
	case *Phase1b:
		a.onPhase1b(env, a.id, m)
	case *Phase2a:
		a.onPhase2a(env, a.id, m)
	case *Phase2b:
		a.onPhase2b(env, a.id, m)
	default:
		panic(fmt.Sprintf("acceptor: cannot send %s to itself", m.MessageType()))
	}
}

func (a *acceptor) onPhase1a(env *sim.Env, from sim.NodeID, m *Phase1a) {
	tx := a.get(m.Txn, m.Parts)
	tx.seen = max(tx.seen, m.Ballot)
	if m.Ballot < tx.promised {
		a.send(env, from, &Phase1b{Txn: m.Txn, Ballot: m.Ballot, Promised: tx.promised})
		return
	}
	if m.Ballot > tx.promised {
		tx.promised = m.Ballot
		tx.held = nil // ballot-0 votes held back can no longer be accepted
		a.log.append(env, &record{Kind: recPromise, Txn: m.Txn, Parts: tx.parts, Ballot: m.Ballot})
	}
	reply := &Phase1b{Txn: m.Txn, Ballot: m.Ballot, OK: true, Promised: tx.promised}
	for _, p := range tx.parts {
		if in := tx.insts[p]; in != nil {
			reply.Accepted = append(reply.Accepted, accepted{Inst: p, Ballot: in.ballot, Value: in.value})
		}
	}
	a.send(env, from, reply)
}

func (a *acceptor) onPhase2a(env *sim.Env, from sim.NodeID, m *Phase2a) {
	tx := a.get(m.Txn, m.Parts)
	tx.noteClient(m.Client, m.Seq)
	tx.seen = max(tx.seen, m.Ballot)
	if m.Ballot < tx.promised {
		env.Logf("refusing %v ballot %s: promised %s", m.Txn, ballotString(m.Ballot), ballotString(tx.promised))
		if m.Ballot > 0 {
			a.send(env, from, &Phase1b{Txn: m.Txn, Ballot: m.Ballot, Promised: tx.promised})
		}
		return
	}
	for _, iv := range m.Insts {
		if in := tx.insts[iv.Inst]; in != nil && in.ballot == m.Ballot && in.value != iv.Value {
			// One ballot, one value: a second value is a proposer's bug.
			env.Logf("refusing %v ballot %s: %v already %s, not %s", m.Txn, ballotString(m.Ballot), iv.Inst, valueString(in.value), valueString(iv.Value))
			return
		}
	}
	if m.Ballot == 0 && a.t.opts.BundleAccepts && !hasAbort(m.Insts) {
		a.hold(env, tx, m.Insts)
		return
	}
	a.accept(env, tx, m.Ballot, m.Insts)
	if m.Ballot > 0 {
		a.send(env, from, &Phase2b{Txn: m.Txn, Ballot: m.Ballot, Insts: m.Insts})
		return
	}
	// Ballot 0: an abort vote goes to the leader at once; prepared votes
	// go in one bundle when every instance has one (Gray and Lamport §4).
	if hasAbort(m.Insts) {
		a.tell2b(env, &Phase2b{Txn: m.Txn, Ballot: 0, Insts: m.Insts})
		return
	}
	a.bundle(env, tx)
}

// accept records values accepted at a ballot, in stable storage first.
func (a *acceptor) accept(env *sim.Env, tx *atxn, ballot int64, insts []instValue) {
	tx.promised = ballot
	if ballot > 0 {
		tx.held = nil
	}
	for _, iv := range insts {
		tx.insts[iv.Inst] = &ainst{ballot: ballot, value: iv.Value}
	}
	a.log.append(env, &record{Kind: recAccept, Txn: tx.id, Parts: tx.parts, Ballot: ballot, Insts: insts, Client: tx.client, Seq: tx.seq})
}

// hold keeps ballot-0 prepared votes back until every participant's is
// here, then accepts them in one write and sends the bundle
// (Options.BundleAccepts).
func (a *acceptor) hold(env *sim.Env, tx *atxn, insts []instValue) {
	for _, iv := range insts {
		if in := tx.insts[iv.Inst]; in == nil && !slices.ContainsFunc(tx.held, func(h instValue) bool { return h.Inst == iv.Inst }) {
			tx.held = append(tx.held, iv)
		}
	}
	if len(tx.parts) == 0 || tx.promised > 0 {
		return
	}
	for _, p := range tx.parts {
		if tx.insts[p] == nil && !slices.ContainsFunc(tx.held, func(h instValue) bool { return h.Inst == p }) {
			return
		}
	}
	held := tx.held
	tx.held = nil
	a.accept(env, tx, 0, held)
	a.bundle(env, tx)
}

// bundle sends the ballot-0 phase 2b of every instance in one message once
// each has a prepared vote accepted.
func (a *acceptor) bundle(env *sim.Env, tx *atxn) {
	if tx.bundled || len(tx.parts) == 0 {
		return
	}
	var all []instValue
	for _, p := range tx.parts {
		in := tx.insts[p]
		if in == nil || in.ballot != 0 || in.value != Committed {
			return
		}
		all = append(all, instValue{Inst: p, Value: Committed})
	}
	tx.bundled = true
	a.tell2b(env, &Phase2b{Txn: tx.id, Ballot: 0, Insts: all})
}

// tell2b sends a ballot-0 phase 2b to the leader and, in Faster Paxos
// Commit, to every participant too (each node once).
func (a *acceptor) tell2b(env *sim.Env, m *Phase2b) {
	if !a.t.opts.Faster {
		a.send(env, a.t.coord, m)
		return
	}
	if !a.t.isPart(a.t.coord) {
		a.send(env, a.t.coord, m)
	}
	for _, p := range a.t.parts {
		env.Send(p, m) // to this very node too: its participant must hear it
	}
}

func hasAbort(insts []instValue) bool {
	return slices.ContainsFunc(insts, func(iv instValue) bool { return iv.Value == Aborted })
}

func (a *acceptor) onPhase2b(env *sim.Env, from sim.NodeID, m *Phase2b) {
	if m.Ballot == 0 {
		if a.lead != nil {
			a.lead.on2b(env, from, m)
		}
		return
	}
	tx := a.txns[m.Txn]
	if tx == nil || tx.rec == nil || tx.rec.ballot != m.Ballot || tx.rec.phase != 2 {
		return
	}
	tx.rec.accepts[from] = true
	if len(tx.rec.accepts) < a.t.majority() {
		return
	}
	o := Committed
	for _, iv := range tx.rec.values {
		if iv.Value != Committed {
			o = Aborted
		}
	}
	env.Logf("recovery of %v at ballot %s chose %v", tx.id, ballotString(m.Ballot), o)
	a.learn(env, tx, o, true)
}

// learn records a decision, tells every participant unless they learn it
// themselves (tellParts false: Faster Paxos Commit's ballot 0), and
// answers the client.
func (a *acceptor) learn(env *sim.Env, tx *atxn, o Outcome, tellParts bool) {
	if tx.decided != Unknown {
		if tx.decided != o {
			panic(fmt.Sprintf("%v: %v decided %v, now %v", a.id, tx.id, tx.decided, o))
		}
		return
	}
	tx.decided = o
	tx.rec = nil
	env.CancelTimer(tx.timer)
	for _, p := range tx.parts {
		if !tellParts {
			break
		}
		env.Send(p, &Decision{Txn: tx.id, Commit: o == Committed})
	}
	if a.lead != nil {
		a.lead.learned(env, tx.id, o)
	} else if tx.client != 0 {
		env.Send(tx.client, &TxnReply{Client: tx.client, Seq: tx.seq, Txn: tx.id, Committed: o == Committed, Reason: "found by " + a.id.String()})
	}
}

func (tx *atxn) noteClient(c sim.NodeID, seq int64) {
	if tx.client == 0 && c != 0 {
		tx.client, tx.seq = c, seq
	}
}

// startRecovery runs phase 1 at a ballot above any seen.
func (a *acceptor) startRecovery(env *sim.Env, tx *atxn) {
	round := max(tx.seen, tx.promised)/ballotNodes + 1
	b := round*ballotNodes + int64(a.id)
	tx.rec = &recovery{ballot: b, phase: 1, promises: map[sim.NodeID]*Phase1b{}, accepts: map[sim.NodeID]bool{}}
	env.Logf("taking over %v at ballot %s", tx.id, ballotString(b))
	env.CancelTimer(tx.timer)
	tx.attempts++
	tx.timer = env.SetTimer(a.backoff(env, tx, a.t.opts.QueryTimeout), "recover", int64(tx.id))
	m := &Phase1a{Txn: tx.id, Ballot: b, Parts: tx.parts}
	for _, to := range a.t.acceptors {
		a.send(env, to, m)
		if tx.rec == nil || tx.rec.ballot != b {
			return // the local call already finished or abandoned this attempt
		}
	}
}

func (a *acceptor) onPhase1b(env *sim.Env, from sim.NodeID, m *Phase1b) {
	tx := a.txns[m.Txn]
	if tx == nil {
		return
	}
	tx.seen = max(tx.seen, m.Promised)
	r := tx.rec
	if r == nil || r.ballot != m.Ballot || tx.decided != Unknown {
		return
	}
	if !m.OK {
		env.Logf("ballot %s of %v refused by %v (promised %s): backing off", ballotString(r.ballot), tx.id, from, ballotString(m.Promised))
		tx.rec = nil
		env.CancelTimer(tx.timer)
		tx.timer = env.SetTimer(a.backoff(env, tx, a.t.opts.RecoveryStagger+sim.Millisecond), "recover", int64(tx.id))
		return
	}
	if r.phase != 1 {
		return
	}
	r.promises[from] = m
	if len(r.promises) < a.t.majority() {
		return
	}
	// Each instance takes the value of the highest ballot any promise
	// reports; an instance with none is proposed "aborted".
	r.phase = 2
	r.values = r.values[:0]
	for _, p := range tx.parts {
		best := accepted{Ballot: -1, Value: Aborted}
		for _, pr := range r.promises {
			for _, ac := range pr.Accepted {
				if ac.Inst == p && ac.Ballot > best.Ballot {
					best = ac
				}
			}
		}
		r.values = append(r.values, instValue{Inst: p, Value: best.Value})
	}
	m2 := &Phase2a{Txn: tx.id, Ballot: r.ballot, Parts: tx.parts, Insts: r.values, Client: tx.client, Seq: tx.seq}
	for _, to := range a.t.acceptors {
		a.send(env, to, m2)
		if tx.rec != r {
			return
		}
	}
}

// backoffShiftMax bounds the exponential backoff of recovery attempts.
const backoffShiftMax = 6

// backoff is how long a recovery attempt may take, or how long to wait
// after a refusal: random in [base, 2*base] times 2^attempts, so that
// competing acceptors stop pre-empting each other (a round needs two round
// trips, which a short query_timeout may not allow).
func (a *acceptor) backoff(env *sim.Env, tx *atxn, base sim.Time) sim.Time {
	d := base << min(tx.attempts, backoffShiftMax)
	return env.Rand().Between(d, 2*d)
}

// onQuery answers an uncertain participant, or takes the transaction over
// after a delay that grows with this acceptor's rank, so that usually only
// one acceptor tries.
func (a *acceptor) onQuery(env *sim.Env, from sim.NodeID, q *Query) {
	tx := a.get(q.Txn, q.Parts)
	tx.noteClient(q.Client, q.Seq)
	if tx.decided != Unknown {
		env.Send(from, &Decision{Txn: tx.id, Commit: tx.decided == Committed})
		return
	}
	if a.lead != nil && a.lead.collecting(q.Txn) {
		return // the leader's own vote timer will settle it
	}
	if tx.rec != nil || tx.timer != 0 {
		return
	}
	delay := sim.Time(a.t.acceptorRank(a.id)) * a.t.opts.RecoveryStagger
	tx.timer = env.SetTimer(delay, "recover", int64(tx.id))
}

func (a *acceptor) timer(env *sim.Env, t sim.Timer) {
	tx := a.txns[TxnID(t.Arg)]
	if t.Name != "recover" || tx == nil {
		return
	}
	tx.timer = 0
	if tx.decided == Unknown && len(tx.parts) > 0 {
		a.startRecovery(env, tx)
	}
}

// view renders the acceptor (and, on n1, the leader) for displays.
func (a *acceptor) view() sim.View {
	v := sim.View{Role: "acceptor", TermLabel: "ballot"}
	if a.lead != nil {
		v = a.lead.view()
	}
	tb := sim.Table{Title: "instances", Columns: []string{"txn", "promised", "accepted", "decision"}}
	ids := sortedIDs(a.txns)
	if len(ids) > 2*recentMax {
		ids = ids[len(ids)-2*recentMax:]
	}
	slices.Reverse(ids) // newest first
	var top int64
	for _, id := range ids {
		tx := a.txns[id]
		top = max(top, tx.promised)
		var acc []string
		for _, p := range tx.parts {
			if in := tx.insts[p]; in != nil {
				acc = append(acc, fmt.Sprintf("%v:%s@%s", p, valueString(in.value), ballotString(in.ballot)))
			} else {
				acc = append(acc, p.String()+":-")
			}
		}
		dec := ""
		if tx.decided != Unknown {
			dec = tx.decided.String()
		} else if tx.rec != nil {
			dec = fmt.Sprintf("recovering (phase %d)", tx.rec.phase)
		}
		tb.Rows = append(tb.Rows, []string{id.String(), ballotString(tx.promised), strings.Join(acc, " "), dec})
	}
	if a.lead == nil {
		v.Term = top
	}
	v.Fields = append(v.Fields, sim.Field{Name: "instances", Value: strconv.Itoa(len(a.txns))})
	v.Tables = append(v.Tables, tb)
	return v
}

// ltxn is a transaction the Paxos Commit leader started.
type ltxn struct {
	id      TxnID
	client  sim.NodeID
	seq     int64
	parts   []sim.NodeID
	ops     [][]Op
	chosen  map[sim.NodeID]map[sim.NodeID]Outcome // instance -> acceptor -> value at ballot 0
	decided Outcome
	replied bool
	timer   sim.TimerID
}

// leader is the Paxos Commit leader at n1: it takes client requests, sends
// Prepare, learns the chosen votes, and tells the outcome. It persists
// nothing but its incarnation; its acceptor persists what matters.
type leader struct {
	t       *topology
	acc     *acceptor
	inc     int64
	next    int64
	txns    map[TxnID]*ltxn
	lastSeq map[sim.NodeID]int64
	counts  [3]int64
}

func newLeader(t *topology, acc *acceptor) *leader {
	return &leader{t: t, acc: acc, txns: map[TxnID]*ltxn{}, lastSeq: map[sim.NodeID]int64{}}
}

func (l *leader) start(env *sim.Env) {
	if b, ok := env.Load(incKey); ok {
		l.inc, _ = strconv.ParseInt(string(b), 10, 64)
	}
	l.inc++
	env.Store(incKey, []byte(strconv.FormatInt(l.inc, 10)))
}

func (l *leader) collecting(id TxnID) bool {
	tx := l.txns[id]
	return tx != nil && tx.decided == Unknown
}

func (l *leader) onRequest(env *sim.Env, m *TxnRequest) {
	if m.Seq <= l.lastSeq[m.Client] {
		return
	}
	l.lastSeq[m.Client] = m.Seq
	l.next++
	tx := &ltxn{id: newTxnID(l.inc, l.next), client: m.Client, seq: m.Seq, chosen: map[sim.NodeID]map[sim.NodeID]Outcome{}}
	c := &ctxn{}
	for _, op := range m.Ops {
		o := l.t.owner(op.Key)
		i := c.index(o)
		if i < 0 {
			c.parts = append(c.parts, o)
			c.ops = append(c.ops, nil)
			i = len(c.parts) - 1
		}
		c.ops[i] = append(c.ops[i], op)
	}
	sortParts(c)
	tx.parts, tx.ops = c.parts, c.ops
	l.txns[tx.id] = tx
	for i, p := range tx.parts {
		env.Send(p, &Prepare{Txn: tx.id, Parts: tx.parts, Ops: tx.ops[i], Client: tx.client, Seq: tx.seq})
	}
	tx.timer = env.SetTimer(l.t.opts.VoteTimeout, "votes", int64(tx.id))
}

// on2b counts ballot-0 acceptances; F+1 acceptors choose a value.
func (l *leader) on2b(env *sim.Env, from sim.NodeID, m *Phase2b) {
	tx := l.txns[m.Txn]
	if tx == nil || tx.decided != Unknown {
		return
	}
	for _, iv := range m.Insts {
		if tx.chosen[iv.Inst] == nil {
			tx.chosen[iv.Inst] = map[sim.NodeID]Outcome{}
		}
		tx.chosen[iv.Inst][from] = iv.Value
	}
	q := l.t.majority()
	all := true
	for _, p := range tx.parts {
		yes, no := 0, 0
		for _, v := range tx.chosen[p] {
			if v == Committed {
				yes++
			} else {
				no++
			}
		}
		if no >= q {
			l.acc.learn(env, l.acc.get(tx.id, tx.parts), Aborted, !l.t.opts.Faster)
			return
		}
		if yes < q {
			all = false
		}
	}
	if all {
		l.acc.learn(env, l.acc.get(tx.id, tx.parts), Committed, !l.t.opts.Faster)
	}
}

// learned is called when this node's acceptor knows the outcome.
func (l *leader) learned(env *sim.Env, id TxnID, o Outcome) {
	tx := l.txns[id]
	if tx == nil || tx.decided != Unknown {
		return
	}
	tx.decided = o
	l.counts[o]++
	env.CancelTimer(tx.timer)
	if !tx.replied {
		tx.replied = true
		env.Send(tx.client, &TxnReply{Client: tx.client, Seq: tx.seq, Txn: tx.id, Committed: o == Committed})
	}
}

// timer: votes did not all arrive in time; the leader's acceptor takes the
// transaction over at a higher ballot, proposing abort for missing votes.
func (l *leader) timer(env *sim.Env, t sim.Timer) {
	tx := l.txns[TxnID(t.Arg)]
	if tx == nil || tx.decided != Unknown {
		return
	}
	at := l.acc.get(tx.id, tx.parts)
	if at.decided == Unknown && l.t.opts.bug(BugCommitOnTimeout) {
		l.acc.learn(env, at, Committed, true) // the mistake: silence is consent
		return
	}
	if at.decided == Unknown && at.rec == nil {
		l.acc.startRecovery(env, at)
	}
}

func (l *leader) view() sim.View {
	v := sim.View{Role: "coordinator", Term: l.inc, TermLabel: "incarnation"}
	v.Fields = []sim.Field{
		{Name: "committed", Value: strconv.FormatInt(l.counts[Committed], 10)},
		{Name: "aborted", Value: strconv.FormatInt(l.counts[Aborted], 10)},
	}
	tb := sim.Table{Title: "transactions", Columns: []string{"txn", "client", "votes (acceptors)", "decision"}}
	ids := sortedIDs(l.txns)
	if len(ids) > 2*recentMax {
		ids = ids[len(ids)-2*recentMax:]
	}
	slices.Reverse(ids) // newest first
	for _, id := range ids {
		tx := l.txns[id]
		var votes []string
		for _, p := range tx.parts {
			yes, no := 0, 0
			for _, vo := range tx.chosen[p] {
				if vo == Committed {
					yes++
				} else {
					no++
				}
			}
			votes = append(votes, fmt.Sprintf("%v:%dy/%dn", p, yes, no))
		}
		dec := "collecting"
		if tx.decided != Unknown {
			dec = tx.decided.String()
		}
		tb.Rows = append(tb.Rows, []string{id.String(), fmt.Sprintf("%v#%d", tx.client, tx.seq), strings.Join(votes, " "), dec})
	}
	v.Tables = []sim.Table{tb}
	return v
}
