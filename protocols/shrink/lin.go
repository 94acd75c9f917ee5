package shrink

import (
	"slices"
	"time"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// A linearizability failure is pinned to a key: a candidate fails the same
// way only when the history of that key is still not linearizable. Without
// the key a shrink could trade the failure for another one elsewhere (a
// different key, a different story) and lose the one being explained.

// linBudget is the wall-clock budget of one per-key check made by the
// shrinker. The histories it checks are one key's, usually small; a check
// that runs out is "unknown" and the candidate is not kept, so the result
// could depend on the machine only if a check came close to this bound.
const linBudget = 10 * time.Second

// linKey returns the key whose history is not linearizable in a failing
// run: the explanation's key when the run has one, else the first key (in
// sorted order) whose history alone is not linearizable.
func linKey(r *scenario.Result) (string, bool) {
	if e := r.LinExplanation; e != nil {
		return e.Key, true
	}
	for _, k := range historyKeys(r.History) {
		if failsOn(r.History, k, sim.TimeMax) {
			return k, true
		}
	}
	return "", false
}

// linFailsOn reports whether the run's history of key is not linearizable.
func linFailsOn(r *scenario.Result, key string) bool {
	if r.Linearizable != string(protocols.LinViolation) {
		return false // a history with a failing key fails as a whole
	}
	if e := r.LinExplanation; e != nil && e.Key == key {
		return true
	}
	return failsOn(r.History, key, sim.TimeMax)
}

// historyKeys lists the keys the history touches, sorted.
func historyKeys(records []protocols.OpRecord) []string {
	var keys []string
	for _, o := range records {
		if !slices.Contains(keys, o.Op.Key) {
			keys = append(keys, o.Op.Key)
		}
	}
	slices.Sort(keys)
	return keys
}

// failsOn reports whether the history of key, as it stood at time at, is
// not linearizable: operations invoked later are left out, and those that
// had not returned by then are pending (they may or may not have taken
// effect), as if the run had been cut at that instant.
func failsOn(records []protocols.OpRecord, key string, at sim.Time) bool {
	var ops []protocols.OpRecord
	var end sim.Time
	for _, o := range records {
		if o.Op.Key != key || o.Call > at {
			continue
		}
		if o.Return > at {
			o.Status, o.Return, o.ReturnEvent = protocols.OpUnknown, sim.TimeMax, -1
		}
		end = max(end, o.Call)
		if o.Return != sim.TimeMax {
			end = max(end, o.Return)
		}
		ops = append(ops, o)
	}
	return protocols.CheckLinearizable(ops, end, linBudget).Result == protocols.LinViolation
}

// linEnd returns the earliest time by which the run has shown that key's
// history is not linearizable: the first return of one of its operations
// at which the history cut there is already not linearizable. Cutting a
// history can only take freedom away from a linearization's placing
// (operations that returned later become pending, which any order may
// place anywhere after their call or leave out), so once a cut fails,
// every later cut fails too, and a binary search over the returns finds
// the first. ok is false when even the whole history passes.
func linEnd(records []protocols.OpRecord, key string) (end sim.Time, ok bool) {
	var returns []sim.Time
	for _, o := range records {
		if o.Op.Key == key && o.Status == protocols.OpOK {
			returns = append(returns, o.Return)
		}
	}
	slices.Sort(returns)
	returns = slices.Compact(returns)
	i, _ := slices.BinarySearchFunc(returns, true, func(t sim.Time, _ bool) int {
		if failsOn(records, key, t) {
			return 1
		}
		return -1
	})
	if i == len(returns) {
		return 0, false
	}
	return returns[i], true
}
