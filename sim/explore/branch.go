package explore

import (
	"github.com/synod-dev/synod/sim"
)

// branch is one choice the explorer can make at a state.
type branch struct {
	action sim.ChoiceAction
	id     sim.EventID
	fault  sim.Fault
}

// branches lists the choices enabled at s, in a fixed order: for each
// pending event (earliest first) deliver it, then drop and duplicate it if
// it is a message; then crash each up node and restart each down node
// while the fault budget lasts.
func branches(s *sim.Sim, o *Options, out []branch) []branch {
	out = out[:0]
	if s.Stopped() != "" {
		return out
	}
	pending := s.Pending()
	for i, ev := range pending {
		out = append(out, branch{action: sim.ChoiceDeliver, id: ev.ID})
		if ev.Kind == sim.KindDeliver || ev.Kind == sim.KindRequest {
			if !o.NoDrops {
				out = append(out, branch{action: sim.ChoiceDrop, id: ev.ID})
			}
			if !o.NoDuplicates && !copied(pending, i) {
				out = append(out, branch{action: sim.ChoiceDuplicate, id: ev.ID})
			}
		}
	}
	if o.FaultBudget > 0 && faultsUsed(s) < o.FaultBudget {
		for _, id := range s.Nodes() {
			kind := sim.FaultCrash
			if !s.Up(id) {
				kind = sim.FaultRestart
			}
			out = append(out, branch{action: sim.ChoiceFault, fault: sim.Fault{Kind: kind, Node: id}})
		}
	}
	return out
}

// copied reports whether the message of pending[i] is in flight twice:
// the explorer duplicates a message at most once, so that duplication
// alone does not make the space infinite.
func copied(pending []sim.Event, i int) bool {
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
	default:
		return s.Inject(b.fault)
	}
}
