package protocols

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// storeHistory simulates a key-value store under concurrent clients: each
// operation takes effect at a random instant between its call and its
// return, in that order, so the history is linearizable, unless buggy:
// then a read sometimes answers the value before the last write, and a
// write is sometimes lost. Some writes time out (unknown: taking effect or
// not, at random) and some fail (no effect). Clients run closed loops with
// random think times, so a key's history has quiescent points and
// stretches of overlap.
func storeHistory(r *rand.Rand, n, clients, keys int, buggy bool) []OpRecord {
	type pending struct {
		rec OpRecord
		at  sim.Time // when it takes effect, or -1: never
	}
	next := make([]sim.Time, clients)
	var ops []*pending
	for i := 0; i < n; i++ {
		c := slices.Index(next, slices.Min(next))
		call := next[c]
		lat := sim.Time(1+r.IntN(20)) * sim.Millisecond
		k := fmt.Sprintf("k%d", r.IntN(keys))
		p := &pending{rec: OpRecord{Client: sim.ClientID(c + 1), Seq: int64(i), Call: call, Return: call + lat,
			CallEvent: int64(call / sim.Microsecond), ReturnEvent: int64((call + lat) / sim.Microsecond), Status: OpOK}}
		p.at = call + sim.Time(r.Int64N(int64(lat)))
		switch r.IntN(7) {
		case 0, 1:
			p.rec.Op = Op{Kind: OpPut, Key: k, Value: fmt.Sprintf("v%d", i)}
		case 2, 3:
			p.rec.Op = Op{Kind: OpAppend, Key: k, Value: fmt.Sprintf("a%d;", i)}
		case 4:
			p.rec.Op = Op{Kind: OpCAS, Key: k, Value: fmt.Sprintf("c%d", i)}
		default:
			p.rec.Op = Op{Kind: OpGet, Key: k}
		}
		if p.rec.Op.Kind != OpGet {
			switch r.IntN(25) {
			case 0:
				p.rec.Status, p.rec.Return, p.rec.ReturnEvent = OpUnknown, sim.TimeMax, -1
				if r.IntN(2) == 0 {
					p.at = -1
				}
				lat = 60 * sim.Millisecond // the client's time-out
			case 1:
				p.rec.Status, p.at = OpFailed, -1
			}
		}
		next[c] = call + lat + sim.Time(r.IntN(15))*sim.Millisecond
		ops = append(ops, p)
	}
	byEffect := slices.Clone(ops)
	slices.SortStableFunc(byEffect, func(a, b *pending) int { return int(a.at - b.at) })
	state := map[string]kvState{}
	prev := map[string]kvState{}
	for _, p := range byEffect {
		if p.at < 0 {
			continue
		}
		k := p.rec.Op.Key
		s := state[k]
		if p.rec.Op.Kind == OpCAS {
			// Expect the current value half of the time.
			if r.IntN(2) == 0 {
				p.rec.Op.Expect = s.V
			} else {
				p.rec.Op.Expect = prev[k].V
			}
		}
		_, next := KVModel.Step(s, p.rec.Op, linOut{Unknown: true})
		ns := next.(kvState)
		seen := s
		if buggy && r.IntN(12) == 0 {
			switch p.rec.Op.Kind {
			case OpGet:
				seen = prev[k] // a stale read
			case OpPut, OpAppend:
				ns = s // a lost write
			}
		}
		p.rec.Value, p.rec.Found = seen.V, seen.Has
		p.rec.Swapped = p.rec.Op.Kind == OpCAS && s.V == p.rec.Op.Expect
		if ns != s {
			prev[k] = s
		}
		state[k] = ns
	}
	recs := make([]OpRecord, len(ops))
	for i, p := range ops {
		recs[i] = p.rec
	}
	return recs
}

// wholeVerdicts checks every key of a history whole, as porcupine alone
// would: the reference the windows must agree with.
func wholeVerdicts(t *testing.T, recs []OpRecord, end sim.Time) map[string]linVerdict {
	t.Helper()
	out := map[string]linVerdict{}
	b := newLinBudget(30 * time.Second)
	for _, k := range linKeyRecords(recordsOf(recs), end) {
		out[k.key] = b.run(k.full().ops, 30*time.Second).verdict
	}
	return out
}

// windowedVerdicts checks every key window by window, cutting at every
// quiescent point (windowOpsMin 1) or less often, and checking whole the
// keys the windows cannot carry (decide); it returns how many windows it
// checked and how many keys fell back to the whole check.
func windowedVerdicts(t *testing.T, recs []OpRecord, end sim.Time, windowOpsMin int) (map[string]linVerdict, int, int) {
	t.Helper()
	out := map[string]linVerdict{}
	b := newLinBudget(30 * time.Second)
	b.windowOpsMin, b.windowStepsPerOp = windowOpsMin, linStepsUnbounded
	windows, fallbacks := 0, 0
	for _, k := range linKeyRecords(recordsOf(recs), end) {
		r, fallback := b.decideWindows(k, 30*time.Second)
		if fallback {
			fallbacks++
			r = b.decide(k, 30*time.Second)
		}
		out[k.key] = r.verdict
		windows += r.windows
	}
	return out, windows, fallbacks
}

