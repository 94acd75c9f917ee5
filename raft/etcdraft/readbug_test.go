package etcdraft

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
)

// The ReadIndex round is what makes leader reads safe: a leader that
// answers gets from its own store at once serves stale reads after it has
// been deposed without knowing it, and the linearizability check catches
// that under the chaos nemesis (here without CheckQuorum, which would
// depose the leader quickly). The same seeds with the ReadIndex round
// are linearizable.
func TestLocalReadsAreCaught(t *testing.T) {
	// Without CheckQuorum a deposed leader cut off from its peers keeps
	// believing it leads until it hears of a higher term.
	unsafe := DefaultOptions()
	unsafe.CheckQuorum, unsafe.PreVote = false, false
	unsafe.Reads, unsafe.unsafeLocalReads = ReadsReadIndex, true
	safe := *unsafe
	safe.unsafeLocalReads = false
	bad := 0
	for seed := uint64(1); seed <= 100; seed++ {
		c := newCluster(t, chaos(seed, unsafe))
		c.s.Run()
		require.NoError(t, c.s.Err())
		if linearizable(t, c) == string(protocols.LinViolation) {
			bad++
			s := newCluster(t, chaos(seed, &safe))
			s.s.Run()
			s.noFailure()
			assert.NotEqual(t, string(protocols.LinViolation), linearizable(t, s), "seed %d with the ReadIndex round", seed)
		}
	}
	t.Logf("leader-local reads: %d of 100 chaos seeds not linearizable", bad)
	assert.Positive(t, bad, "no stale read caught in 100 seeds of leader-local reads")
}
