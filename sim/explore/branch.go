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
				out = append(out, branch{action: sim.ChoiceDeliver, id: ev.ID, pend: int32(i)})
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
		out = append(out, branch{action: sim.ChoiceDeliver, id: ev.ID, pend: int32(i)})
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
