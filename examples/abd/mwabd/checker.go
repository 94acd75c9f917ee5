package mwabd

import (
	"encoding/json"
	"fmt"

	"github.com/synod-dev/synod/sim"
)

// TagChecker checks, after every event, the cells each node holds in
// stable storage (the true state, crashed nodes included), against what
// it saw before:
//
//   - one tag, one value: a tag names one write, so two cells of a key
//     with the same tag hold the same value, on any nodes at any times
//     (the bug reuse-tag breaks it);
//   - a node's tag of a key never goes down, across crashes too (a
//     replica that lost an acknowledged write would break it).
//
// Linearizability (porcupine, over the clients' history) would find the
// first bug too, but only when a read happens to see both values, and it
// says what went wrong, not why: this checker names the tag, the two
// values and the nodes at the event where they first disagree.
//
// It remembers every tag it saw, so its memory grows with the writes of a
// run (a few thousand in a scenario of seconds).
type TagChecker struct {
	// values is, per key, the value each tag seen named and where.
	values map[string]map[Tag]seen
	// last is, per node and key, the tag the node held.
	last map[sim.NodeID]map[string]Tag
}

// seen is where a tag's value was first seen.
type seen struct {
	cell Cell
	node sim.NodeID
}

// NewTagChecker returns a checker for one run.
func NewTagChecker() *TagChecker {
	return &TagChecker{values: map[string]map[Tag]seen{}, last: map[sim.NodeID]map[string]Tag{}}
}

// Name names the invariant in reports.
func (c *TagChecker) Name() string { return "one-value-per-tag" }

// Check looks at the node the event happened at: only its storage can
// have changed.
func (c *TagChecker) Check(s *sim.Sim, ev *sim.Event) error {
	id := ev.To
	if !id.IsNode() {
		return nil
	}
	st := s.Storage(id)
	if st == nil {
		return nil
	}
	if c.last[id] == nil {
		c.last[id] = map[string]Tag{}
	}
	for _, k := range st.Keys(cellPrefix) {
		b, _ := st.Peek(k)
		var cell Cell
		if err := json.Unmarshal(b, &cell); err != nil {
			return fmt.Errorf("%v: storage under %q is not a cell: %v", id, k, err)
		}
		key := k[len(cellPrefix):]
		if prev, ok := c.last[id][key]; ok && cell.Tag.Less(prev) {
			return fmt.Errorf("%v: %s went back from tag %v to %v", id, key, prev, cell.Tag)
		}
		c.last[id][key] = cell.Tag
		if c.values[key] == nil {
			c.values[key] = map[Tag]seen{}
		}
		first, ok := c.values[key][cell.Tag]
		if !ok {
			c.values[key][cell.Tag] = seen{cell, id}
			continue
		}
		if first.cell != cell {
			return fmt.Errorf("%s: tag %v names two writes: %s on %v and %s on %v", key, cell.Tag, first.cell, first.node, cell, id)
		}
	}
	return nil
}
