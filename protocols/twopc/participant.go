package twopc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// pstate is a participant's state in one transaction.
type pstate uint8

const (
	pWorking   pstate = iota + 1 // doing its part, locks held, free to abort
	pPrepared                    // voted yes: uncertain, must wait for the outcome
	pCommitted                   // committed: writes applied, locks released
	pAborted                     // aborted: writes discarded, locks released
)

var pstateNames = [...]string{"", "working", "prepared", "committed", "aborted"}

func (s pstate) String() string { return pstateNames[s] }

// ptxn is a transaction a participant is working on or is uncertain about.
type ptxn struct {
	id     TxnID
	client sim.NodeID
	seq    int64
	parts  []sim.NodeID
	ops    []Op
	state  pstate
	since  sim.Time // local time the state began
	work   sim.TimerID
	query  sim.TimerID
	asked  int // queries sent while uncertain
}

// recentMax bounds the decided transactions a view lists.
const recentMax = 6

// participant is a resource manager: it owns the accounts or keys of one
// shard, locks them for transactions, votes, and applies outcomes. It
// serves both two-phase commit and Paxos Commit; only where its vote and
// its questions go differs.
type participant struct {
	self     sim.NodeID
	t        *topology
	log      *wal
	data     map[string]string
	locks    map[string]TxnID
	active   map[TxnID]*ptxn
	outcomes map[TxnID]Outcome
	// heard holds, in Faster Paxos Commit, the ballot-0 values each
	// acceptor reported for a transaction not yet decided here.
	// (by acceptor, then instance; a duplicate overwrites).
	heard  map[TxnID]map[sim.NodeID]map[sim.NodeID]Outcome
	recent []TxnID
	counts [3]int64 // by Outcome
}

func newParticipant(id sim.NodeID, t *topology, log *wal) *participant {
	return &participant{self: id, t: t, log: log, data: map[string]string{}, locks: map[string]TxnID{},
		active: map[TxnID]*ptxn{}, outcomes: map[TxnID]Outcome{}, heard: map[TxnID]map[sim.NodeID]map[sim.NodeID]Outcome{}}
}

// recover rebuilds state from one log record, in log order.
func (p *participant) recover(r *record) {
	switch r.Kind {
	case recPrepared:
		tx := &ptxn{id: r.Txn, client: r.Client, seq: r.Seq, parts: r.Parts, ops: r.Ops, state: pPrepared, since: r.Time}
		p.active[r.Txn] = tx
		for _, op := range r.Ops {
			p.locks[op.Key] = r.Txn
		}
	case recOutcome:
		p.finish(r.Txn, r.Outcome)
	}
}

// start runs after recovery: a prepared participant asks for the outcome
// at once, since whatever it was waiting for may have been lost with it.
func (p *participant) start(env *sim.Env) {
	for _, id := range sortedIDs(p.active) {
		tx := p.active[id]
		env.Logf("recovered %v prepared: asking for the outcome", id)
		p.ask(env, tx)
	}
}

// value returns a key's committed value (accounts start at the initial
// balance).
func (p *participant) value(key string) string {
	if v, ok := p.data[key]; ok {
		return v
	}
	if p.t.opts.Workload == "bank" {
		return strconv.FormatInt(p.t.opts.InitialBalance, 10)
	}
	return ""
}

// apply carries out committed ops on the data.
func (p *participant) apply(ops []Op) {
	for _, op := range ops {
		switch op.Kind {
		case OpAdd:
			p.data[op.Key] = strconv.FormatInt(mustInt(p.value(op.Key))+op.Delta, 10)
		case OpPut:
			p.data[op.Key] = op.Value
		}
	}
}

// validate reports why the ops cannot commit, or "".
func (p *participant) validate(ops []Op) string {
	bal := map[string]int64{}
	for _, op := range ops {
		if p.t.owner(op.Key) != p.self {
			return fmt.Sprintf("%s is not on %v", op.Key, p.self)
		}
		if op.Kind != OpAdd {
			continue
		}
		b, ok := bal[op.Key]
		if !ok {
			b = mustInt(p.value(op.Key))
		}
		b += op.Delta
		if b < 0 {
			return fmt.Sprintf("insufficient balance on %s: %d%+d < 0", op.Key, b-op.Delta, op.Delta)
		}
		bal[op.Key] = b
	}
	return ""
}

