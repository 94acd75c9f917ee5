package etcdraft

import (
	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Reads through etcd's ReadIndex (Options.Reads = "read_index"). The leader
// asks etcd for a read index with a context naming the request; etcd
// confirms its leadership with a heartbeat round (and first commits an
// entry of its term) and hands back a ReadState with its commit index of
// the moment the request arrived. The get is answered from the store once
// the store has applied up to that index. A get never enters the log.

func readCtx(req *protocols.Request) string {
	var enc protocols.Encoder
	enc.Varint(int64(req.Client))
	enc.Varint(req.Seq)
	return string(enc.B)
}

func (n *Node) readIndex(env *sim.Env, req *protocols.Request) {
	if n.opts.unsafeLocalReads {
		v, found := n.kv.Data[req.Op.Key]
		env.Send(req.Client, &protocols.Response{Client: req.Client, Seq: req.Seq, Status: protocols.StatusOK, Value: v, Found: found})
		return
	}
	ctx := readCtx(req)
	for i := range n.reads {
		r := &n.reads[i]
		if r.req.Client != req.Client {
			continue
		}
		if r.ctx == ctx {
			return // a retry of a read already waiting
		}
		n.reads = append(n.reads[:i], n.reads[i+1:]...) // the client has moved on
		break
	}
	n.reads = append(n.reads, pendingRead{ctx: ctx, req: *req})
	n.rn.ReadIndex([]byte(ctx))
	n.ready(env)
}

// readState records the read index etcd confirmed for a waiting get.
func (n *Node) readState(rs raft.ReadState) {
	ctx := string(rs.RequestCtx)
	for i := range n.reads {
		if n.reads[i].ctx == ctx {
			n.reads[i].index, n.reads[i].known = rs.Index, true
			return
		}
	}
}

// answerReads answers, in arrival order, every get whose read index the
// store has reached.
func (n *Node) answerReads(env *sim.Env) {
	if len(n.reads) == 0 {
		// Nothing waits (always so with log reads): writing n.reads back
		// would still cost a write barrier after every Ready while the
		// collector marks.
		return
	}
	kept := n.reads[:0]
	for _, r := range n.reads {
		if !r.known || r.index > n.applied {
			kept = append(kept, r)
			continue
		}
		v, found := n.kv.Data[r.req.Op.Key]
		env.Send(r.req.Client, &protocols.Response{Client: r.req.Client, Seq: r.req.Seq, Status: protocols.StatusOK, Value: v, Found: found})
	}
	n.reads = kept
}

// dropReads refuses the waiting gets when this node stops leading: etcd
// forgets its read-only requests then. A get has no effect, so not_leader
// is a true answer and the client retries elsewhere at once.
func (n *Node) dropReads(env *sim.Env) {
	for _, r := range n.reads {
		env.Send(r.req.Client, n.notLeader(&r.req))
	}
	n.reads = n.reads[:0]
}
