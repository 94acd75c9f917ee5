package shrink

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/synod-dev/synod/protocols"
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
	// horizonMax and stopMax are the shrunk run's duration and client stop
	// time (zero: none): a linearizability candidate runs at most that long.
	horizonMax, stopMax sim.Time
	// draws is how many seeds tryDraws gives a reduction: 1 until a round
	// keeps nothing, then drawsMax until one keeps something.
	draws int
	// strict keeps only candidates with clearly fewer events (reseedGain)
	// or fewer clients.
	strict bool
}

// passesMax bounds the rounds of passes; each round that changes nothing
// ends the shrink earlier.
const passesMax = 20

func (sh *shrinker) loop() {
	// The nemesis is written down as its explicit schedule first, on the
	// whole run; then the cut: every later candidate runs only as long as
	// the failure needs. Faults go fault by fault (see schedule.go).
	//
	// An invariant violation (or a panic, or a liveness rule) happens at an
	// event, and a run shrinks by how early it can be made to happen: the
	// clients and their operations go right after the faults (they are most
	// of a chaos run's events), and every reduction gets more than one draw
	// of the run's chance once one draw no longer helps (see tryDraws). A
	// linearizability story keeps the order and the single draws its own
	// reseed pass was tuned with.
	passes := []func() bool{sh.strikePlan, sh.strikeShots, sh.explicitPass, sh.cut, sh.nemesis, sh.noFaults, sh.faultUnits, sh.clients, sh.idleClients,
		sh.maxOps, sh.faults, sh.closeGaps, sh.shorten, sh.moveEarlier, sh.removeChoices,
		sh.duration, sh.network, sh.faultTimes, sh.keys, sh.concurrency, sh.opTimeouts}
	if sh.story() {
		passes = []func() bool{sh.strikePlan, sh.strikeShots, sh.explicitPass, sh.cut, sh.nemesis, sh.faultUnits, sh.faults, sh.shorten,
			sh.moveEarlier, sh.closeGaps, sh.removeChoices, sh.clients, sh.idleClients,
			sh.maxOps, sh.duration, sh.network, sh.faultTimes, sh.keys, sh.concurrency}
	}
	defer sh.dropLate()
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
		switch {
		case changed:
			// A round of one draw each kept something: go on cheaply.
			sh.draws = 1
		case sh.draws < drawsMax && !sh.story():
			// Stuck: give every reduction more draws (tryDraws), a few
			// more each round that keeps nothing, up to drawsMax.
			sh.draws = min(sh.draws*drawsStep, drawsMax)
		case !sh.reseed():
			// Only when nothing else helps: another draw of the whole run.
			return
		}
	}
}

// story reports whether the shrink keeps a linearizability failure's
// story: the same key, the run cut at the story's end.
func (sh *shrinker) story() bool {
	return sh.want.Kind == "linearizability" && !sh.opts.noLinTarget
}

// smaller reports whether a failing candidate may replace the current
// run: it has no more events. A linearizability failure is a story told by
// its clients, so there a run with fewer active clients is smaller even
// with more events (its length is still bounded by the horizon), and one
// with as many clients must have no more events.
func (sh *shrinker) smaller(sc *scenario.Scenario, r *scenario.Result) bool {
	if sh.story() {
		a, b := activeCount(sc.Workload), activeCount(sh.cur.sc.Workload)
		if a != b {
			return a < b
		}
	}
	if sh.strict {
		return r.Events*reseedGain[1] <= sh.curRes.Events*reseedGain[0]
	}
	return r.Events <= sh.curRes.Events
}

func activeCount(w protocols.Workload) int { return w.Clients - len(w.Idle) }

// spend takes one run from the budget, or says why shrinking stops.
func (sh *shrinker) spend() bool {
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
	return true
}

// try runs a candidate and keeps it if it fails the same way with no more
// events than the current run. For a linearizability failure the
// candidate first runs with room to fail (see horizonCut) and is then cut
// at its own failure, so a reduction that moves the story is still kept
// when the story comes back elsewhere.
func (sh *shrinker) try(step string, c candidate) bool {
	if !sh.story() {
		return sh.tryExact(step, sh.widen(c))
	}
	if !sh.spend() {
		return false
	}
	cut, ok := sh.horizonCut(c)
	if !ok {
		return false
	}
	return sh.tryExact(step, cut)
}