func mustInt(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("twopc: balance %q is not a number", s))
	}
	return v
}

// onPrepare starts work on a transaction: take the locks (no waiting: a
// conflict is a no vote), work for WorkTime, then vote.
func (p *participant) onPrepare(env *sim.Env, m *Prepare) {
	if o := p.outcomes[m.Txn]; o != Unknown {
		// A late copy. Never vote again: in Paxos Commit a no vote now would
		// propose a second value at ballot 0 after a yes (a participant that
		// voted yes and then learned abort would contradict its own vote).
		env.Logf("ignoring Prepare of %v: already %v", m.Txn, o)
		return
	}
	if tx := p.active[m.Txn]; tx != nil {
		if tx.state == pPrepared {
			p.sendVote(env, m, true, "")
		}
		return
	}
	for _, op := range m.Ops {
		if h, ok := p.locks[op.Key]; ok {
			p.voteNo(env, m, fmt.Sprintf("lock conflict on %s held by %v", op.Key, h))
			return
		}
	}
	tx := &ptxn{id: m.Txn, client: m.Client, seq: m.Seq, parts: m.Parts, ops: m.Ops, state: pWorking, since: env.Now()}
	p.active[m.Txn] = tx
	for _, op := range m.Ops {
		p.locks[op.Key] = m.Txn
	}
	if p.t.opts.WorkTime >= p.t.opts.VoteTimeout {
		// The work will outlast the coordinator's patience: give up at the
		// vote timeout, which an unvoted participant may do on its own.
		tx.work = env.SetTimer(p.t.opts.VoteTimeout, "give-up", int64(m.Txn))
		return
	}
	if p.t.opts.WorkTime > 0 {
		tx.work = env.SetTimer(p.t.opts.WorkTime, "work", int64(m.Txn))
		return
	}
	p.finishWork(env, tx)
}

// finishWork validates and votes: yes only after the prepared state and
// its locks are in stable storage.
func (p *participant) finishWork(env *sim.Env, tx *ptxn) {
	if tx.state != pWorking {
		panic(fmt.Sprintf("%v: voting on %v in state %v", env.ID(), tx.id, tx.state))
	}
	why := p.validate(tx.ops)
	if why == "" && p.t.opts.VoteNo > 0 && env.Rand().Chance(p.t.opts.VoteNo) {
		why = "chose to vote no (vote_no)"
	}
	if why != "" {
		p.release(tx)
		p.voteNo(env, tx.prepare(), why)
		return
	}
	if !p.t.opts.bug(BugForgetPrepared) { // the mistake: a yes vote the log does not remember
		p.log.append(env, &record{Kind: recPrepared, Txn: tx.id, Parts: tx.parts, Ops: tx.ops, Client: tx.client, Seq: tx.seq})
	}
	tx.state = pPrepared
	tx.since = env.Now()
	p.sendVote(env, tx.prepare(), true, "")
	tx.query = env.SetTimer(p.t.opts.QueryTimeout, "query", int64(tx.id))
}

// voteNo aborts the transaction here, durably (so that a late copy of the
// Prepare can never get a yes), and votes no.
func (p *participant) voteNo(env *sim.Env, m *Prepare, why string) {
	env.Logf("voting no on %v: %s", m.Txn, why)
	p.log.append(env, &record{Kind: recOutcome, Txn: m.Txn, Outcome: Aborted})
	p.finish(m.Txn, Aborted)
	p.sendVote(env, m, false, why)
}

// prepare rebuilds the request a transaction came with.
func (tx *ptxn) prepare() *Prepare {
	return &Prepare{Txn: tx.id, Parts: tx.parts, Ops: tx.ops, Client: tx.client, Seq: tx.seq}
}

// sendVote sends the vote to the coordinator (2PC) or proposes it in this
// participant's Paxos instance to every acceptor (Paxos Commit).
func (p *participant) sendVote(env *sim.Env, pr *Prepare, yes bool, why string) {
	if !p.t.paxos {
		env.Send(p.t.coord, &Vote{Txn: pr.Txn, Yes: yes, Reason: why})
		return
	}
	v := Aborted
	if yes {
		v = Committed
	}
	m := &Phase2a{Txn: pr.Txn, Ballot: 0, Parts: pr.Parts, Insts: []instValue{{Inst: env.ID(), Value: v}}, Client: pr.Client, Seq: pr.Seq}
	for _, a := range p.t.voteAcceptors() {
		env.Send(a, m)
	}
}

