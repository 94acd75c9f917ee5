// Package etcdraft runs etcd's Raft library (go.etcd.io/raft/v3) as a synod
// protocol: every node wraps an etcd RawNode, the library's pure state
// machine (Tick, Step, Ready, Advance), and the adapter does for it what an
// etcd server does: it drives the clock, carries messages, persists what
// Ready says to persist before sending, applies committed entries to the
// shared key-value store, and answers clients.
//
// The adapter changes one thing, and only to make runs deterministic: etcd
// draws its randomized election timeout from a process-global crypto/rand
// source, so the adapter keeps followers from ever reaching it and starts
// elections itself, at a timeout drawn the same way from the node's own
// seeded stream. See election.go and docs/etcd-raft.md.
package etcdraft

import (
	"fmt"
	"math"

	"go.etcd.io/raft/v3"
	pb "go.etcd.io/raft/v3/raftpb"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// readyRoundsMax bounds the Ready/Advance rounds one event may cause: each
// round persists and sends, and a leader's commit after its own append
// takes a second round, so a handful is normal and a thousand is a bug.
const readyRoundsMax = 1000

// Node is one etcd-raft replica.
type Node struct {
	opts  *Options
	id    sim.NodeID
	peers []uint64

	rn *raft.RawNode
	ms *raft.MemoryStorage
	kv *protocols.KV

	// What the last Ready said, so that the adapter never has to ask the
	// RawNode for its status on the hot path.
	state              raft.StateType
	lead               uint64
	term, vote, commit uint64

	// applied is the index of the last entry applied to kv; startApplied is
	// where this incarnation started (its snapshot).
	applied, startApplied uint64
	// snapIndex/snapTerm describe the stored snapshot; entries
	// snapIndex+1..lastStored are stored under e/<index>.
	snapIndex, snapTerm uint64
	lastStored          uint64

	// The election clock (election.go): ticks since etcd last reset its
	// election clock, and the randomized timeout in ticks.
	elapsed, timeout int
	heartbeatElapsed int
	campaigns        int64

	// pending holds the request this node proposed for each client, so that
	// the node that took a request answers it once it applies.
	pending map[sim.NodeID]pending
	// reads are gets waiting for etcd's ReadIndex (Options.Reads), oldest
	// first, at most one per client.
	reads []pendingRead

	// scratch is where the node encodes what it stores: the store copies
	// it, so one buffer serves every write.
	scratch []byte

	// The last batch of log writes, for the Log Matching checker.
	writeGen         uint64
	writeLo, writeHi uint64
}

type pending struct {
	seq  int64
	term uint64
}

// pendingRead is a get waiting for its read index, then for the store to
// apply up to it.
type pendingRead struct {
	ctx   string
	req   protocols.Request
	index uint64
	known bool
}

// New returns a node for a cluster whose initial voters are members.
func New(opts *Options, id sim.NodeID, members []sim.NodeID) *Node {
	peers := make([]uint64, len(members))
	for i, m := range members {
		peers[i] = uint64(m)
	}
	return &Node{opts: opts, id: id, peers: peers}
}

// Start recovers from stable storage (or boots) and starts the clock.
func (n *Node) Start(env *sim.Env) {
	n.pending = map[sim.NodeID]pending{}
	if err := n.recover(env); err != nil {
		panic(fmt.Sprintf("%v: recover: %v", n.id, err))
	}
	rn, err := raft.NewRawNode(&raft.Config{
		ID:              uint64(n.id),
		ElectionTick:    n.opts.ElectionTicks,
		HeartbeatTick:   n.opts.HeartbeatTicks,
		Storage:         n.ms,
		Applied:         n.applied,
		MaxSizePerMsg:   n.opts.MaxMsgBytes,
		MaxInflightMsgs: n.opts.MaxInflightMsgs,
		CheckQuorum:     n.opts.CheckQuorum,
		PreVote:         n.opts.PreVote,
		Logger:          quietLogger{},
		// Followers refuse client requests and name the leader instead of
		// forwarding proposals: the workload client follows the hint, and
		// the node that takes a request is the one that answers it.
		DisableProposalForwarding: true,
	})
	if err != nil {
		panic(fmt.Sprintf("%v: etcd raft config: %v", n.id, err))
	}
	n.rn = rn
	n.state = raft.StateFollower
	n.resetElection(env)
	env.SetTimer(n.opts.TickInterval, "tick", 0)
	n.ready(env)
}

// recover rebuilds etcd's MemoryStorage and the key-value store from the
// stable storage alone: snapshot (or the boot snapshot), hard state, log.
func (n *Node) recover(env *sim.Env) error {
	n.ms = raft.NewMemoryStorage()
	n.kv = protocols.NewKV()
	snap := newSnapshot(bootIndex, bootTerm, n.peers, nil)
	if b, ok := env.Load(keySnapshot); ok {
		s, err := decodeSnapshot(b)
		if err != nil {
			return err
		}
		kv, err := protocols.DecodeKV(s.GetData())
		if err != nil {
			return err
		}
		snap, n.kv = s, kv
	}
	if err := n.ms.ApplySnapshot(snap); err != nil {
		return fmt.Errorf("snapshot %d: %v", snap.GetMetadata().GetIndex(), err)
	}
	n.snapIndex, n.snapTerm = snap.GetMetadata().GetIndex(), snap.GetMetadata().GetTerm()
	n.applied, n.startApplied, n.lastStored = n.snapIndex, n.snapIndex, n.snapIndex

	hs := &pb.HardState{Term: new(uint64(bootTerm)), Commit: new(uint64(bootIndex))}
	if b, ok := env.Load(keyHardState); ok {
		var err error
		if hs, err = decodeHardState(b); err != nil {
			return err
		}
	}
	if err := n.ms.SetHardState(hs); err != nil {
		return err
	}
	n.term, n.vote, n.commit = hs.GetTerm(), hs.GetVote(), hs.GetCommit()

	// The log: the entries from snapIndex+1 up to the first index with
	// none. The adapter keeps them contiguous (appendEntries deletes the
	// tail a leader cut off, a snapshot deletes what it covers), so that
	// probing finds the stored range (storedLogEnd) without listing and
	// sorting every key (etcd then refuses a commit index past the log's
	// end). A restart reads the whole log, each entry once: the entries
	// are decoded into one block (entryBlock), their data copied out of
	// the store into the block's own arrays, which etcd's MemoryStorage
	// keeps as the entries' data.
	count := storedLogEnd(env, n.snapIndex) - n.snapIndex
	if count == 0 {
		return nil
	}
	ents := make([]*pb.Entry, count)
	blk := newEntryBlock(int(count))
	for k := range count {
		index := n.snapIndex + 1 + k
		b, ok := peekEntry(env, index)
		if !ok {
			return fmt.Errorf("entry %d of %d..%d is missing", index, n.snapIndex+1, n.snapIndex+count)
		}
		e, err := blk.decode(index, b)
		if err != nil {
			return err
		}
		ents[k] = e
	}
	if err := n.ms.Append(ents); err != nil {
		return err
	}
	n.lastStored = n.snapIndex + count
	return nil
}

// Receive steps a peer's message into etcd, or takes a client request.
func (n *Node) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {
	n.maybeCompact(env)
	switch m := msg.(type) {
	case Msg:
		n.step(env, from, m)
	case *protocols.Request:
		n.request(env, m)
	default:
		env.Logf("ignoring %s from %v: not an etcd-raft message", msg.MessageType(), from)
	}
}

func (n *Node) step(env *sim.Env, from sim.NodeID, m Msg) {
	pm, err := m.unwrap()
	if err != nil {
		env.Logf("dropping message from %v: %v", from, err)
		return
	}
	if pm.GetFrom() != uint64(from) || pm.GetTo() != uint64(n.id) {
		env.Logf("dropping %s: it says %d->%d but came %v->%v", m.typeName(), pm.GetFrom(), pm.GetTo(), from, n.id)
		return
	}
	n.heard(pm)
	if err := n.rn.Step(pm); err != nil {
		env.Logf("etcd refused %s from %v: %v", m.typeName(), from, err)
	}
	n.ready(env)
}

// request proposes a client's command if this node leads, and otherwise
// names the leader it knows.
func (n *Node) request(env *sim.Env, req *protocols.Request) {
	if resp, dup := n.kv.Duplicate(req); dup {
		env.Send(req.Client, resp)
		return
	}
	if n.state != raft.StateLeader {
		env.Send(req.Client, n.notLeader(req))
		return
	}
	if req.Op.Kind == protocols.OpGet && n.opts.Reads == ReadsReadIndex {
		n.readIndex(env, req)
		return
	}
	if p, ok := n.pending[req.Client]; ok && p.seq == req.Seq && p.term == n.term {
		return // a retry of a command already in this leader's log: it commits or leadership is lost
	}
	if err := n.rn.Propose(encodeCommand(req)); err != nil {
		env.Logf("proposal of %s dropped: %v", req.Describe(), err)
		env.Send(req.Client, n.notLeader(req))
		return
	}
	n.pending[req.Client] = pending{seq: req.Seq, term: n.term}
	n.ready(env)
}

func (n *Node) notLeader(req *protocols.Request) *protocols.Response {
	lead := sim.NodeID(n.lead)
	if lead == n.id {
		lead = 0
	}
	return &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusNotLeader, Leader: lead}
}