// widen gives a candidate the whole run's length (its clients the whole
// run's stop) to fail in. An invariant fails at an event, and the run
// stops there, so a candidate that fails sooner is still no longer than
// the current run; but a reduction usually moves the failure (a removed
// fault changes every later draw of the network's chance), and a
// candidate cut at the current run's end would miss it when it comes
// back a little later. The cut pass trims the kept run again.
//
// The room is horizonFactor times the current run, at most the whole run:
// a candidate that fails later than that has, all but always, more events
// than the current run and would not be kept, and candidates that do not
// fail (most of them) run only that long.
func (sh *shrinker) widen(c candidate) candidate {
	if sh.horizonMax == 0 {
		return c
	}
	h := sh.horizonMax
	if d := sh.cur.sc.Duration; d > 0 {
		h = min(h, horizonFactor*d)
	}
	if c.sc.Duration >= h {
		return c
	}
	c.sc.Duration = h
	c.sc.Workload.Stop = sh.stopMax
	if sh.stopMax == 0 || sh.stopMax > h {
		c.sc.Workload.Stop = h
	}
	return c
}

// drawsMax is how many draws of the run's chance (seeds) a reduction gets
// at most: its own seed, then the next ones. A round that keeps nothing
// multiplies the draws by drawsStep (1, 4, 16), and a round that keeps
// something goes back to one. Four draws suffice for a failure that shows
// on a good share of draws; one that needs a rarer interleaving
// (raft/stale-append and paxos/first-accepted, whose first failing chaos
// seeds are 20 and 37) loses it in all four draws of nearly every removal,
// and stopped at 14 faults; with sixteen both shrink to 3. A removal that
// fails in every draw costs drawsMax runs, so that level is reached only
// when the cheaper ones keep nothing.
const drawsMax = 16

// drawsStep is the factor the draws grow by in a round that keeps nothing.
const drawsStep = 4

// tryDraws tries a reduction under the current seed and, failing that,
// under the next drawsMax-1 seeds, keeping the first draw that fails the
// same way and is no larger. A chaos failure hangs on the draws of the
// network's chance (delays, losses, duplicates, election timeouts), and
// any reduction redraws all of them from its point on: removing the
// first fault moves every later message. So whether one removal keeps
// the failure is itself a draw, and the schedule that needs two faults of
// forty keeps forty when each removal gets one try. With a few draws, a
// reduction is kept when the failure still needs nothing it took away.
// Runs with manual choices get one draw (the choices name events of one
// schedule).
func (sh *shrinker) tryDraws(step string, c candidate) bool {
	if sh.try(step, c) {
		return true
	}
	if len(c.steps) > 0 {
		return false
	}
	seed := c.sc.Seed
	for i := uint64(1); i < uint64(sh.draws) && sh.stopped == ""; i++ {
		d := c.clone()
		d.sc.Seed = seed + i
		if sh.try(fmt.Sprintf("%s (seed %d -> %d)", step, seed, d.sc.Seed), d) {
			return true
		}
	}
	return false
}

// tryExact runs the candidate as it is and keeps it if it fails the same
// way with no more events than the current run.
func (sh *shrinker) tryExact(step string, c candidate) bool {
	if !sh.spend() {
		return false
	}
	if err := c.sc.Revalidate(); err != nil {
		return false
	}
	r, choices, done, err := evaluate(c.sc, c.steps, sh.opts.Checkers)
	if err != nil {
		return false
	}
	if !failsLike(r, sh.want) {
		return false
	}
	if !sh.smaller(c.sc, r) {
		return false
	}
	c.steps = done
	trimAtFailure(&c, r)
	sh.cur, sh.curRes, sh.choices = c, r, choices
	sh.steps = append(sh.steps, step)
	if sh.opts.Log != nil {
		sh.opts.Log(fmt.Sprintf("%s: %d events", step, r.Events))
	}
	return true
}

// nemesis removes the nemesis whole: what is left of it once it was
// written down as a schedule (its clock drift), or all of it when the
// schedule did not replay the failure.
func (sh *shrinker) nemesis() bool {
	if sh.cur.sc.Nemesis == nil {
		return false
	}
	c := sh.cur.clone()
	c.sc.Nemesis = nil
	step := "remove the nemesis"
	if !injects(sh.cur.sc.Nemesis) {
		step = "remove the nemesis's drift and heal"
	}
	return sh.try(step, c)
}

