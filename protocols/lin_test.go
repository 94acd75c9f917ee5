package protocols

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// hist builds hand-made histories: times are in milliseconds, and an
// operation's trace events are its call and return times in milliseconds
// (so a story's event indexes can be read off the test).
type hist struct{ recs []OpRecord }

func (h *hist) add(client int, op Op, call, ret int64, value string, found bool) *OpRecord {
	seq := int64(len(h.recs) + 1)
	r := OpRecord{Client: sim.ClientID(client), Seq: seq, Op: op, Call: sim.Time(call) * sim.Millisecond,
		Return: sim.Time(ret) * sim.Millisecond, CallEvent: call, ReturnEvent: ret, Status: OpOK, Value: value, Found: found}
	if ret < 0 {
		r.Status, r.Return, r.ReturnEvent = OpUnknown, sim.TimeMax, -1
	}
	h.recs = append(h.recs, r)
	return &h.recs[len(h.recs)-1]
}

func (h *hist) put(c int, k, v string, call, ret int64) {
	h.add(c, Op{Kind: OpPut, Key: k, Value: v}, call, ret, "", false)
}

func (h *hist) appendOp(c int, k, v string, call, ret int64) {
	h.add(c, Op{Kind: OpAppend, Key: k, Value: v}, call, ret, "", false)
}

func (h *hist) get(c int, k, v string, found bool, call, ret int64) {
	h.add(c, Op{Kind: OpGet, Key: k}, call, ret, v, found)
}

func (h *hist) check(t *testing.T) *LinCheck {
	t.Helper()
	c := CheckLinearizable(h.recs, sim.Second, 0)
	return c
}

// failing returns the explanation's failing operation.
func failing(t *testing.T, c *LinCheck) LinOp {
	t.Helper()
	require.Equal(t, LinViolation, c.Result)
	require.NotNil(t, c.Explanation, "every violation is explained")
	e := c.Explanation
	require.Less(t, e.Failing, len(e.Ops))
	return e.Ops[e.Failing]
}

// roles maps "client op" to the role it plays in the story.
func roles(e *LinExplanation) map[string]LinRole {
	out := map[string]LinRole{}
	for _, o := range e.Ops {
		out[fmt.Sprintf("%v %v", o.Client, o.Op)] = o.Role
	}
	return out
}

// A stale read: c2 reads the value that c1 overwrote before the read began.
// The read is the operation that cannot be placed, the overwrite fixes the
// state, and the concurrent write is listed beside it.
func TestExplainStaleRead(t *testing.T) {
	var h hist
	h.put(1, "k1", "a", 0, 10)
	h.put(1, "k1", "b", 20, 30)
	h.put(3, "k1", "c", 35, 60)       // concurrent with the read
	h.get(2, "k1", "a", true, 40, 50) // stale
	h.get(2, "k1", "a", true, 70, 80) // also wrong, but later
	h.get(4, "k2", "", false, 0, 5)   // another key, fine
	c := h.check(t)
	f := failing(t, c)
	assert.Equal(t, Op{Kind: OpGet, Key: "k1"}, f.Op)
	assert.Equal(t, int64(40), f.CallEvent, "the earliest operation that cannot be placed")
	assert.Equal(t, int64(50), f.ReturnEvent)
	assert.Equal(t, 40*sim.Millisecond, f.Call)
	assert.Equal(t, `"a"`, f.Result)
	e := c.Explanation
	assert.Equal(t, "k1", e.Key)
	assert.Equal(t, []string{`"b"`, `"c"`}, e.StatesBefore, "after put b, only b or the concurrent c")
	assert.Equal(t, map[string]LinRole{
		"c1 put k1=a": RoleBefore, "c1 put k1=b": RoleBefore, "c3 put k1=c": RoleConcurrent,
		"c2 get k1": RoleCannotPlace,
	}, roles(e))
	assert.Equal(t, 1, e.Omitted, "the later wrong read is left out")
	assert.Contains(t, e.Why, `c2 get k1 returned "a", but after c1 put k1=b returned at 0.030000s no legal order leaves k1 = "a"`)
	assert.Equal(t, 30*sim.Millisecond, e.Ops[1].Return)
	assert.Equal(t, 60*sim.Millisecond, e.End())
}

