package shrink

import (
	"fmt"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// Strike by strike. A strike nemesis aims at leaders: it strikes the node
// that just became leader, or just committed, a little later. Written down
// as a schedule fixed in node and time, its strikes cannot be removed one
// by one: removing one changes every later election, and a fixed
// isolation then misses the leader it was aimed at. So before the schedule
// is written down, the strikes become the nemesis's plan (sim.StrikeShot:
// "the k-th moment's node, struck d later, for t"), and a shot removed
// from the plan leaves the others aimed at whatever node is at their
// moment then.

// strikePlanOf returns the shots the strike nemesis took in the run of sc
// with the steps.
func strikePlanOf(sc *scenario.Scenario, steps []step, checkers func() []sim.Checker) ([]sim.StrikeShot, error) {
	inst, err := Build(sc, checkers)
	if err != nil {
		return nil, err
	}
	inst.Sim.RecordStrikes()
	applySteps(inst.Sim, steps)
	inst.Sim.Run()
	return inst.Sim.StrikeShots(), nil
}

// planned reports whether sc's nemesis strikes by a plan.
func planned(sc *scenario.Scenario) bool {
	n := sc.Nemesis
	return n != nil && n.Strike != nil && n.Strike.Plan != nil
}

// strikePlan replaces a drawing strike nemesis by the plan of the shots it
// took in the current run.
func (sh *shrinker) strikePlan() bool {
	n := sh.cur.sc.Nemesis
	if n == nil || n.Strike == nil || n.Strike.Plan != nil {
		return false
	}
	shots, err := strikePlanOf(sh.cur.sc, sh.cur.steps, sh.opts.Checkers)
	if err != nil || len(shots) == 0 {
		return false
	}
	c := sh.cur.clone()
	c.sc.Nemesis.Strike.Plan = shots
	return sh.tryExact(fmt.Sprintf("strike nemesis -> plan of %d shots", len(shots)), c)
}

// strikeShots removes shots from the strike plan (delta debugging), then
// shortens the downtime of those left.
func (sh *shrinker) strikeShots() bool {
	if !planned(sh.cur.sc) {
		return false
	}
	changed := removeChunks(sh, "strikes",
		func(c candidate) []sim.StrikeShot {
			if !planned(c.sc) {
				return nil
			}
			return c.sc.Nemesis.Strike.Plan
		},
		func(c *candidate, xs []sim.StrikeShot) {
			if len(xs) == 0 {
				// An empty plan is no plan (a scenario's JSON drops it,
				// and no plan draws): no strikes is no strike nemesis.
				c.sc.Nemesis.Strike = nil
				return
			}
			c.sc.Nemesis.Strike.Plan = xs
		})
	for i := 0; planned(sh.cur.sc) && i < len(sh.cur.sc.Nemesis.Strike.Plan) && sh.stopped == ""; i++ {
		p := sh.cur.sc.Nemesis.Strike.Plan[i]
		if p.Down <= 2*sim.Millisecond {
			continue
		}
		c := sh.cur.clone()
		c.sc.Nemesis.Strike.Plan[i].Down = p.Down / 2
		if sh.tryDraws(fmt.Sprintf("halve strike %d's downtime to %v", i+1, p.Down/2), c) {
			changed = true
		}
	}
	return changed
}
