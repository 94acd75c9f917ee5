package reports

import (
	"slices"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// CDF returns the empirical distribution of values: xs sorted ascending and
// ys[i] the fraction of values <= xs[i]. The last y is 1 (for a non-empty
// input); ties share the highest fraction.
func CDF(values []float64) (xs, ys []float64) {
	xs = slices.Clone(values)
	slices.Sort(xs)
	n := float64(len(xs))
	ys = make([]float64, len(xs))
	for i := range xs {
		ys[i] = float64(i+1) / n
	}
	// Collapse ties onto their last position so the curve is a function.
	outX, outY := xs[:0:0], ys[:0:0]
	for i := range xs {
		if i+1 < len(xs) && xs[i+1] == xs[i] {
			continue
		}
		outX = append(outX, xs[i])
		outY = append(outY, ys[i])
	}
	return outX, outY
}

// Quantiles of sorted values by nearest rank (scenario.Quantile).
func Quantiles(sorted []float64, qs ...float64) []float64 {
	out := make([]float64, len(qs))
	for i, q := range qs {
		out[i] = scenario.Quantile(sorted, q)
	}
	return out
}

// LatenciesMs returns the latencies of answered operations in milliseconds,
// sorted.
func LatenciesMs(h []protocols.OpRecord) []float64 {
	var out []float64
	for i := range h {
		if h[i].Status == protocols.OpOK {
			out = append(out, h[i].Latency().Milliseconds())
		}
	}
	slices.Sort(out)
	return out
}

// Window is one window of the availability-over-time series.
type Window struct {
	Start, End sim.Time
	// OK and Total count the operations that ended (or were due to end) in
	// the window; Frac is OK/Total, or -1 when no operation ended in it.
	OK, Total int
	Frac      float64
}

// AvailabilityWindows splits [0, end) into windows of the given width and
// reports, for each, the fraction of client operations that succeeded among
// those completing in it. An operation completes at its return; one that
// never returned (timed out, unknown) counts as a failure at its call plus
// timeout (or at end when timeout is zero or runs past it).
func AvailabilityWindows(h []protocols.OpRecord, end, width, timeout sim.Time) []Window {
	if width <= 0 || end <= 0 {
		return nil
	}
	n := int((end + width - 1) / width)
	ws := make([]Window, n)
	for i := range ws {
		ws[i].Start = sim.Time(i) * width
		ws[i].End = min(ws[i].Start+width, end)
	}
	for i := range h {
		op := &h[i]
		at := op.Return
		if op.Status == protocols.OpUnknown || at == sim.TimeMax {
			at = end - 1
			if timeout > 0 && op.Call+timeout < end {
				at = op.Call + timeout
			}
		}
		k := int(at / width)
		if k < 0 || k >= n {
			continue
		}
		ws[k].Total++
		if op.Status == protocols.OpOK {
			ws[k].OK++
		}
	}
	for i := range ws {
		ws[i].Frac = -1
		if ws[i].Total > 0 {
			ws[i].Frac = float64(ws[i].OK) / float64(ws[i].Total)
		}
	}
	return ws
}

// LeaderSummary condenses leader samples.
type LeaderSummary struct {
	// UsableFrac is the fraction of samples with a usable leader.
	UsableFrac float64
	// LongestOutage is the longest run of samples without a usable leader,
	// in simulated time (sample count times spacing).
	LongestOutage sim.Time
	// Elections counts the distinct (leader, term) pairs that led.
	Elections int
}

// SummarizeLeaders computes the leader summary of a sampled run.
func SummarizeLeaders(ls []LeaderSample, every sim.Time) LeaderSummary {
	var s LeaderSummary
	if len(ls) == 0 {
		return s
	}
	usable, run, longest := 0, 0, 0
	type lt struct {
		id   sim.NodeID
		term int64
	}
	var last lt
	for _, x := range ls {
		if x.Usable {
			usable++
			run = 0
		} else {
			run++
			longest = max(longest, run)
		}
		if x.Leader != 0 && (lt{x.Leader, x.Term}) != last {
			last = lt{x.Leader, x.Term}
			s.Elections++
		}
	}
	s.UsableFrac = float64(usable) / float64(len(ls))
	s.LongestOutage = sim.Time(longest) * every
	return s
}

// ElectionTimes measures, for each crash of the node that led with a usable
// leadership, the time until another usable leader (of a higher term)
// appears in the samples. Crashes with no new leader before the run ended
// are left out.
func ElectionTimes(d *RunData) []sim.Time {
	var out []sim.Time
	for _, f := range d.Faults {
		if f.Fault.Kind != sim.FaultCrash {
			continue
		}
		// The leader just before the crash.
		i, _ := slices.BinarySearchFunc(d.Leaders, f.At, func(s LeaderSample, t sim.Time) int { return cmpTime(s.At, t) })
		if i == 0 {
			continue
		}
		before := d.Leaders[i-1]
		if before.Leader != f.Fault.Node || !before.Usable {
			continue
		}
		for _, s := range d.Leaders[i:] {
			if s.Usable && s.Term > before.Term && s.Leader != f.Fault.Node {
				out = append(out, s.At-f.At)
				break
			}
		}
	}
	return out
}

func cmpTime(a, b sim.Time) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
