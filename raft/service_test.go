package raft

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"runtime"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/proptest"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// ledgerSnapshotEvery is how many applied entries the ledger service
// applies between two snapshots of its own, and, in the automatic mode,
// Options.SnapshotEntries: either way a node keeps fewer applied entries
// than this after its snapshot.
const ledgerSnapshotEvery = 10

// ledger is a service with state of its own, not the key-value store's:
// the index it has applied up to, how many commands it applied, and a
// hash chained over its whole apply stream (index, term, kind and command
// of every entry, no-ops included). It answers the chaos workload's
// key-value clients from a store it keeps beside (so that the history is
// checked for linearizability too), and snapshots everything, in an
// encoding of its own, at every index that is a multiple of `every` (0:
// never; Raft's automatic snapshots then call Snapshot). Deciding by the
// index keeps everything that decides what it does next in its bytes.
//
// It records what each incarnation is told (stream) for ledgerCheck.
type ledger struct {
	applied  int64
	commands int64
	hash     uint64
	kv       *protocols.KV
	every    int
	stream   []ledgerItem
}

// ledgerItem is one call the ledger got: an entry applied, or a snapshot
// restored (restore true; kind unset), with the ledger's hash after it.
type ledgerItem struct {
	restore bool
	index   int64
	term    int64
	kind    EntryKind
	command string
	hash    uint64
}

func newLedger(every int) func(sim.NodeID) StateMachine {
	return func(sim.NodeID) StateMachine { return &ledger{kv: protocols.NewKV(), every: every} }
}

func (l *ledger) Apply(index int64, e *Entry) ApplyResult {
	var res ApplyResult
	l.applied = index
	h := fnv.New64a()
	var b [8 * 4]byte
	binary.LittleEndian.PutUint64(b[0:], l.hash)
	binary.LittleEndian.PutUint64(b[8:], uint64(index))
	binary.LittleEndian.PutUint64(b[16:], uint64(e.Term))
	binary.LittleEndian.PutUint64(b[24:], uint64(e.Kind))
	h.Write(b[:])
	h.Write([]byte(e.Command()))
	l.hash = h.Sum64()
	if e.Kind == EntryCommand {
		l.commands++
		res.Response = l.kv.Apply(&e.Req)
	}
	l.stream = append(l.stream, ledgerItem{index: index, term: e.Term, kind: e.Kind, command: e.Command(), hash: l.hash})
	if l.every > 0 && index%int64(l.every) == 0 {
		res.Snapshot = l.encode()
	}
	return res
}

// encode is the ledger's own snapshot format: three varints, then the
// store's bytes.
func (l *ledger) encode() []byte {
	var e protocols.Encoder
	e.Varint(l.applied)
	e.Varint(l.commands)
	e.Uvarint(l.hash)
	e.Bytes(l.kv.Encode())
	return e.B
}

func (l *ledger) Snapshot() []byte { return l.encode() }

// Restore believes the index Raft gives it: a wrong one shows as a hash
// that differs from the other nodes' at that index (ledgerCheck).
func (l *ledger) Restore(index, term int64, data []byte) error {
	d := protocols.Decoder{B: data}
	d.Varint() // the index the bytes were taken at
	commands, hash := d.Varint(), d.Uvarint()
	kv, err := protocols.DecodeKV(d.Bytes())
	if d.Err != nil {
		return d.Err
	}
	if err != nil {
		return err
	}
	l.applied, l.commands, l.hash, l.kv = index, commands, hash, kv
	l.stream = append(l.stream, ledgerItem{restore: true, index: index, term: term, hash: hash})
	return nil
}

func (l *ledger) Duplicate(req *protocols.Request) (*protocols.Response, bool) {
	return l.kv.Duplicate(req)
}

func (l *ledger) Read(req *protocols.Request) *protocols.Response { return readKV(l.kv, req) }