// A lost write: an acknowledged put is not seen by a read that starts after
// it returned.
func TestExplainLostWrite(t *testing.T) {
	var h hist
	h.put(1, "k0", "x", 0, 10)
	h.appendOp(2, "k0", "y;", 15, 25)
	h.get(3, "k0", "", false, 30, 40)
	c := h.check(t)
	f := failing(t, c)
	assert.Equal(t, OpGet, f.Op.Kind)
	assert.Equal(t, "(none)", f.Result)
	assert.Equal(t, []string{`"xy;"`}, c.Explanation.StatesBefore)
	assert.Equal(t, map[string]LinRole{"c1 put k0=x": RoleBefore, "c2 append k0+=y;": RoleBefore, "c3 get k0": RoleCannotPlace}, roles(c.Explanation))
	assert.Contains(t, c.Explanation.Why, "after c2 append k0+=y; returned at 0.025000s no legal order leaves k0 = (none)")
}

// A compare-and-set that contradicts: it saw the value it expected and yet
// reports that it did not swap.
func TestExplainContradictingCAS(t *testing.T) {
	var h hist
	h.put(1, "k2", "a", 0, 10)
	r := h.add(2, Op{Kind: OpCAS, Key: "k2", Expect: "a", Value: "b"}, 20, 30, "a", true)
	r.Swapped = false
	h.get(1, "k2", "a", true, 40, 50)
	c := h.check(t)
	f := failing(t, c)
	assert.Equal(t, OpCAS, f.Op.Kind)
	assert.Equal(t, `not swapped, was "a"`, f.Result)
	assert.Equal(t, []string{`"a"`}, c.Explanation.StatesBefore)
	assert.Contains(t, c.Explanation.Why, "it saw the value it expected: it must have swapped")
}

// An unknown write may take effect at any time after its call; a read
// that cannot be explained even so is the failure, and the unknown write
// is among the operations concurrent with it.
func TestExplainUnknownWriteIsConcurrent(t *testing.T) {
	var h hist
	h.put(1, "k", "a", 0, 10)
	h.put(2, "k", "u", 5, -1) // never answered
	h.get(3, "k", "u", true, 20, 30)
	h.get(3, "k", "a", true, 40, 50) // u cannot be undone
	c := h.check(t)
	f := failing(t, c)
	assert.Equal(t, int64(40), f.CallEvent)
	assert.Equal(t, []string{`"u"`}, c.Explanation.StatesBefore)
	rs := roles(c.Explanation)
	assert.Equal(t, RoleConcurrent, rs["c2 put k=u"])
	for _, o := range c.Explanation.Ops {
		if o.Op.Value == "u" {
			assert.Equal(t, "unknown", o.Result)
			assert.Equal(t, sim.TimeMax, o.Return)
			assert.Equal(t, int64(-1), o.ReturnEvent)
		}
	}
	assert.Contains(t, c.Explanation.Text(), "never returned")
}

// The story is bounded: a failure amid many concurrent operations shows at
// most a screenful and counts the rest.
func TestExplainIsAScreenful(t *testing.T) {
	var h hist
	// Not more: porcupine must try every subset of the concurrent writes
	// before it can say no (2^12 here; 2^50 would not end).
	for i := 0; i < 12; i++ {
		h.put(i+1, "k", fmt.Sprintf("v%02d", i), int64(i), 500+int64(i))
	}
	h.get(99, "k", "never-written", true, 100, 600)
	c := h.check(t)
	failing(t, c)
	e := c.Explanation
	lines := strings.Count(e.Text(), "\n")
	assert.LessOrEqual(t, lines, 20, e.Text())
	assert.Equal(t, 13, len(e.Ops)+e.Omitted)
	assert.Len(t, e.Ops, 1+explainConcurrentMax)
	assert.Equal(t, []string{"(none)", `"v00"`, `"v01"`, `"v02"`, `"v03"`, `"v04"`}, e.StatesBefore)
	assert.Equal(t, 13-explainStatesMax, e.StatesOmitted, "every value written is possible, and (none)")
}