// Timer advances etcd's logical clock by one tick.
func (n *Node) Timer(env *sim.Env, t sim.Timer) {
	if t.Name != "tick" {
		return
	}
	n.maybeCompact(env)
	n.tick(env)
	env.SetTimer(n.opts.TickInterval, "tick", 0)
	n.ready(env)
}

// ready hands out etcd's pending work until there is none: persist, then
// send, then apply, then Advance (etcd's order for synchronous storage).
func (n *Node) ready(env *sim.Env) {
	for round := 0; n.rn.HasReady(); round++ {
		if round >= readyRoundsMax {
			panic(fmt.Sprintf("%v: %d Ready rounds in one event", n.id, round))
		}
		rd := n.rn.Ready()
		n.handle(env, &rd)
		n.rn.Advance(rd)
		// A snapshot handed to the network counts as delivered, as etcd's
		// transport reports it: the leader then probes the follower, and
		// sends the snapshot again if the network lost it (without the
		// report, a lost MsgSnap would stall that follower for good).
		for _, m := range rd.Messages {
			if m.GetType() == pb.MsgSnap {
				n.rn.ReportSnapshot(m.GetTo(), raft.SnapshotFinish)
			}
		}
	}
}

func (n *Node) handle(env *sim.Env, rd *raft.Ready) {
	reset := false
	if ss := rd.SoftState; ss != nil {
		if ss.RaftState != n.state {
			reset = true
			if env.Tracing() {
				env.Logf("became %s at term %d", roleName(ss.RaftState), n.rn.BasicStatus().GetTerm())
			}
		}
		n.state, n.lead = ss.RaftState, ss.Lead
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		n.installSnapshot(env, rd.Snapshot)
	}
	if len(rd.Entries) > 0 {
		n.appendEntries(env, rd.Entries)
	}
	if hs := rd.HardState; !raft.IsEmptyHardState(hs) {
		if hs.GetTerm() != n.term {
			reset = true
		}
		n.scratch = appendHardState(n.scratch[:0], hs)
		env.Store(keyHardState, n.scratch)
		if err := n.ms.SetHardState(hs); err != nil {
			panic(fmt.Sprintf("%v: set hard state: %v", n.id, err))
		}
		n.term, n.vote, n.commit = hs.GetTerm(), hs.GetVote(), hs.GetCommit()
	}
	if reset {
		n.resetElection(env)
		if n.state != raft.StateLeader {
			n.dropReads(env)
		}
	}
	for _, rs := range rd.ReadStates {
		n.readState(rs)
	}
	for _, m := range rd.Messages {
		to := sim.NodeID(m.GetTo())
		if to == n.id || to < 1 || int(to) > len(env.Nodes()) {
			panic(fmt.Sprintf("%v: etcd addressed %v to %d", n.id, m.GetType(), m.GetTo()))
		}
		n.sent(m)
		w := wrap(m)
		if n.opts.sharing != nil { // tests only: a call per message sent otherwise
			n.opts.sharing.record(w)
		}
		env.Send(to, w)
	}
	n.apply(env, rd.CommittedEntries)
	n.answerReads(env)
}