// removeChunks is delta debugging's reduction loop over a list: it tries
// removing chunks of halving size, keeping each removal that still fails
// (with its draws, see tryDraws, for chunks of more than one).
func removeChunks[T any](sh *shrinker, what string, get func(candidate) []T, set func(*candidate, []T)) bool {
	changed := false
	// All at once first: a failure that needs none of them is then one run
	// away.
	if n := len(get(sh.cur)); n > 1 && !sh.story() {
		c := sh.cur.clone()
		set(&c, nil)
		if sh.tryDraws(fmt.Sprintf("remove all %d %s", n, what), c) {
			return true
		}
	}
	for size := (len(get(sh.cur)) + 1) / 2; size >= 1; size /= 2 {
		for i := 0; i < len(get(sh.cur)); {
			xs := get(sh.cur)
			j := min(i+size, len(xs))
			c := sh.cur.clone()
			set(&c, slices.Delete(slices.Clone(xs), i, j))
			if sh.tryDraws(fmt.Sprintf("remove %s %d..%d of %d", what, i+1, j, len(xs)), c) {
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

// clients lowers the number of clients, dropping the highest-numbered.
func (sh *shrinker) clients() bool {
	n := sh.cur.sc.Workload.Clients
	for k := 0; k < n; k++ {
		c := sh.cur.clone()
		c.sc.Workload.Clients = k
		c.sc.Workload.Idle = slices.DeleteFunc(c.sc.Workload.Idle, func(i int) bool { return i > k })
		if sh.tryDraws(fmt.Sprintf("clients %d -> %d", n, k), c) {
			return true
		}
	}
	return false
}

// idleClients silences clients from anywhere in the numbering (delta
// debugging over the clients still active): the others keep their numbers
// and random streams. Only the key-value workload's clients obey
// Workload.Idle.
func (sh *shrinker) idleClients() bool {
	spec, err := protocols.Lookup(sh.cur.sc.Protocol)
	if err != nil || spec.Client != nil {
		return false
	}
	return removeChunks(sh, "clients",
		func(c candidate) []int { return activeClients(c.sc.Workload) },
		func(c *candidate, active []int) { setActive(&c.sc.Workload, active) })
}

// activeClients lists the clients (by number) that are not idle.
func activeClients(w protocols.Workload) []int {
	var out []int
	for i := 1; i <= w.Clients; i++ {
		if !slices.Contains(w.Idle, i) {
			out = append(out, i)
		}
	}
	return out
}

// setActive makes exactly the listed clients active. Idle clients above
// the highest active one are dropped from the run (they do nothing, so the
// run is the same).
func setActive(w *protocols.Workload, active []int) {
	w.Clients = 0
	if len(active) > 0 {
		w.Clients = active[len(active)-1]
	}
	w.Idle = nil
	for i := 1; i <= w.Clients; i++ {
		if !slices.Contains(active, i) {
			w.Idle = append(w.Idle, i)
		}
	}
}

// maxOps bounds each client's operations, trying the smallest bounds first.
func (sh *shrinker) maxOps() bool {
	w := sh.cur.sc.Workload
	active := w.Clients - len(w.Idle)
	if active <= 0 {
		return false
	}
	ops := sh.curRes.OpsOK + sh.curRes.OpsFailed + sh.curRes.OpsUnknown
	limit := (ops + active - 1) / active
	if w.MaxOps > 0 {
		limit = min(limit, w.MaxOps)
	}
	for k := 1; k < limit; k *= 2 {
		c := sh.cur.clone()
		c.sc.Workload.MaxOps = k
		if sh.tryDraws(fmt.Sprintf("max_ops -> %d", k), c) {
			return true
		}
	}
	return false
}

// cut ends the run just after its failure: the first invariant violation,
// or the first instant at which the failing key's history was no longer
// linearizable (the end of the failure's story). Clients then start no
// operation after that instant, so the operations before it are the same.
func (sh *shrinker) cut() bool {
	d := sh.cur.sc.Duration
	var c candidate
	switch {
	case sh.curRes.FirstViolation != nil || sh.curRes.Panic != nil:
		c = sh.cur.clone()
		if !trimAtFailure(&c, sh.curRes) {
			return false
		}
	case sh.story():
		t, ok := linEnd(sh.curRes.History, sh.want.Key)
		if !ok {
			return false
		}
		c = cutAt(sh.cur, t)
		if c.sc.Duration == d {
			return false
		}
	default:
		return false
	}
	return sh.tryExact(fmt.Sprintf("cut at the failure: duration %v -> %v", d, c.sc.Duration), c)
}

// trimAtFailure ends an invariant violation's or a panic's run just after
// it (the next whole millisecond) and reports whether that shortened it.
// The run up to the failure is the same: the duration only ends a run,
// and the clients' stop, which follows the duration when none is set
// (the duration less the operation time-out), is pinned to what it was.
// Candidates run widened (see widen), so every kept one is trimmed here.
func trimAtFailure(c *candidate, r *scenario.Result) bool {
	var at sim.Time
	switch {
	case r.Panic != nil:
		at = r.Panic.Time
	case r.FirstViolation != nil:
		at = r.FirstViolation.Time
	default:
		return false
	}
	end := (at/sim.Millisecond + 1) * sim.Millisecond
	if d := c.sc.Duration; d == 0 || end >= d {
		return false
	}
	stop := effectiveStop(c.sc)
	if stop == 0 || stop > end {
		stop = end
	}
	c.sc.Duration, c.sc.Workload.Stop = end, stop
	return true
}

// cutAt returns the candidate ending 1 to 2 ms after time t, its clients
// starting no operation after t. The run up to t is unchanged.
func cutAt(c candidate, t sim.Time) candidate {
	c = c.clone()
	if stop := effectiveStop(c.sc); stop == 0 || stop > t {
		c.sc.Workload.Stop = t
	}
	c.sc.Duration = (t/sim.Millisecond + 1) * sim.Millisecond
	return c
}

// horizonFactor sets how long a linearizability candidate may run to show
// the failure: this many times the current (cut) run, at most the run
// being shrunk. A reduction usually moves the story (removing a client
// changes the delays every later message draws), so a candidate cut at
// the current run's end would rarely fail again; given room, the failure
// shows up later and is cut there, and the candidate is kept if that run
// is no longer.
const horizonFactor = 2

// linCheckEvery is how often (in events) a horizon run checks whether the
// failing key's history has stopped being linearizable, to end the run
// there.
const linCheckEvery = 64

// horizonCut runs the candidate up to the horizon, ending as soon as the
// failing key's history is not linearizable, and returns it cut at the
// first instant that was so (ok false when it never was). The cut
// candidate is what gets evaluated and kept: a run that replays.
func (sh *shrinker) horizonCut(c candidate) (candidate, bool) {
	h := c.clone()
	h.sc.Duration = sh.horizonMax
	if d := sh.cur.sc.Duration; d > 0 && activeCount(c.sc.Workload) >= activeCount(sh.cur.sc.Workload) {
		h.sc.Duration = min(sh.horizonMax, horizonFactor*d)
	}
	h.sc.Workload.Stop = 0
	if stop := sh.stopMax; stop > 0 && (h.sc.Duration == 0 || stop < h.sc.Duration) {
		h.sc.Workload.Stop = stop
	} else {
		h.sc.Workload.Stop = h.sc.Duration // clients go on to the end: only the prefix matters
	}
	if err := h.sc.Revalidate(); err != nil {
		return candidate{}, false
	}
	key := sh.want.Key
	records, err := runUntil(h.sc, h.steps, sh.opts.Checkers, func(records []protocols.OpRecord, now sim.Time) bool {
		return failsOn(records, key, now)
	})
	if err != nil {
		return candidate{}, false
	}
	t, ok := linEnd(records, key)
	if !ok {
		return candidate{}, false
	}
	return cutAt(h, t), true
}

// effectiveStop is when the scenario's clients stop starting operations
// (zero: never), as scenario.Build derives it.
func effectiveStop(sc *scenario.Scenario) sim.Time {
	w := sc.Workload
	if w.Stop == 0 && sc.Duration > 0 && sc.Duration > w.OpTimeout {
		return sc.Duration - w.OpTimeout
	}
	return w.Stop
}

// duration tries halves of the run's duration. A linearizability failure
// sets its own duration (see horizonCut).
func (sh *shrinker) duration() bool {
	if sh.story() {
		return false
	}
	changed := false
	for range 8 {
		d := sh.cur.sc.Duration
		half := (d / 2 / sim.Millisecond) * sim.Millisecond
		if half <= 0 {
			break
		}
		c := sh.cur.clone()
		c.sc.Duration = half
		if !sh.tryExact(fmt.Sprintf("duration %v -> %v", d, half), c) {
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
		if max(l.Min, l.Max, l.Mean) <= sim.Millisecond {
			break // delays under a millisecond are small enough
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
			if withDuration && sh.story() {
				continue // the run's end follows the failure
			}
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

// keys narrows the key space to one key, or for a linearizability failure
// to the fewest keys that still include the failing one (k0..kI for kI).
func (sh *shrinker) keys() bool {
	n := sh.cur.sc.Workload.Keys
	if sh.cur.sc.Workload.Clients == 0 || n <= 1 {
		return false
	}
	k := 1
	if sh.story() {
		i, err := strconv.Atoi(strings.TrimPrefix(sh.want.Key, "k"))
		if err != nil || !strings.HasPrefix(sh.want.Key, "k") || i+1 >= n {
			return false
		}
		k = i + 1
	}
	c := sh.cur.clone()
	c.sc.Workload.Keys = k
	return sh.try(fmt.Sprintf("keys %d -> %d", n, k), c)
}

// thinkMax bounds the think time the concurrency pass tries: a liveness
// failure is judged on an operation invoked late in the run, and every
// operation before it is noise, so the pass may space them widely.
const thinkMax = sim.Second

// storyThinkMax is thinkMax for a linearizability story, whose operations
// overlap to tell it.
const storyThinkMax = 200 * sim.Millisecond

// concurrency lowers how many operations overlap: an open loop becomes a
// closed one, then the open loop's rate halves or the closed loop's think
// time doubles (up to thinkMax).
func (sh *shrinker) concurrency() bool {
	w := sh.cur.sc.Workload
	if w.Clients == 0 {
		return false
	}
	if w.Mode == "open" {
		c := sh.cur.clone()
		c.sc.Workload.Mode = "closed"
		if sh.try("open loop -> closed loop", c) {
			return true
		}
		c = sh.cur.clone()
		c.sc.Workload.Rate = w.Rate / 2
		return sh.try(fmt.Sprintf("rate %v -> %v", w.Rate, w.Rate/2), c)
	}
	changed := false
	for range 8 { // at most 8 doublings: 1ms to over thinkMax
		if changed && sh.story() {
			break // a story's think grows one step a round, as it was tuned
		}
		kept := false
		w = sh.cur.sc.Workload
		for _, f := range [][2]sim.Time{{2, 1}, {3, 2}} {
			think := max(w.Think*f[0]/f[1], sim.Millisecond)
			if think > thinkMax || (sh.story() && think > storyThinkMax) {
				continue
			}
			c := sh.cur.clone()
			c.sc.Workload.Think = think
			if sh.tryDraws(fmt.Sprintf("think %v -> %v", w.Think, think), c) {
				kept = true
				break
			}
		}
		if !kept {
			break
		}
		changed = true
	}
	return changed
}

// opTimeouts halves the clients' operation time-out (not below the
// attempt time-out): an operation that is never answered then ends, and
// a liveness failure shows, that much sooner.
func (sh *shrinker) opTimeouts() bool {
	w := sh.cur.sc.Workload
	if w.Clients == 0 || w.OpTimeout <= w.Timeout {
		return false
	}
	changed := false
	for range 4 {
		w = sh.cur.sc.Workload
		half := max((w.OpTimeout/2/sim.Millisecond)*sim.Millisecond, w.Timeout)
		if half >= w.OpTimeout {
			break
		}
		c := sh.cur.clone()
		c.sc.Workload.OpTimeout = half
		if !sh.tryDraws(fmt.Sprintf("op_timeout %v -> %v", w.OpTimeout, half), c) {
			break
		}
		changed = true
	}
	return changed
}

// reseedTries bounds the seeds the reseed pass tries in one round.
const reseedTries = 32

// reseedGain is the most events (as a fraction of the current run's) a
// reseeded run may have to be kept: another seed is worth its change of
// story only if it tells the story clearly sooner.
var reseedGain = [2]int64{3, 4}

// reseed is the last resort for a linearizability failure that no
// reduction keeps: the same scenario under the next seeds (seed+1,
// seed+2, ...), kept when it shows the failure on the same key with fewer
// events (or fewer clients). A failure that needs a rare interleaving
// (the register's new-old inversion needs one write to reach a replica
// long before the others while two reads run) comes back in a removal's
// changed run only by chance and later than before; each seed is another
// draw, and the first draw that tells the story sooner is kept. The
// scenario is unchanged but for its seed, so the smaller run shows the
// same bug with no more of anything. Runs with manual choices are not
// reseeded (the choices name events of one schedule).
func (sh *shrinker) reseed() bool {
	if len(sh.cur.steps) > 0 {
		return false
	}
	seed := sh.cur.sc.Seed
	sh.strict = true // another seed of about the same size is no progress
	defer func() { sh.strict = false }()
	for i := uint64(1); i <= reseedTries; i++ {
		c := sh.cur.clone()
		c.sc.Seed = seed + i
		if sh.try(fmt.Sprintf("seed %d -> %d", seed, seed+i), c) {
			return true
		}
		if sh.stopped != "" {
			return false
		}
	}
	return false
}