// The explanation is a function of the history: byte for byte the same on
// every call, although porcupine's partial results come out of maps.
func TestExplainDeterministic(t *testing.T) {
	recs := randomHistory(rand.New(rand.NewPCG(7, 7)), 60, true)
	var first []byte
	for i := 0; i < 5; i++ {
		c := CheckLinearizable(recs, sim.Second, 0)
		require.Equal(t, LinViolation, c.Result)
		b, err := json.Marshal(c.Explanation)
		require.NoError(t, err)
		b = append(b, c.Explanation.Text()...)
		if first == nil {
			first = b
			continue
		}
		require.Equal(t, string(first), string(b), "call %d", i)
	}
}

// randomHistory simulates a register store on 2 keys with 4 clients; a
// buggy store sometimes answers a read from a stale copy.
func randomHistory(r *rand.Rand, n int, buggy bool) []OpRecord {
	state := map[string]string{}
	stale := map[string]string{}
	var recs []OpRecord
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("k%d", r.IntN(2))
		call := sim.Time(i*10+r.IntN(10)) * sim.Millisecond
		ret := call + sim.Time(1+r.IntN(25))*sim.Millisecond
		rec := OpRecord{Client: sim.ClientID(1 + i%4), Seq: int64(i), Call: call, Return: ret,
			CallEvent: int64(i * 2), ReturnEvent: int64(i*2 + 1), Status: OpOK}
		switch r.IntN(3) {
		case 0:
			rec.Op = Op{Kind: OpPut, Key: k, Value: fmt.Sprintf("v%d", i)}
			stale[k] = state[k]
			state[k] = rec.Op.Value
		case 1:
			rec.Op = Op{Kind: OpAppend, Key: k, Value: fmt.Sprintf("a%d;", i)}
			stale[k] = state[k]
			state[k] += rec.Op.Value
		default:
			rec.Op = Op{Kind: OpGet, Key: k}
			rec.Value = state[k]
			if buggy && r.IntN(8) == 0 {
				rec.Value = stale[k]
			}
			rec.Found = rec.Value != ""
		}
		if r.IntN(15) == 0 && rec.Op.Kind != OpGet {
			rec.Status, rec.Return, rec.ReturnEvent = OpUnknown, sim.TimeMax, -1
		}
		recs = append(recs, rec)
	}
	return recs
}

// The binary search rests on linearizability being prefix-closed in time
// (linKey.prefix): once a prefix is not linearizable, no longer prefix is.
// Checked on every prefix of random histories, and the explained operation
// is the one that closes the first failing prefix.
func TestPrefixVerdictIsMonotone(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	failures := 0
	for seed := 0; seed < seeds; seed++ {
		recs := randomHistory(rand.New(rand.NewPCG(uint64(seed), 1)), 40, true)
		ops, idx := linHistory(recs, sim.Second)
		for _, k := range linKeys(ops, idx, recs) {
			done := k.completed()
			failed := -1
			for j := range done {
				p, _ := k.prefix(done, j)
				ok := porcupine.CheckOperations(KVModel, p)
				if failed >= 0 {
					require.False(t, ok, "seed %d key %s: prefix %d linearizable after prefix %d was not", seed, k.key, j, failed)
				} else if !ok {
					failed = j
				}
			}
			whole := porcupine.CheckOperations(KVModel, k.ops)
			require.Equal(t, whole, failed < 0, "seed %d key %s: the last prefix decides like the whole history", seed, k.key)
			if failed < 0 {
				continue
			}
			failures++
			e := explainKey(k, newLinBudget(10*time.Second))
			f := k.recs[done[failed]]
			got := e.Ops[e.Failing]
			require.Equal(t, f.CallEvent, got.CallEvent, "seed %d key %s", seed, k.key)
		}
	}
	assert.Greater(t, failures, seeds/4, "the buggy store must be caught often enough for this test to mean something")
}

