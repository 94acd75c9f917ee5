package twopc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// cstate is where the coordinator stands in one transaction.
type cstate uint8

const (
	cPreparing  cstate = iota + 1 // request taken, Prepare not yet sent (PrepareDelay)
	cCollecting                   // Prepare sent, collecting votes
	cDeciding                     // outcome known, decision not yet in stable storage (LogDelay)
	cLogged                       // decision logged, not yet sent (SendDelay)
	cSent                         // decision sent, waiting for every acknowledgement
)

var cstateNames = [...]string{"", "preparing", "collecting votes", "deciding (not logged)", "logged (not sent)", "sent, awaiting acks"}

func (s cstate) String() string { return cstateNames[s] }

// ctxn is a transaction the coordinator has not forgotten yet.
type ctxn struct {
	id       TxnID
	client   sim.NodeID
	seq      int64
	parts    []sim.NodeID
	ops      [][]Op    // by participant, aligned with parts
	votes    []Outcome // Committed: yes, Aborted: no
	acks     []bool
	state    cstate
	decision Outcome
	reason   string
	replied  bool
	timer    sim.TimerID
}

func (tx *ctxn) index(id sim.NodeID) int { return slices.Index(tx.parts, id) }

// coordinator is the two-phase commit coordinator (transaction manager).
type coordinator struct {
	t       *topology
	log     *wal
	inc     int64
	next    int64
	txns    map[TxnID]*ctxn
	decided map[TxnID]Outcome
	lastSeq map[sim.NodeID]int64
	recent  []TxnID
	counts  [3]int64
}

func newCoordinator(t *topology, log *wal) *coordinator {
	return &coordinator{t: t, log: log, txns: map[TxnID]*ctxn{}, decided: map[TxnID]Outcome{}, lastSeq: map[sim.NodeID]int64{}}
}

// recover rebuilds state from one log record: decisions not yet
// acknowledged by everyone are re-sent after the restart.
func (c *coordinator) recover(r *record) {
	switch r.Kind {
	case recDecision:
		c.noteDecided(r.Txn, r.Outcome)
		if len(r.Parts) > 0 {
			c.txns[r.Txn] = &ctxn{id: r.Txn, client: r.Client, seq: r.Seq, parts: r.Parts, acks: make([]bool, len(r.Parts)),
				votes: make([]Outcome, len(r.Parts)), state: cSent, decision: r.Outcome, reason: "recovered"}
		}
		if r.Seq > c.lastSeq[r.Client] {
			c.lastSeq[r.Client] = r.Seq
		}
	case recEnd:
		delete(c.txns, r.Txn)
	}
}

// start takes a new incarnation, so new transaction ids never collide with
// those of before the crash, and re-sends the logged decisions. Transactions
// started but never decided before the crash are not in the log: whoever
// asks about them is told abort.
func (c *coordinator) start(env *sim.Env) {
	if b, ok := env.Load(incKey); ok {
		c.inc, _ = strconv.ParseInt(string(b), 10, 64)
	}
	c.inc++
	env.Store(incKey, []byte(strconv.FormatInt(c.inc, 10)))
	for _, id := range sortedIDs(c.txns) {
		env.Logf("re-sending the logged decision of %v", id)
		c.sendDecision(env, c.txns[id])
	}
}

// onRequest starts a transaction for a client.
func (c *coordinator) onRequest(env *sim.Env, m *TxnRequest) {
	if m.Seq <= c.lastSeq[m.Client] {
		env.Logf("ignoring %v#%d: already seen %d", m.Client, m.Seq, c.lastSeq[m.Client])
		return
	}
	c.lastSeq[m.Client] = m.Seq
	c.next++
	tx := &ctxn{id: newTxnID(c.inc, c.next), client: m.Client, seq: m.Seq, state: cPreparing}
	for _, op := range m.Ops {
		o := c.t.owner(op.Key)
		i := tx.index(o)
		if i < 0 {
			tx.parts = append(tx.parts, o)
			tx.ops = append(tx.ops, nil)
			i = len(tx.parts) - 1
		}
		tx.ops[i] = append(tx.ops[i], op)
	}
	sortParts(tx)
	tx.votes = make([]Outcome, len(tx.parts))
	tx.acks = make([]bool, len(tx.parts))
	c.txns[tx.id] = tx
	if c.t.opts.PrepareDelay > 0 {
		tx.timer = env.SetTimer(c.t.opts.PrepareDelay, "prepare", int64(tx.id))
		return
	}
	c.sendPrepares(env, tx)
}

