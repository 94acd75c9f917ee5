package protocols

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/synod-dev/synod/sim"
)

// Windows: checking a key's history in pieces.
//
// Porcupine's search remembers every (linearized set, state) pair it
// reaches, each with a bitset over all the key's operations: on a long run
// (1,000 simulated seconds, 26,000 operations a key) that is kilobytes per
// step and hundreds of megabytes per key, for a history that is nearly
// sequential. So the key's history is cut where it is quiescent, and each
// window is checked from the states the previous one can end in.
//
// The cut. Where every operation invoked before time t returned before t,
// every operation before t precedes every one after it in real time, so
// every linearization of the key is a linearization of the first window
// followed by one of the second: the history is linearizable if and only
// if the second window is, starting from one of the states the first can
// end in. The windows are checked in order, each from that set of states
// (exact, not a guess: an exhaustive search records every end state, see
// linBudget.run's probe), so the verdict is the whole history's.
//
// Unknown writes. A write whose client never learned the outcome may take
// effect at any time after its call, or never: it never returns, so no
// point after its call would be quiescent. It is split in two: a
// registration, an operation from its call to its call (it returns at
// once), and its effect, which the model may apply between any two later
// steps, or never. A configuration is a value and the set of registered
// writes still pending; the model's state is the set of configurations
// the key may be in. The two histories have the same legal orders (the
// registration goes right after the last operation that returned before
// the call), so the verdict is unchanged, and a point is quiescent again
// once the registration has returned.
//
// What it costs. A window is checked exhaustively (every end state), not
// until the first legal order; windows are cut at the first quiescent
// point after linWindowOpsMin operations, so the cost per window is
// porcupine's per-call overhead plus a search over that many operations.
// A key whose configurations outgrow linConfigsMax, whose pending writes
// outgrow 64, or whose windows take more model steps than
// linWindowStepsPerOpMax per operation (many operations overlapping) is
// checked whole, as before, so the bounds change the time and memory a
// check takes, never its verdict.

// linWindowOpsMin is how many operations a window holds at least before it
// is cut at the next quiescent point: small enough that porcupine's
// bitsets stay a few words, large enough that its per-call overhead
// (goroutines, a timer, sorting) is spread thin.
const linWindowOpsMin = 256

// linWindowKeyMin is how many operations a key has at least for it to be
// checked in windows. A shorter history is checked whole: porcupine's
// bitsets are at most linWindowKeyMin/64 words, and its plain search,
// which stops at the first legal order, is faster than the windows'
// exhaustive ones on concurrent histories (measured on open-loop.yaml,
// seed 1, 833 operations on one key: 263 ms whole, 650 ms in windows).
const linWindowKeyMin = 2048

// linConfigsMax bounds the configurations a window's state may hold: past
// it the key is checked whole instead (each step costs as many model steps
// as there are configurations).
const linConfigsMax = 256

// linWindowStepsPerOpMax and linWindowStepsMin bound the model steps the
// windows of a key may take (one per configuration a step starts from):
// linWindowStepsMin plus this many per operation checked so far. A
// window's search is exhaustive (it needs every end state), which costs
// more than a search that stops at the first legal order when many
// operations overlap: the default scenario takes about 1.5 legal steps per
// operation and 6 clients on 5 keys 2.6 (both stay in windows), 30 clients
// about 350 (they fall back after the first window, and
// BenchmarkLinCheckRaft30Clients costs what the whole check costs). Past
// the bound the key is checked whole, with the same verdict; the steps
// taken are the cost of having tried.
const (
	linWindowStepsPerOpMax = 16
	linWindowStepsMin      = 1 << 12
)

// linPendingMax bounds the unknown writes a key may have pending at once
// in the windowed check (one bit each in linConfig.pend).
const linPendingMax = 64

// linConfig is one way a key may stand: its value, and which of its
// registered unknown writes may still take effect (bit i: write i of the
// window's pending table).
type linConfig struct {
	s    kvState
	pend uint64
}

// linSet is the windowed model's state: every configuration the key may be
// in, closed under letting pending writes take effect, without the
// configurations another one covers (same value, fewer writes pending: a
// pending write may also never take effect), in canonical order so that
// equal sets compare equal.
type linSet []linConfig

// linReg is the output of an unknown write's registration: it makes the
// write pending (bit) in every configuration.
type linReg struct{ bit int }

