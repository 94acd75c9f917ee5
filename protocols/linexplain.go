package protocols

import (
	"fmt"
	"strings"

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
// key could hold. It fits on one screen.
type LinExplanation struct {
	Key string `json:"key"`
	// Ops are the story's operations in call order.
	Ops []LinOp `json:"ops"`
	// Failing is the index in Ops of the operation that cannot be placed.
	Failing int `json:"failing"`
	// StatesBefore are the values the key could hold just before the
	// failing operation, by every legal order of what returned before it.
	StatesBefore []string `json:"states_before"`
	// Omitted counts the key's other operations, left out of the story.
	Omitted int `json:"omitted"`
}

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

// Text renders the story for a terminal: at most a screenful.
func (e *LinExplanation) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "key %s: no legal order places %s\n", e.Key, e.Ops[e.Failing].Describe())
	if len(e.StatesBefore) > 0 {
		fmt.Fprintf(&b, "  before it the key could hold: %s\n", strings.Join(e.StatesBefore, " or "))
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
	return b.String()
}

// Describe renders one operation: client, operation, result, and when it
// was invoked and returned, in simulated time and trace events.
func (o *LinOp) Describe() string {
	ret := "never returned"
	if o.Return != sim.TimeMax {
		ret = fmt.Sprintf("returned %v (#%d)", o.Return, o.ReturnEvent)
	}
	return fmt.Sprintf("%v %v -> %s, invoked %v (#%d), %s", o.Client, o.Op, o.Result, o.Call, o.CallEvent, ret)
}