// tailMax bounds the log entries a node stores beyond its applied index
// (appended but not applied: a leader cut off with its clients'
// proposals, a follower behind on commits): Raft sets no bound, the
// closed-loop workload of 3 clients does. Over 1,000 seeds of chaos5 the
// worst seen was 16.
const tailMax = 64

// ledgerCheck checks the apply stream of every node's ledger after every
// event, and what the node keeps on stable storage:
//   - in order, without gaps: each entry applied is the one after the
//     last entry applied or snapshot restored;
//   - the same entry (term, kind, command) and the same service state
//     (hash) at each index on every node, restored snapshots included;
//   - no-ops marked: the first entry of a term is the new leader's no-op;
//   - the service has applied exactly what Raft says it applied;
//   - bounded storage: the snapshot, at most ledgerSnapshotEvery-1
//     applied entries after it, and at most tailMax entries beyond those.
type ledgerCheck struct {
	nodes [sim.MaxNodes + 1]ledgerSeen
	// agreed[i] is what the first node to apply index i applied there;
	// it grows with the committed log (a few thousand entries a run).
	agreed map[int64]ledgerItem
	// storedMax is the most log entries one node stored at once,
	// tailSeen the most beyond its applied index, commitMax the highest
	// commit index.
	storedMax, tailSeen int
	commitMax           int64
	// restores counts the snapshots a service restored at its start,
	// installs those restored later (carried by InstallSnapshot).
	restores, installs int
}

// ledgerSeen is how far the checker read one incarnation's stream.
type ledgerSeen struct {
	l        *ledger
	read     int
	last     int64
	lastTerm int64
}

func (*ledgerCheck) Name() string { return "test.Ledger" }

func (c *ledgerCheck) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range s.Nodes() {
		n := node(s, id)
		if n == nil || n.sm == nil {
			continue
		}
		if err := c.checkStream(id, n); err != nil {
			return err
		}
		if err := c.checkStorage(s, id, n); err != nil {
			return err
		}
	}
	return nil
}

func (c *ledgerCheck) checkStream(id sim.NodeID, n *Node) error {
	l := n.sm.(*ledger)
	seen := &c.nodes[id]
	if seen.l != l {
		*seen = ledgerSeen{l: l} // a new incarnation
	}
	for _, it := range l.stream[seen.read:] {
		seen.read++
		if it.restore {
			if it.index <= seen.last && seen.last > 0 {
				return fmt.Errorf("%v restored a snapshot at %d after applying up to %d", id, it.index, seen.last)
			}
			if a, ok := c.agreed[it.index]; ok && a.hash != it.hash {
				return fmt.Errorf("%v restored a snapshot at %d whose state (hash %x) differs from the state applied there (hash %x)", id, it.index, it.hash, a.hash)
			}
			if seen.last == 0 && seen.read == 1 {
				c.restores++
			} else {
				c.installs++
			}
			seen.last, seen.lastTerm = it.index, it.term
			continue
		}
		if it.index != seen.last+1 {
			return fmt.Errorf("%v applied index %d after %d: a gap in the apply stream", id, it.index, seen.last)
		}
		if it.term > seen.lastTerm && it.kind != EntryNoop && !n.opts.NoLeaderNoop {
			return fmt.Errorf("%v applied %q of term %d at %d, the first entry of its term, not marked as the leader's no-op", id, it.command, it.term, it.index)
		}
		if a, ok := c.agreed[it.index]; !ok {
			c.agreed[it.index] = it
		} else if a.term != it.term || a.kind != it.kind || a.command != it.command || a.hash != it.hash {
			return fmt.Errorf("%v applied %q of term %d at %d (hash %x); another node applied %q of term %d there (hash %x)",
				id, it.command, it.term, it.index, it.hash, a.command, a.term, a.hash)
		}
		seen.last, seen.lastTerm = it.index, it.term
	}
	if seen.last != n.applied || l.applied != n.applied {
		return fmt.Errorf("%v: Raft applied up to %d, its service up to %d (stream %d)", id, n.applied, l.applied, seen.last)
	}
	return nil
}

