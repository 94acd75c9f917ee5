package explore

import (
	"slices"

	"github.com/synod-dev/synod/sim"
)

// branch is one choice the explorer can make at a state.
type branch struct {
	action sim.ChoiceAction
	id     sim.EventID
	pend   int32 // the event's index in the scratch's pending list, or -1
	fault  sim.Fault
	// timer: the event is a timer (of process to, named name with
	// argument arg); a firing that only re-arms it is followed by the
	// next firing (take).
	timer bool
	to    sim.NodeID
	name  string
	arg   int64
}

// redeliver is the set network's delivery: a copy of a pending message is
// delivered and the message stays in flight. It is recorded as the two
// choices it is made of (duplicate, then deliver the copy).
const redeliver sim.ChoiceAction = "redeliver"

// branches lists the choices enabled at s, in a fixed order. With the
// multiset network: for each pending event (earliest first) deliver it,
// then drop and duplicate it if it is a message. With the set network:
// for each pending timer or fault, fire it; for each distinct message in
// flight, deliver a copy of it. Then crash each up node and restart each
// down node while the fault budget lasts.
func branches(s *sim.Sim, o *Options, out []branch, w *scratch) []branch {
	out = out[:0]
	if s.Stopped() != "" {
		return out
	}
	w.pend, w.fps = s.AppendPendingRefs(w.pend[:0], w.fps[:0])
	w.pendOf = s
	if o.Network == NetworkSet {
		for i, ev := range w.pend {
			if ev.Kind != sim.KindDeliver && ev.Kind != sim.KindRequest {
				out = append(out, deliverBranch(ev, i))
				continue
			}
			if !slices.Contains(w.fps[:i], w.fps[i]) {
				out = append(out, branch{action: redeliver, id: ev.ID, pend: int32(i)})
			}
		}
		return faultBranches(s, o, out)
	}
	pending := w.pend
	for i, ev := range pending {
		out = append(out, deliverBranch(ev, i))
		if ev.Kind == sim.KindDeliver || ev.Kind == sim.KindRequest {
			if !o.NoDrops {
				out = append(out, branch{action: sim.ChoiceDrop, id: ev.ID, pend: int32(i)})
			}
			if !o.NoDuplicates && !copied(pending, i) {
				out = append(out, branch{action: sim.ChoiceDuplicate, id: ev.ID, pend: int32(i)})
			}
		}
	}
	return faultBranches(s, o, out)
}

// deliverBranch is the branch that delivers the pending event ev, the
// i-th of the scratch's list.
func deliverBranch(ev *sim.Event, i int) branch {
	b := branch{action: sim.ChoiceDeliver, id: ev.ID, pend: int32(i)}
	if ev.Kind == sim.KindTimer {
		b.timer, b.to, b.name, b.arg = true, ev.To, ev.Timer.Name, ev.Timer.Arg
	}
	return b
}

func faultBranches(s *sim.Sim, o *Options, out []branch) []branch {
	if o.FaultBudget > 0 && faultsUsed(s) < o.FaultBudget {
		for _, id := range s.Nodes() {
			kind := sim.FaultCrash
			if !s.Up(id) {
				kind = sim.FaultRestart
			}
			out = append(out, branch{action: sim.ChoiceFault, pend: -1, fault: sim.Fault{Kind: kind, Node: id}})
		}
	}
	return out
}

// copied reports whether the message of pending[i] is in flight twice:
// the explorer duplicates a message at most once, so that duplication
// alone does not make the space infinite.
func copied(pending []*sim.Event, i int) bool {
	for j := range pending {
		if j != i && pending[j].Msg == pending[i].Msg && pending[j].To == pending[i].To && pending[j].From == pending[i].From {
			return true
		}
	}
	return false
}

func faultsUsed(s *sim.Sim) int {
	n := 0
	for _, c := range s.Choices() {
		if c.Action == sim.ChoiceFault {
			n++
		}
	}
	return n
}

// take applies the branch to s; an error means the branch was void (the
// state is then to be thrown away).
func (b *branch) take(s *sim.Sim) error {
	switch b.action {
	case sim.ChoiceDeliver:
		if b.timer {
			return b.fire(s)
		}
		return s.Deliver(b.id)
	case sim.ChoiceDrop:
		return s.Drop(b.id)
	case sim.ChoiceDuplicate:
		_, err := s.Duplicate(b.id)
		return err
	case redeliver:
		id, err := s.Duplicate(b.id)
		if err != nil {
			return err
		}
		return s.Deliver(id)
	default:
		return s.Inject(b.fault)
	}
}

// refiresMax bounds the firings of one timer branch (fire).
const refiresMax = 3

// fire fires the branch's timer and, while a firing only re-arms it (the
// process's part of the fingerprint is as it was, and so are the pending
// events, copies counted: nothing sent, nothing else set or canceled),
// fires the re-armed timer again, at most refiresMax times in all.
//
// A state's fingerprint leaves time out, so a firing that is not due yet,
// and only re-arms, ends in a state with the fingerprint of the one it
// left: a search would drop it as seen, and never see the firing that is
// due, though the run can reach it. Firing again until the timer does
// something makes what a timer branch does depend on the state's encoding
// only (Raft's election timer, re-armed lazily when the leader was heard
// from, is the case in point: raft.Node.AppendState). Whether a firing
// only re-armed is decided by the process's part and the pending events,
// not by the whole fingerprint, so that a step stays local (the step
// cache's premise: steps.go). It adds firings only after a step that
// changed no fingerprint, so it skips no state a search would keep. Each
// firing is a choice of its own: the schedule replays as it is.
func (b *branch) fire(s *sim.Sim) error {
	var sc fireScratch
	before := sc.sign(s, b.to)
	id := b.id
	for n := 1; ; n++ {
		if err := s.Deliver(id); err != nil {
			return err
		}
		s.RunDeferredChecks()
		if n == refiresMax || s.Stopped() != "" || s.Err() != nil || len(s.Violations()) > 0 {
			return nil
		}
		if sc.sign(s, b.to) != before {
			return nil
		}
		var ok bool
		if id, ok = rearmed(s, b); !ok {
			return nil
		}
	}
}

// fireScratch is fire's memory for the parts it compares.
type fireScratch struct {
	arr [64]uint64
}

// signature is what fire compares: a process's part, and the sum and the
// number of the pending events' parts, copies counted.
type signature struct {
	proc, sum uint64
	n         int
}

func (sc *fireScratch) sign(s *sim.Sim, to sim.NodeID) signature {
	var g signature
	procs := s.AppendProcessFingerprints(sc.arr[:0])
	if k := s.ProcessIndex(to); k >= 0 && k < len(procs) {
		g.proc = procs[k]
	}
	fps := s.AppendPendingFPs(sc.arr[:0])
	for _, fp := range fps {
		g.sum += mix(fp)
	}
	g.n = len(fps)
	return g
}

// rearmed returns the id of the earliest pending timer of the branch's
// process, name and argument, if there is one.
func rearmed(s *sim.Sim, b *branch) (sim.EventID, bool) {
	var arr [16]*sim.Event
	var fps [16]uint64
	pend, _ := s.AppendPendingRefs(arr[:0], fps[:0])
	for _, ev := range pend {
		if ev.Kind == sim.KindTimer && ev.To == b.to && ev.Timer.Name == b.name && ev.Timer.Arg == b.arg {
			return ev.ID, true
		}
	}
	return 0, false
}
