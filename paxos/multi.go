package paxos

import (
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Roles of a Multi-Paxos node. Every node is also an acceptor and a
// learner; the role names what it does as a proposer.
const (
	roleFollower  = "follower"  // proposes nothing; waits for a leader
	roleCandidate = "candidate" // runs phase 1 for its ballot
	roleLeader    = "leader"    // phase 1 done: runs phase 2 per command
)

// Bounds.
const (
	// logMax bounds the slots a node holds above its snapshot; a message
	// for a slot further out is dropped with a note.
	logMax = 1 << 16
	// catchUpMax bounds the decisions sent in one Decisions message.
	catchUpMax = 128
	// resendMax bounds the accepts a leader retransmits per heartbeat.
	resendMax = 64
)

// slot is one log position as this node knows it, in its three roles.
type slot struct {
	// Acceptor: the value accepted, in ballot acc.
	acc    Ballot
	accCmd protocols.Request
	hasAcc bool
	key    string // the slot's storage key, made once
	// Learner: the decided command.
	chosen bool
	cmd    protocols.Request
	// Leader: who accepted the leader's proposal (in the leader's current
	// ballot, which is then acc), and whether it was sent since the last
	// heartbeat (a heartbeat resends only what waited a whole interval).
	acks  voters
	fresh bool
}

// recovered is what phase 1 found about one slot.
type recovered struct {
	ballot  Ballot
	cmd     protocols.Request
	decided bool
}

// Node is a Multi-Paxos replica: acceptor, learner and (when it leads)
// proposer of a replicated log that drives a protocols.KV.
type Node struct {
	cfg   *config
	id    sim.NodeID
	peers []sim.NodeID
	role  string
	step  func(n *Node, env *sim.Env, from sim.NodeID, msg sim.Message)

	// Acceptor.
	promised Ballot
	// Proposer: the ballot it campaigns or leads with, the highest ballot
	// seen anywhere (the next one goes above it), and phase 1's progress.
	ballot   Ballot
	maxSeen  Ballot
	promises voters
	recov    map[int64]recovered
	recovMax int64
	nextSlot int64
	hbGen    int64
	// answered is who answered the leader's ballot (itself included)
	// since its last quorum check (checkQuorum).
	answered voters
	// Leader belief and the election clock (a leader's quorum check).
	leader   sim.NodeID
	timeout  sim.Time
	deadline sim.Time
	wakeAt   sim.Time
	wakeID   sim.TimerID
	// catchSent: a CatchUp went out since the last heartbeat heard, so
	// another waits for the next (one per heartbeat interval).
	catchSent bool

	// Log: log[i] is slot base+i; base is snap+1.
	base    int64
	log     []slot
	commit  int64 // every slot up to commit is decided and known here
	applied int64
	snap    int64
	kv      *protocols.KV

	enc     protocols.Encoder
	hbAck   *HeartbeatAck
	journal journal
	stats   nodeStats
}

// nodeStats counts protocol events for tests and the view.
type nodeStats struct {
	Elections int64
	Preempted int64
	Proposed  int64
}

// newNode builds a node; Start recovers its state.
func newNode(cfg *config, id sim.NodeID) *Node { return &Node{cfg: cfg, id: id} }

// Journal implements journaled.
func (n *Node) Journal() *journal { return &n.journal }

// Start recovers the acceptor's promise and accepted slots and the last
// snapshot from stable storage, and waits for a leader. Decisions above
// the snapshot are volatile: a restarted node learns them again.
func (n *Node) Start(env *sim.Env) {
	n.peers = n.peers[:0]
	for _, p := range env.Nodes() {
		if p != n.id {
			n.peers = append(n.peers, p)
		}
	}
	n.kv = protocols.NewKV()
	if b, ok := env.Load(keyPromised); ok {
		p, err := decodePromised(b)
		if err != nil {
			panic(fmt.Sprintf("%v: %v", n.id, err))
		}
		n.promised = p
	}
	if b, ok := env.Load(keySnap); ok {
		n.restoreSnapshot(b)
	}
	n.base = n.snap + 1
	n.commit, n.applied = n.snap, n.snap
	for _, k := range env.Keys(keyAccPfx) {
		s, err := slotOfKey(k)
		if err != nil {
			panic(fmt.Sprintf("%v: %v", n.id, err))
		}
		if s <= n.snap {
			continue
		}
		v, _ := env.Load(k)
		b, c, err := decodeAccepted(v)
		if err != nil {
			panic(fmt.Sprintf("%v: slot %d: %v", n.id, s, err))
		}
		sl := n.at(s)
		sl.acc, sl.accCmd, sl.hasAcc, sl.key = b, c, true, k
	}
	n.maxSeen = n.promised
	n.becomeFollower(env, 0)
}

// restoreSnapshot decodes a "snap" record: the slot it covers and the KV.
func (n *Node) restoreSnapshot(b []byte) {
	d := protocols.Decoder{B: b}
	idx := d.Varint()
	data := d.Bytes()
	if d.Err != nil {
		panic(fmt.Sprintf("%v: snapshot record: %v", n.id, d.Err))
	}
	kv, err := protocols.DecodeKV(data)
	if err != nil {
		panic(fmt.Sprintf("%v: %v", n.id, err))
	}
	n.snap, n.kv = idx, kv
}

// at returns slot s, growing the log as needed. s must be above the
// snapshot and within logMax of it.
func (n *Node) at(s int64) *slot {
	i := s - n.base
	if i < 0 || i >= logMax {
		panic(fmt.Sprintf("%v: slot %d outside log [%d, %d)", n.id, s, n.base, n.base+logMax))
	}
	for int64(len(n.log)) <= i {
		n.log = append(n.log, slot{})
	}
	return &n.log[i]
}

// get returns slot s if the log holds it, else nil.
func (n *Node) get(s int64) *slot {
	i := s - n.base
	if i < 0 || i >= int64(len(n.log)) {
		return nil
	}
	return &n.log[i]
}

// last is the highest slot in the log (snap if the log is empty).
func (n *Node) last() int64 { return n.base + int64(len(n.log)) - 1 }

// inRange reports whether slot s can be held in the log.
func (n *Node) inRange(s int64) bool { return s >= n.base && s-n.base < logMax }

// Receive runs the rules every message shares, then the handler of the
// node's acceptor or learner side, or of its proposer role.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	switch m := msg.(type) {
	case *protocols.Request:
		n.onRequest(env, m)
		return
	case *Prepare:
		n.see(env, m.Ballot)
		n.onPrepare(env, from, m)
		return
	case *Accept:
		n.see(env, m.Ballot)
		n.onAccept(env, from, m)
		return
	case *Heartbeat:
		n.see(env, m.Ballot)
		n.onHeartbeat(env, from, m)
		return
	case *CatchUp:
		n.onCatchUp(env, from, m)
		return
	case *Decisions:
		n.onDecisions(env, m)
		return
	case *Nack:
		n.see(env, m.Promised)
	}
	n.step(n, env, from, msg)
}