// The verdict comes from porcupine's plain check: the verbose one (every
// partial linearization) runs only when the visualization is written.
func TestVerdictDoesNotComputeTheVisualization(t *testing.T) {
	calls := 0
	saved := checkVerbose
	checkVerbose = func(m porcupine.Model, h []porcupine.Operation, d time.Duration) (porcupine.CheckResult, porcupine.LinearizationInfo) {
		calls++
		return saved(m, h, d)
	}
	defer func() { checkVerbose = saved }()
	for _, buggy := range []bool{false, true} {
		recs := randomHistory(rand.New(rand.NewPCG(3, 3)), 80, buggy)
		c := CheckLinearizable(recs, sim.Second, 0)
		want := LinOK
		if buggy {
			want = LinViolation
		}
		require.Equal(t, want, c.Result)
		assert.Equal(t, 0, calls, "the verdict and the explanation use the plain check")
		path := filepath.Join(t.TempDir(), "lin.html")
		require.NoError(t, c.WriteHTML(path, []Annotation{{Start: 5 * sim.Millisecond, Index: 12, Text: "crash n1"}}))
		assert.Equal(t, 1, calls)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Contains(t, string(b), "crash n1")
		assert.Contains(t, string(b), "put k")
		calls = 0
	}
}

// A budget too small to decide anything gives unknown, never ok, and the
// reason names the key, its size and the setting to raise.
func TestTinyBudgetIsUnknownWithReason(t *testing.T) {
	recs := randomHistory(rand.New(rand.NewPCG(1, 2)), 2000, false)
	c := CheckLinearizable(recs, sim.Second*100, time.Nanosecond)
	assert.Equal(t, LinUnknown, c.Result)
	assert.Nil(t, c.Explanation)
	assert.Regexp(t, `^porcupine did not decide key k0 \([0-9,]+ operations\), key k1 \([0-9,]+ operations\) within checks.lin_budget 1ns; raise checks.lin_budget in the scenario$`, c.Reason)
	// The default budget decides it.
	c = CheckLinearizable(recs, sim.Second*100, 0)
	assert.Equal(t, LinOK, c.Result)
	assert.Empty(t, c.Reason)
}

// A history whose check would take forever (a read no order explains,
// concurrent with 40 writes: 2^40 subsets) ends unknown within its budget,
// never hangs.
func TestHopelessHistoryIsUnknownNotAHang(t *testing.T) {
	var h hist
	for i := 0; i < 40; i++ {
		h.put(i+1, "k", fmt.Sprintf("v%02d", i), int64(i), 500+int64(i))
	}
	h.get(99, "k", "never-written", true, 100, 600)
	c := CheckLinearizable(h.recs, sim.Second, 100*time.Millisecond)
	assert.Equal(t, LinUnknown, c.Result)
	assert.Equal(t, "porcupine did not decide key k (41 operations) within checks.lin_budget 100ms; raise checks.lin_budget in the scenario", c.Reason)
}

// The memory bound reads as such, with the bound's name.
func TestUndecidedReasonNamesWhatRanOut(t *testing.T) {
	k := &linKey{key: "k3", recs: make([]*OpRecord, 1234)}
	got := undecidedReason([]linUndecided{{key: k, run: linRun{verdict: linOutgrew, steps: 8123456}}}, "checks.lin_budget 10s")
	assert.Equal(t, "porcupine's search outgrew its memory bound (linSearchBytesMax, 1024 MiB) on key k3 (1,234 operations) after 8,123,456 legal steps: too many operations are concurrent on one key; spread the workload over more keys or fewer clients", got)
}

// Unknown reads are left out of the check: they change nothing and showed
// nothing. Unknown writes stay.
func TestUnknownReadsAreNotChecked(t *testing.T) {
	var h hist
	h.put(1, "k", "a", 0, 10)
	h.get(2, "k", "", false, 5, -1)
	h.put(2, "k", "b", 20, -1)
	ops := LinHistory(h.recs, sim.Second)
	require.Len(t, ops, 2)
	assert.Equal(t, OpPut, ops[1].Input.(Op).Kind)
	assert.Equal(t, LinOK, h.check(t).Result)
}
