package protocols

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/synod-dev/synod/sim"
)

// LinRole is the part an operation plays in a linearizability failure's
// story.
type LinRole string

// The roles, from the failure outward.
const (
	// RoleCannotPlace is the operation that cannot be put in any legal
	// order with the operations that returned before it.
	RoleCannotPlace LinRole = "cannot-place"
	// RoleConcurrent overlaps the operation that cannot be placed.
	RoleConcurrent LinRole = "concurrent"
	// RoleBefore returned before the operation that cannot be placed was
	// invoked, and fixes the state the key can be in.
	RoleBefore LinRole = "before"
)

// LinOp is one client operation in an explanation.
type LinOp struct {
	Client sim.NodeID `json:"client"`
	Op     Op         `json:"op"`
	// Result is what the client saw ("k1 = \"c1.3;\"", "(none)",
	// "swapped", "not swapped: was \"x\"", "ok") or "unknown" when the
	// client never learned the outcome.
	Result string `json:"result"`
	// Call and Return are in simulated time; Return is sim.TimeMax for an
	// operation that never returned.
	Call   sim.Time `json:"call"`
	Return sim.Time `json:"return"`
	// CallEvent and ReturnEvent are trace event indexes (-1: none).
	CallEvent   int64   `json:"call_event"`
	ReturnEvent int64   `json:"return_event"`
	Role        LinRole `json:"role"`
}

// LinExplanation tells a linearizability failure as a short story: on one
// key, the operation that cannot be placed in any legal order, the
// operations concurrent with it, and the ones before it that fix what the
// key could hold. It fits on one screen. The same history always gives the
// same explanation, byte for byte (unless the budget ran out: see Note).
type LinExplanation struct {
	Key string `json:"key"`
	// Why is the story in one line: what the failing operation returned
	// and why no legal order allows it.
	Why string `json:"why"`
	// Ops are the story's operations in call order.
	Ops []LinOp `json:"ops"`
	// Failing is the index in Ops of the operation that cannot be placed.
	Failing int `json:"failing"`
	// StatesBefore are the values the key could hold when the failing
	// operation takes effect, by every legal order of the operations that
	// must or may come before it ("(none)" for a missing key), sorted.
	StatesBefore []string `json:"states_before"`
	// StatesOmitted counts further such values, left out of StatesBefore.
	StatesOmitted int `json:"states_omitted,omitempty"`
	// Omitted counts the key's other operations, left out of the story.
	Omitted int `json:"omitted"`
	// Note says what is less than certain when the check's budget ran out
	// while the failure was being narrowed down; empty otherwise.
	Note string `json:"note,omitempty"`
}

// The bounds of a story, so that it fits on one screen.
const (
	explainConcurrentMax = 8 // operations concurrent with the failing one
	explainBeforeMax     = 4 // operations before it
	explainStatesMax     = 6 // values the key could hold
)

// End is the latest return among the story's operations that returned: a
// run that reaches it has shown the whole failure.
func (e *LinExplanation) End() sim.Time {
	var end sim.Time
	for _, o := range e.Ops {
		if o.Return != sim.TimeMax && o.Return > end {
			end = o.Return
		}
	}
	return end
}

// Text renders the story for a terminal, at most a screenful: the key and
// why its failing operation cannot be placed, the values the key could
// hold, then one line per operation in call order.
func (e *LinExplanation) Text() string {
	var b strings.Builder
	why := e.Why
	if why == "" && e.Failing >= 0 && e.Failing < len(e.Ops) {
		why = "no legal order places " + e.Ops[e.Failing].Client.String() + " " + e.Ops[e.Failing].Op.String()
	}
	fmt.Fprintf(&b, "not linearizable: key %s: %s\n", e.Key, why)
	if len(e.StatesBefore) > 0 {
		more := ""
		if e.StatesOmitted > 0 {
			more = fmt.Sprintf(" (and %d more)", e.StatesOmitted)
		}
		fmt.Fprintf(&b, "  when it takes effect %s can only hold %s%s\n", e.Key, strings.Join(e.StatesBefore, " or "), more)
	}
	for i, o := range e.Ops {
		mark := " "
		if i == e.Failing {
			mark = "✗"
		}
		fmt.Fprintf(&b, "  %s %-12s %s\n", mark, o.Role, o.Describe())
	}
	if e.Omitted > 0 {
		fmt.Fprintf(&b, "  (%d other operations on %s left out)\n", e.Omitted, e.Key)
	}
	if e.Note != "" {
		fmt.Fprintf(&b, "  note: %s\n", e.Note)
	}
	return b.String()
}

// Story is Text for an explanation that may be missing: "" when e is nil
// or does not name its failing operation.
func (e *LinExplanation) Story() string {
	if e == nil || e.Failing < 0 || e.Failing >= len(e.Ops) {
		return ""
	}
	return e.Text()
}

