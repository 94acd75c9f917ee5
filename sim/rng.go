package sim

import (
	"math/rand/v2"
)

// Rand is a seeded pseudo-random stream. Every source of chance in a run is a
// Rand forked from the run's root seed by a stable name, so that streams are
// independent: adding a client does not change the network's draws, and
// crashing a node does not change another node's election timeouts.
type Rand struct {
	*rand.Rand
	pcg *rand.PCG
}

// NewRand returns the stream named name under the root seed. The same
// (seed, name) always gives the same stream, on every machine.
func NewRand(seed uint64, name string) *Rand {
	h := fnv64(name)
	a := splitmix64(seed ^ splitmix64(h))
	b := splitmix64(a ^ 0x9e3779b97f4a7c15 ^ h)
	return newRandBlock(rand.NewPCG(a, b))
}

// randBlock holds a Rand and its generator in one allocation: a search
// copies a node's stream each time a fork draws from it.
type randBlock struct {
	r   Rand
	rr  rand.Rand
	pcg rand.PCG
}

func newRandBlock(p *rand.PCG) *Rand {
	b := &randBlock{pcg: *p}
	b.rr = *rand.New(&b.pcg)
	b.r = Rand{Rand: &b.rr, pcg: &b.pcg}
	return &b.r
}

// clone copies the stream at its current position.
func (r *Rand) clone() *Rand { return newRandBlock(r.pcg) }

// Chance reports true with probability p (p outside (0,1) is clamped).
func (r *Rand) Chance(p float64) bool {
	if p <= 0 || r == nil {
		return false
	}
	if p >= 1 {
		return true
	}
	// r.Float64() < p, drawn straight from the generator: the same
	// draw as math/rand/v2's Float64 (53 bits over 2^53) without its
	// call through the Source interface, paid by every send on a lossy
	// or duplicating link. The 53 bits are compared with p scaled up
	// instead of scaled down themselves: both scalings by 2^53 are exact
	// (p < 1, and the bits are an integer below 2^53), so the outcome is
	// the same, and the multiplication no longer waits for the draw.
	return below53(r.pcg.Uint64()<<11>>11, p)
}

// below53 reports whether x/2^53 < p, for x < 2^53 and 0 < p < 1, as
// Float64() < p decides it (TestBelow53MatchesFloat64).
func below53(x uint64, p float64) bool { return float64(x) < p*(1<<53) }

// Between returns a uniformly random time in [lo, hi]; lo when hi <= lo.
func (r *Rand) Between(lo, hi Time) Time {
	if hi <= lo {
		return lo
	}
	return lo + Time(r.Int64N(int64(hi-lo)+1))
}

// State returns the stream's internal state, for checkpoints and debugging.
func (r *Rand) State() []byte {
	b, _ := r.pcg.MarshalBinary()
	return b
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
