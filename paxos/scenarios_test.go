package paxos

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// run is a scenario being stepped by a test.
type run struct {
	t    *testing.T
	file string
	inst *scenario.Instance
	s    *sim.Sim
	chk  *Checker
}

// startScenario builds a scenario file of testdata/scenarios/paxos.
func startScenario(t *testing.T, file string) *run {
	t.Helper()
	sc := loadScenario(t, file)
	inst, err := scenario.Build(sc)
	require.NoError(t, err)
	r := &run{t: t, file: scenarioDir + file, inst: inst, s: inst.Sim}
	// A second copy of the checker that the test can query (the scenario's
	// own runs too).
	cfg, err := resolveCluster(inst.Cluster)
	require.NoError(t, err)
	r.chk = NewCheckerQuorum(inst.Cluster.Nodes, cfg.q2)
	r.s.AddChecker(r.chk)
	return r
}

// until runs the scenario to simulated time at and checks it is sound.
func (r *run) until(at sim.Time) {
	r.t.Helper()
	r.s.RunUntil(at)
	r.sound()
}

// sound fails on a panic or a violation, with the replay command.
func (r *run) sound() {
	r.t.Helper()
	require.NoError(r.t, r.s.Err(), replay(r.file, r.inst.Scenario.Seed))
	require.Empty(r.t, r.s.Violations(), replay(r.file, r.inst.Scenario.Seed))
}

// finish runs to the end and checks safety and linearizability.
func (r *run) finish() *scenario.Result {
	r.t.Helper()
	r.s.Run()
	r.sound()
	res := r.inst.Summarize()
	if r.inst.Spec.Linearizable {
		require.Equal(r.t, string(protocols.LinOK), res.Linearizable, replay(r.file, r.inst.Scenario.Seed))
	}
	return res
}

func (r *run) node(id sim.NodeID) *Node {
	n, _ := r.s.Process(id).(*Node)
	return n
}

// leader returns the live node that leads, if exactly one does.
func (r *run) leader() *Node {
	var l *Node
	for _, id := range r.s.Nodes() {
		if n := r.node(id); n != nil && n.role == roleLeader {
			require.Nil(r.t, l, "two leaders: %v and %v", id, l)
			l = n
		}
	}
	return l
}

// promisedInStorage reads a node's persisted promise, crashed or not.
func (r *run) promisedInStorage(id sim.NodeID) Ballot {
	b, ok := r.s.Storage(id).Get(keyPromised)
	if !ok {
		return Ballot{}
	}
	p, err := decodePromised(b)
	require.NoError(r.t, err)
	return p
}

// Every scenario file opens with a comment and runs clean.
func TestScenarioFilesRun(t *testing.T) {
	files, err := filepath.Glob("../" + scenarioDir + "*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.True(t, bytes.HasPrefix(data, []byte("#")), "a scenario opens with a comment saying what it shows")
			r := startScenario(t, filepath.Base(f))
			res := r.finish()
			require.Greater(t, res.Events, int64(0))
		})
	}
}

// Paxos Made Simple §2.3: a proposer may abandon a proposal at any time
// (here by crashing after phase 1a); another proposer's higher ballot makes
// progress.
func TestScenarioProposerCrashBetweenPhases(t *testing.T) {
	r := startScenario(t, "proposer-crash-between-phases.yaml")
	r.until(109*sim.Millisecond - 1)
	n1 := r.node(1)
	require.Equal(t, roleCandidate, n1.role, "n1 must be in phase 1 when it crashes")
	b := n1.ballot
	r.until(109 * sim.Millisecond)
	require.Nil(t, r.node(1), "n1 crashed")
	promised := 0
	for _, id := range r.s.Nodes() {
		if r.promisedInStorage(id) == b {
			promised++
		}
	}
	require.GreaterOrEqual(t, promised, 3, "a quorum promised %v before n1 crashed", b)
	r.until(sim.Second)
	l := r.leader()
	require.NotNil(t, l)
	require.True(t, b.Less(l.ballot), "new leader's ballot %v above the abandoned %v", l.ballot, b)
	res := r.finish()
	require.Greater(t, res.OpsOK, 20)
	require.Equal(t, roleFollower, r.node(1).role)
}

// sends is an observer that keeps the messages one node sends.
type sends struct {
	from sim.NodeID
	msgs []sentMsg
}

type sentMsg struct {
	at  sim.Time
	to  sim.NodeID
	msg sim.Message
}

func (o *sends) Observe(s *sim.Sim, r *sim.Record) {
	if r.Event.To != o.from {
		return
	}
	for i := range r.Effects {
		if e := &r.Effects[i]; e.Kind == sim.EffectSend {
			o.msgs = append(o.msgs, sentMsg{at: s.Now(), to: e.To, msg: e.Msg})
		}
	}
}