func (c *ledgerCheck) checkStorage(s *sim.Sim, id sim.NodeID, n *Node) error {
	if d := n.applied - n.log.snapIndex; d >= ledgerSnapshotEvery {
		return fmt.Errorf("%v: %d applied entries since the snapshot at %d, want < %d", id, d, n.log.snapIndex, ledgerSnapshotEvery)
	}
	tail := n.log.last() - n.applied
	if tail > tailMax {
		return fmt.Errorf("%v: %d entries beyond the applied index %d, bound %d", id, tail, n.applied, tailMax)
	}
	c.tailSeen, c.commitMax = max(c.tailSeen, int(tail)), max(c.commitMax, n.commit)
	st := s.Storage(id)
	stored := st.Len() // one key per entry (storage.go), and these two
	for _, k := range []string{keyHardState, keySnapshot} {
		if st.Has(k) {
			stored--
		}
	}
	if want := int(n.log.last() - n.log.snapIndex); stored != want {
		return fmt.Errorf("%v stores %d entries, want the %d after its snapshot at %d", id, stored, want, n.log.snapIndex)
	}
	c.storedMax = max(c.storedMax, stored)
	return nil
}

// ledgerSpec is the reference Raft serving the ledger (snapshotting every
// `every` entries), with ledgerCheck beside its own checkers, and bug as
// Options.unsafeService.
func ledgerSpec(name string, every int, bug string) protocols.Spec {
	spec := ServiceSpec(name, "Raft serving the test ledger", newLedger(every))
	spec.New = func(c protocols.Cluster) (func(sim.NodeID) protocols.Node, error) {
		o := DefaultOptions()
		if c.Options != nil {
			o = c.Options.(*Options)
		}
		cp := *o
		cp.unsafeService = bug
		c.Options = &cp
		return newCluster(c, newLedger(every))
	}
	spec.Checkers = func(c protocols.Cluster) []sim.Checker {
		return append(Checkers(c), &ledgerCheck{agreed: map[int64]ledgerItem{}})
	}
	return spec
}

func init() {
	protocols.Register(ledgerSpec("raft-ledger", ledgerSnapshotEvery, ""))
	protocols.Register(ledgerSpec("raft-ledger-auto", 0, ""))
	protocols.Register(ledgerSpec("raft-ledger-skip-restore", ledgerSnapshotEvery, serviceBugSkipRestore))
	protocols.Register(ledgerSpec("raft-ledger-compact-past", ledgerSnapshotEvery, serviceBugCompactPastSnapshot))
}

// ledgerScenario is chaos5.yaml served by protocol (a ledgerSpec) with
// Options.SnapshotEntries auto: 0 for a ledger that snapshots on its own,
// so that its snapshots are the only ones.
func ledgerScenario(t *testing.T, protocol string, auto int) *scenario.Scenario {
	t.Helper()
	sc := loadScenario(t, "chaos5.yaml")
	sc.Protocol = protocol
	require.NoError(t, sc.SetOption(fmt.Sprintf("snapshot_entries=%d", auto)))
	return sc
}

// ledgerStats is what the runs of a ledger property test add up to.
type ledgerStats struct {
	mu sync.Mutex
	// storedMax is the most log entries one node stored at once, tailSeen
	// the most entries beyond a node's applied index, commitMin the
	// shortest committed history of a run.
	storedMax, tailSeen int
	commitMin           int64
	// restores counts the snapshots restored into services after a
	// restart, installs those InstallSnapshot carried.
	restores, installs int
}