// The windowed check decides every key as the whole history's check does,
// on histories with overlap, unknown and failed writes, compare-and-set,
// and injected bugs (stale reads, lost writes), cutting at every quiescent
// point. The check is proven by the bugs it catches: a good share of the
// buggy histories must fail, and every failure must be found by both.
func TestWindowsDecideLikeTheWholeHistory(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 60
	}
	var violations, keys, windows, fallbacks int
	for seed := 0; seed < seeds; seed++ {
		r := rand.New(rand.NewPCG(uint64(seed), 22))
		buggy := seed%2 == 1
		recs := storeHistory(r, 30+r.IntN(120), 1+r.IntN(5), 1+r.IntN(3), buggy)
		end := sim.Second * 100
		want := wholeVerdicts(t, recs, end)
		for _, min := range []int{1, 8} {
			got, w, f := windowedVerdicts(t, recs, end, min)
			require.Equal(t, want, got, "seed %d (buggy %v), windows of at least %d operations", seed, buggy, min)
			windows += w
			fallbacks += f
		}
		for _, v := range want {
			keys++
			require.Contains(t, []linVerdict{linLegal, linIllegal}, v, "seed %d", seed)
			if v == linIllegal {
				violations++
			}
		}
	}
	t.Logf("%d keys, %d not linearizable, %d windows, %d keys checked whole", keys, violations, windows, fallbacks)
	assert.Less(t, fallbacks, keys/10, "most keys must be checked in windows for the comparison to mean something")
	assert.Greater(t, violations, keys/6, "the injected bugs must be caught often enough for the comparison to mean something")
	assert.Greater(t, windows, 4*keys, "the histories must be cut often enough for the comparison to mean something")
}

// An unknown write spans every later cut: the key may hold its value from
// any point after its call, or never. Reads on either side of cuts see it
// appear late, which only the carried pending write explains; and once a
// read has seen it, an older value cannot come back.
func TestWindowsCarryUnknownWrites(t *testing.T) {
	var h hist
	h.put(1, "k", "a", 0, 10)
	h.put(2, "k", "u", 5, -1) // never answered
	h.get(3, "k", "a", true, 20, 30)
	h.get(3, "k", "a", true, 40, 50)
	h.get(3, "k", "u", true, 60, 70) // u took effect late: legal
	end := sim.Second
	got, w, _ := windowedVerdicts(t, h.recs, end, 1)
	assert.Equal(t, map[string]linVerdict{"k": linLegal}, got)
	assert.Equal(t, 4, w, "cut after each completed operation")

	h.get(3, "k", "a", true, 80, 90) // a cannot come back
	got, _, _ = windowedVerdicts(t, h.recs, end, 1)
	assert.Equal(t, map[string]linVerdict{"k": linIllegal}, got)
	assert.Equal(t, LinViolation, h.check(t).Result)

	// An unknown append may apply on top of a later put.
	var g hist
	g.put(1, "k", "a", 0, 10)
	g.appendOp(2, "k", "x", 5, -1)
	g.put(1, "k", "b", 20, 30)
	g.get(1, "k", "bx", true, 40, 50)
	got, _, _ = windowedVerdicts(t, g.recs, end, 1)
	assert.Equal(t, map[string]linVerdict{"k": linLegal}, got)
}

// A key whose unknown writes leave more configurations than the windows
// carry (appends applied in every order) is checked whole, with the same
// verdict; so is one with more pending writes than a configuration has
// bits.
func TestWindowsFallBackToTheWholeKey(t *testing.T) {
	b := newLinBudget(10 * time.Second)
	b.windowOpsMin = 1
	var h hist
	h.put(1, "k", "a", 0, 10)
	for i := 0; i < 6; i++ { // 1,957 orders of subsets of 6 appends
		h.appendOp(2+i, "k", fmt.Sprintf("x%d;", i), int64(20+i), -1)
	}
	h.get(1, "k", "ax3;x1;", true, 100, 110)
	h.get(1, "k", "ax3;x1;x5;", true, 120, 130)
	k := linKeyRecords(recordsOf(h.recs), sim.Second)[0]
	_, fallback := b.decideWindows(k, 10*time.Second)
	assert.True(t, fallback)
	assert.Equal(t, linLegal, b.decide(k, 10*time.Second).verdict)
	assert.Equal(t, LinOK, h.check(t).Result)
	h.get(1, "k", "ax3;x1;", true, 140, 150) // x5 cannot be undone
	assert.Equal(t, LinViolation, h.check(t).Result)

	// Many overlapping operations: the windows' exhaustive searches take
	// more steps than linWindowStepsPerOpMax allows.
	var c hist
	for w := 0; w < 40; w++ {
		for i := 0; i < 6; i++ {
			c.put(i+1, "k", fmt.Sprintf("v%d.%d", w, i), int64(100*w+i), int64(100*w+50+i))
		}
		c.get(9, "k", fmt.Sprintf("v%d.%d", w, w%6), true, int64(100*w+60), int64(100*w+70))
	}
	k = linKeyRecords(recordsOf(c.recs), 10*sim.Second)[0]
	b.windowOpsMin = 64
	r, fallback := b.decideWindows(k, 10*time.Second)
	assert.True(t, fallback, "after %d windows, %d steps", r.windows, r.steps)
	assert.Positive(t, r.windows, "the windows were tried first")
	assert.Equal(t, linLegal, b.decide(k, 10*time.Second).verdict)
	b.windowStepsPerOp = linStepsUnbounded
	r, fallback = b.decideWindows(k, 10*time.Second)
	assert.False(t, fallback, "after %d windows, %d steps", r.windows, r.steps)
	assert.Equal(t, linLegal, r.verdict)

	var g hist
	for i := 0; i < linPendingMax+1; i++ {
		g.put(1, "k", fmt.Sprintf("v%d", i), int64(2*i), -1)
	}
	k = linKeyRecords(recordsOf(g.recs), sim.Second)[0]
	_, fallback = b.decideWindows(k, 10*time.Second)
	assert.True(t, fallback)
}
