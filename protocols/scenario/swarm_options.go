package scenario

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/sim"
)

// Swarm options: a swarm varies the protocol's configuration as well as
// its faults. A bug may need a configuration the scenario's author would
// not think to write down (one entry per AppendEntries, so that a
// follower's acknowledgement covers an old entry and not the new leader's
// first one); listing a few values of an option under swarm_options lets
// each swarm seed run with one of them:
//
//	swarm: true
//	swarm_options:
//	  entries_per_message_max: [1, 4, 64]
//
// The value is drawn from the seed's own "swarm/options" stream, options in
// name order, so the seed alone still reproduces the run; Build applies it,
// and the run's scenario (in its trace) holds the drawn value.

// swarmOptionValuesMax bounds the values listed for one option.
const swarmOptionValuesMax = 64

// checkSwarmOptions checks that every listed value is a valid value of a
// known option, naming the first that is not.
func (sc *Scenario) checkSwarmOptions() error {
	if len(sc.SwarmOptions) == 0 {
		return nil
	}
	if !sc.Swarm {
		return sc.errAt("swarm_options", "needs swarm: true (the values are drawn per swarm seed)")
	}
	for _, key := range sortedKeys(sc.SwarmOptions) {
		vals := sc.SwarmOptions[key]
		if len(vals) == 0 || len(vals) > swarmOptionValuesMax {
			return sc.errAt("swarm_options."+key, fmt.Sprintf("%d values; want 1..%d", len(vals), swarmOptionValuesMax))
		}
		for i, v := range vals {
			c := sc.Clone()
			c.SwarmOptions = nil
			if err := c.SetOption(key + "=" + v); err != nil {
				return sc.errAt(fmt.Sprintf("swarm_options.%s[%d]", key, i), err.Error())
			}
		}
	}
	return nil
}

// drawSwarmOptions returns the scenario with the seed's draw of its swarm
// options applied (and none left to draw), or the scenario itself when it
// has none.
func (sc *Scenario) drawSwarmOptions() (*Scenario, error) {
	if !sc.Swarm || len(sc.SwarmOptions) == 0 {
		return sc, nil
	}
	r := sim.NewRand(sc.Seed, "swarm/options")
	c := sc.Clone()
	c.SwarmOptions = nil
	for _, key := range sortedKeys(sc.SwarmOptions) {
		vals := sc.SwarmOptions[key]
		v := vals[r.IntN(len(vals))]
		if err := c.SetOption(key + "=" + v); err != nil {
			return nil, sc.errAt("swarm_options."+key, err.Error())
		}
	}
	return c, nil
}

// SwarmOptionsDrawn describes the seed's draw ("entries_per_message_max=4"),
// for reports; "" without swarm options.
func (sc *Scenario) SwarmOptionsDrawn() string {
	if !sc.Swarm || len(sc.SwarmOptions) == 0 {
		return ""
	}
	r := sim.NewRand(sc.Seed, "swarm/options")
	var out []string
	for _, key := range sortedKeys(sc.SwarmOptions) {
		vals := sc.SwarmOptions[key]
		out = append(out, key+"="+vals[r.IntN(len(vals))])
	}
	return strings.Join(out, " ")
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
