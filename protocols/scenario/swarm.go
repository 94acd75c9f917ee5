package scenario

import (
	"errors"
	"math"
	"slices"

	"github.com/synod-dev/synod/sim"
)

// Swarm testing (Groce et al., "Swarm Testing", ISSTA 2012; TigerBeetle's
// VOPR does the same): a run with every fault kind on at its usual rate
// rarely sees what a narrow configuration makes likely (a node crashed
// again and again while the others never are, many cuts and no crash, long
// pauses). So each seed of a swarm scenario draws its own nemesis from the
// scenario's: some fault kinds off, the rest at rates from a quarter to
// four times the written one, its own downtime, a subset of target nodes,
// its own loss burst, crash bound and drift. The draw comes from the
// seed's own "swarm" stream, so the seed alone reproduces the run, and the
// drawn nemesis is what the trace header's sim config records.

// swarmScaleMax is the widest a swarm scales a rate or a downtime: from
// 1/swarmScaleMax to swarmScaleMax times the scenario's value.
const swarmScaleMax = 4

// SwarmNemesis draws the nemesis of one swarm seed from the scenario's
// (base): each fault kind the base has on stays on with probability 1/2
// (at least one does), at its rate scaled by 2^u, u uniform in [-2, 2];
// the downtime is scaled the same way; half the seeds target a random
// proper subset of the nodes; the loss burst is uniform in [0.1, 0.9];
// half the seeds bound crashes at a random 1..(nodes-1)/2; the drift is up
// to twice the base's. The heal stays (liveness is checked after it).
func SwarmNemesis(base *sim.NemesisConfig, nodes int, seed uint64) (*sim.NemesisConfig, error) {
	if base == nil {
		return nil, errors.New("a swarm varies the nemesis: the scenario has none (add a nemesis: section)")
	}
	r := sim.NewRand(seed, "swarm")
	n := *base
	n.Targets = slices.Clone(base.Targets)
	kinds := []*sim.Time{&n.CrashEvery, &n.PartitionEvery, &n.CutEvery, &n.PauseEvery, &n.LossEvery}
	var on []int
	for i, k := range kinds {
		if *k > 0 {
			on = append(on, i)
		}
	}
	if len(on) == 0 {
		return nil, errors.New("a swarm varies the nemesis's fault kinds: the nemesis has none on (set crash_every, partition_every, ...)")
	}
	written := make([]sim.Time, len(kinds))
	for i, k := range kinds {
		written[i] = *k
		*k = 0
	}
	kept := 0
	for _, i := range on {
		if r.Chance(0.5) {
			*kinds[i] = swarmScale(r, written[i])
			kept++
		}
	}
	if kept == 0 {
		i := on[r.IntN(len(on))]
		*kinds[i] = swarmScale(r, written[i])
	}
	if n.Downtime == 0 {
		n.Downtime = 500 * sim.Millisecond // the nemesis's default
	}
	n.Downtime = swarmScale(r, n.Downtime)
	if nodes > 1 && r.Chance(0.5) {
		size := 1 + r.IntN(nodes-1)
		var ts []sim.NodeID
		for _, p := range r.Perm(nodes)[:size] {
			ts = append(ts, sim.NodeID(p+1))
		}
		slices.Sort(ts)
		n.Targets = ts
	}
	n.LossBurst = 0.1 + 0.8*r.Float64()
	if most := (nodes - 1) / 2; most > 0 && r.Chance(0.5) {
		n.MaxCrashed = 1 + r.IntN(most)
	}
	n.DriftMax = math.Min(base.DriftMax*2*r.Float64(), 0.5)
	return &n, nil
}

// swarmScale scales t by 2^u, u uniform in [-log2 max, log2 max], to the
// millisecond (at least one).
func swarmScale(r *sim.Rand, t sim.Time) sim.Time {
	lg := math.Log2(swarmScaleMax)
	f := math.Exp2(lg * (2*r.Float64() - 1))
	return max(sim.Time(float64(t)*f)/sim.Millisecond*sim.Millisecond, sim.Millisecond)
}

// Unswarm returns the scenario with its swarm drawn: the seed's nemesis
// written out and Swarm off, the same run (a shrink changes the seed and
// must keep the configuration).
func (sc *Scenario) Unswarm() (*Scenario, error) {
	c := sc.Clone()
	if !sc.Swarm {
		return c, nil
	}
	n, err := SwarmNemesis(sc.Nemesis, sc.Nodes, sc.Seed)
	if err != nil {
		return nil, sc.errAt("swarm", err.Error())
	}
	c, err = c.drawSwarmOptions()
	if err != nil {
		return nil, err
	}
	c.Nemesis, c.Swarm = n, false
	return c, c.Revalidate()
}