// ledgerLiveness is Raft's liveness check, adding each run's ledgerCheck
// figures to st.
func ledgerLiveness(st *ledgerStats) proptest.Check {
	return proptest.Check{
		Bound: leaderBound, Leader: majorityLeader, Followed: "a majority",
		After: func(s *sim.Sim, o *proptest.Outcome) {
			for _, c := range s.Checkers() {
				lc, ok := c.(*ledgerCheck)
				if !ok {
					continue
				}
				st.mu.Lock()
				st.storedMax, st.tailSeen = max(st.storedMax, lc.storedMax), max(st.tailSeen, lc.tailSeen)
				if st.commitMin == 0 || lc.commitMax < st.commitMin {
					st.commitMin = lc.commitMax
				}
				st.restores += lc.restores
				st.installs += lc.installs
				st.mu.Unlock()
			}
		},
	}
}

// ledgerRerun is the command that reruns the ledger's property test up to
// a seed: the ledger exists only in this test binary, so no synod command
// can replay it.
func ledgerRerun(seed uint64) string {
	return fmt.Sprintf("go test ./raft -run 'TestServiceLedgerChaos$' -raft.seeds %d", seed)
}

// TestServiceLedgerChaos: a service with state of its own, snapshotting
// every 10 applied entries, passes the chaos property test (safety,
// linearizability, liveness after the heal) with its apply stream and
// storage checked after every event by ledgerCheck: in order, no gaps,
// no-ops marked, the same entry and service state at each index on every
// node, and at most the snapshot plus 9 applied and tailMax unapplied
// entries stored, not the history.
func TestServiceLedgerChaos(t *testing.T) {
	sc := ledgerScenario(t, "raft-ledger", 0)
	n := seedCount(200)
	var st ledgerStats
	outs, bad := ledgerLiveness(&st).Run(sc, n, runtime.GOMAXPROCS(0), func(f func()) { go f() })
	if bad != nil {
		t.Fatalf("seed %d: %s\nrerun: %s", bad.Seed, bad.Err, ledgerRerun(bad.Seed))
	}
	t.Logf("raft-ledger on chaos5.yaml: %v; %d snapshots restored at a restart, %d installed from a leader; a node stored at most %d log entries at once (at most %d beyond its applied index); the shortest committed history was %d entries",
		proptest.Summarize(outs), st.restores, st.installs, st.storedMax, st.tailSeen, st.commitMin)
	require.LessOrEqual(t, st.storedMax, ledgerSnapshotEvery-1+tailMax)
	require.Positive(t, st.restores, "no service restored its snapshot after a restart")
	require.Positive(t, st.installs, "no InstallSnapshot carried the service's snapshot")
}

// TestServiceAutoSnapshots: with the automatic mode (snapshot_entries:
// 10) and a service that never snapshots on its own, the apply stream is
// as complete: entries that one event applies and compacts (a batch of up
// to 64 entries, compacted at its end) all reach the service first.
func TestServiceAutoSnapshots(t *testing.T) {
	sc := ledgerScenario(t, "raft-ledger-auto", ledgerSnapshotEvery)
	var st ledgerStats
	outs, bad := ledgerLiveness(&st).Run(sc, seedCount(100), runtime.GOMAXPROCS(0), func(f func()) { go f() })
	if bad != nil {
		t.Fatalf("seed %d: %s\nrerun: go test ./raft -run 'TestServiceAutoSnapshots$' -raft.seeds %d", bad.Seed, bad.Err, bad.Seed)
	}
	t.Logf("raft-ledger-auto on chaos5.yaml: %v; %d restored, %d installed", proptest.Summarize(outs), st.restores, st.installs)
	require.Positive(t, st.restores+st.installs)
}

// TestServiceLedgerStorageBounded: over a long run (chaos5.yaml for 40s,
// the nemesis healed at 3s) a node's stored log stays within the bound
// ledgerCheck holds after every event while the committed history grows
// far past it.
func TestServiceLedgerStorageBounded(t *testing.T) {
	sc := ledgerScenario(t, "raft-ledger", 0)
	sc.Duration = 40 * sim.Second
	var st ledgerStats
	o := ledgerLiveness(&st).Seed(sc, 1)
	require.Empty(t, o.Err, "rerun: go test ./raft -run 'TestServiceLedgerStorageBounded$'")
	bound := ledgerSnapshotEvery - 1 + tailMax
	t.Logf("committed %d entries; a node stored at most %d at once (bound %d)", st.commitMin, st.storedMax, bound)
	require.LessOrEqual(t, st.storedMax, bound)
	require.Greater(t, st.commitMin, int64(20*bound), "the run is too short to show the log is compacted")
}

