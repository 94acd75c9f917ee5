package explore

import (
	"slices"

	"github.com/synod-dev/synod/sim"
)

// PCT walks. A uniform random walk picks among a state's branches with
// equal chance, so a schedule that needs one node to hear nothing for a
// long while (a leader cut off while others elect, a late message that
// arrives after a new round) is as rare as the product of its many
// unlikely picks. PCT, the probabilistic concurrency testing scheduler
// (Burckhardt, Kothari, Musuvathi, Nagarakatte, ASPLOS 2010), and its
// distributed adaptation (Ozkan, Majumdar, Niksic, OOPSLA 2018: priorities
// over chains of messages) pick by priority instead: every class of
// choices gets a random priority when it first appears, each step takes
// the highest-priority enabled class, and at d-1 change points, drawn
// among the first k steps, the class about to run drops below every
// other. A bug of depth d (d ordering constraints) is found by one walk
// with a probability of at least 1/(n k^(d-1)), n the classes, whatever
// its length.
//
// The classes here are the message channels (sender to receiver, first
// deliveries, earliest sent first: a channel starved is a link that is
// slow or lost, as long as it stays starved), each channel's
// redeliveries (a copy of a message the channel already delivered, at
// most once: duplication), each arming of a timer (a timer re-armed is a
// new class with a new random priority: a class per process's timer
// would, on top, fire again and again until a change point, and walks
// measured so found fewer bugs than uniform ones). Crashes and restarts
// are not classes: a fault class on top would crash a node at the first
// step, every time. Like the change points, the walk draws FaultBudget
// fault points among its first k steps, and at each takes one of the
// crashes and restarts enabled there, at random. On the multiset
// network a copy is a message of its channel; drops are never taken (a
// message that is never delivered is lost).

// pctDepthMax bounds Options.PCTDepth: the change points are drawn one by
// one and a walk keeps them all.
const pctDepthMax = 64

// pctClassesMax bounds the classes one walk ranks; past it, new classes
// share the lowest initial priority (in the order they appear).
const pctClassesMax = 4096

// classKind is what a PCT class groups.
type classKind uint8

const (
	classChannel classKind = iota + 1 // first deliveries from one process to another
	classCopy                         // a channel's redeliveries (duplicates)
	classTimer                        // one process's timers of one name
	classEvent                        // another pending event (a start, a scheduled fault) of one process
)

// class is a PCT class: the unit priorities are given to.
type class struct {
	kind     classKind
	from, to sim.NodeID
	name     string
	id       sim.EventID // a timer's: each arming is a class of its own
}

// pct is one PCT walk's scheduler state.
type pct struct {
	rng *sim.Rand
	// prio holds each class seen so far and its priority: initial
	// priorities are random and above pctDepthMax; the i-th change point
	// sets the class it preempts to d-i, below them all.
	prio map[class]uint64
	// changes are the steps at which a change point falls, ascending.
	changes []int
	next    int // index into changes of the next change point
	// faults are the steps at which a fault point falls, ascending.
	faults    []int
	nextFault int
	// delivered counts the deliveries of each message taken (by the
	// event id the branch names): a channel offers a message until it is
	// delivered once, and its copy class until it is delivered twice.
	delivered map[sim.EventID]int
}

func newPCT(seed uint64, i, depth, faults, steps int) *pct {
	p := &pct{rng: sim.NewRand(seed, "pct/"+itoa(i)), prio: map[class]uint64{}, delivered: map[sim.EventID]int{}}
	if steps < 1 {
		steps = 1
	}
	for range depth - 1 {
		p.changes = append(p.changes, p.rng.IntN(steps))
	}
	slices.Sort(p.changes)
	for range faults {
		p.faults = append(p.faults, p.rng.IntN(steps))
	}
	slices.Sort(p.faults)
	return p
}