// Describe renders one operation: client, operation, result, and when it
// was invoked and returned, in simulated time and trace events:
// `c2 get k1 -> "c2.4;"  [invoke 1.201s #4410, return 1.209s #4433]`.
func (o *LinOp) Describe() string {
	ret := "never returned"
	if o.Return != sim.TimeMax {
		ret = fmt.Sprintf("return %s #%d", fmtSimTime(o.Return), o.ReturnEvent)
	}
	return fmt.Sprintf("%-4v %v -> %s  [invoke %s #%d, %s]", o.Client, o.Op, o.Result, fmtSimTime(o.Call), o.CallEvent, ret)
}

// fmtSimTime renders a simulated time in seconds to the microsecond, the
// resolution at which a story's operations are told apart (the trace
// event indexes beside it are exact).
func fmtSimTime(t sim.Time) string {
	return strconv.FormatFloat(t.Seconds(), 'f', 6, 64) + "s"
}

// explainKey tells why key k, which porcupine found not linearizable, is
// not. Linearizability is prefix-closed: if a history is linearizable, so
// is every prefix of it in time (see linPrefix). So among the prefixes
// ending at each operation's return, a binary search finds the shortest
// that is not linearizable; the operation whose return closes it is the
// one that cannot be placed: with it unfinished a legal order exists, with
// its result none does. The search's porcupine runs share the check's
// budget; if it runs out the story is told from what was found, and Note
// says so.
func explainKey(k *linKey, b *linBudget) *LinExplanation {
	done := k.completed()
	lo, hi := -1, len(done)-1 // prefix lo is linearizable, prefix hi is not
	var note string
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		ops, _ := k.prefix(done, mid)
		switch b.run(ops, time.Until(b.deadline)).verdict {
		case linLegal:
			lo = mid
		case linIllegal:
			hi = mid
		default:
			note = fmt.Sprintf("the check's budget ran out while narrowing the failure: an earlier operation than %s may already be unplaceable", k.recs[done[hi]].Op)
			lo = hi - 1 // stop: hi is known to fail
		}
	}
	f := done[hi]
	ops, at := k.prefix(done, hi)
	ops[at].Output = linProbe{}
	probe := b.run(ops, time.Until(b.deadline))
	if probe.verdict != linIllegal && note == "" {
		note = "the check's budget ran out while listing the values the key could hold: the list may be incomplete"
	}
	states := sortedStates(probe.probed)
	e := &LinExplanation{Key: k.key, Note: note}
	for i, s := range states {
		if i == explainStatesMax {
			e.StatesOmitted = len(states) - i
			break
		}
		e.StatesBefore = append(e.StatesBefore, KVModel.DescribeState(s))
	}
	k.cast(e, f)
	e.Why = k.why(f, states)
	return e
}

// completed returns the indexes of the key's answered operations, by
// return time (then return event, then index).
func (k *linKey) completed() []int {
	var done []int
	for i, op := range k.ops {
		if !op.Output.(linOut).Unknown {
			done = append(done, i)
		}
	}
	sort.SliceStable(done, func(a, b int) bool {
		ra, rb := k.recs[done[a]], k.recs[done[b]]
		if ra.Return != rb.Return {
			return ra.Return < rb.Return
		}
		return ra.ReturnEvent < rb.ReturnEvent
	})
	return done
}

// prefix returns the history up to the return of done[j] (time T), and
// where done[j] is in it: the operations done[0..j] as they returned; every
// other operation invoked by T as unfinished (unknown outcome, returning
// after everything); operations invoked after T left out. If the whole
// history is linearizable, so is this: cut a legal order where the first
// operation invoked after T stands (everything that returned by T is
// before it) and append the unfinished operations, which accept any state.
// The same holds between two prefixes, so "not linearizable" is monotone
// in j and a binary search is sound.
func (k *linKey) prefix(done []int, j int) ([]porcupine.Operation, int) {
	in := make([]bool, len(k.ops))
	for _, i := range done[:j+1] {
		in[i] = true
	}
	t := k.ops[done[j]].Return
	var out []porcupine.Operation
	at := -1
	for i, op := range k.ops {
		switch {
		case in[i]:
			if i == done[j] {
				at = len(out)
			}
			out = append(out, op)
		case op.Call <= t:
			op.Output = linOut{Unknown: true}
			op.Return = t + 1
			out = append(out, op)
		}
	}
	return out, at
}

// sortedStates orders the probed states: a missing key first, then by
// value.
func sortedStates(set map[kvState]bool) []kvState {
	out := make([]kvState, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Has != out[j].Has {
			return !out[i].Has
		}
		return out[i].V < out[j].V
	})
	return out
}