// appendEntries makes entries durable (and visible to etcd through the
// MemoryStorage); entries past the new end were overwritten by a leader.
func (n *Node) appendEntries(env *sim.Env, ents []*pb.Entry) {
	if err := n.ms.Append(ents); err != nil {
		panic(fmt.Sprintf("%v: append %d entries at %d: %v", n.id, len(ents), ents[0].GetIndex(), err))
	}
	lo, hi := ents[0].GetIndex(), ents[len(ents)-1].GetIndex()
	if lo <= n.snapIndex || lo > n.lastStored+1 {
		panic(fmt.Sprintf("%v: append at %d with snapshot %d and last stored %d", n.id, lo, n.snapIndex, n.lastStored))
	}
	for _, e := range ents {
		if n.opts.corrupt == n.id && e.GetIndex() == n.opts.corruptIndex {
			if n.opts.corruptTerm {
				e = &pb.Entry{Index: e.Index, Term: new(e.GetTerm() + 1), Type: e.Type, Data: e.Data}
			} else {
				e = &pb.Entry{Index: e.Index, Term: e.Term, Type: e.Type, Data: []byte("corrupt")}
			}
		}
		n.scratch = appendEntry(n.scratch[:0], e)
		storeEntry(env, e.GetIndex(), n.scratch)
	}
	for i := hi + 1; i <= n.lastStored; i++ {
		deleteEntry(env, i)
	}
	n.lastStored = hi
	n.writeGen++
	n.writeLo, n.writeHi = lo, hi
}

