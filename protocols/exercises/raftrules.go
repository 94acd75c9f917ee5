package exercises

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Raft's rules about terms, checked after every delivery from the
// receiver's view and the message's Term field (read by name, so the same
// checker grades the skeleton's messages and the reference's):
//
//   - §5.1, Figure 2 "Rules for all servers": a server that receives a
//     request or a response carrying a term above its own adopts the term
//     and becomes a follower;
//   - §5.1: a server rejects a request carrying a stale term: it does not
//     follow the leader of an older term;
//   - §5.2: a candidate or follower that receives AppendEntries from the
//     leader of its own term follows that leader.
//
// Breaking the first leaves a deposed leader leading after it heard of a
// newer one; the second lets a stale leader hold back elections; the
// third makes a candidate ignore the winner and disrupt it later.
type termRules struct {
	// leaders is each node's leader as the last check saw it.
	leaders map[sim.NodeID]sim.NodeID
}

func newTermRules() sim.Checker { return &termRules{leaders: map[sim.NodeID]sim.NodeID{}} }

func (c *termRules) Name() string { return "term-rules" }

func (c *termRules) Check(s *sim.Sim, ev *sim.Event) error {
	if ev == nil || ev.Kind != sim.KindDeliver || ev.To.IsClient() || ev.From.IsClient() {
		return nil
	}
	if !s.Up(ev.To) || s.Blocked(ev.From, ev.To) {
		return nil // lost: the receiver is down or cut off from the sender
	}
	prev := c.leaders[ev.To]
	v, ok := s.Inspect(ev.To)
	if !ok {
		return nil
	}
	c.leaders[ev.To] = v.Leader
	term, ok := messageTerm(ev.Msg)
	if !ok {
		return nil
	}
	kind := ev.Msg.MessageType()
	if i := strings.LastIndexByte(kind, '.'); i >= 0 {
		kind = kind[i+1:]
	}
	switch {
	case term > v.Term:
		return fmt.Errorf("%v received %s of term %d but is still in term %d after handling it (Raft §5.1: a server that sees a higher term adopts it and becomes a follower)", ev.To, kind, term, v.Term)
	case kind == "AppendEntries" && term < v.Term && v.Leader == ev.From && prev != ev.From:
		return fmt.Errorf("%v (term %d) follows %v after its AppendEntries of stale term %d (Raft §5.1: a request with a stale term is rejected)", ev.To, v.Term, ev.From, term)
	case kind == "AppendEntries" && term == v.Term && (v.Role != "follower" || v.Leader != ev.From):
		return fmt.Errorf("%v received AppendEntries from %v, the leader of its term %d, but is %s following %v (Raft §5.2: a candidate or follower recognizes the leader of its term)", ev.To, ev.From, term, orDash(v.Role), v.Leader)
	}
	return nil
}

// messageTerm reads a message's Term field. Pre-votes (a PreVote field
// set) carry a term the receiver must not adopt: they are skipped.
func messageTerm(m sim.Message) (int64, bool) {
	rv := reflect.ValueOf(m)
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return 0, false
	}
	if pv := rv.FieldByName("PreVote"); pv.IsValid() && pv.Kind() == reflect.Bool && pv.Bool() {
		return 0, false
	}
	f := rv.FieldByName("Term")
	if !f.IsValid() || f.Kind() != reflect.Int64 {
		return 0, false
	}
	return f.Int(), true
}

// leadersOf returns the election-safety checker of a run, which records
// every leader it saw.
func leadersOf(s *sim.Sim) *leaderPerTerm {
	for _, c := range s.Checkers() {
		if l, ok := c.(*leaderPerTerm); ok {
			return l
		}
	}
	return nil
}

// elected: some node won an election during the run (it showed the role
// leader), whatever happened after.
func elected(in *scenario.Instance, _ *scenario.Result) error {
	l := leadersOf(in.Sim)
	if l == nil || len(l.leaders) == 0 {
		return fmt.Errorf("no node became leader during the run (t=%v): %s", in.Sim.Now(), roles(in.Sim))
	}
	return nil
}

// stableLeader: without faults, the first leader stays leader to the end
// (no later election wins), and every node follows it in its term.
func stableLeader(in *scenario.Instance, res *scenario.Result) error {
	l := leadersOf(in.Sim)
	if l == nil || len(l.leaders) == 0 {
		return fmt.Errorf("no node became leader during the run (t=%v): %s", in.Sim.Now(), roles(in.Sim))
	}
	if len(l.leaders) > 1 {
		var terms []string
		for _, t := range l.sortedTerms() {
			terms = append(terms, fmt.Sprintf("term %d: %v", t, l.leaders[t]))
		}
		return fmt.Errorf("%d leaders were elected in a run without faults (%s): the first leader should have kept its followers with heartbeats, and every node should have followed it", len(l.leaders), strings.Join(terms, ", "))
	}
	for _, id := range in.Sim.Nodes() {
		v, ok := in.Sim.Inspect(id)
		if !ok {
			continue
		}
		for t, leader := range l.leaders {
			if v.Term != t || (id != leader && (v.Role != "follower" || v.Leader != leader)) {
				return fmt.Errorf("at the end %v is %s in term %d following %v, not a follower of %v in term %d: %s", id, orDash(v.Role), v.Term, v.Leader, leader, t, roles(in.Sim))
			}
		}
	}
	return nil
}