// classOf returns the class of a branch and whether a PCT walk may take
// it (drops never; a message only while it has deliveries left).
func (p *pct) classOf(b *branch, w *scratch) (class, bool) {
	switch b.action {
	case sim.ChoiceDrop:
		return class{}, false
	case sim.ChoiceFault:
		return class{}, false // taken at fault points only (pick)
	case sim.ChoiceDuplicate:
		ev := w.pend[b.pend]
		return class{kind: classCopy, from: ev.From, to: ev.To}, true
	}
	ev := w.pend[b.pend]
	switch ev.Kind {
	case sim.KindDeliver, sim.KindRequest:
		switch n := p.delivered[b.id]; {
		case n == 0:
			return class{kind: classChannel, from: ev.From, to: ev.To}, true
		case n == 1 && b.action == redeliver:
			return class{kind: classCopy, from: ev.From, to: ev.To}, true
		}
		return class{}, false
	case sim.KindTimer:
		return class{kind: classTimer, to: ev.To, name: ev.Timer.Name, id: ev.ID}, true
	}
	return class{kind: classEvent, to: ev.To, name: ev.Kind.String()}, true
}

// priority returns the priority of c, drawing one when c is new.
func (p *pct) priority(c class) uint64 {
	if q, ok := p.prio[c]; ok {
		return q
	}
	q := uint64(pctDepthMax + 1)
	if len(p.prio) < pctClassesMax {
		q = pctDepthMax + 2 + p.rng.Uint64N(1<<62)
	}
	p.prio[c] = q
	return q
}

// pick returns the index of the branch a PCT walk takes at step (0 from
// the walk's start), or -1 when none may be taken. Within a class the
// earliest branch wins (branches lists the earliest events first).
func (p *pct) pick(bs []branch, step int, w *scratch) int {
	for p.nextFault < len(p.faults) && p.faults[p.nextFault] <= step {
		// A fault point: one of the crashes and restarts enabled, at
		// random (none enabled: the point is spent all the same).
		p.nextFault++
		first, n := -1, 0
		for i := range bs {
			if bs[i].action == sim.ChoiceFault {
				if first < 0 {
					first = i
				}
				n++
			}
		}
		if n > 0 {
			return first + p.rng.IntN(n) // faultBranches lists them last, together
		}
	}
	for {
		best, bestQ := -1, uint64(0)
		var bestC class
		for i := range bs {
			c, ok := p.classOf(&bs[i], w)
			if !ok {
				continue
			}
			if q := p.priority(c); best < 0 || q > bestQ {
				best, bestQ, bestC = i, q, c
			}
		}
		if best < 0 || p.next >= len(p.changes) || p.changes[p.next] != step {
			return best
		}
		// A change point: the class about to run drops below every
		// other, and the pick is made again. Two change points may fall
		// on one step; each preempts the class then on top.
		p.next++
		p.prio[bestC] = uint64(len(p.changes) + 1 - p.next)
	}
}

// took records that branch b was taken.
func (p *pct) took(b *branch) {
	if b.action == sim.ChoiceDeliver || b.action == redeliver {
		p.delivered[b.id]++
	}
}

// pctWalk is walk i of a PCT search, seeded from (Seed, i).
func (e *explorer) pctWalk(root *sim.Sim, i int, w *scratch) (*Result, int64) {
	p := newPCT(e.opts.Seed, i, e.opts.PCTDepth, e.opts.FaultBudget, e.opts.DepthMax)
	s := root.Fork()
	s.DeferChecks(false)
	var steps int64
	for depth := 0; depth < e.opts.DepthMax; depth++ {
		w.bs = branches(s, &e.opts, w.bs, w)
		k := p.pick(w.bs, depth, w)
		if k < 0 {
			break
		}
		b := w.bs[k]
		p.took(&b)
		if b.take(s) != nil {
			continue
		}
		steps++
		if what := e.classify(s); what != FoundNothing {
			return e.found(s, what, depth+1), steps
		}
		if e.opts.Prune != nil && e.opts.Prune(s) {
			break
		}
	}
	return nil, steps
}