// TestServiceLedgerCatchesMistakes: the checks fail on the mistakes they
// exist for. Restarting without restoring the stored snapshot leaves a
// gap in the stream; filing a service's snapshot under a later index than
// it was taken at gives a node restored from it a state that differs
// from the others' at that index.
func TestServiceLedgerCatchesMistakes(t *testing.T) {
	for _, v := range []struct{ protocol, want string }{
		{"raft-ledger-skip-restore", "Raft applied up to 10, its service up to 0"},
		{"raft-ledger-compact-past", "differs from the state applied there"},
	} {
		t.Run(v.protocol, func(t *testing.T) {
			sc := ledgerScenario(t, v.protocol, 0)
			found := ""
			check := ledgerLiveness(&ledgerStats{})
			for seed := uint64(1); seed <= 20 && found == ""; seed++ {
				if o := check.Seed(sc, seed); o.Err != "" {
					found = o.Err
				}
			}
			require.Contains(t, found, v.want)
		})
	}
}

// TestCloneStateMachineWithoutCloner: a forked run copies a state machine
// that cannot clone itself by restoring its snapshot into a fresh one
// (ensureOwnStateMachine): the fork ends where a deep copy of the run
// stepped alike ends, and the original is untouched.
func TestCloneStateMachineWithoutCloner(t *testing.T) {
	const nodes, clients = 3, 2
	const dur = 5 * sim.Second
	opts := DefaultOptions()
	opts.SnapshotEntries = 0
	members := []sim.NodeID{1, 2, 3}
	w := protocols.DefaultWorkload()
	w.Clients = clients
	cfg := sim.Config{Seed: 4, Nodes: nodes, Clients: clients, Duration: dur, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}}
	s, err := sim.New(cfg, sim.Factory{
		Node: func(id sim.NodeID) sim.Process {
			return NewWithStateMachine(opts, members, func() StateMachine { return newLedger(3)(id) })
		},
		Client: func(sim.NodeID) sim.Process { return protocols.NewKVClient(&w, dur-w.OpTimeout) },
	})
	require.NoError(t, err)
	s.RunUntil(sim.Second)
	before, ref := s.Clone(), s.Clone()
	f := s.Fork()
	for range 2000 {
		f.Step()
		ref.Step()
	}
	state := func(x *sim.Sim, id sim.NodeID) ledger {
		l := *node(x, id).sm.(*ledger)
		l.stream = nil // a copy's stream starts at the restore that made it
		return l
	}
	applied := int64(0)
	for _, id := range s.Nodes() {
		require.Equal(t, state(ref, id), state(f, id), "%v in the fork", id)
		require.Equal(t, state(before, id), state(s, id), "%v in the original", id)
		applied = max(applied, node(f, id).applied-node(s, id).applied)
	}
	require.Positive(t, applied, "the fork applied nothing: the copies were not exercised")
}

// prober hosts a node and calls Propose every 50ms, checking each answer
// against the node's state: the index the entry got, the node's term, and
// isLeader exactly when the node leads.
type prober struct {
	*Node
	t          *testing.T
	ok, refuse *int
}

func (p *prober) Start(env *sim.Env) {
	p.Node.Start(env)
	env.SetTimer(50*sim.Millisecond, "probe", 0)
}

