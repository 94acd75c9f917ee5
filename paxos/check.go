package paxos

import (
	"bytes"
	"fmt"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// Checkers returns the Paxos invariant checkers for a cluster of n nodes.
// They read the true state of the run after every event: acceptors'
// stable storage (crashed nodes' included) and live nodes' decisions.
func Checkers(n int) []sim.Checker {
	return []sim.Checker{NewChecker(n)}
}

// Checker checks, incrementally:
//   - at most one value is chosen per slot, where a value is chosen when a
//     phase 2 quorum of acceptors accepted it in the same ballot (computed
//     from their stable storage, never from what nodes claim);
//   - a chosen value was proposed by a client, or is a no-op;
//   - no two learners learn different values for a slot, and what they
//     learn is the chosen value when it is known;
//   - no two nodes apply different commands at a slot.
//
// Each node's journal says which slots changed since the last check; the
// checker then reads those slots from storage. After a restart, or when a
// node's journal overflowed, it rescans the node's storage.
type Checker struct {
	n int
	// q2 is the smallest phase 2 quorum the checker assumes. It counts
	// a value chosen once q2 acceptors accepted it in one ballot; a
	// majority unless set (flexible quorums set it lower).
	q2 int
	// votes[slot] lists, per ballot, the value accepted and by whom.
	votes    map[int64][]vote
	chosen   map[int64]protocols.Request
	learned  map[int64]protocols.Request
	applied  map[int64]protocols.Request
	proposed map[reqID]protocols.Op
	// sawRequests is set when the checker runs after every event and so
	// sees every client request.
	sawRequests bool
	started     bool
	// Per node: the journal position read so far, and the node value it
	// belongs to (a restart makes a new one).
	seen []uint64
	node []journaled
	enc  protocols.Encoder
}

type vote struct {
	ballot Ballot
	cmd    protocols.Request
	by     voters
}

type reqID struct {
	client sim.NodeID
	seq    int64
}

// NewChecker returns the checker for n nodes with majority quorums.
func NewChecker(n int) *Checker { return NewCheckerQuorum(n, majority(n)) }

// NewCheckerQuorum returns the checker for n nodes whose phase 2 quorums
// have q2 acceptors.
func NewCheckerQuorum(n, q2 int) *Checker {
	return &Checker{n: n, q2: q2, votes: map[int64][]vote{}, chosen: map[int64]protocols.Request{},
		learned: map[int64]protocols.Request{}, applied: map[int64]protocols.Request{},
		proposed: map[reqID]protocols.Op{}, seen: make([]uint64, n+1), node: make([]journaled, n+1)}
}

// Name implements sim.Checker.
func (c *Checker) Name() string { return "paxos" }

// Chosen returns the value chosen in slot s, if any, as computed from the
// acceptors' storage.
func (c *Checker) Chosen(s int64) (protocols.Request, bool) { r, ok := c.chosen[s]; return r, ok }

// ChosenSlots is the number of slots known chosen.
func (c *Checker) ChosenSlots() int { return len(c.chosen) }

// Check implements sim.Checker.
func (c *Checker) Check(s *sim.Sim, ev *sim.Event) error {
	if !c.started {
		// Requests are recorded as they arrive, which needs a check after
		// every event.
		c.started = true
		c.sawRequests = s.Config().CheckEvery <= 1
	}
	if ev.Kind == sim.KindRequest {
		if req, ok := ev.Msg.(*protocols.Request); ok {
			c.proposed[reqID{req.Client, req.Seq}] = req.Op
		}
	}
	if ev.Kind == sim.KindFault || ev.To < 1 || int(ev.To) > c.n {
		return nil
	}
	return c.checkNode(s, ev.To)
}

// checkNode reads what node id changed since the last check.
func (c *Checker) checkNode(s *sim.Sim, id sim.NodeID) error {
	p, ok := s.Process(id).(journaled)
	if !ok {
		return nil
	}
	j := p.Journal()
	if c.node[id] != p {
		// A restart: the journal starts afresh, and storage may hold what
		// an earlier incarnation accepted before the last check.
		c.node[id] = p
		c.seen[id] = 0
		if err := c.rescan(s, id); err != nil {
			return err
		}
	}
	if j.n-c.seen[id] > journalMax {
		// The journal overflowed since the last check (checks run every
		// few events): storage still has every acceptance, but learned and
		// applied records that fell out are not checked.
		c.seen[id] = j.n - journalMax
		if err := c.rescan(s, id); err != nil {
			return err
		}
	}
	for ; c.seen[id] < j.n; c.seen[id]++ {
		ch := &j.ring[c.seen[id]%journalMax]
		var err error
		switch ch.Kind {
		case changeAccepted:
			err = c.readAcceptedAs(s, id, ch)
		case changeLearned:
			err = c.agree(c.learned, "learned", id, ch.Slot, &ch.Cmd)
		case changeApplied:
			err = c.agree(c.applied, "applied", id, ch.Slot, &ch.Cmd)
		}
		if err != nil {
			c.seen[id]++
			return err
		}
	}
	return nil
}

// rescan reads every accepted record of a node's storage.
func (c *Checker) rescan(s *sim.Sim, id sim.NodeID) error {
	st := s.Storage(id)
	for _, k := range st.Keys(keyAccPfx) {
		slot, err := slotOfKey(k)
		if err != nil {
			return fmt.Errorf("%v: %v", id, err)
		}
		if err := c.readAccepted(s, id, slot); err != nil {
			return err
		}
	}
	return nil
}

// readAcceptedAs counts node id's stored acceptance of a slot, which the
// journal says should be ch's: when storage holds exactly that record the
// journal's copy is used and nothing is decoded.
func (c *Checker) readAcceptedAs(s *sim.Sim, id sim.NodeID, ch *change) error {
	data, ok := s.Storage(id).Get(accKey(ch.Slot))
	if !ok {
		return nil
	}
	c.enc.B = c.enc.B[:0]
	encodeAccepted(&c.enc, ch.Ballot, &ch.Cmd)
	if bytes.Equal(data, c.enc.B) {
		return c.count(id, ch.Slot, ch.Ballot, &ch.Cmd)
	}
	return c.readAccepted(s, id, ch.Slot)
}

// readAccepted counts node id's stored acceptance of a slot.
func (c *Checker) readAccepted(s *sim.Sim, id sim.NodeID, slot int64) error {
	data, ok := s.Storage(id).Get(accKey(slot))
	if !ok {
		return nil // truncated since: the slot was decided and snapshotted
	}
	b, cmd, err := decodeAccepted(data)
	if err != nil {
		return fmt.Errorf("%v slot %d: %v", id, slot, err)
	}
	return c.count(id, slot, b, &cmd)
}

// count adds an acceptance and checks what follows from it.
func (c *Checker) count(id sim.NodeID, slot int64, b Ballot, cmd *protocols.Request) error {
	vs := c.votes[slot]
	i := 0
	for i < len(vs) && vs[i].ballot != b {
		i++
	}
	if i == len(vs) {
		vs = append(vs, vote{ballot: b, cmd: *cmd})
		c.votes[slot] = vs
	}
	v := &vs[i]
	if v.cmd != *cmd {
		return fmt.Errorf("slot %d ballot %v has two values: %s (accepted by %v) and %s", slot, b, cmdString(&v.cmd), id, cmdString(cmd))
	}
	v.by = v.by.add(id)
	if v.by.count() < c.q2 {
		return nil
	}
	if old, ok := c.chosen[slot]; ok {
		if old != *cmd {
			return fmt.Errorf("slot %d: two values chosen: %s and %s (ballot %v)", slot, cmdString(&old), cmdString(cmd), b)
		}
		return nil
	}
	if !isNoop(cmd) && c.sawRequests {
		op, ok := c.proposed[reqID{cmd.Client, cmd.Seq}]
		if !ok || op != cmd.Op {
			return fmt.Errorf("slot %d: chosen %s was never proposed by a client", slot, cmdString(cmd))
		}
	}
	c.chosen[slot] = *cmd
	if l, ok := c.learned[slot]; ok && l != *cmd {
		return fmt.Errorf("slot %d: learned %s but %s is chosen", slot, cmdString(&l), cmdString(cmd))
	}
	return nil
}

// agree checks that node id's learned or applied command at a slot agrees
// with every other node's and with the chosen value.
func (c *Checker) agree(m map[int64]protocols.Request, what string, id sim.NodeID, slot int64, cmd *protocols.Request) error {
	if old, ok := m[slot]; ok {
		if old != *cmd {
			return fmt.Errorf("slot %d: %v %s %s, another node %s %s", slot, id, what, cmdString(cmd), what, cmdString(&old))
		}
	} else {
		m[slot] = *cmd
	}
	if ch, ok := c.chosen[slot]; ok && ch != *cmd {
		return fmt.Errorf("slot %d: %v %s %s but %s is chosen", slot, id, what, cmdString(cmd), cmdString(&ch))
	}
	return nil
}
