package sim

import (
	"encoding/binary"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// logger is a process whose store looks like a consensus node's: a log
// appended by number (StoreAt) and compacted at the front (DeleteAt), a
// hard state overwritten often, and a key per peer that it heard from.
// Node 1 stores through a canon (SetStorageCanon) that hides each value's
// last byte, as a protocol hides a timestamp.
type logger struct {
	n, first, next uint64
	heard          int64
}

func (l *logger) Start(env *Env) {
	if env.ID() == 1 {
		env.SetStorageCanon(func(_ string, v, scratch []byte) []byte {
			return append(scratch, v[:max(len(v)-1, 0)]...)
		})
	}
	// Recover the log's bounds from what survived.
	l.first, l.next = 0, 0
	for _, k := range env.Keys("log/") {
		_, i, _ := splitIndexKey(k)
		if l.next == 0 {
			l.first = i
		}
		l.next = i + 1
	}
	l.n = uint64(len(env.Nodes()))
	env.Send(env.ID()%NodeID(l.n)+1, sharedPing)
	env.SetTimer(10*Millisecond, "append", 0)
}

func (l *logger) Receive(env *Env, from NodeID, msg Message) {
	l.heard++
	env.Store("peer/"+from.String(), []byte{byte(l.heard), byte(env.Rand().IntN(4))})
	env.Send(NodeID(1+env.Rand().IntN(int(l.n))), msg)
}

func (l *logger) Timer(env *Env, t Timer) {
	env.StoreAt("log/", l.next, []byte{byte(l.next), byte(l.heard), byte(env.Rand().IntN(4))})
	l.next++
	env.Store("hs", []byte{byte(l.next), byte(env.Rand().IntN(4))})
	if l.next-l.first > 6 { // compaction
		env.DeleteAt("log/", l.first)
		l.first++
	}
	if env.Rand().IntN(5) == 0 {
		env.Delete("peer/n" + itoa(int64(1+env.Rand().IntN(int(l.n)))))
	}
	env.SetTimer(10*Millisecond, "append", 0)
}

func (l *logger) AppendState(b []byte) []byte {
	b = binary.AppendUvarint(b, l.first)
	b = binary.AppendUvarint(b, l.next)
	return binary.AppendVarint(b, l.heard)
}

func newLoggerRun(t require.TestingT, seed uint64) *Sim {
	s, err := New(Config{Seed: seed, Nodes: 3, Duration: 5 * Second, Network: NetworkConfig{Latency: DefaultLatency}},
		Factory{Node: func(NodeID) Process { return &logger{} }})
	require.NoError(t, err)
	return s
}

// TestLazyStorageFingerprints: fingerprints kept from the start (eager)
// and kept only once somebody asks (lazy) are equal, in runs, their forks
// (copy on write: the stores are shared) and clones, stepped alike with
// crashes and restarts, whichever is asked first and whenever: turning
// fingerprints on in a fork or its parent, after the fork, changes
// neither's value. Every store of the eager runs stays on (a copy of a
// store that keeps its fingerprint keeps it).
func TestLazyStorageFingerprints(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		seed := rapid.Uint64Range(1, 1000).Draw(t, "seed")
		eager, lazy := newLoggerRun(t, seed), newLoggerRun(t, seed)
		eager.Fingerprint(nil) // every store on from the start
		type pair struct{ e, l *Sim }
		runs := []pair{{eager, lazy}}
		same := func(p pair, at string) {
			fe, _ := p.e.Fingerprint(nil)
			fl, _ := p.l.Fingerprint(nil)
			require.Equal(t, fe, fl, "%s: run fingerprints", at)
		}
		for k := range rapid.IntRange(0, 60).Draw(t, "ops") {
			p := runs[rapid.IntRange(0, len(runs)-1).Draw(t, "run")]
			switch rapid.IntRange(0, 9).Draw(t, "op") {
			case 0:
				runs = append(runs, pair{p.e.Fork(), p.l.Fork()})
			case 1:
				runs = append(runs, pair{p.e.Clone(), p.l.Clone()})
			case 2:
				same(p, "op "+itoa(int64(k)))
			case 3: // a checker asks one store (as raft.Persistence does)
				id := NodeID(rapid.IntRange(1, 3).Draw(t, "node"))
				require.Equal(t, p.e.Storage(id).Fingerprint(), p.l.Storage(id).Fingerprint(), "op %d: %v's store", k, id)
			case 4:
				id := NodeID(rapid.IntRange(1, 3).Draw(t, "node"))
				if p.e.Stopped() != "" { // a fault needs a run that goes on
					continue
				}
				kind := FaultCrash
				if !p.e.Up(id) {
					kind = FaultRestart
				}
				require.NoError(t, p.e.Inject(Fault{Kind: kind, Node: id}))
				require.NoError(t, p.l.Inject(Fault{Kind: kind, Node: id}))
			default:
				for range rapid.IntRange(1, 30).Draw(t, "steps") {
					p.e.Step()
					p.l.Step()
				}
			}
		}
		for i, p := range runs {
			for _, id := range p.e.Nodes() {
				require.True(t, p.e.Storage(id).fpOn, "eager run %d: %v's store lost its fingerprint", i, id)
			}
			same(p, "run "+itoa(int64(i)))
		}
	})
}

// TestLazyStorageFingerprintsParallelForks: forks of a run whose stores
// keep no fingerprint yet, fingerprinted and stepped on goroutines of
// their own, read the stores they share without writing them (go test
// -race), and agree with the same forks taken from a run fingerprinted
// from the start.
func TestLazyStorageFingerprintsParallelForks(t *testing.T) {
	const forks, steps = 4, 200
	eager, lazy := newLoggerRun(t, 7), newLoggerRun(t, 7)
	eager.Fingerprint(nil)
	for range 300 {
		eager.Step()
		lazy.Step()
	}
	fingerprints := func(root *Sim) [forks][2]uint64 {
		var out [forks][2]uint64
		var wg sync.WaitGroup
		fs := make([]*Sim, forks)
		for i := range fs {
			fs[i] = root.Fork()
		}
		for i, f := range fs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i][0], _ = f.Fingerprint(nil)
				for _, id := range f.Nodes() {
					f.Storage(id).Fingerprint()
				}
				for range steps * (i + 1) {
					f.Step()
				}
				out[i][1], _ = f.Fingerprint(nil)
			}()
		}
		wg.Wait()
		return out
	}
	want := fingerprints(eager)
	require.Equal(t, want, fingerprints(lazy))
	for _, id := range lazy.Nodes() {
		require.False(t, lazy.Storage(id).fpOn, "%v: a shared store was written", id)
	}
	fe, _ := eager.Fingerprint(nil)
	fl, _ := lazy.Fingerprint(nil)
	require.Equal(t, fe, fl)
}
