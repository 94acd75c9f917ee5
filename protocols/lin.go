package protocols

import (
	"fmt"
	"hash/maphash"
	"iter"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// kvHashSeed seeds KVModel.Hash. A hash only picks the cache bucket, never
// the search's order, so a seed per process changes no verdict.
var kvHashSeed = maphash.MakeSeed()

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
	// Hash lets porcupine's cache of visited (linearized set, state) pairs
	// compare only states that may be equal: without it every state
	// reached with the same linearized set shares one bucket, and most of
	// the check's time went to comparing them (profiled on a 30-client
	// raft history: 68% in the cache look-up).
	Hash: func(state any) uint64 {
		s := state.(kvState)
		h := maphash.String(kvHashSeed, s.V)
		if s.Has {
			h ^= 0x9e3779b97f4a7c15
		}
		return h
	},
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
// pending ones are kept as possibly applied, returning after end, except
// unknown reads: a get whose answer never came changed nothing and showed
// nothing, so it fits in any legal order, and keeping it would only widen
// porcupine's search.
func LinHistory(records []OpRecord, end sim.Time) []porcupine.Operation {
	ops, _ := linHistory(records, end)
	return ops
}

// linHistory is LinHistory that also returns, for each operation, the index
// of its record.
func linHistory(records []OpRecord, end sim.Time) ([]porcupine.Operation, []int) {
	ops := make([]porcupine.Operation, 0, len(records))
	idx := make([]int, 0, len(records))
	for i := range records {
		if !linKept(&records[i]) {
			continue
		}
		ops = append(ops, linWholeOp(&records[i], end))
		idx = append(idx, i)
	}
	return ops, idx
}

// linWholeOp is a checked record as the whole history's check sees it: an
// unknown write returns after the history's end.
func linWholeOp(r *OpRecord, end sim.Time) porcupine.Operation {
	op := linWindowOp(r)
	if r.Status != OpOK {
		op.Output = linOut{Unknown: true}
		op.Return = int64(end) + 1
	}
	return op
}

// checkVerbose is porcupine's verbose check, a variable so that a test can
// see that the verdict never calls it.
var checkVerbose = porcupine.CheckOperationsVerbose

// LinCheck is the outcome of a linearizability check.
type LinCheck struct {
	Result LinResult
	// Ops counts the operations checked (failed operations and unknown
	// reads are left out: see LinHistory).
	Ops int
	// Reason says why the result is LinUnknown (which budget ran out, and
	// the setting that raises it); empty otherwise.
	Reason string
	// Explanation tells the failure when Result is LinViolation.
	Explanation *LinExplanation
	// keys and end are the history, kept (not copied) so that the
	// visualization is computed only when asked for (WriteHTML).
	keys   []*linKey
	end    sim.Time
	budget time.Duration
}

// linBudgetDefault is the check's wall-clock budget when the scenario sets
// none (checks.lin_budget).
const linBudgetDefault = 10 * time.Second

// CheckLinearizable checks a KV history with porcupine within budget
// (wall-clock time, porcupine's own bound; zero means 10 s). The verdict
// comes from porcupine's plain check, key by key (a history is
// linearizable if and only if each key's is); a violation is then
// explained (LinCheck.Explanation) within what is left of the same budget.
// A key porcupine cannot decide in time, or whose search outgrows
// linSearchBytesMax, makes the result LinUnknown with a Reason naming it.
func CheckLinearizable(records []OpRecord, end sim.Time, budget time.Duration) *LinCheck {
	return checkSplit(linKeyRecords(recordsOf(records), end), end, budget, nil)
}

// CheckLinearizableLogs is CheckLinearizable on the clients' own logs,
// read in place: no copy of the history is made. Records still pending
// count as unknown. The logs must not change while the check runs or
// while the LinCheck is used (WriteHTML).
func CheckLinearizableLogs(logs []*OpLog, end sim.Time, budget time.Duration) *LinCheck {
	return checkSplit(linKeyRecords(func(yield func(*OpRecord) bool) {
		for _, l := range logs {
			for i := range l.Len() {
				if !yield(l.At(i)) {
					return
				}
			}
		}
	}, end), end, budget, nil)
}

// checkSplit is CheckLinearizable on a history split by key.
// tune, if not nil, changes the budget's settings (the tests' windows).
func checkSplit(keys []*linKey, end sim.Time, budget time.Duration, tune func(*linBudget)) *LinCheck {
	setting := "checks.lin_budget " + budget.String()
	if budget <= 0 {
		budget = linBudgetDefault
		setting = "checks.lin_budget " + budget.String() + " (the default)"
	}
	c := &LinCheck{keys: keys, end: end, budget: budget}
	for _, k := range keys {
		c.Ops += len(k.recs)
	}
	lb := newLinBudget(budget)
	if tune != nil {
		tune(lb)
	}
	failing, undecided := lb.checkKeys(keys)
	switch {
	case failing != nil:
		c.Result = LinViolation
		c.Explanation = explainKey(failing.full(), lb)
	case len(undecided) > 0:
		c.Result = LinUnknown
		c.Reason = undecidedReason(undecided, setting)
	default:
		c.Result = LinOK
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
	// The annotated linearizations are computed here, not by the check:
	// porcupine's verbose mode keeps every partial linearization, which
	// the verdict does not need. A search that runs out of budget still
	// leaves partial linearizations to draw.
	var ops []porcupine.Operation
	for _, k := range c.keys {
		for _, r := range k.recs {
			ops = append(ops, linWholeOp(r, c.end))
		}
	}
	_, info := checkVerbose(KVModel, ops, c.budget)
	info.AddAnnotations(anns)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := porcupine.Visualize(KVModel, info, f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// linSearchBytesMax bounds the memory one porcupine search may take:
// porcupine remembers every (linearized set, state) pair it reached, one
// bitset of the key's operations each, and never forgets one. A history
// too concurrent to check would otherwise fill the machine's memory before
// the wall-clock budget ran out (measured: 1.5 GB after 12 million steps on
// a key of 3,363 operations).
const linSearchBytesMax = 1 << 30

// linKey is one key's share of a history: porcupine checks keys apart
// (KVModel.Partition), and a history is linearizable if and only if every
// key's is.
type linKey struct {
	key  string
	recs []*OpRecord // the key's checked records, in the history's order
	end  sim.Time    // the history's end: unknown writes return after it
	// ops[i] is recs[i] as porcupine checks it whole (unknown writes
	// returning after end); made only for an explanation or a key the
	// windows cannot decide (full).
	ops []porcupine.Operation
}

// linKeys splits the checked operations by key, in key order, with their
// porcupine operations.
func linKeys(ops []porcupine.Operation, idx []int, records []OpRecord) []*linKey {
	byKey := map[string]*linKey{}
	var keys []string
	for i, op := range ops {
		k := op.Input.(Op).Key
		lk := byKey[k]
		if lk == nil {
			lk = &linKey{key: k}
			byKey[k] = lk
			keys = append(keys, k)
		}
		lk.ops = append(lk.ops, op)
		lk.recs = append(lk.recs, &records[idx[i]])
	}
	sort.Strings(keys)
	out := make([]*linKey, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// linKeyRecords splits the records the check keeps (see LinHistory) by
// key, in key order, without converting or copying them: the windowed
// check converts a window at a time.
func linKeyRecords(records iter.Seq[*OpRecord], end sim.Time) []*linKey {
	byKey := map[string]*linKey{}
	var keys []string
	for r := range records {
		if !linKept(r) {
			continue
		}
		lk := byKey[r.Op.Key]
		if lk == nil {
			lk = &linKey{key: r.Op.Key, end: end}
			byKey[r.Op.Key] = lk
			keys = append(keys, r.Op.Key)
		}
		lk.recs = append(lk.recs, r)
	}
	sort.Strings(keys)
	out := make([]*linKey, len(keys))
	for i, k := range keys {
		out[i] = byKey[k]
	}
	return out
}

// recordsOf iterates over a slice of records in place.
func recordsOf(records []OpRecord) iter.Seq[*OpRecord] {
	return func(yield func(*OpRecord) bool) {
		for i := range records {
			if !yield(&records[i]) {
				return
			}
		}
	}
}

// full makes the key's whole porcupine history (ops) if it is not made.
func (k *linKey) full() *linKey {
	if k.ops != nil {
		return k
	}
	k.ops = make([]porcupine.Operation, len(k.recs))
	for i, r := range k.recs {
		k.ops[i] = linWholeOp(r, k.end)
	}
	return k
}

// decide checks one key within limit: window by window (linwindow.go) if
// it has linWindowKeyMin operations or more, whole if it has fewer or the
// windows cannot carry it (the verdict is the same either way).
func (b *linBudget) decide(k *linKey, limit time.Duration) linRun {
	if b.whole || len(k.recs) < b.windowKeyMin {
		return b.run(k.full().ops, limit)
	}
	start := time.Now()
	r, fallback := b.decideWindows(k, limit)
	if !fallback {
		return r
	}
	steps := r.steps
	r = b.run(k.full().ops, limit-time.Since(start))
	r.steps += steps
	return r
}

// linVerdict is how one porcupine search on one key ended.
type linVerdict int

const (
	linLegal    linVerdict = iota // a legal order exists
	linIllegal                    // no legal order exists
	linTimedOut                   // the wall-clock budget ran out first
	linOutgrew                    // the search reached linSearchBytesMax
)

// linProbe is the output given to the one operation whose possible states
// a search records (see linBudget.run): it is never legal.
type linProbe struct{}

// linBudget is the wall-clock budget one check shares between the verdict
// and its explanation: every porcupine search ends by its deadline. It is
// the only clock the check reads, and it reads it outside the simulation:
// it can turn a verdict that would be decided into unknown on a slower
// machine, never a violation into ok, and never changes the run itself.
type linBudget struct {
	deadline time.Time
	// windowOpsMin is linWindowOpsMin but in the tests, which cut at every
	// quiescent point to try the cuts as often as they can.
	windowOpsMin int
	// windowKeyMin is linWindowKeyMin but in the tests, which check
	// short histories in windows too.
	windowKeyMin int
	// windowStepsPerOp is linWindowStepsPerOpMax but in the tests, which
	// keep concurrent histories in windows.
	windowStepsPerOp int64
	// whole checks every key whole, without windows: the reference the
	// tests compare the windows with.
	whole bool
}

func newLinBudget(budget time.Duration) *linBudget {
	return &linBudget{deadline: time.Now().Add(budget), windowOpsMin: linWindowOpsMin,
		windowKeyMin: linWindowKeyMin, windowStepsPerOp: linWindowStepsPerOpMax}
}

// linRun is the outcome of one search.
type linRun struct {
	verdict linVerdict
	// steps counts the legal model steps taken (each may add one entry to
	// porcupine's cache).
	steps int64
	// windows counts the windows the key was checked in (linwindow.go).
	windows int
	// probed are the states at which the probe operation was tried.
	probed map[kvState]bool
}

// run checks one key's operations within limit (and the deadline). An
// operation whose output is linProbe is tried in every state the search
// can place it in; each state is recorded and the step refused, so the
// search is exhaustive and probed holds every state the key could be in
// when that operation takes effect.
func (b *linBudget) run(ops []porcupine.Operation, limit time.Duration) linRun {
	probed := map[kvState]bool{}
	r := b.runModel(KVModel, ops, limit, func(s any) { probed[s.(kvState)] = true })
	r.probed = probed
	return r
}

// runModel is run with any model of a key: probe is called (never
// concurrently, never after runModel returns) with each state in which the
// search tries an operation whose output is linProbe.
func (b *linBudget) runModel(base porcupine.Model, ops []porcupine.Operation, limit time.Duration, probe func(state any)) linRun {
	remaining := time.Until(b.deadline)
	if limit < remaining {
		remaining = limit
	}
	if remaining <= 0 {
		// Porcupine reads a zero timeout as "none": never hand it one.
		return linRun{verdict: linTimedOut}
	}
	var (
		steps   atomic.Int64
		stopped atomic.Bool
		mu      sync.Mutex
	)
	stepBytes := int64(8*(len(ops)/64+1) + 64)
	m := base
	m.Partition = nil
	m.Step = func(state, input, output any) (bool, any) {
		// After a time-out porcupine returns without waiting for its
		// search to notice; the search must then touch nothing.
		if stopped.Load() {
			return false, state
		}
		if _, ok := output.(linProbe); ok {
			mu.Lock()
			if !stopped.Load() {
				probe(state)
			}
			mu.Unlock()
			return false, state
		}
		legal, next := base.Step(state, input, output)
		if legal && steps.Add(1)*stepBytes > linSearchBytesMax {
			stopped.Store(true)
			return false, state
		}
		return legal, next
	}
	res := porcupine.CheckOperationsTimeout(m, ops, remaining)
	mu.Lock()
	// Under the lock: a search that has not yet noticed the time-out
	// records nothing more once stopped is set.
	outgrew := stopped.Swap(true)
	mu.Unlock()
	r := linRun{steps: steps.Load()}
	switch {
	case outgrew:
		r.verdict = linOutgrew
	case res == porcupine.Ok:
		r.verdict = linLegal
	case res == porcupine.Illegal:
		r.verdict = linIllegal
	default:
		r.verdict = linTimedOut
	}
	return r
}

// linUndecided is a key porcupine could not decide.
type linUndecided struct {
	key *linKey
	run linRun
}

// checkKeys decides the keys in key order and stops at the first that is
// not linearizable (so the key a failure is told on is the first failing
// one, whatever the budget). The first pass gives each key an equal share
// of what is left, so that one hard key cannot starve the others (a later
// key may hold the violation); keys that timed out then share the rest,
// starting over (porcupine cannot resume a search).
func (b *linBudget) checkKeys(keys []*linKey) (failing *linKey, undecided []linUndecided) {
	var outgrown, timedOut []linUndecided
	pending := keys
	for pass := 0; pass < 2 && len(pending) > 0; pass++ {
		var again []*linKey
		timedOut = nil
		for i, k := range pending {
			limit := time.Until(b.deadline)
			if pass == 0 {
				limit /= time.Duration(len(pending) - i)
			}
			r := b.decide(k, limit)
			switch r.verdict {
			case linIllegal:
				return k, nil
			case linTimedOut:
				again = append(again, k)
				timedOut = append(timedOut, linUndecided{key: k, run: r})
			case linOutgrew:
				// The memory bound is not wall-clock: a second try
				// would outgrow it again.
				outgrown = append(outgrown, linUndecided{key: k, run: r})
			}
		}
		pending = again
	}
	return nil, append(outgrown, timedOut...)
}

// undecidedReason says which keys porcupine left undecided and what ran
// out, naming the setting that raises it.
func undecidedReason(us []linUndecided, setting string) string {
	sort.Slice(us, func(i, j int) bool { return us[i].key.key < us[j].key.key })
	var timed, grew []string
	for _, u := range us {
		desc := fmt.Sprintf("key %s (%s operations)", u.key.key, commas(int64(len(u.key.recs))))
		if u.run.verdict == linOutgrew {
			grew = append(grew, fmt.Sprintf("%s after %s legal steps", desc, commas(u.run.steps)))
		} else {
			timed = append(timed, desc)
		}
	}
	var parts []string
	if len(timed) > 0 {
		parts = append(parts, fmt.Sprintf("porcupine did not decide %s within %s; raise checks.lin_budget in the scenario",
			listMax(timed, 5), setting))
	}
	if len(grew) > 0 {
		parts = append(parts, fmt.Sprintf("porcupine's search outgrew its memory bound (linSearchBytesMax, %d MiB) on %s: too many operations are concurrent on one key; spread the workload over more keys or fewer clients",
			linSearchBytesMax>>20, listMax(grew, 5)))
	}
	return strings.Join(parts, "; ")
}

// listMax joins at most n items and counts the rest.
func listMax(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more keys", strings.Join(items[:n], ", "), len(items)-n)
}

// commas renders 1234567 as "1,234,567".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
