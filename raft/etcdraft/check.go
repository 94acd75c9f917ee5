package etcdraft

import (
	"bytes"
	"fmt"

	"go.etcd.io/raft/v3"

	"github.com/synod-dev/synod/sim"
)

// Invariant checkers over the true state of a run: live nodes' etcd state
// and every node's stable storage, crashed nodes' included. They keep what
// they learned over the whole run, so "at most one leader per term" means
// over all time, not at one instant. Each is incremental, as synod Raft's
// (raft/checkers.go): after an event it looks only at the node the event
// went to (every node after events it did not see), and there only at
// what changed since it last looked, so that an event that changed
// nothing a checker reads costs it a comparison.
const (
	NameElectionSafety     = "election-safety"
	NameLogMatching        = "log-matching"
	NameStateMachineSafety = "state-machine-safety"
	NameLeaderCompleteness = "leader-completeness"
)

// NewCheckers returns fresh checkers of the four Raft safety properties.
// State Machine Safety and Leader Completeness share one record of what
// the nodes applied, so that the entries are read once per event, not
// twice.
func NewCheckers() []sim.Checker {
	applied := newAppliedLog()
	return []sim.Checker{NewElectionSafety(), NewLogMatching(),
		&StateMachineSafety{applied: applied}, &LeaderCompleteness{applied: applied}}
}

// scope finds the nodes an event may have changed. A node's state (its
// etcd state, the adapter's fields the checkers read, its stable storage)
// changes only while it handles an event sent to it: a crash takes the
// node away (the checkers keep what they learned), a restart starts it
// with an event of its own. So after an event at node n, when the checker
// also saw the event before, only n can have changed; after a fault or an
// event at a client, no node did. Any other check (the first, one after
// events the checker did not see, as when the run checks every k events or
// a checkpoint is restored, or a check with no event, Sim.Check) looks at
// every node.
type scope struct {
	last    int64 // the run's Index at the last check
	started bool
	one     [1]sim.NodeID
}

func (sc *scope) nodes(s *sim.Sim, ev *sim.Event) []sim.NodeID {
	idx := s.Index()
	contiguous := sc.started && idx == sc.last+1 && ev != nil
	sc.last, sc.started = idx, true
	switch {
	case contiguous && ev.To > 0 && ev.Kind != sim.KindFault:
		sc.one[0] = ev.To
		return sc.one[:]
	case contiguous && (ev.Kind == sim.KindFault || ev.To < 0):
		return nil
	}
	return s.Nodes()
}

// nodeOf returns the live etcd-raft node with the given id, or nil.
func nodeOf(s *sim.Sim, id sim.NodeID) *Node {
	n, _ := s.Process(id).(*Node)
	if n == nil || n.rn == nil {
		return nil
	}
	return n
}

// ElectionSafety: at most one node is leader in any term (Raft §5.2).
type ElectionSafety struct {
	sc      scope
	leaders map[uint64]sim.NodeID
	// led is the term each node was last recorded leading, so that a
	// leader's every event does not look its term up.
	led [sim.MaxNodes + 1]uint64
}

// NewElectionSafety returns the Election Safety checker.
func NewElectionSafety() *ElectionSafety { return &ElectionSafety{leaders: map[uint64]sim.NodeID{}} }

// Name implements sim.Checker.
func (c *ElectionSafety) Name() string { return NameElectionSafety }

// Check implements sim.Checker.
func (c *ElectionSafety) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range c.sc.nodes(s, ev) {
		n := nodeOf(s, id)
		if n == nil || n.state != raft.StateLeader || c.led[id] == n.term {
			continue
		}
		if l, ok := c.leaders[n.term]; !ok {
			c.leaders[n.term] = id
			c.led[id] = n.term
		} else if l == id {
			c.led[id] = n.term
		} else {
			return fmt.Errorf("%v and %v both led term %d", l, id, n.term)
		}
	}
	return nil
}

