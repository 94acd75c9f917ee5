package shrink

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// candidate is a run to try: a scenario and its manual choices, as steps.
type candidate struct {
	sc    *scenario.Scenario
	steps []step
}

func (c candidate) clone() candidate {
	return candidate{sc: c.sc.Clone(), steps: slices.Clone(c.steps)}
}

type shrinker struct {
	opts    Options
	want    Failure
	cur     candidate
	curRes  *scenario.Result
	choices []sim.Choice // the current run's concrete choices
	runs    int
	steps   []string
	stopped string
}

// passesMax bounds the rounds of passes; each round that changes nothing
// ends the shrink earlier.
const passesMax = 20

func (sh *shrinker) loop() {
	passes := []func() bool{sh.nemesis, sh.faults, sh.removeChoices, sh.clients, sh.maxOps,
		sh.duration, sh.network, sh.faultTimes, sh.keys}
	for range passesMax {
		changed := false
		for _, p := range passes {
			if p() {
				changed = true
			}
			if sh.stopped != "" {
				return
			}
		}
		if !changed {
			return
		}
	}
}

// try runs a candidate and keeps it if it fails the same way with no more
// events than the current run.
func (sh *shrinker) try(step string, c candidate) bool {
	if sh.stopped != "" {
		return false
	}
	if sh.runs >= sh.opts.Budget {
		sh.stopped = "budget"
		return false
	}
	if sh.opts.Stop != nil && sh.opts.Stop() {
		sh.stopped = "stop"
		return false
	}
	sh.runs++
	if err := c.sc.Revalidate(); err != nil {
		return false
	}
	r, choices, done, err := evaluate(c.sc, c.steps, sh.opts.Checkers)
	if err != nil {
		return false
	}
	if f, ok := FailureOf(r); !ok || f != sh.want {
		return false
	}
	if r.Events > sh.curRes.Events {
		return false
	}
	c.steps = done
	sh.cur, sh.curRes, sh.choices = c, r, choices
	sh.steps = append(sh.steps, step)
	if sh.opts.Log != nil {
		sh.opts.Log(fmt.Sprintf("%s: %d events", step, r.Events))
	}
	return true
}

func (sh *shrinker) nemesis() bool {
	if sh.cur.sc.Nemesis == nil {
		return false
	}
	c := sh.cur.clone()
	c.sc.Nemesis = nil
	return sh.try("remove the nemesis", c)
}

// removeChunks is delta debugging's reduction loop over a list: it tries
// removing chunks of halving size, keeping each removal that still fails.
func removeChunks[T any](sh *shrinker, what string, get func(candidate) []T, set func(*candidate, []T)) bool {
	changed := false
	for size := (len(get(sh.cur)) + 1) / 2; size >= 1; size /= 2 {
		for i := 0; i < len(get(sh.cur)); {
			xs := get(sh.cur)
			j := min(i+size, len(xs))
			c := sh.cur.clone()
			set(&c, slices.Delete(slices.Clone(xs), i, j))
			if sh.try(fmt.Sprintf("remove %s %d..%d of %d", what, i+1, j, len(xs)), c) {
				changed = true
				continue // the list shrank: the same i now names the next chunk
			}
			if sh.stopped != "" {
				return changed
			}
			i = j
		}
	}
	return changed
}

func (sh *shrinker) faults() bool {
	return removeChunks(sh, "faults",
		func(c candidate) []string { return c.sc.Faults },
		func(c *candidate, xs []string) { c.sc.Faults = xs })
}

func (sh *shrinker) removeChoices() bool {
	return removeChunks(sh, "choices",
		func(c candidate) []step { return c.steps },
		func(c *candidate, xs []step) { c.steps = xs })
}

func (sh *shrinker) clients() bool {
	n := sh.cur.sc.Workload.Clients
	for k := 0; k < n; k++ {
		c := sh.cur.clone()
		c.sc.Workload.Clients = k
		if sh.try(fmt.Sprintf("clients %d -> %d", n, k), c) {
			return true
		}
	}
	return false
}