// cast picks the story's operations around the failing one f: those
// concurrent with it (writes first, then the closest in time) and the
// latest that returned before it was invoked (the latest write always
// among them), and counts the rest as omitted.
func (k *linKey) cast(e *LinExplanation, f int) {
	fr := k.recs[f]
	var conc, before []int
	for i, r := range k.recs {
		switch {
		case i == f:
		case r.Status == OpOK && r.Return < fr.Call:
			before = append(before, i)
		case r.Call <= fr.Return:
			conc = append(conc, i)
		}
	}
	dist := func(r *OpRecord) sim.Time {
		if r.Call > fr.Call {
			return r.Call - fr.Call
		}
		return fr.Call - r.Call
	}
	sort.SliceStable(conc, func(a, b int) bool {
		ra, rb := k.recs[conc[a]], k.recs[conc[b]]
		if wa, wb := ra.Op.Kind != OpGet, rb.Op.Kind != OpGet; wa != wb {
			return wa
		}
		return dist(ra) < dist(rb)
	})
	if len(conc) > explainConcurrentMax {
		conc = conc[:explainConcurrentMax]
	}
	// The latest first; the latest write is kept even when reads crowd it.
	sort.SliceStable(before, func(a, b int) bool {
		ra, rb := k.recs[before[a]], k.recs[before[b]]
		if ra.Return != rb.Return {
			return ra.Return > rb.Return
		}
		return ra.ReturnEvent > rb.ReturnEvent
	})
	var keep []int
	lastWrite := -1
	for _, i := range before {
		if k.recs[i].Op.Kind != OpGet {
			lastWrite = i
			break
		}
	}
	for _, i := range before {
		if len(keep) == explainBeforeMax-1 && lastWrite >= 0 && !slices.Contains(keep, lastWrite) && i != lastWrite {
			keep = append(keep, lastWrite)
			break
		}
		if len(keep) == explainBeforeMax {
			break
		}
		keep = append(keep, i)
	}
	type cast struct {
		i    int
		role LinRole
	}
	all := []cast{{f, RoleCannotPlace}}
	for _, i := range conc {
		all = append(all, cast{i, RoleConcurrent})
	}
	for _, i := range keep {
		all = append(all, cast{i, RoleBefore})
	}
	sort.SliceStable(all, func(a, b int) bool {
		ra, rb := k.recs[all[a].i], k.recs[all[b].i]
		if ra.Call != rb.Call {
			return ra.Call < rb.Call
		}
		return ra.CallEvent < rb.CallEvent
	})
	for _, c := range all {
		if c.i == f {
			e.Failing = len(e.Ops)
		}
		e.Ops = append(e.Ops, linOpOf(k.recs[c.i], c.role))
	}
	e.Omitted = len(k.ops) - len(e.Ops)
}

// linOpOf renders a record for a story.
func linOpOf(r *OpRecord, role LinRole) LinOp {
	o := LinOp{Client: r.Client, Op: r.Op, Result: resultOf(r), Call: r.Call, Return: r.Return,
		CallEvent: r.CallEvent, ReturnEvent: r.ReturnEvent, Role: role}
	if r.Status != OpOK {
		o.Return = sim.TimeMax
		o.ReturnEvent = -1
	}
	return o
}

// resultOf is what the client saw: the value read, "ok" for a write, the
// outcome of a compare-and-set, or "unknown".
func resultOf(r *OpRecord) string {
	if r.Status != OpOK {
		return "unknown"
	}
	seen := KVModel.DescribeState(kvState{V: r.Value, Has: r.Found})
	switch r.Op.Kind {
	case OpGet:
		return seen
	case OpCAS:
		if r.Swapped {
			return "swapped"
		}
		return "not swapped, was " + seen
	}
	return "ok"
}

// why is the story's one line: what f returned and what every legal
// order leaves instead.
func (k *linKey) why(f int, states []kvState) string {
	fr := k.recs[f]
	after := ""
	var last *OpRecord
	for _, r := range k.recs {
		if r.Status == OpOK && r.Op.Kind != OpGet && r.Return < fr.Call && (last == nil || r.Return > last.Return) {
			last = r
		}
	}
	if last != nil {
		after = fmt.Sprintf(" after %v %v returned at %s", last.Client, last.Op, fmtSimTime(last.Return))
	}
	seen := kvState{V: fr.Value, Has: fr.Found}
	switch {
	case fr.Op.Kind == OpPut || fr.Op.Kind == OpAppend:
		return fmt.Sprintf("%v %v returned at %s, but%s no legal order places it before its return", fr.Client, fr.Op, fmtSimTime(fr.Return), after)
	case fr.Op.Kind == OpCAS && fr.Swapped:
		seen = kvState{V: fr.Op.Expect, Has: fr.Found}
	case fr.Op.Kind == OpCAS && fr.Value == fr.Op.Expect:
		// A missing key compares equal to "" (KVModel): the value seen
		// was the one expected, so the swap should have happened.
		return fmt.Sprintf("%v %v returned %s, but it saw the value it expected: it must have swapped", fr.Client, fr.Op, resultOf(fr))
	}
	verb := "returned " + resultOf(fr)
	if slices.Contains(states, seen) {
		return fmt.Sprintf("%v %v %s: %s could hold %s, but no legal order fits it with the operations concurrent with it",
			fr.Client, fr.Op, verb, k.key, KVModel.DescribeState(seen))
	}
	return fmt.Sprintf("%v %v %s, but%s no legal order leaves %s = %s", fr.Client, fr.Op, verb, after, k.key, KVModel.DescribeState(seen))
}