// onOutcome applies a decision learned from the coordinator, a leader or
// another participant.
func (p *participant) onOutcome(env *sim.Env, id TxnID, o Outcome, from sim.NodeID) {
	if prev := p.outcomes[id]; prev != Unknown {
		if prev != o {
			panic(fmt.Sprintf("%v: %v already %v, now told %v by %v", env.ID(), id, prev, o, from))
		}
		return
	}
	tx := p.active[id]
	if o == Committed && (tx == nil || tx.state != pPrepared) {
		panic(fmt.Sprintf("%v: told by %v to commit %v, which it never prepared", env.ID(), from, id))
	}
	p.log.append(env, &record{Kind: recOutcome, Txn: id, Outcome: o})
	if tx != nil {
		env.CancelTimer(tx.work)
		env.CancelTimer(tx.query)
	}
	p.finish(id, o)
}

// on2b (Faster Paxos Commit) learns the outcome from the acceptors' ballot-0
// phase 2b messages, as the leader does: F+1 acceptors that accepted an
// abort vote abort the transaction; F+1 that accepted a prepared vote for
// every participant commit it.
func (p *participant) on2b(env *sim.Env, from sim.NodeID, m *Phase2b) {
	if p.outcomes[m.Txn] != Unknown {
		return
	}
	tx := p.active[m.Txn]
	if tx == nil {
		return // never asked to prepare: it cannot commit, and an abort finds it by query
	}
	h := p.heard[m.Txn]
	if h == nil {
		h = map[sim.NodeID]map[sim.NodeID]Outcome{}
		p.heard[m.Txn] = h
	}
	if h[from] == nil {
		h[from] = map[sim.NodeID]Outcome{}
	}
	for _, iv := range m.Insts {
		h[from][iv.Inst] = iv.Value
	}
	q := p.t.majority()
	all := true
	for _, part := range tx.parts {
		yes, no := 0, 0
		for _, byInst := range h {
			switch byInst[part] {
			case Committed:
				yes++
			case Aborted:
				no++
			}
		}
		if no >= q {
			p.onOutcome(env, m.Txn, Aborted, from)
			return
		}
		all = all && yes >= q
	}
	if all {
		p.onOutcome(env, m.Txn, Committed, from)
	}
}

// finish applies or discards a transaction's writes and releases its locks.
func (p *participant) finish(id TxnID, o Outcome) {
	if tx := p.active[id]; tx != nil {
		if o == Committed {
			p.apply(tx.ops)
		}
		p.release(tx)
	}
	delete(p.heard, id)
	if _, ok := p.outcomes[id]; !ok {
		p.counts[o]++
		p.recent = append(p.recent, id)
		if len(p.recent) > recentMax {
			p.recent = p.recent[1:]
		}
	}
	p.outcomes[id] = o
}

func (p *participant) release(tx *ptxn) {
	for _, op := range tx.ops {
		if p.locks[op.Key] == tx.id {
			delete(p.locks, op.Key)
		}
	}
	delete(p.active, tx.id)
}

// onQuery answers another participant's question (cooperative
// termination). A participant that has not voted aborts unilaterally: it
// may, and the asker can then abort too.
func (p *participant) onQuery(env *sim.Env, from sim.NodeID, q *Query) {
	if o := p.outcomes[q.Txn]; o != Unknown {
		env.Send(from, &QueryReply{Txn: q.Txn, Outcome: o})
		return
	}
	if tx := p.active[q.Txn]; tx != nil && tx.state == pPrepared {
		env.Send(from, &QueryReply{Txn: q.Txn, Outcome: Unknown})
		return
	}
	env.Logf("%v asks about %v, on which this node has not voted: aborting it", from, q.Txn)
	p.onOutcome(env, q.Txn, Aborted, env.ID())
	env.Send(from, &QueryReply{Txn: q.Txn, Outcome: Aborted})
}