// Paxos Made Simple §2.3: an acceptor must remember its promise even if it
// fails and restarts, so it persists the promise before answering.
func TestScenarioAcceptorRestartKeepsPromise(t *testing.T) {
	r := startScenario(t, "acceptor-restart-keeps-promise.yaml")
	r.until(300*sim.Millisecond - 1)
	require.Same(t, r.node(1), r.leader())
	old := r.node(1).ballot
	r.until(700*sim.Millisecond - 1)
	promised := r.node(3).promised
	require.True(t, old.Less(promised), "n3 promised the majority's new ballot: %v > %v", promised, old)
	r.until(750 * sim.Millisecond)
	require.Equal(t, promised, r.node(3).promised, "restarted n3 recovered its promise")
	o := &sends{from: 3}
	r.s.AddObserver(o)
	res := r.finish()
	for _, m := range o.msgs {
		var b Ballot
		switch msg := m.msg.(type) {
		case *Promise:
			b = msg.Ballot
		case *Accepted:
			b = msg.Ballot
		default:
			continue
		}
		require.False(t, b.Less(promised), "at %v n3 answered ballot %v below its promise %v", m.at, b, promised)
	}
	require.Greater(t, res.OpsOK, 20)
}

// staleProposer is a scripted n1: it prepares ballot 1.1, then much later,
// not knowing of any higher ballot, asks n3 to accept in it.
type staleProposer struct {
	replies []sim.Message
}

func (p *staleProposer) Start(env *sim.Env) {
	env.SetTimer(sim.Millisecond, "prepare", 0)
	env.SetTimer(600*sim.Millisecond, "accept", 0)
}

func (p *staleProposer) Timer(env *sim.Env, t sim.Timer) {
	b := Ballot{Round: 1, Node: 1}
	switch t.Name {
	case "prepare":
		env.Send(3, &Prepare{Ballot: b, From: 1})
	case "accept":
		env.Send(3, &Accept{Ballot: b, Slot: 1, Cmd: noop})
	}
}

func (p *staleProposer) Receive(env *sim.Env, from sim.NodeID, m sim.Message) {
	if from == 3 {
		p.replies = append(p.replies, m)
	}
}

func (p *staleProposer) Inspect() sim.View { return sim.View{Role: "stale proposer"} }

// The precise version: n3 promises ballot 1.1 to a scripted proposer, then
// a higher ballot to the real leader, crashes and restarts; the stale
// proposer's accept in 1.1 must be refused.
func TestAcceptorRestartRefusesStaleBallot(t *testing.T) {
	cfg, err := DefaultOptions().resolve(5)
	require.NoError(t, err)
	stale := &staleProposer{}
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 5, Duration: sim.Second,
		Network: sim.NetworkConfig{Latency: sim.Latency{Dist: "constant", Min: 5 * sim.Millisecond}},
		Faults: []sim.ScheduledFault{
			{At: 400 * sim.Millisecond, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 3}},
			{At: 450 * sim.Millisecond, Fault: sim.Fault{Kind: sim.FaultRestart, Node: 3}},
		}},
		sim.Factory{Node: func(id sim.NodeID) sim.Process {
			if id == 1 {
				return stale
			}
			return newNode(cfg, id)
		}})
	require.NoError(t, err)
	s.AddChecker(NewChecker(5))
	s.RunUntil(400*sim.Millisecond - 1)
	n3 := s.Process(3).(*Node)
	require.IsType(t, &Promise{}, stale.replies[0], "n3 first promised 1.1")
	promised := n3.promised
	require.True(t, Ballot{1, 1}.Less(promised), "n3 since promised a real leader's ballot, got %v", promised)
	s.Run()
	require.NoError(t, s.Err())
	require.Empty(t, s.Violations())
	require.Equal(t, promised, s.Process(3).(*Node).promised)
	last := stale.replies[len(stale.replies)-1]
	require.Equal(t, &Nack{Ballot: Ballot{1, 1}, Promised: promised}, last, "restarted n3 refuses the stale accept")
	_, ok := s.Storage(3).Get(accKey(1))
	if ok {
		b, _, err := decodeAccepted(must(s.Storage(3).Get(accKey(1))))
		require.NoError(t, err)
		require.NotEqual(t, Ballot{1, 1}, b)
	}
}

func must(b []byte, ok bool) []byte {
	if !ok {
		panic("missing")
	}
	return b
}

// Paxos Made Simple §3: a new leader completes slots it finds accepted
// with the value of the highest ballot (P2c), in its own ballot.
func TestScenarioLeaderChangeAcceptedNotChosen(t *testing.T) {
	r := startScenario(t, "leader-change-accepted-not-chosen.yaml")
	r.until(300*sim.Millisecond - 1)
	require.Same(t, r.node(1), r.leader())
	r.until(400*sim.Millisecond - 1)
	n1, n2 := r.node(1), r.node(2)
	pending := map[int64]protocols.Request{}
	for s := n1.commit + 1; s < n1.nextSlot; s++ {
		sl := n2.get(s)
		if sl != nil && sl.hasAcc && sl.acc == n1.ballot {
			_, chosen := r.chk.Chosen(s)
			require.False(t, chosen, "slot %d", s)
			pending[s] = sl.accCmd
		}
	}
	require.NotEmpty(t, pending, "n1 and n2 must hold accepted, unchosen slots when n1 crashes")
	res := r.finish()
	for s, cmd := range pending {
		got, ok := r.chk.Chosen(s)
		require.True(t, ok, "slot %d chosen in the end", s)
		require.Equal(t, cmd, got, "slot %d: the new leader completes it with the accepted value", s)
	}
	t.Logf("%d slots accepted by n1,n2 only were completed with their values; %d ops ok", len(pending), res.OpsOK)
}