// sortParts orders a transaction's participants by id.
func sortParts(tx *ctxn) {
	idx := make([]int, len(tx.parts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return int(tx.parts[a]) - int(tx.parts[b]) })
	parts := make([]sim.NodeID, len(idx))
	ops := make([][]Op, len(idx))
	for i, j := range idx {
		parts[i], ops[i] = tx.parts[j], tx.ops[j]
	}
	tx.parts, tx.ops = parts, ops
}

// sendPrepares is phase 1.
func (c *coordinator) sendPrepares(env *sim.Env, tx *ctxn) {
	tx.state = cCollecting
	for i, p := range tx.parts {
		env.Send(p, &Prepare{Txn: tx.id, Parts: tx.parts, Ops: tx.ops[i], Client: tx.client, Seq: tx.seq})
	}
	tx.timer = env.SetTimer(c.t.opts.VoteTimeout, "votes", int64(tx.id))
}

// onVote counts a vote; the first no, or the last yes, decides.
func (c *coordinator) onVote(env *sim.Env, from sim.NodeID, v *Vote) {
	tx := c.txns[v.Txn]
	if tx == nil {
		c.answer(env, from, v.Txn)
		return
	}
	if tx.state >= cLogged {
		env.Send(from, &Decision{Txn: tx.id, Commit: tx.decision == Committed})
		return
	}
	i := tx.index(from)
	if tx.state != cCollecting || i < 0 {
		return
	}
	if !v.Yes {
		tx.votes[i] = Aborted
		c.decide(env, tx, Aborted, fmt.Sprintf("%v voted no: %s", from, v.Reason))
		return
	}
	tx.votes[i] = Committed
	for _, vo := range tx.votes {
		if vo != Committed {
			return
		}
	}
	c.decide(env, tx, Committed, "all voted yes")
}

// answer tells a participant the outcome of a transaction that is no
// longer active: the logged decision, or abort for a transaction this
// coordinator never decided (presumed abort; the abort is logged so it can
// never change).
func (c *coordinator) answer(env *sim.Env, to sim.NodeID, id TxnID) {
	o, ok := c.decided[id]
	if !ok {
		env.Logf("%v is unknown (started before a crash, never decided): aborting it", id)
		c.log.append(env, &record{Kind: recDecision, Txn: id, Outcome: Aborted})
		c.noteDecided(id, Aborted)
		o = Aborted
	}
	env.Send(to, &Decision{Txn: id, Commit: o == Committed})
}

// decide fixes the outcome; it is logged after LogDelay and sent after
// SendDelay (both zero by default: at once).
func (c *coordinator) decide(env *sim.Env, tx *ctxn, o Outcome, why string) {
	env.CancelTimer(tx.timer)
	tx.decision, tx.reason, tx.state = o, why, cDeciding
	if c.t.opts.LogDelay > 0 {
		tx.timer = env.SetTimer(c.t.opts.LogDelay, "log", int64(tx.id))
		return
	}
	c.logDecision(env, tx)
}

func (c *coordinator) logDecision(env *sim.Env, tx *ctxn) {
	if tx.decision == Committed {
		for i, v := range tx.votes {
			if v != Committed {
				panic(fmt.Sprintf("%v: committing %v without a yes vote from %v", env.ID(), tx.id, tx.parts[i]))
			}
		}
	}
	if !c.t.opts.bug(BugDecisionNotLogged) { // the mistake: a decision sent that the log does not hold
		c.log.append(env, &record{Kind: recDecision, Txn: tx.id, Outcome: tx.decision, Parts: tx.parts, Client: tx.client, Seq: tx.seq})
	}
	c.noteDecided(tx.id, tx.decision)
	tx.state = cLogged
	if c.t.opts.SendDelay > 0 {
		tx.timer = env.SetTimer(c.t.opts.SendDelay, "send", int64(tx.id))
		return
	}
	c.sendDecision(env, tx)
}

