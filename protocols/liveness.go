package protocols

import (
	"fmt"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Liveness after a heal, as checkers: TigerBeetle's VOPR runs a safety
// phase with faults, then a liveness phase without, and requires the
// cluster to converge within a stated bound. These checkers say the same
// through the run's checker machinery, so that a liveness failure is a
// violation like any other: it stops the run at the event that shows it,
// with the seed, and replay and shrink work on it.
//
// The heal is the nemesis's heal_at (sim.NemesisConfig.HealAt): a run
// without one is never judged. A run that ends before the bound has
// passed is not judged either (the verdict is left to the end-of-run
// checks of the property tests, which report it as unknown-free failures
// or passes on their own terms).

// LeaderFunc returns a live leader that a quorum follows, or 0.
type LeaderFunc func(*sim.Sim) sim.NodeID

// NewProgressChecker returns the checker of progress after the heal, with
// two rules:
//
//   - elections settle: within bound of the heal, a leader followed by a
//     quorum (as leader finds it) exists at some moment. A run where
//     candidates keep deposing each other, or a leader keeps claiming a
//     term the others left, fails it. A nil leader turns the rule off
//     (protocols without a leader).
//   - operations are answered: every client operation invoked once bound
//     has passed since the heal (the cluster has had time to elect and
//     catch up, every node is up and connected) ends ok, not failed or
//     timed out.
//
// It is one checker, not two, so that a protocol's checkers still fit the
// room a model checker's fork keeps for them (sim's forkBlock).
func NewProgressChecker(name string, bound sim.Time, leader LeaderFunc) sim.Checker {
	if bound <= 0 {
		panic(fmt.Sprintf("protocols: progress checker %q needs a positive bound, got %v", name, bound))
	}
	return &progress{name: name, bound: bound, leader: leader, settled: leader == nil}
}

type progress struct {
	name   string
	bound  sim.Time
	leader LeaderFunc
	// settled: a followed leader was seen after the heal (or its absence
	// was reported): the first rule has nothing more to judge.
	settled bool
	// next[i] is the first operation of client i+1 not yet judged: every
	// one before it ended (a client's operations end in order).
	next []int
}

func (c *progress) Name() string { return c.name }

func (c *progress) CloneChecker() sim.Checker {
	d := *c
	d.next = append([]int(nil), c.next...)
	return &d
}

func (c *progress) Check(s *sim.Sim, ev *sim.Event) error {
	heal := healAt(s)
	if heal <= 0 || s.Now() < heal {
		return nil
	}
	if err := c.checkSettled(s, heal); err != nil {
		return err
	}
	return c.checkAnswered(s, ev, heal)
}

// The progress checker's rules, as its violations' messages begin and as
// ProgressRule names them.
const (
	settleMessage   = "elections did not settle"
	answeredMessage = "operation not answered"
)

// ProgressRule names the rule of a progress checker's violation message:
// "elections settle" or "operations answered" ("" for any other message),
// so that a report (the mutation suite's "caught by") and the shrinker,
// which keeps a failure only while the same rule fails, can tell the two
// apart.
func ProgressRule(message string) string {
	switch {
	case strings.HasPrefix(message, settleMessage):
		return "elections settle"
	case strings.HasPrefix(message, answeredMessage):
		return "operations answered"
	}
	return ""
}

func (c *progress) checkSettled(s *sim.Sim, heal sim.Time) error {
	if c.settled {
		return nil
	}
	if c.leader(s) != 0 {
		c.settled = true
		return nil
	}
	if s.Now() > heal+c.bound {
		c.settled = true
		return fmt.Errorf(settleMessage+": no leader followed by a quorum within %v of the heal at %v (now %v)", c.bound, heal, s.Now())
	}
	return nil
}

func (c *progress) checkAnswered(s *sim.Sim, ev *sim.Event, heal sim.Time) error {
	// Only an event at a client can end one of its operations.
	if ev.To >= 0 || s.Now() < heal+c.bound {
		return nil
	}
	clients := s.Config().Clients
	i := int(-ev.To) - 1
	if i < 0 || i >= clients {
		return nil
	}
	if len(c.next) < clients {
		c.next = append(c.next, make([]int, clients-len(c.next))...)
	}
	// An OpLogger lends its records; another client's history is a slice.
	var at func(int) *OpRecord
	var n int
	switch hc := s.Process(ev.To).(type) {
	case OpLogger:
		l := hc.OpLog()
		at, n = l.At, l.Len()
	case HistoryClient:
		h := hc.History()
		at, n = func(k int) *OpRecord { return &h[k] }, len(h)
	default:
		return nil
	}
	for ; c.next[i] < n && at(c.next[i]).Status != OpPending; c.next[i]++ {
		op := at(c.next[i])
		if op.Call >= heal+c.bound && op.Status != OpOK {
			return fmt.Errorf(answeredMessage+": %v#%d %v invoked at %v, %v after the heal at %v, ended %s", op.Client, op.Seq, op.Op, op.Call, op.Call-heal, heal, op.Status)
		}
	}
	return nil
}

// healAt is when the run's nemesis heals everything, or 0.
func healAt(s *sim.Sim) sim.Time {
	if n := s.Config().Nemesis; n != nil {
		return n.HealAt
	}
	return 0
}
