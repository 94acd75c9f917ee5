package exercises

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/protocols/synodtest"
	"github.com/synod-dev/synod/sim"
)

// The graded checks look at a student's nodes only through Inspect (the
// sim.View the skeleton fills from the node's fields) and through the
// clients' histories: the grader must not depend on how the student
// structures the code, and the same checks run on the reference solutions.

// leaderPerTerm is Raft's Election Safety (§5.2, Figure 3): at most one
// leader per term, over the whole run.
type leaderPerTerm struct {
	leaders map[int64]sim.NodeID
}

func newLeaderPerTerm() sim.Checker { return &leaderPerTerm{leaders: map[int64]sim.NodeID{}} }

func (c *leaderPerTerm) Name() string { return "election-safety" }

// sortedTerms returns the terms that had a leader, in order.
func (c *leaderPerTerm) sortedTerms() []int64 {
	ts := make([]int64, 0, len(c.leaders))
	for t := range c.leaders {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

func (c *leaderPerTerm) Check(s *sim.Sim, _ *sim.Event) error {
	for _, id := range s.Nodes() {
		v, ok := s.Inspect(id)
		if !ok || v.Role != "leader" {
			continue
		}
		if prev, seen := c.leaders[v.Term]; seen && prev != id {
			return fmt.Errorf("two leaders in term %d: %v and %v", v.Term, prev, id)
		}
		c.leaders[v.Term] = id
	}
	return nil
}

// committedAgree is Raft's State Machine Safety (§5.4.3): an entry a node
// shows as committed (index <= Commit in its view's log) is the same entry,
// term and command, on every node and at every later time.
type committedAgree struct {
	entries map[int64]sim.LogLine
}

func newCommittedAgree() sim.Checker { return &committedAgree{entries: map[int64]sim.LogLine{}} }

func (c *committedAgree) Name() string { return "committed-agree" }

func (c *committedAgree) Check(s *sim.Sim, _ *sim.Event) error {
	for _, id := range s.Nodes() {
		v, ok := s.Inspect(id)
		if !ok {
			continue
		}
		for _, l := range v.Log {
			if l.Index > v.Commit || l.Index <= v.Snapshot {
				continue
			}
			prev, seen := c.entries[l.Index]
			if !seen {
				c.entries[l.Index] = l
				continue
			}
			if prev.Term != l.Term || prev.Command != l.Command {
				return fmt.Errorf("committed entry %d differs: %v has term %d %q, earlier term %d %q", l.Index, id, l.Term, l.Command, prev.Term, prev.Command)
			}
		}
	}
	return nil
}

// logMatching is Raft's Log Matching Property (§5.3, Figure 3) at its
// base: an entry is created once, by the one leader of its term, at one
// index, so two entries with the same index and term hold the same
// command, on every node and at every time, committed or not. It catches
// a log renumbered by mistake (a restart that loses the snapshot's last
// included index shows its entries at the wrong indexes) before the
// mistake is repaired or committed.
type logMatching struct {
	seen map[logKey]logSeen
}

type logKey struct{ index, term int64 }

type logSeen struct {
	command string
	by      sim.NodeID
}

func newLogMatching() sim.Checker { return &logMatching{seen: map[logKey]logSeen{}} }

func (c *logMatching) Name() string { return "log-matching" }

func (c *logMatching) Check(s *sim.Sim, _ *sim.Event) error {
	for _, id := range s.Nodes() {
		v, ok := s.Inspect(id)
		if !ok {
			continue
		}
		for _, l := range v.Log {
			k := logKey{l.Index, l.Term}
			prev, seen := c.seen[k]
			if !seen {
				c.seen[k] = logSeen{l.Command, id}
				continue
			}
			if prev.command != l.Command {
				return fmt.Errorf("two entries at index %d of term %d: %v has %q, %v had %q (an entry is created once, by its term's leader)", l.Index, l.Term, id, l.Command, prev.by, prev.command)
			}
		}
	}
	return nil
}

// chosenAgree is Paxos's safety (Paxos Made Simple §2.1): only one value is
// chosen; every learner's "chosen" field, once set, is that one value.
type chosenAgree struct {
	value string
	by    sim.NodeID
}

func newChosenAgree() sim.Checker { return &chosenAgree{} }

func (c *chosenAgree) Name() string { return "agreement" }

func (c *chosenAgree) Check(s *sim.Sim, _ *sim.Event) error {
	for _, id := range s.Nodes() {
		v, ok := s.Inspect(id)
		if !ok {
			continue
		}
		got := v.Get("chosen")
		if got == "" || got == "-" {
			continue
		}
		if c.value == "" {
			c.value, c.by = got, id
			continue
		}
		if got != c.value {
			return fmt.Errorf("%v learned %q but %v learned %q", id, got, c.by, c.value)
		}
	}
	return nil
}

// expectation is a check of the end of a run (liveness).
type expectation func(in *scenario.Instance, res *scenario.Result) error

func all(es ...expectation) expectation {
	return func(in *scenario.Instance, res *scenario.Result) error {
		for _, e := range es {
			if err := e(in, res); err != nil {
				return err
			}
		}
		return nil
	}
}

// oneLeader: at the end, one node leads and a majority of the nodes that
// are up follow it in its term.
func oneLeader(in *scenario.Instance, _ *scenario.Result) error {
	s := in.Sim
	var leader sim.NodeID
	var term int64
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && v.Role == "leader" && v.Term >= term {
			leader, term = id, v.Term
		}
	}
	if leader == 0 {
		return fmt.Errorf("no leader at the end of the run (t=%v): %s", s.Now(), roles(s))
	}
	agree := 0
	for _, id := range s.Nodes() {
		if v, ok := s.Inspect(id); ok && v.Term == term && (v.Leader == leader || id == leader) {
			agree++
		}
	}
	if agree <= len(s.Nodes())/2 {
		return fmt.Errorf("only %d of %d nodes follow leader %v in term %d at the end: %s", agree, len(s.Nodes()), leader, term, roles(s))
	}
	return nil
}

func roles(s *sim.Sim) string {
	var parts []string
	for _, id := range s.Nodes() {
		v, ok := s.Inspect(id)
		switch {
		case !s.Up(id):
			parts = append(parts, id.String()+" down")
		case !ok:
			parts = append(parts, id.String()+" (no view)")
		default:
			parts = append(parts, fmt.Sprintf("%v %s term=%d", id, orDash(v.Role), v.Term))
		}
	}
	return strings.Join(parts, ", ")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// opsAtLeast: at least n client operations completed.
func opsAtLeast(n int) expectation {
	return func(_ *scenario.Instance, res *scenario.Result) error {
		if res.OpsOK < n {
			return fmt.Errorf("%d client operations completed, want at least %d (failed %d, unknown %d)", res.OpsOK, n, res.OpsFailed, res.OpsUnknown)
		}
		return nil
	}
}

// sameAnswers: every answered request got the same value (the one chosen).
func sameAnswers(_ *scenario.Instance, res *scenario.Result) error {
	first := ""
	for _, op := range res.History {
		if op.Status != "ok" {
			continue
		}
		if first == "" {
			first = op.Value
			continue
		}
		if op.Value != first {
			return fmt.Errorf("clients were answered with different values: %q and %q", first, op.Value)
		}
	}
	return nil
}

// allLearned: every node that is up learned the chosen value.
func allLearned(in *scenario.Instance, _ *scenario.Result) error {
	for _, id := range in.Sim.Nodes() {
		v, ok := in.Sim.Inspect(id)
		if !ok {
			continue
		}
		if c := v.Get("chosen"); c == "" || c == "-" {
			return fmt.Errorf("%v has not learned the chosen value by the end (t=%v)", id, in.Sim.Now())
		}
	}
	return nil
}

// snapshotted: some node compacted its log into a snapshot, and no node's
// stable storage grew past maxBytes.
func snapshotted(maxBytes int64) expectation {
	return func(in *scenario.Instance, _ *scenario.Result) error {
		s := in.Sim
		snap := false
		for _, id := range s.Nodes() {
			if v, ok := s.Inspect(id); ok && v.Snapshot > 0 {
				snap = true
			}
			if b := s.Storage(id).Bytes(); b > maxBytes {
				return fmt.Errorf("%v stores %d bytes, over %d: the log is not compacted", id, b, maxBytes)
			}
		}
		if !snap {
			return fmt.Errorf("no node took a snapshot (every view shows snapshot 0)")
		}
		return nil
	}
}

// caughtUp: every node that is up applied within lag entries of the
// highest commit index (a restarted or partitioned node caught up).
func caughtUp(lag int64) expectation {
	return func(in *scenario.Instance, _ *scenario.Result) error {
		s := in.Sim
		var top int64
		for _, id := range s.Nodes() {
			if v, ok := s.Inspect(id); ok && v.Commit > top {
				top = v.Commit
			}
		}
		for _, id := range s.Nodes() {
			v, ok := s.Inspect(id)
			if ok && v.Commit+lag < top {
				return fmt.Errorf("%v committed %d, far behind %d at the end: it did not catch up", id, v.Commit, top)
			}
		}
		return nil
	}
}

// conserved (2PC, bank workload): at the end no participant is uncertain
// and the balances of all accounts add up to what they started with.
func conserved(accounts int, initial int64) expectation {
	return func(in *scenario.Instance, _ *scenario.Result) error {
		s := in.Sim
		var total int64
		seen := 0
		for _, id := range s.Nodes() {
			v, ok := s.Inspect(id)
			if !ok || v.Role != "participant" {
				continue
			}
			if u := v.Get("uncertain"); u != "" && u != "0" {
				return fmt.Errorf("%v is still uncertain about %s transaction(s) at the end: recovery did not resolve them", id, u)
			}
			for _, kv := range strings.Fields(v.Get("data")) {
				_, val, _ := strings.Cut(kv, "=")
				n, err := strconv.ParseInt(val, 10, 64)
				if err != nil {
					return fmt.Errorf("%v: data %q is not account=balance", id, kv)
				}
				total += n
				seen++
			}
		}
		if seen != accounts {
			return fmt.Errorf("participants show %d accounts in their \"data\" field, want %d (all up at the end)", seen, accounts)
		}
		if want := int64(accounts) * initial; total != want {
			return &synodtest.KindError{Kind: "atomicity", Err: fmt.Errorf("balances add up to %d, want %d: a transfer was applied on one side only", total, want)}
		}
		return nil
	}
}

// slotsAgree is Multi-Paxos's safety (Paxos Made Simple §3): each log slot
// chooses one command. A node's view shows its chosen slots as log lines
// up to Commit (often only the tail); a slot's command must be the same on
// every node and at every later time. Only the commands are compared:
// a view may also show the ballot a slot was accepted under ("bal=2.1
// n7#3 put k1=v (chosen)"), and the ballots that chose one command differ
// between nodes.
type slotsAgree struct {
	slots map[int64]slotSeen
}

type slotSeen struct {
	command string
	by      sim.NodeID
}

func newSlotsAgree() sim.Checker { return &slotsAgree{slots: map[int64]slotSeen{}} }

func (c *slotsAgree) Name() string { return "slots-agree" }

// slotCommand is a log line's command without the ballot and the chosen
// mark a view may add to it.
func slotCommand(line string) string {
	if strings.HasPrefix(line, "bal=") {
		_, line, _ = strings.Cut(line, " ")
	}
	return strings.TrimSuffix(line, " (chosen)")
}

func (c *slotsAgree) Check(s *sim.Sim, ev *sim.Event) error {
	// Only the node an event is delivered to changes; a fault (no
	// receiver) is checked on every node.
	ids := s.Nodes()
	if ev != nil && ev.To != 0 && ev.Fault == nil {
		ids = []sim.NodeID{ev.To}
	}
	for _, id := range ids {
		v, ok := s.Inspect(id)
		if !ok {
			continue
		}
		for _, l := range v.Log {
			if l.Index > v.Commit || l.Index <= v.Snapshot {
				continue
			}
			cmd := slotCommand(l.Command)
			prev, seen := c.slots[l.Index]
			if !seen {
				c.slots[l.Index] = slotSeen{cmd, id}
				continue
			}
			if prev.command != cmd {
				return fmt.Errorf("slot %d chose two commands: %v shows %q, %v showed %q", l.Index, id, cmd, prev.by, prev.command)
			}
		}
	}
	return nil
}

// noGaps (Multi-Paxos): at the end, the leader (the highest ballot's) has
// chosen every slot below its last one but at most lag: a new leader must
// fill the gaps its predecessors left (with no-ops), or its commit index
// stops at the first gap while the log grows past it.
func noGaps(lag int64) expectation {
	return func(in *scenario.Instance, _ *scenario.Result) error {
		s := in.Sim
		var leader sim.View
		var id sim.NodeID
		for _, n := range s.Nodes() {
			if v, ok := s.Inspect(n); ok && v.Role == "leader" && (id == 0 || v.Term >= leader.Term) {
				leader, id = v, n
			}
		}
		if id == 0 {
			return fmt.Errorf("no leader at the end of the run (t=%v): %s", s.Now(), roles(s))
		}
		if leader.Commit+lag < leader.LogLen {
			return fmt.Errorf("leader %v has chosen slots up to %d only, its log reaches %d at the end (t=%v): slots below the highest were never chosen (a gap not filled?)", id, leader.Commit, leader.LogLen, s.Now())
		}
		return nil
	}
}