// sendDecision is phase 2: the decision to every participant that has not
// acknowledged it, and the answer to the client.
func (c *coordinator) sendDecision(env *sim.Env, tx *ctxn) {
	tx.state = cSent
	for i, p := range tx.parts {
		if !tx.acks[i] {
			env.Send(p, &Decision{Txn: tx.id, Commit: tx.decision == Committed})
		}
	}
	if !tx.replied && tx.client != 0 {
		tx.replied = true
		env.Send(tx.client, &TxnReply{Client: tx.client, Seq: tx.seq, Txn: tx.id, Committed: tx.decision == Committed, Reason: tx.reason})
	}
	env.CancelTimer(tx.timer)
	tx.timer = env.SetTimer(c.t.opts.ResendInterval, "resend", int64(tx.id))
}

func (c *coordinator) noteDecided(id TxnID, o Outcome) {
	if _, ok := c.decided[id]; !ok {
		c.counts[o]++
		c.recent = append(c.recent, id)
		if len(c.recent) > recentMax {
			c.recent = c.recent[1:]
		}
	}
	c.decided[id] = o
}

// onAck counts an acknowledgement; after the last the coordinator forgets.
func (c *coordinator) onAck(env *sim.Env, from sim.NodeID, a *Ack) {
	tx := c.txns[a.Txn]
	if tx == nil || tx.state != cSent {
		return
	}
	if i := tx.index(from); i >= 0 {
		tx.acks[i] = true
	}
	for _, ok := range tx.acks {
		if !ok {
			return
		}
	}
	c.log.append(env, &record{Kind: recEnd, Txn: tx.id})
	env.CancelTimer(tx.timer)
	delete(c.txns, tx.id)
}

// onQuery answers an uncertain participant once the decision is durable.
func (c *coordinator) onQuery(env *sim.Env, from sim.NodeID, q *Query) {
	tx := c.txns[q.Txn]
	if tx == nil {
		c.answer(env, from, q.Txn)
		return
	}
	if tx.state >= cLogged {
		env.Send(from, &Decision{Txn: tx.id, Commit: tx.decision == Committed})
	}
}

// timer handles the coordinator's timers, all keyed by transaction.
func (c *coordinator) timer(env *sim.Env, t sim.Timer) {
	tx := c.txns[TxnID(t.Arg)]
	if tx == nil {
		return
	}
	switch t.Name {
	case "prepare":
		c.sendPrepares(env, tx)
	case "votes":
		if tx.state == cCollecting {
			var missing []string
			for i, v := range tx.votes {
				if v == Unknown {
					missing = append(missing, tx.parts[i].String())
				}
			}
			if c.t.opts.bug(BugCommitOnTimeout) {
				c.decide(env, tx, Committed, "BUG: vote timeout taken as yes") // the mistake: silence is consent
				return
			}
			c.decide(env, tx, Aborted, "vote timeout: no vote from "+strings.Join(missing, ","))
		}
	case "log":
		c.logDecision(env, tx)
	case "send":
		c.sendDecision(env, tx)
	case "resend":
		c.sendDecision(env, tx)
	}
}

// view renders the coordinator for displays.
func (c *coordinator) view() sim.View {
	v := sim.View{Role: "coordinator", Term: c.inc, TermLabel: "incarnation"}
	v.Fields = []sim.Field{
		{Name: "active", Value: strconv.Itoa(len(c.txns))},
		{Name: "committed", Value: strconv.FormatInt(c.counts[Committed], 10)},
		{Name: "aborted", Value: strconv.FormatInt(c.counts[Aborted], 10)},
	}
	tb := sim.Table{Title: "transactions", Columns: []string{"txn", "client", "state", "votes", "decision", "acks"}}
	for _, id := range sortedIDs(c.txns) {
		tx := c.txns[id]
		var votes, acks []string
		for i, p := range tx.parts {
			vo := "?"
			switch tx.votes[i] {
			case Committed:
				vo = "yes"
			case Aborted:
				vo = "no"
			}
			votes = append(votes, p.String()+":"+vo)
			if tx.acks[i] {
				acks = append(acks, p.String())
			}
		}
		dec := ""
		if tx.state >= cDeciding {
			dec = tx.decision.String()
		}
		tb.Rows = append(tb.Rows, []string{id.String(), fmt.Sprintf("%v#%d", tx.client, tx.seq), tx.state.String(),
			strings.Join(votes, " "), dec, strings.Join(acks, ",")})
	}
	for i := len(c.recent) - 1; i >= 0; i-- {
		id := c.recent[i]
		if c.txns[id] == nil {
			tb.Rows = append(tb.Rows, []string{id.String(), "", "done", "", c.decided[id].String(), "all"})
		}
	}
	v.Tables = []sim.Table{tb}
	return v
}
