package scenario_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/raft"
)

const swarmOptionsYAML = swarmYAML + `swarm_options:
  entries_per_message_max: [1, 4, 64]
  pre_vote: [false, true]
`

// Each swarm seed runs with one listed value of each swarm option, drawn
// from the seed: the same seed, the same values; over seeds, every value.
func TestSwarmOptionsAreTheSeeds(t *testing.T) {
	sc, err := scenario.Parse([]byte(swarmOptionsYAML), "swarm.yaml")
	require.NoError(t, err)
	batches := map[int]int{}
	preVotes := map[bool]int{}
	for seed := uint64(1); seed <= 32; seed++ {
		c := sc.Clone()
		c.Seed = seed
		inst, err := scenario.Build(c)
		require.NoError(t, err)
		o := inst.Scenario.ProtocolOptions().(*raft.Options)
		again, err := scenario.Build(c)
		require.NoError(t, err)
		assert.Equal(t, o, again.Scenario.ProtocolOptions(), "seed %d draws the same options twice", seed)
		assert.Equal(t, c.SwarmOptionsDrawn(), "entries_per_message_max="+itoa(o.EntriesPerMessageMax)+" pre_vote="+btoa(o.PreVote), "seed %d", seed)
		batches[o.EntriesPerMessageMax]++
		preVotes[o.PreVote]++
		// Unswarm writes the draw out: the same run without the swarm.
		u, err := c.Unswarm()
		require.NoError(t, err)
		assert.Equal(t, o, u.ProtocolOptions(), "seed %d: Unswarm keeps the drawn options", seed)
		assert.Empty(t, u.SwarmOptions)
	}
	assert.Len(t, batches, 3, "every batch size is drawn for some seed: %v", batches)
	assert.Len(t, preVotes, 2, "both pre_vote values are drawn: %v", preVotes)
	// Without swarm the options are the scenario's own.
	c := sc.Clone()
	c.Swarm = false
	inst, err := scenario.Build(c)
	require.NoError(t, err)
	assert.Equal(t, 64, inst.Scenario.ProtocolOptions().(*raft.Options).EntriesPerMessageMax)
}

func TestSwarmOptionsErrors(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{swarmYAML + "swarm_options: {entries_per_message_max: [1, 0]}\n", `field "swarm_options.entries_per_message_max[1]"`},
		{swarmYAML + "swarm_options: {batch: [1]}\n", `field "swarm_options.batch[0]"`},
		{swarmYAML + "swarm_options: {pre_vote: []}\n", "0 values; want 1..64"},
		{strings.Replace(swarmYAML, "swarm: true", "swarm: false", 1) + "swarm_options: {pre_vote: [true]}\n", "needs swarm: true"},
	} {
		_, err := scenario.Parse([]byte(c.yaml), "swarm.yaml")
		require.Error(t, err, c.yaml)
		assert.Contains(t, err.Error(), c.want)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func btoa(b bool) string { return strconv.FormatBool(b) }
