package protocols

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/synod-dev/synod/sim"
)

// LinResult is the verdict on a history.
type LinResult string

// Linearizability verdicts. Unknown means the checker ran out of its time
// budget: it is reported as such, never as a pass.
const (
	LinOK        LinResult = "ok"
	LinViolation LinResult = "violation"
	LinUnknown   LinResult = "unknown"
	LinSkipped   LinResult = "skipped"
)

// kvState is the model state of one key.
type kvState struct {
	V   string
	Has bool
}

// linOut is an operation's observed result; Unknown marks an operation whose
// client never learned the outcome: it may have taken effect at any point
// after its call, or never.
type linOut struct {
	Value   string
	Found   bool
	Swapped bool
	Unknown bool
}

// KVModel is the porcupine model of the key-value store, partitioned by
// key. Put, append and compare-and-set follow protocols.KV exactly (a
// missing key compares equal to "").
var KVModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(Op).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return kvState{} },
	Step: func(state, input, output any) (bool, any) {
		s := state.(kvState)
		in := input.(Op)
		out := output.(linOut)
		switch in.Kind {
		case OpGet:
			if out.Unknown {
				return true, s
			}
			return out.Found == s.Has && out.Value == s.V, s
		case OpPut:
			return true, kvState{V: in.Value, Has: true}
		case OpAppend:
			return true, kvState{V: s.V + in.Value, Has: true}
		case OpCAS:
			swapped := s.V == in.Expect
			next := s
			if swapped {
				next = kvState{V: in.Value, Has: true}
			}
			if out.Unknown {
				return true, next
			}
			return out.Swapped == swapped && out.Value == s.V && out.Found == s.Has, next
		}
		return false, s
	},
	Equal: func(a, b any) bool { return a.(kvState) == b.(kvState) },
	DescribeOperation: func(input, output any) string {
		in := input.(Op)
		out := output.(linOut)
		if out.Unknown {
			return in.String() + " -> ?"
		}
		switch in.Kind {
		case OpGet:
			if !out.Found {
				return in.String() + " -> (none)"
			}
			return in.String() + " -> " + strconv.Quote(out.Value)
		case OpCAS:
			return fmt.Sprintf("%v -> swapped=%v", in, out.Swapped)
		}
		return in.String()
	},
	DescribeState: func(state any) string {
		s := state.(kvState)
		if !s.Has {
			return "(none)"
		}
		return strconv.Quote(s.V)
	},
}

// LinHistory converts client records into porcupine operations. Failed
// operations (known not to have taken effect) are left out; unknown and
// pending ones are kept as possibly applied, returning after end.
func LinHistory(records []OpRecord, end sim.Time) []porcupine.Operation {
	ops := make([]porcupine.Operation, 0, len(records))
	for _, r := range records {
		switch r.Op.Kind {
		case OpGet, OpPut, OpAppend, OpCAS:
		default:
			continue
		}
		op := porcupine.Operation{ClientId: int(-r.Client) - 1, Input: r.Op, Call: int64(r.Call)}
		switch r.Status {
		case OpOK:
			op.Output = linOut{Value: r.Value, Found: r.Found, Swapped: r.Swapped}
			op.Return = int64(r.Return)
		case OpFailed:
			continue
		default:
			op.Output = linOut{Unknown: true}
			op.Return = int64(end) + 1
		}
		if op.ClientId < 0 {
			op.ClientId = 0
		}
		ops = append(ops, op)
	}
	return ops
}

// LinCheck is the outcome of a linearizability check.
type LinCheck struct {
	Result LinResult
	Ops    int
	// Reason says why the result is LinUnknown (which budget ran out, and
	// the setting that raises it); empty otherwise.
	Reason string
	// Explanation tells the failure when Result is LinViolation.
	Explanation *LinExplanation
	info        porcupine.LinearizationInfo
	end         sim.Time
}

// CheckLinearizable checks a KV history with porcupine within budget
// (wall-clock time, porcupine's own bound; zero means 10 s). A time-out is
// LinUnknown.
func CheckLinearizable(records []OpRecord, end sim.Time, budget time.Duration) *LinCheck {
	if budget <= 0 {
		budget = 10 * time.Second
	}
	ops := LinHistory(records, end)
	res, info := porcupine.CheckOperationsVerbose(KVModel, ops, budget)
	c := &LinCheck{Ops: len(ops), info: info, end: end}
	switch res {
	case porcupine.Ok:
		c.Result = LinOK
	case porcupine.Illegal:
		c.Result = LinViolation
	default:
		c.Result = LinUnknown
	}
	return c
}

// Annotation marks a span or point of simulated time on the visualization
// (a fault, a leader change), with the simulator's event index.
type Annotation struct {
	Start, End sim.Time
	Index      int64
	Text       string
}

// WriteHTML writes porcupine's interactive visualization of the history,
// with the annotations added (faults and the simulator's event indexes).
func (c *LinCheck) WriteHTML(path string, notes []Annotation) error {
	var anns []porcupine.Annotation
	for _, n := range notes {
		end := n.End
		if end <= n.Start {
			end = n.Start
		}
		anns = append(anns, porcupine.Annotation{Tag: "faults", Start: int64(n.Start), End: int64(end),
			Description: n.Text, Details: fmt.Sprintf("event #%d at %v", n.Index, n.Start), BackgroundColor: "#fbd3d3"})
	}
	c.info.AddAnnotations(anns)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := porcupine.Visualize(KVModel, c.info, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
