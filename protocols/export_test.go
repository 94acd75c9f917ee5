package protocols

import (
	"time"

	"github.com/synod-dev/synod/sim"
)

// CheckLinearizableWhole is CheckLinearizable with every key checked whole
// by porcupine, without windows: the reference the windowed check must
// agree with.
func CheckLinearizableWhole(records []OpRecord, end sim.Time, budget time.Duration) *LinCheck {
	return checkSplit(linKeyRecords(recordsOf(records), end), end, budget, func(b *linBudget) { b.whole = true })
}

// CheckLinearizableWindows is CheckLinearizable with every key checked in
// windows however short its history and however many steps they take,
// cut at the first quiescent point after windowOpsMin operations.
func CheckLinearizableWindows(records []OpRecord, end sim.Time, budget time.Duration, windowOpsMin int) *LinCheck {
	return checkSplit(linKeyRecords(recordsOf(records), end), end, budget, func(b *linBudget) {
		b.windowKeyMin, b.windowOpsMin, b.windowStepsPerOp = 0, windowOpsMin, linStepsUnbounded
	})
}

// linStepsUnbounded lets the tests' windows take any number of steps.
const linStepsUnbounded = 1 << 40