// LogMatching: two logs with an entry of the same index and term hold the
// same entry there and agree on every entry before it (Raft §5.3). It is
// checked inductively over every entry ever written to any node's stable
// storage: an (index, term) pair always carries the same data and follows
// the same previous term. Since a term's leader writes one entry per index,
// agreement at (i, t) then implies agreement at i-1, and so on down.
type LogMatching struct {
	sc scope
	// seen holds, by index, the entries seen there, one per term (a
	// slice, not a map: every entry written is looked up, and an index
	// rarely holds more than one term).
	seen  [][]entrySeen
	nodes [sim.MaxNodes + 1]lmNode
}

type entrySeen struct {
	term     uint64
	data     string
	prevTerm uint64
	node     sim.NodeID
}

type lmNode struct {
	node *Node
	gen  uint64
}

// NewLogMatching returns the Log Matching checker.
func NewLogMatching() *LogMatching {
	return &LogMatching{}
}

// Name implements sim.Checker.
func (c *LogMatching) Name() string { return NameLogMatching }

// Check implements sim.Checker. A node's storage changes only while it
// runs; each write batch is checked once, and a node seen for the first
// time (or after a restart, or a skipped check) is checked in full.
func (c *LogMatching) Check(s *sim.Sim, ev *sim.Event) error {
	for _, id := range c.sc.nodes(s, ev) {
		n := nodeOf(s, id)
		if n == nil {
			continue
		}
		t := &c.nodes[id]
		if t.node == n && t.gen == n.writeGen {
			continue
		}
		lo, hi := n.writeLo, n.writeHi
		if t.node != n || t.gen+1 != n.writeGen {
			lo, hi = n.snapIndex+1, n.lastStored
		}
		t.node, t.gen = n, n.writeGen
		log := storedLog{s.Storage(id)}
		// The batch is read in order, each entry's term serving as the
		// next one's previous term.
		prev, prevOK := uint64(0), false
		for i := lo; i <= hi; i++ {
			term, data, ok := log.peek(i)
			if !ok {
				prevOK = false
				continue // compacted since
			}
			if !prevOK {
				if prev, prevOK = log.term(i - 1); !prevOK {
					return fmt.Errorf("%v stores entry %d but neither entry %d nor a snapshot ending there", id, i, i-1)
				}
			}
			if err := c.entry(id, i, term, data, prev); err != nil {
				return err
			}
			prev = term
		}
	}
	return nil
}

func (c *LogMatching) entry(id sim.NodeID, index, term uint64, data []byte, prev uint64) error {
	for uint64(len(c.seen)) <= index {
		c.seen = append(c.seen, nil)
	}
	var was *entrySeen
	for k := range c.seen[index] {
		if c.seen[index][k].term == term {
			was = &c.seen[index][k]
			break
		}
	}
	if was == nil {
		c.seen[index] = append(c.seen[index], entrySeen{term: term, data: string(data), prevTerm: prev, node: id})
		return nil
	}
	if was.data != string(data) {
		return fmt.Errorf("entry %d/%d is %s on %v but %s on %v", index, term,
			describeData(data), id, describeData([]byte(was.data)), was.node)
	}
	if was.prevTerm != prev {
		return fmt.Errorf("entry %d/%d follows term %d on %v but term %d on %v", index, term, prev, id, was.prevTerm, was.node)
	}
	return nil
}

// appliedLog records, per index, the entry some node applied there: every
// such entry is committed. It follows each node's applied index and reads
// the entries from the node's stable storage.
type appliedLog struct {
	sc    scope
	ents  []appliedEntry // by index
	nodes [sim.MaxNodes + 1]alNode
	// unreported is a disagreement found by an update whose caller does
	// not report it (Leader Completeness, if it runs first), kept for
	// State Machine Safety.
	unreported error
}

type appliedEntry struct {
	known bool
	term  uint64
	data  []byte
	node  sim.NodeID
	// committedBy bounds the term the entry was committed in: a node
	// learns of a commit from a leader of its own term or an earlier one,
	// so the entry was committed in a term no later than the term of any
	// node that has applied it.
	committedBy uint64
}

type alNode struct {
	node   *Node
	cursor uint64
}

func newAppliedLog() *appliedLog { return &appliedLog{} }