// ask sends the uncertain participant's question and re-arms its timer.
func (p *participant) ask(env *sim.Env, tx *ptxn) {
	tx.asked++
	q := &Query{Txn: tx.id, Parts: tx.parts, Client: tx.client, Seq: tx.seq}
	if p.t.paxos {
		for _, a := range p.t.acceptors {
			env.Send(a, q)
		}
	} else {
		env.Send(p.t.coord, q)
	}
	if p.t.opts.Cooperative {
		for _, o := range tx.parts {
			if o != env.ID() {
				env.Send(o, q)
			}
		}
	}
	env.CancelTimer(tx.query)
	tx.query = env.SetTimer(p.t.opts.QueryTimeout, "query", int64(tx.id))
}

// timer handles the participant's timers.
func (p *participant) timer(env *sim.Env, t sim.Timer) {
	tx := p.active[TxnID(t.Arg)]
	if tx == nil {
		return
	}
	switch t.Name {
	case "work":
		if tx.state == pWorking {
			p.finishWork(env, tx)
		}
	case "give-up":
		if tx.state == pWorking {
			p.release(tx)
			p.voteNo(env, tx.prepare(), "gave up: work outlasted vote_timeout (unilateral abort)")
		}
	case "query":
		if tx.state == pPrepared && p.t.opts.bug(BugCommitUncertain) {
			env.Logf("BUG: committing %v on its own after voting yes", tx.id)
			p.onOutcome(env, tx.id, Committed, p.self) // the mistake: a time-out is not a decision
			return
		}
		if tx.state == pPrepared && (p.t.opts.UnsafeAbortUncertain || p.t.opts.bug(BugAbortUncertain)) {
			env.Logf("UNSAFE: aborting %v although it voted yes", tx.id)
			p.log.append(env, &record{Kind: recOutcome, Txn: tx.id, Outcome: Aborted})
			p.finish(tx.id, Aborted)
			p.outcomes[tx.id] = Unknown // forget, so the coordinator's commit is taken too
			return
		}
		if tx.state == pPrepared {
			env.Logf("uncertain about %v for %v: asking", tx.id, env.Now()-tx.since)
			p.ask(env, tx)
		}
	}
}

// view renders the participant for displays.
func (p *participant) view(now sim.Time) sim.View {
	v := sim.View{Role: "participant"}
	keys := make([]string, 0, len(p.data))
	for k := range p.data {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return keyIndex(a) - keyIndex(b) })
	var kv []string
	for _, k := range keys {
		kv = append(kv, k+"="+p.data[k])
	}
	locks := make([]string, 0, len(p.locks))
	for k, id := range p.locks {
		locks = append(locks, k+":"+id.String())
	}
	slices.Sort(locks)
	uncertain := 0
	for _, tx := range p.active {
		if tx.state == pPrepared {
			uncertain++
		}
	}
	v.Fields = []sim.Field{
		{Name: "data", Value: strings.Join(kv, " ")},
		{Name: "locks", Value: strings.Join(locks, " ")},
		{Name: "uncertain", Value: strconv.Itoa(uncertain)},
		{Name: "committed", Value: strconv.FormatInt(p.counts[Committed], 10)},
		{Name: "aborted", Value: strconv.FormatInt(p.counts[Aborted], 10)},
	}
	tb := sim.Table{Title: "transactions", Columns: []string{"txn", "state", "parts", "ops", "locks", "for"}}
	for _, id := range sortedIDs(p.active) {
		tx := p.active[id]
		st := tx.state.String()
		if tx.state == pPrepared {
			st = "prepared (uncertain)"
		}
		var held []string
		for _, op := range tx.ops {
			if p.locks[op.Key] == id {
				held = append(held, op.Key)
			}
		}
		tb.Rows = append(tb.Rows, []string{id.String(), st, partsString(tx.parts), opsString(tx.ops), strings.Join(held, ","), (now - tx.since).String()})
	}
	for i := len(p.recent) - 1; i >= 0; i-- {
		id := p.recent[i]
		st := pCommitted
		if p.outcomes[id] == Aborted {
			st = pAborted
		}
		tb.Rows = append(tb.Rows, []string{id.String(), st.String(), "", "", "", ""})
	}
	v.Tables = []sim.Table{tb}
	return v
}

// sortedIDs returns a map's transaction ids in order, so that nothing
// depends on map iteration order.
func sortedIDs[V any](m map[TxnID]V) []TxnID {
	ids := make([]TxnID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}