// compareConfig orders configurations: a missing key first, then by value,
// then by pending writes.
func compareConfig(a, b linConfig) int {
	if a.s.Has != b.s.Has {
		if !a.s.Has {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(a.s.V, b.s.V); c != 0 {
		return c
	}
	return cmp.Compare(a.pend, b.pend)
}

// linSetModel is the model of one window: pending are the inputs of the
// unknown writes the window's configurations refer to (by bit). A step
// whose result would hold more than linConfigsMax configurations sets
// overflow and is refused.
type linSetModel struct {
	pending  []Op
	overflow *atomic.Bool
	// stepsLeft is what is left of the key's steps (see
	// linWindowStepsPerOpMax): a step past it sets overflow too.
	stepsLeft *atomic.Int64
}

// close adds to set every configuration reachable by letting pending
// writes take effect, drops the covered ones and sorts it. It returns nil
// when the result would exceed linConfigsMax.
func (m *linSetModel) close(set linSet) linSet {
	for i := 0; i < len(set); i++ {
		c := set[i]
		for p := c.pend; p != 0; p &= p - 1 {
			bit := bits.TrailingZeros64(p)
			_, next := KVModel.Step(c.s, m.pending[bit], linOut{Unknown: true})
			n := linConfig{s: next.(kvState), pend: c.pend &^ (1 << bit)}
			if !slices.Contains(set, n) {
				if len(set) == 4*linConfigsMax {
					return nil
				}
				set = append(set, n)
			}
		}
	}
	slices.SortFunc(set, compareConfig)
	out := set[:0]
	for i, c := range set {
		covered := false
		// A covering configuration has the same value and more bits:
		// it sorts later among those of the same value.
		for _, d := range set[i+1:] {
			if d.s != c.s {
				break
			}
			if d.pend&c.pend == c.pend {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, c)
		}
	}
	if len(out) > linConfigsMax {
		return nil
	}
	return slices.Clip(out)
}

// step applies one operation to every configuration of set: a
// registration makes its write pending everywhere, any other operation
// keeps the configurations in which its result is legal.
func (m *linSetModel) step(set linSet, input, output any) (bool, linSet) {
	// A step costs a model step per configuration.
	if m.stepsLeft.Add(-int64(len(set))) < 0 {
		m.overflow.Store(true)
		return false, set
	}
	var next linSet
	if reg, ok := output.(linReg); ok {
		next = make(linSet, len(set), len(set)+1)
		for i, c := range set {
			next[i] = linConfig{s: c.s, pend: c.pend | 1<<reg.bit}
		}
	} else {
		for _, c := range set {
			if legal, s := KVModel.Step(c.s, input, output); legal {
				next = append(next, linConfig{s: s.(kvState), pend: c.pend})
			}
		}
		if len(next) == 0 {
			return false, set
		}
	}
	next = m.close(next)
	if next == nil {
		m.overflow.Store(true)
		return false, set
	}
	return true, next
}

// model returns the porcupine model of one window starting from init.
func (m *linSetModel) model(init linSet) porcupine.Model {
	return porcupine.Model{
		Init: func() any { return init },
		Step: func(state, input, output any) (bool, any) {
			return m.step(state.(linSet), input, output)
		},
		Equal: func(a, b any) bool { return slices.Equal(a.(linSet), b.(linSet)) },
		Hash: func(state any) uint64 {
			var h uint64
			for _, c := range state.(linSet) {
				x := maphash.String(kvHashSeed, c.s.V) ^ c.pend*0x9e3779b97f4a7c15
				if c.s.Has {
					x = ^x
				}
				h = h*0x100000001b3 ^ x
			}
			return h
		},
	}
}

// linKept reports whether the check keeps a record (see LinHistory):
// failed operations and unknown reads are left out.
func linKept(r *OpRecord) bool {
	switch r.Op.Kind {
	case OpGet, OpPut, OpAppend, OpCAS:
	default:
		return false
	}
	return r.Status == OpOK || (r.Status != OpFailed && r.Op.Kind != OpGet)
}

// linWindowReturn is when a kept record has returned in the windowed
// check: an unknown write's registration returns at its call.
func linWindowReturn(r *OpRecord) sim.Time {
	if r.Status == OpOK {
		return r.Return
	}
	return r.Call
}

// linWindowOp is the operation a kept record stands for in the windowed
// check; an unknown write's registration has no output yet (the caller
// gives it its bit).
func linWindowOp(r *OpRecord) porcupine.Operation {
	op := porcupine.Operation{ClientId: max(int(-r.Client)-1, 0), Input: r.Op, Call: int64(r.Call)}
	if r.Status == OpOK {
		op.Output = linOut{Value: r.Value, Found: r.Found, Swapped: r.Swapped}
		op.Return = int64(r.Return)
		return op
	}
	op.Return = op.Call
	return op
}

// decideWindows checks key k window by window within limit (and the
// deadline). It returns linOutgrew with fallback set when the key must be
// checked whole instead: too many configurations or pending writes, or
// operations at or after the history's end (whose unknown writes the
// whole check treats as returning at end+1).
func (b *linBudget) decideWindows(k *linKey, limit time.Duration) (r linRun, fallback bool) {
	// A wall clock, read after the run, outside the simulation (as the
	// budget in lin.go): running out can only make the verdict unknown,
	// never turn a violation into ok or change the run.
	keyDeadline := time.Now().Add(limit)
	order := make([]int32, len(k.recs))
	rets := make([]sim.Time, len(k.recs))
	for i, rec := range k.recs {
		if !linKept(rec) {
			panic(fmt.Sprintf("protocols: record %v of key %s is not checked", rec.Op, k.key))
		}
		ret := linWindowReturn(rec)
		if rec.Call > k.end || ret > k.end {
			return linRun{}, true
		}
		order[i] = int32(i)
		rets[i] = ret
	}
	slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(k.recs[a].Call, k.recs[b].Call) })

	set := linSet{{}} // the key starts missing, nothing pending
	stepsLeft := &atomic.Int64{}
	stepsLeft.Store(linWindowStepsMin)
	var pending []Op
	start := 0
	var maxRet sim.Time
	for i, o := range order {
		maxRet = max(maxRet, rets[o])
		last := i == len(order)-1
		if !last && (i+1-start < b.windowOpsMin || maxRet >= k.recs[order[i+1]].Call) {
			continue
		}
		// order[start..i] is a window: everything in it returned before
		// the next operation was invoked.
		ops := make([]porcupine.Operation, 0, i+2-start)
		for _, w := range order[start : i+1] {
			op := linWindowOp(k.recs[w])
			if op.Output == nil {
				if len(pending) == linPendingMax {
					return r, true
				}
				op.Output = linReg{bit: len(pending)}
				pending = append(pending, k.recs[w].Op)
			}
			ops = append(ops, op)
		}
		var ends linSet
		if !last {
			// The probe, after everything in the window, records each
			// set of configurations the window can end in.
			ops = append(ops, porcupine.Operation{Input: Op{Kind: OpGet, Key: k.key},
				Output: linProbe{}, Call: int64(maxRet) + 1, Return: int64(maxRet) + 2})
		}
		overflow := &atomic.Bool{}
		stepsLeft.Add(b.windowStepsPerOp * int64(i+1-start))
		m := linSetModel{pending: pending, overflow: overflow, stepsLeft: stepsLeft}
		wr := b.runModel(m.model(set), ops, time.Until(keyDeadline), func(s any) {
			ends = append(ends, s.(linSet)...)
		})
		r.steps += wr.steps
		r.windows++
		switch {
		case overflow.Load():
			return r, true
		case wr.verdict == linTimedOut || wr.verdict == linOutgrew:
			r.verdict = wr.verdict
			return r, false
		case last:
			r.verdict = wr.verdict
			return r, false
		case len(ends) == 0:
			// No order of the window reaches the probe: the window, and
			// so the key, is not linearizable.
			r.verdict = linIllegal
			return r, false
		}
		set = m.close(slices.Clone(ends))
		if set == nil {
			return r, true
		}
		set, pending = compactPending(set, pending)
		start = i + 1
	}
	r.verdict = linLegal // a key without operations
	return r, false
}

// compactPending drops the pending writes no configuration still waits
// for and renumbers the rest.
func compactPending(set linSet, pending []Op) (linSet, []Op) {
	var used uint64
	for _, c := range set {
		used |= c.pend
	}
	if used == 1<<len(pending)-1 || len(pending) == 0 {
		return set, pending
	}
	var kept []Op
	renum := make([]int, len(pending))
	for i := range pending {
		if used&(1<<i) != 0 {
			renum[i] = len(kept)
			kept = append(kept, pending[i])
		}
	}
	out := make(linSet, len(set))
	for i, c := range set {
		var p uint64
		for q := c.pend; q != 0; q &= q - 1 {
			p |= 1 << renum[bits.TrailingZeros64(q)]
		}
		out[i] = linConfig{s: c.s, pend: p}
	}
	slices.SortFunc(out, compareConfig)
	return out, kept
}
