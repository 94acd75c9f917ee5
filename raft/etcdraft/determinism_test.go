package etcdraft

import (
	"bytes"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// chaos is the fault mix of the determinism tests: every nemesis, lossy
// and duplicating links, drifting clocks, three clients.
func chaos(seed uint64, opts *Options) clusterOpts {
	return clusterOpts{
		seed: seed, clients: 3, duration: 3 * sim.Second, opts: opts,
		net: sim.NetworkConfig{Latency: sim.Latency{Dist: "exponential", Min: sim.Millisecond, Mean: 3 * sim.Millisecond, Max: 100 * sim.Millisecond},
			Loss: 0.05, Duplicate: 0.05},
		nemesis: &sim.NemesisConfig{CrashEvery: 500 * sim.Millisecond, PartitionEvery: 700 * sim.Millisecond,
			PauseEvery: 1100 * sim.Millisecond, Downtime: 300 * sim.Millisecond, DriftMax: 0.05, HealAt: 2 * sim.Second},
	}
}

// determinismSeeds is how many seeds the trace tests compare.
const determinismSeeds = 20

// The same seed gives the same trace, byte for byte, although etcd draws
// its election timeouts from crypto/rand: the adapter never lets etcd's own
// election trigger run (election.go).
func TestTracesAreByteIdentical(t *testing.T) {
	traces := make([][]byte, determinismSeeds+1)
	for seed := uint64(1); seed <= determinismSeeds; seed++ {
		a := traceOf(t, chaos(seed, nil))
		b := traceOf(t, chaos(seed, nil))
		require.True(t, bytes.Equal(a, b), "seed %d: two runs gave different traces (%d and %d bytes)", seed, len(a), len(b))
		require.Contains(t, string(a), "etcdraft.Msg")
		traces[seed] = a
	}
	for seed := 2; seed <= determinismSeeds; seed++ {
		assert.False(t, bytes.Equal(traces[seed-1], traces[seed]), "seeds %d and %d gave the same trace", seed-1, seed)
	}
}

// Runs in parallel goroutines share nothing that changes what they do: a
// process-global override of etcd's random source would fail this test.
func TestTracesAreByteIdenticalInParallel(t *testing.T) {
	const seeds, workers = determinismSeeds, 4
	want := make([][]byte, seeds+1)
	for seed := uint64(1); seed <= seeds; seed++ {
		want[seed] = traceOf(t, chaos(seed, nil))
	}
	got := make([][][]byte, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		got[w] = make([][]byte, seeds+1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each worker runs the seeds in a different order so that runs
			// of different seeds overlap in time.
			for i := 0; i < seeds; i++ {
				seed := uint64((i+w*5)%seeds + 1)
				got[w][seed] = traceOf(t, chaos(seed, nil))
			}
		}()
	}
	wg.Wait()
	for w := 0; w < workers; w++ {
		for seed := 1; seed <= seeds; seed++ {
			require.True(t, bytes.Equal(want[seed], got[w][seed]), "worker %d, seed %d: parallel trace differs from the sequential one", w, seed)
		}
	}
}

// The adapter one writes first, ticking followers with RawNode.Tick, is not
// deterministic: etcd's crypto/rand election timeouts decide who campaigns
// when. Five pairs of runs of one seed: at least one pair differs (with
// dozens of elections per run, all five agreeing by chance is negligible).
func TestNaiveAdapterIsNotDeterministic(t *testing.T) {
	naive := DefaultOptions()
	naive.naive = true
	differ := 0
	for i := 0; i < 5; i++ {
		a := traceOf(t, chaos(7, naive))
		b := traceOf(t, chaos(7, naive))
		if !bytes.Equal(a, b) {
			differ++
		}
	}
	assert.Positive(t, differ, "the naive adapter gave identical traces five times: etcd's randomness no longer leaks?")
	t.Logf("naive adapter: %d of 5 pairs of runs of seed 7 differed", differ)
}

// A clone of a run (what the TUI's checkpoints and branches are made of)
// goes on exactly like the original, byte for byte. etcd keeps its tick
// function as a method value bound to its raft struct, which a deep copy
// would leave bound to the original: the adapter never calls it.
func TestCloneRunsLikeOriginal(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		a := newCluster(t, chaos(seed, nil))
		a.s.RunUntil(sim.Second)
		b := a.s.Clone()
		var ta, tb bytes.Buffer
		wa, err := sim.NewTraceWriter(&ta, nil, a.s.Config())
		require.NoError(t, err)
		wb, err := sim.NewTraceWriter(&tb, nil, b.Config())
		require.NoError(t, err)
		a.s.AddObserver(wa)
		b.AddObserver(wb)
		a.s.Run()
		b.Run()
		require.NoError(t, wa.Close(a.s))
		require.NoError(t, wb.Close(b))
		require.Greater(t, ta.Len(), 1000)
		require.True(t, bytes.Equal(ta.Bytes(), tb.Bytes()), "seed %d: the clone diverged from the original", seed)
		// And a restored checkpoint replays the same future.
		c := newCluster(t, chaos(seed, nil))
		c.s.RunUntil(sim.Second)
		cp := c.s.Checkpoint()
		c.s.Run()
		first := c.s.Stats()
		c.s.Restore(cp)
		c.s.Run()
		require.Equal(t, first, c.s.Stats(), "seed %d: a restored checkpoint ran differently", seed)
	}
}
