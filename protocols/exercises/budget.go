package exercises

import (
	"fmt"
	"sync/atomic"

	"github.com/synod-dev/synod/sim"
)

// The budgets of a graded run, counted in simulation, never in time: a
// protocol that loops without end fails the test it loops in, named as
// such with its seed and event, and the other tests still score.
const (
	// instantEventsMax bounds the events at one simulated instant: a
	// zero-delay timer that re-arms itself (or a zero-latency message
	// loop) never lets the clock advance, and is a livelock long before
	// the run's events bound.
	instantEventsMax = 10_000
	// inflightMessagesMax bounds the messages sent and not yet delivered
	// or dropped: a message storm (every message answered by several)
	// fills memory before it reaches the events bound.
	inflightMessagesMax = 200_000
	// budgetChecker is the name the budget checker's failures carry.
	budgetCheckerName = "budget"
)

// progress is what the watchdog of an isolated test (isolate.go) reads:
// the run's seed and the index of the last event that completed, written
// by the budget checker after every event. One test runs per process when
// the watchdog is on, so one set of counters serves.
var progress struct {
	seed   atomic.Uint64
	events atomic.Int64
	at     atomic.Int64
}

// budgetChecker enforces the budgets above and reports progress. It never
// looks at the protocol's state, only at the simulator's clock and
// counters.
type budgetChecker struct {
	// explore: in a search the clock and the counters belong to many
	// branches, so only progress is reported.
	explore bool
	lastAt  sim.Time
	sameAt  int64
}

func newBudgetChecker() sim.Checker        { return &budgetChecker{} }
func newExploreBudgetChecker() sim.Checker { return &budgetChecker{explore: true} }

func (c *budgetChecker) Name() string { return budgetCheckerName }

func (c *budgetChecker) Check(s *sim.Sim, _ *sim.Event) error {
	progress.seed.Store(s.Config().Seed)
	progress.events.Store(s.Index() - 1)
	progress.at.Store(int64(s.Now()))
	if c.explore {
		return nil
	}
	if now := s.Now(); now != c.lastAt {
		c.lastAt, c.sameAt = now, 0
	} else if c.sameAt++; c.sameAt >= instantEventsMax {
		return fmt.Errorf("livelock: %d events at t=%v without the clock advancing (a timer re-armed with zero delay, or messages answered without end at zero latency)", c.sameAt, now)
	}
	st := s.Stats()
	if inflight := st.Sent + st.Duplicated - st.Delivered - st.Dropped(); inflight > inflightMessagesMax {
		return fmt.Errorf("livelock: %d messages in flight at t=%v, over the bound %d (a message storm: each message answered by several)", inflight, s.Now(), inflightMessagesMax)
	}
	return nil
}