// installSnapshot replaces the log and the store with a leader's snapshot.
func (n *Node) installSnapshot(env *sim.Env, snap *pb.Snapshot) {
	md := snap.GetMetadata()
	kv, err := protocols.DecodeKV(snap.GetData())
	if err != nil {
		panic(fmt.Sprintf("%v: snapshot %d: %v", n.id, md.GetIndex(), err))
	}
	if err := n.ms.ApplySnapshot(snap); err != nil {
		panic(fmt.Sprintf("%v: apply snapshot %d: %v", n.id, md.GetIndex(), err))
	}
	env.Store(keySnapshot, encodeSnapshot(snap))
	for i := n.snapIndex + 1; i <= n.lastStored; i++ {
		deleteEntry(env, i)
	}
	n.snapIndex, n.snapTerm, n.lastStored = md.GetIndex(), md.GetTerm(), md.GetIndex()
	n.kv, n.applied = kv, md.GetIndex()
	n.writeGen++
	n.writeLo, n.writeHi = 1, 0
	env.Logf("installed snapshot at %d/%d", md.GetIndex(), md.GetTerm())
}

// apply applies committed entries in order and answers the clients whose
// requests this node proposed.
func (n *Node) apply(env *sim.Env, ents []*pb.Entry) {
	for _, e := range ents {
		idx := e.GetIndex()
		if idx <= n.applied {
			continue
		}
		if idx != n.applied+1 {
			panic(fmt.Sprintf("%v: applying %d after %d", n.id, idx, n.applied))
		}
		n.applied = idx
		if e.GetType() != pb.EntryNormal || len(e.GetData()) == 0 {
			continue // a new leader's empty entry
		}
		// Every node applies every command and only the proposer answers,
		// so the command is read in place and the response left where
		// the store keeps it: the store copies what it keeps, and the
		// response is copied only to be sent.
		d := protocols.Decoder{B: e.GetData()}
		req := d.RequestRef()
		if d.Err != nil {
			panic(fmt.Sprintf("%v: entry %d: %v", n.id, idx, d.Err))
		}
		resp := n.kv.ApplyShared(&req)
		if p, ok := n.pending[req.Client]; ok && p.seq <= req.Seq {
			delete(n.pending, req.Client)
			if p.seq == req.Seq {
				sent := *resp
				env.Send(req.Client, &sent)
			}
		}
	}
}

// maybeCompact snapshots the store once SnapshotEntries applied entries
// follow the last snapshot. It runs at the start of a handler, so entries
// applied by one event stay in the log until the next one and the
// checkers see them.
func (n *Node) maybeCompact(env *sim.Env) {
	every := uint64(n.opts.SnapshotEntries)
	if every == 0 || n.applied-n.snapIndex < every {
		return
	}
	snap, err := n.ms.CreateSnapshot(n.applied, &pb.ConfState{Voters: n.peers}, n.kv.Encode())
	if err != nil {
		panic(fmt.Sprintf("%v: create snapshot at %d: %v", n.id, n.applied, err))
	}
	if err := n.ms.Compact(n.applied); err != nil {
		panic(fmt.Sprintf("%v: compact to %d: %v", n.id, n.applied, err))
	}
	env.Store(keySnapshot, encodeSnapshot(snap))
	for i := n.snapIndex + 1; i <= n.applied; i++ {
		deleteEntry(env, i)
	}
	n.snapIndex, n.snapTerm = n.applied, snap.GetMetadata().GetTerm()
	env.Logf("compacted the log into a snapshot at %d", n.applied)
}

// lastIndex is the index of the last log entry.
func (n *Node) lastIndex() uint64 {
	i, err := n.ms.LastIndex()
	if err != nil {
		return 0
	}
	return i
}

// logTail returns up to max of the last entries.
func (n *Node) logTail(count uint64) []*pb.Entry {
	last := n.lastIndex()
	first, _ := n.ms.FirstIndex()
	lo := first
	if last+1 > count && last+1-count > lo {
		lo = last + 1 - count
	}
	if lo > last {
		return nil
	}
	ents, err := n.ms.Entries(lo, last+1, math.MaxUint64)
	if err != nil {
		return nil
	}
	return ents
}