// see is the shared ballot rule: a proposer that hears of a ballot above
// its own has been preempted and stops proposing.
func (n *Node) see(env *sim.Env, b Ballot) {
	if n.maxSeen.Less(b) {
		n.maxSeen = b
	}
	if n.role != roleFollower && n.ballot.Less(b) {
		n.preempted(env, b)
	}
}

// preempted handles a higher ballot b: with backoff the node yields and
// waits a random time before it competes again; without, it retries at
// once with a ballot above b, which is how proposers duel.
func (n *Node) preempted(env *sim.Env, b Ballot) {
	n.stats.Preempted++
	if env.Tracing() {
		env.Logf("preempted: ballot %v < %v", n.ballot, b)
	}
	if !n.cfg.Backoff {
		n.becomeFollower(env, 0)
		n.startElection(env)
		return
	}
	// The preemptor may still be a candidate: name no leader until one
	// is heard from.
	n.becomeFollower(env, 0)
	n.deadline = env.Now() + n.electionTimeout(env) + env.Rand().Between(0, n.cfg.BackoffMax)
	n.wake(env)
}

// electionTimeout draws the time a follower waits for a leader.
func (n *Node) electionTimeout(env *sim.Env) sim.Time {
	if !n.cfg.Backoff {
		return n.cfg.ElectionTimeout
	}
	return env.Rand().Between(n.cfg.ElectionTimeout, 2*n.cfg.ElectionTimeout)
}

// wake makes sure a timer fires at n.deadline (or earlier; an early wake
// re-arms). Moving the deadline later costs nothing.
func (n *Node) wake(env *sim.Env) {
	if n.wakeID != 0 && n.wakeAt <= n.deadline {
		return
	}
	if n.wakeID != 0 {
		env.CancelTimer(n.wakeID)
	}
	d := n.deadline - env.Now()
	if d < 0 {
		d = 0
	}
	n.wakeAt = n.deadline
	n.wakeID = env.SetTimer(d, "wake", 0)
}

// Timer handles the election clock (a leader's quorum check) and the
// leader's heartbeat.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	switch t.Name {
	case "wake":
		if t.ID != n.wakeID {
			return
		}
		n.wakeID = 0
		if now := env.Now(); now < n.deadline {
			n.wake(env)
			return
		}
		if n.role == roleLeader {
			n.checkQuorum(env)
			return
		}
		n.onDeadline(env)
	case "heartbeat":
		if n.role != roleLeader || t.Arg != n.hbGen {
			return
		}
		n.heartbeat(env)
		env.SetTimer(n.cfg.Heartbeat, "heartbeat", n.hbGen)
	}
}