// A minority cannot form a phase 2 quorum: its leader decides nothing.
func TestScenarioMinorityPartition(t *testing.T) {
	r := startScenario(t, "minority-partition.yaml")
	r.until(300*sim.Millisecond - 1)
	require.Same(t, r.node(1), r.leader())
	r.until(301 * sim.Millisecond)
	c1, c2 := r.node(1).commit, r.node(2).commit
	c3 := r.node(3).commit
	r.until(1300*sim.Millisecond - 1)
	require.NotEqual(t, roleLeader, r.node(1).role, "n1 stepped down: no phase 2 quorum answers it")
	require.Equal(t, c1, r.node(1).commit, "n1 decided nothing in the minority")
	require.Equal(t, c2, r.node(2).commit, "n2 decided nothing in the minority")
	require.Greater(t, r.node(3).commit, c3+10, "the majority went on")
	res := r.finish()
	// After the heal one leader remains (it may be n1: its failed phase 1
	// rounds in the minority raised its ballot, and Paxos has no pre-vote)
	// and every node has caught up with it.
	l := r.leader()
	require.NotNil(t, l)
	for _, id := range r.s.Nodes() {
		require.Equal(t, l.applied, r.node(id).applied, "%v caught up after the heal", id)
	}
	require.Greater(t, res.OpsOK, 20)
}

// Paxos Made Simple §3: a new leader that finds slots it cannot complete
// below ones it can fills them with no-op commands.
func TestScenarioGapFillingNoops(t *testing.T) {
	r := startScenario(t, "gap-filling-noops.yaml")
	r.until(400*sim.Millisecond - 1)
	require.Same(t, r.node(1), r.leader())
	r.until(490*sim.Millisecond - 1)
	n1 := r.node(1)
	var gaps []int64
	var chosenAbove bool
	for s := n1.commit + 1; s < n1.nextSlot; s++ {
		alone := true
		for _, id := range r.s.Nodes()[1:] {
			if r.s.Storage(id).Has(accKey(s)) {
				alone = false
			}
		}
		if alone {
			gaps = append(gaps, s)
		} else if _, ok := r.chk.Chosen(s); ok && len(gaps) > 0 {
			chosenAbove = true
		}
	}
	require.NotEmpty(t, gaps, "slots accepted by n1 alone when it crashes")
	require.True(t, chosenAbove, "a slot above the gap is chosen when n1 crashes")
	res := r.finish()
	for _, s := range gaps {
		got, ok := r.chk.Chosen(s)
		require.True(t, ok, "slot %d chosen in the end", s)
		require.True(t, isNoop(&got), "slot %d: got %s, want a no-op", s, cmdString(&got))
	}
	t.Logf("gaps %v filled with no-ops; %d ops ok", gaps, res.OpsOK)
}

// Paxos Made Simple §2.2: of two racing proposals at most one value is
// chosen, and every learner learns it.
func TestScenarioTwoProposersRacing(t *testing.T) {
	r := startScenario(t, "two-proposers-racing.yaml")
	res := r.finish()
	proposers := 0
	var chosen *protocols.Request
	for _, id := range r.s.Nodes() {
		n := r.s.Process(id).(*SingleNode)
		if n.stats.Elections > 0 {
			proposers++
		}
		if n.decided {
			if chosen == nil {
				chosen = &n.chosen
			}
			require.Equal(t, *chosen, n.chosen, "%v learned another value", id)
		}
	}
	require.GreaterOrEqual(t, proposers, 2, "two nodes ran ballots")
	require.NotNil(t, chosen)
	got, ok := r.chk.Chosen(singleSlot)
	require.True(t, ok)
	require.Equal(t, *chosen, got)
	answers := map[string]bool{}
	for _, op := range res.History {
		if op.Status == protocols.OpOK {
			answers[op.Value] = true
		}
	}
	require.Equal(t, map[string]bool{cmdString(chosen): true}, answers, "every client got the chosen value")
}

// Paxos Made Simple §2.4: without backoff, proposers can duel forever.
func TestScenarioDuelingProposers(t *testing.T) {
	r := startScenario(t, "dueling-proposers.yaml")
	res := r.finish()
	var ballots int64
	for _, id := range r.s.Nodes() {
		n := r.node(id)
		require.Zero(t, n.commit, "%v chose something", id)
		ballots += n.stats.Elections
	}
	require.Zero(t, res.OpsOK)
	require.Greater(t, ballots, int64(1000))
	t.Logf("%d ballots started in %v, nothing chosen", ballots, r.s.Now())
}