// update reads what each live node applied since the last call and
// reports the first disagreement. Its two readers call it after the same
// event: the second call finds nothing new (the run's Index has not
// moved) and returns at once.
func (a *appliedLog) update(s *sim.Sim, ev *sim.Event) error {
	if a.sc.started && s.Index() == a.sc.last {
		return nil
	}
	for _, id := range a.sc.nodes(s, ev) {
		n := nodeOf(s, id)
		if n == nil {
			continue
		}
		t := &a.nodes[id]
		if t.node != n {
			t.node, t.cursor = n, n.startApplied
		}
		if n.applied <= t.cursor {
			t.cursor = n.applied
			continue
		}
		log := storedLog{s.Storage(id)}
		from := t.cursor + 1
		t.cursor = n.applied // a disagreement is reported once
		for i := from; i <= n.applied; i++ {
			term, data, ok := log.peek(i)
			if !ok {
				continue // covered by a snapshot
			}
			for uint64(len(a.ents)) <= i {
				a.ents = append(a.ents, appliedEntry{})
			}
			was := &a.ents[i]
			if !was.known {
				*was = appliedEntry{known: true, term: term, data: bytes.Clone(data), node: id, committedBy: n.term}
				continue
			}
			was.committedBy = min(was.committedBy, n.term)
			if was.term != term || !bytes.Equal(was.data, data) {
				return fmt.Errorf("%v applied %s (term %d) at index %d, but %v applied %s (term %d)",
					id, describeData(data), term, i, was.node, describeData(was.data), was.term)
			}
		}
	}
	return nil
}

// StateMachineSafety: no two nodes apply different commands at one index
// (Raft §5.4.3).
type StateMachineSafety struct{ applied *appliedLog }

// NewStateMachineSafety returns the State Machine Safety checker.
func NewStateMachineSafety() *StateMachineSafety {
	return &StateMachineSafety{applied: newAppliedLog()}
}

// Name implements sim.Checker.
func (c *StateMachineSafety) Name() string { return NameStateMachineSafety }

// Check implements sim.Checker.
func (c *StateMachineSafety) Check(s *sim.Sim, ev *sim.Event) error {
	err := c.applied.update(s, ev)
	if err == nil {
		err = c.applied.unreported
	}
	c.applied.unreported = nil
	return err
}

// LeaderCompleteness: a leader's log holds every entry committed in an
// earlier term (Raft §5.4). Checked once per leader and term, when it
// takes office, against every entry any node has applied (and so
// committed) by then in a term known to be earlier than the leader's,
// reading the leader's stable storage. (A leader of an older term may take
// office late, when delayed votes arrive, after later terms committed
// entries it lacks: that is legal.)
type LeaderCompleteness struct {
	sc      scope
	applied *appliedLog
	checked [sim.MaxNodes + 1]uint64 // the term each node's leadership was last checked in
}

// NewLeaderCompleteness returns the Leader Completeness checker.
func NewLeaderCompleteness() *LeaderCompleteness {
	return &LeaderCompleteness{applied: newAppliedLog()}
}

// Name implements sim.Checker.
func (c *LeaderCompleteness) Name() string { return NameLeaderCompleteness }

// Check implements sim.Checker.
func (c *LeaderCompleteness) Check(s *sim.Sim, ev *sim.Event) error {
	if err := c.applied.update(s, ev); err != nil && c.applied.unreported == nil {
		c.applied.unreported = err // State Machine Safety's to report
	}
	for _, id := range c.sc.nodes(s, ev) {
		n := nodeOf(s, id)
		if n == nil || n.state != raft.StateLeader || c.checked[id] == n.term {
			continue
		}
		c.checked[id] = n.term
		log := storedLog{s.Storage(id)}
		for i := n.snapIndex + 1; i < uint64(len(c.applied.ents)); i++ {
			a := c.applied.ents[i]
			if !a.known || a.committedBy >= n.term {
				continue
			}
			term, data, ok := log.peek(i)
			if !ok || term != a.term || !bytes.Equal(data, a.data) {
				return fmt.Errorf("%v leads term %d without committed entry %d/%d (%s, applied by %v)",
					id, n.term, i, a.term, describeData(a.data), a.node)
			}
		}
	}
	return nil
}