// onDeadline: a follower heard no leader in time, or a candidate's phase 1
// found no quorum in time.
func (n *Node) onDeadline(env *sim.Env) {
	n.leader = 0 // silent for an election time-out: no longer believed
	if n.role == roleCandidate && n.cfg.Backoff {
		n.becomeFollower(env, 0)
		n.deadline = env.Now() + env.Rand().Between(0, n.cfg.BackoffMax)
		n.wake(env)
		return
	}
	n.startElection(env)
}

// becomeFollower makes the node a plain acceptor and learner that waits for
// leader (0: unknown).
func (n *Node) becomeFollower(env *sim.Env, leader sim.NodeID) {
	n.role, n.step = roleFollower, (*Node).stepFollower
	n.leader = leader
	n.recov = nil
	if !n.cfg.proposes(n.id) {
		return // an acceptor and learner only: no election clock (Options.Proposers)
	}
	n.timeout = n.electionTimeout(env)
	n.deadline = env.Now() + n.timeout
	n.wake(env)
}

// heard notes a live leader of ballot b: followers push their election
// deadline out.
func (n *Node) heard(env *sim.Env, b Ballot) {
	n.leader = b.Node
	if n.role == roleFollower {
		n.deadline = env.Now() + n.timeout
	}
}

// stepFollower handles proposer messages while following: they are
// answers to a ballot the node no longer pursues.
func (n *Node) stepFollower(env *sim.Env, from sim.NodeID, msg sim.Message) {
	if env.Tracing() {
		env.Logf("ignoring %s from %v: not proposing", sim.Describe(msg), from)
	}
}

// onRequest: the leader proposes a client's command; everyone else points
// the client at the leader it believes in.
func (n *Node) onRequest(env *sim.Env, req *protocols.Request) {
	if n.role != roleLeader {
		hint := n.leader
		if hint == n.id {
			hint = 0
		}
		env.Send(req.Client, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: hint})
		return
	}
	if r, dup := n.kv.Duplicate(req); dup {
		env.Send(req.Client, r)
		return
	}
	n.propose(env, req)
}

// Inspect shows the node's roles, ballots, accepted slots and decisions.
func (n *Node) Inspect() sim.View {
	// The current ballot: its own while proposing, else the one it
	// promised (its leader's, normally).
	cur := n.ballot
	if n.role == roleFollower {
		cur = n.promised
	}
	v := sim.View{
		Role:      n.role,
		Term:      cur.Round,
		TermLabel: "ballot",
		Leader:    n.leader,
		LogLen:    n.last(),
		Commit:    n.commit,
		Applied:   n.applied,
		Snapshot:  n.snap,
	}
	const tailMax = 32
	from := n.last() - tailMax + 1
	if from < n.base {
		from = n.base
	}
	for s := from; s <= n.last(); s++ {
		sl := n.get(s)
		if !sl.hasAcc && !sl.chosen {
			continue
		}
		c := sl.accCmd
		if sl.chosen {
			c = sl.cmd
		}
		v.Log = append(v.Log, sim.LogLine{Index: s, Term: sl.acc.Round, Command: "bal=" + sl.acc.String() + " " + cmdString(&c) + chosenMark(sl.chosen)})
	}
	roles := "acceptor, learner"
	if n.role != roleFollower {
		roles = "proposer, acceptor, learner"
	}
	v.Fields = []sim.Field{
		{Name: "roles", Value: roles},
		{Name: "ballot", Value: cur.String()},
		{Name: "promised", Value: n.promised.String()},
		{Name: "chosen", Value: itoa(n.commit)},
		{Name: "next slot", Value: itoa(n.nextSlot)},
		{Name: "quorums", Value: fmt.Sprintf("q1=%d q2=%d of %d", n.cfg.q1, n.cfg.q2, n.cfg.n)},
		{Name: "elections", Value: itoa(n.stats.Elections)},
		{Name: "preempted", Value: itoa(n.stats.Preempted)},
	}
	if n.role == roleLeader {
		// Who answered the leader's ballot last, and the open slots'
		// acceptances: what phase 2 is waiting for.
		t := sim.Table{Title: "phase 2", Columns: []string{"peer", "answered since check", "open slots accepted"}}
		for _, id := range n.peers {
			open := 0
			for s := n.commit + 1; s < n.nextSlot; s++ {
				if sl := n.get(s); sl != nil && sl.acks.has(id) {
					open++
				}
			}
			answered := "no"
			if n.answered.has(id) {
				answered = "yes"
			}
			t.Rows = append(t.Rows, []string{id.String(), answered, itoa(int64(open))})
		}
		v.Tables = append(v.Tables, t)
	}
	return v
}

func chosenMark(c bool) string {
	if c {
		return " (chosen)"
	}
	return ""
}