// maxOps bounds each client's operations, trying the smallest bounds first.
func (sh *shrinker) maxOps() bool {
	w := sh.cur.sc.Workload
	if w.Clients == 0 {
		return false
	}
	ops := sh.curRes.OpsOK + sh.curRes.OpsFailed + sh.curRes.OpsUnknown
	limit := (ops + w.Clients - 1) / w.Clients
	if w.MaxOps > 0 {
		limit = min(limit, w.MaxOps)
	}
	for k := 1; k < limit; k *= 2 {
		c := sh.cur.clone()
		c.sc.Workload.MaxOps = k
		if sh.try(fmt.Sprintf("max_ops -> %d", k), c) {
			return true
		}
	}
	return false
}

// duration ends the run just after its first violation, then tries halves.
func (sh *shrinker) duration() bool {
	d := sh.cur.sc.Duration
	changed := false
	if v := sh.curRes.FirstViolation; v != nil {
		end := (v.Time/sim.Millisecond + 1) * sim.Millisecond
		if d == 0 || end < d {
			c := sh.cur.clone()
			c.sc.Duration = end
			changed = sh.try(fmt.Sprintf("duration %v -> %v", d, end), c)
		}
	}
	for range 8 {
		d = sh.cur.sc.Duration
		half := (d / 2 / sim.Millisecond) * sim.Millisecond
		if half <= 0 {
			break
		}
		c := sh.cur.clone()
		c.sc.Duration = half
		if !sh.try(fmt.Sprintf("duration %v -> %v", d, half), c) {
			break
		}
		changed = true
	}
	return changed
}

// network removes random loss and duplication and halves the delays.
func (sh *shrinker) network() bool {
	changed := false
	n := sh.cur.sc.Network
	if n.Loss > 0 {
		c := sh.cur.clone()
		c.sc.Network.Loss = 0
		changed = sh.try("loss -> 0", c) || changed
	}
	if sh.cur.sc.Network.Duplicate > 0 {
		c := sh.cur.clone()
		c.sc.Network.Duplicate = 0
		changed = sh.try("duplicate -> 0", c) || changed
	}
	for range 4 {
		l := sh.cur.sc.Network.Latency
		if l.Max <= l.Min && l.Mean <= l.Min && l.Min <= sim.Millisecond {
			break
		}
		c := sh.cur.clone()
		h := &c.sc.Network.Latency
		h.Min, h.Max, h.Mean, h.StdDev = h.Min/2, h.Max/2, h.Mean/2, h.StdDev/2
		if !sh.try(fmt.Sprintf("latency halved (max %v -> %v)", l.Max, h.Max), c) {
			break
		}
		changed = true
	}
	return changed
}

// faultTimes moves the scheduled faults earlier (all at once, scaling
// their times by a half, then three quarters), first alone and then with
// the run's duration, so that less happens before and after them.
func (sh *shrinker) faultTimes() bool {
	if len(sh.cur.sc.Faults) == 0 {
		return false
	}
	for _, scale := range []struct {
		num, den sim.Time
		name     string
	}{{1, 2, "halved"}, {3, 4, "scaled by 3/4"}} {
		for _, withDuration := range []bool{false, true} {
			c := sh.cur.clone()
			for i, s := range c.sc.Faults {
				f, err := sim.ParseScheduledFault(s)
				if err != nil {
					return false
				}
				_, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
				at := (f.At * scale.num / scale.den / sim.Millisecond) * sim.Millisecond
				c.sc.Faults[i] = at.String() + " " + rest
			}
			if slices.Equal(c.sc.Faults, sh.cur.sc.Faults) {
				return false
			}
			step := "fault times " + scale.name
			if withDuration {
				c.sc.Duration = (c.sc.Duration * scale.num / scale.den / sim.Millisecond) * sim.Millisecond
				step = "fault times and duration " + scale.name
			}
			if sh.try(step, c) {
				return true
			}
		}
	}
	return false
}

func (sh *shrinker) keys() bool {
	if sh.cur.sc.Workload.Clients == 0 || sh.cur.sc.Workload.Keys <= 1 {
		return false
	}
	c := sh.cur.clone()
	c.sc.Workload.Keys = 1
	return sh.try(fmt.Sprintf("keys %d -> 1", sh.cur.sc.Workload.Keys), c)
}
