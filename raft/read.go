package raft

import (
	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// read serves a get without a log entry (thesis §6.4), if it can: it
// reports false when the read must go through the log instead.
//
// ReadIndex: the leader notes its commit index as the read's index, then
// confirms with a heartbeat round acknowledged by a quorum that no other
// leader had been elected when the read arrived, and answers once it has
// applied up to the read's index. The commit index is only known to cover
// every earlier leader's commitments once the leader has committed an
// entry of its own term, so until then reads go through the log.
//
// Lease: while the lease holds the leader answers at once. The lease is
// ONLY SAFE WITH BOUNDED CLOCK DRIFT (see Options.leaseDuration).
func (n *Node) read(env *sim.Env, req *protocols.Request) bool {
	rd, ok := n.sm.(Reader)
	if !ok {
		return false // the state machine cannot answer reads outside the log
	}
	if t, _ := n.log.term(n.commit); t != n.term {
		return false
	}
	if n.bug(BugReadIndexNoConfirm) && n.opts.Reads == ReadsReadIndex && n.applied >= n.commit {
		env.Send(req.Client, rd.Read(req)) // the mistake: no round confirms that it still leads
		return true
	}
	// Bug lease-no-expiry: the classic mistake of trusting a lease without its clock.
	if n.opts.Reads == ReadsLease && (env.Now() < n.leaseUntil || n.bug(BugLeaseNoExpiry)) && n.applied >= n.commit {
		n.leaseReads++
		env.Send(req.Client, rd.Read(req))
		return true
	}
	// The read needs a heartbeat round that starts after it arrived. If a
	// read round is already out, it joins the next one, which starts when
	// that round is confirmed or at the next heartbeat: concurrent reads
	// share rounds.
	round := n.round + 1
	if n.readRound <= n.confirmedRound() {
		n.startReadRound(env)
		round = n.round
	}
	n.reads = append(n.reads, pendingRead{req: *req, index: n.commit, round: round})
	n.serveReads(env)
	return true
}

// startReadRound starts a heartbeat round for waiting reads and sends it
// to every follower.
func (n *Node) startReadRound(env *sim.Env) {
	n.newRound(env)
	n.readRound = n.round
	for _, p := range n.peers {
		pr := &n.prs[p]
		if !n.maybeSendAppend(env, p) && pr.replicate {
			n.sendHeartbeat(env, p, pr)
		}
	}
}

// newRound starts a heartbeat round and remembers when it left.
func (n *Node) newRound(env *sim.Env) {
	n.round++
	if n.opts.Reads == ReadsLease {
		if n.roundSent == nil {
			n.roundSent = new([roundRing]sim.Time)
		}
		n.roundSent[n.round%roundRing] = env.Now()
	}
}

// confirmedRound is the latest round a quorum of the configuration has
// acknowledged (the leader acknowledges its own rounds).
func (n *Node) confirmedRound() int64 {
	var arr [sim.MaxNodes]int64 // on the stack
	s := arr[:0]
	for _, p := range n.config.Members {
		if p == n.id {
			s = append(s, n.round)
		} else {
			s = append(s, n.prs[p].ackRound)
		}
	}
	return quorumIndex(s)
}

// serveReads answers the reads whose round is confirmed and whose index is
// applied, in arrival order, and extends the lease.
func (n *Node) serveReads(env *sim.Env) {
	if n.role != Leader || (len(n.reads) == 0 && n.opts.Reads != ReadsLease) {
		return
	}
	confirmed := n.confirmedRound()
	if n.opts.Reads == ReadsLease && confirmed > 0 && confirmed > n.round-roundRing {
		if until := n.roundSent[confirmed%roundRing] + n.opts.leaseDuration(); until > n.leaseUntil {
			n.leaseUntil = until
		}
	}
	k := 0
	for _, r := range n.reads {
		if r.round <= confirmed && r.index <= n.applied {
			env.Send(r.req.Client, n.sm.(Reader).Read(&r.req))
			continue
		}
		n.reads[k] = r
		k++
	}
	clear(n.reads[k:])
	n.reads = n.reads[:k]
	if k > 0 && n.reads[k-1].round > n.round && n.readRound <= confirmed {
		n.startReadRound(env) // the reads that joined the next round
	}
}

// failReads tells the clients of pending reads that this node no longer
// leads; they retry elsewhere.
func (n *Node) failReads(env *sim.Env) {
	for _, r := range n.reads {
		env.Send(r.req.Client, &protocols.Response{Client: r.req.Client, Seq: r.req.Seq, Status: protocols.StatusNotLeader})
	}
	clear(n.reads)
	n.reads = n.reads[:0]
	n.leaseUntil = 0
}