func (p *prober) Timer(env *sim.Env, tm sim.Timer) {
	if tm.Name != "probe" {
		p.Node.Timer(env, tm)
		return
	}
	env.SetTimer(50*sim.Millisecond, "probe", 0)
	leads, last, cur := p.role == Leader, p.log.last(), p.term
	cmd := protocols.Request{Seq: int64(env.Now()), Op: protocols.Op{Kind: protocols.OpPut, Key: "probe", Value: env.ID().String()}}
	index, term, isLeader := p.Propose(env, cmd)
	require.Equal(p.t, leads, isLeader, "%v at %v", env.ID(), env.Now())
	if !isLeader {
		require.Equal(p.t, [2]int64{0, cur}, [2]int64{index, term})
		*p.refuse++
		return
	}
	require.Equal(p.t, [2]int64{last + 1, cur}, [2]int64{index, term})
	require.Equal(p.t, cmd, p.log.at(index).Req)
	*p.ok++
}

// TestProposeReturnsIndexAndTerm: Propose answers with the index and term
// the entry got when the node leads, and refuses otherwise; the commands
// proposed commit (the KV store applies them, and nobody is answered).
func TestProposeReturnsIndexAndTerm(t *testing.T) {
	members := []sim.NodeID{1, 2, 3}
	var ok, refuse int
	cfg := sim.Config{Seed: 2, Nodes: 3, Duration: 3 * sim.Second, Network: sim.NetworkConfig{Latency: sim.DefaultLatency},
		Faults: []sim.ScheduledFault{mustFault(t, "1s crash n1"), mustFault(t, "1s crash n2"), mustFault(t, "1s crash n3"),
			mustFault(t, "1100ms restart n1"), mustFault(t, "1100ms restart n2"), mustFault(t, "1100ms restart n3")}}
	s, err := sim.New(cfg, sim.Factory{Node: func(sim.NodeID) sim.Process {
		return &prober{Node: New(DefaultOptions(), members), t: t, ok: &ok, refuse: &refuse}
	}})
	require.NoError(t, err)
	s.Run()
	require.NoError(t, s.Err())
	require.Positive(t, ok)
	require.Positive(t, refuse)
	for _, id := range s.Nodes() {
		p := s.Process(id).(*prober)
		require.Positive(t, p.commit, "%v", id)
		require.Contains(t, kvOf(p.Node).Keys(), "probe", "%v", id)
	}
}

func mustFault(t *testing.T, s string) sim.ScheduledFault {
	f, err := sim.ParseScheduledFault(s)
	require.NoError(t, err)
	return f
}

// responsesUnchanged is a checker that keeps a copy of every response a
// node has in flight to a client and fails when one changes before it is
// delivered.
type responsesUnchanged struct {
	nodes int
	seen  map[*protocols.Response]protocols.Response
}

func (*responsesUnchanged) Name() string { return "test.ResponsesUnchanged" }
func (c *responsesUnchanged) Check(s *sim.Sim, _ *sim.Event) error {
	for _, ev := range s.Pending() {
		r, ok := ev.Msg.(*protocols.Response)
		if !ok || ev.Kind != sim.KindDeliver || int(ev.From) > c.nodes {
			continue
		}
		was, ok := c.seen[r]
		if !ok {
			c.seen[r] = *r
		} else if was != *r {
			return fmt.Errorf("%v's response in flight to %v changed from %+v to %+v", ev.From, ev.To, was, *r)
		}
	}
	return nil
}

// KVStateMachine returns the same Response from every Apply, refilled;
// the node must send a copy of it, or a leader applying two commands in
// one event would send the second's answer to both clients.
func TestSentResponsesAreNotTheStateMachines(t *testing.T) {
	r := newTestRun(t, 5, 3, 4, 2*sim.Second, nil)
	c := &responsesUnchanged{nodes: 3, seen: map[*protocols.Response]protocols.Response{}}
	r.s.AddChecker(c)
	r.runUntil(2 * sim.Second)
	r.ok()
	require.Greater(t, len(c.seen), 100, "responses seen in flight")
	ok, _, _ := r.ops()
	require.Greater(t, ok, 100, "operations completed")
}
