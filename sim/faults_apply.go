package sim

import (
	"fmt"
	"slices"
)

// applyFault carries out a fault event. Nemesis ticks are resolved here into
// a concrete fault, which replaces the tick in the event so that traces show
// what happened.
func (st *state) applyFault(ev *Event) {
	f := ev.Fault
	if f.Kind == faultNemesis || f.Kind == faultStrike {
		if f.Kind == faultStrike {
			f = st.strike(f.Node, f.Value)
		} else {
			f = st.nemesisTick(int(f.Value))
		}
		if f == nil {
			st.rec.outcome("nemesis: nothing to do")
			return
		}
		ev.Fault = f
		if st.recording {
			st.rec.Event.Fault = f
		}
	}
	st.apply(f)
}

// faultNemesis is the internal kind of a nemesis tick; Value holds the index
// into nemesisKinds.
const faultNemesis FaultKind = "nemesis"

func (st *state) apply(f *Fault) {
	switch f.Kind {
	case FaultCrash, FaultRestart, FaultPause, FaultResume, FaultDrift:
	default:
		st.ownNet() // the fault changes the network
	}
	switch f.Kind {
	case FaultCrash:
		st.crash(st.proc(f.Node))
	case FaultRestart:
		e := st.proc(f.Node)
		if e.up || e.starting {
			st.rec.outcome(f.Node.String() + " is already up")
			return
		}
		st.stats.Restarts++
		e.starting = true
		// The start event builds the process from its storage; until it runs,
		// messages to the node are lost as to any down node.
		id := st.push(Event{Kind: KindStart, At: st.now, To: f.Node, epoch: e.epoch})
		st.rec.effect(Effect{Kind: EffectNote, ID: id, Name: "restart scheduled"})
	case FaultPause:
		e := st.proc(f.Node)
		if !e.up || e.paused {
			st.rec.outcome(f.Node.String() + " is down or already paused")
			return
		}
		st.stats.Pauses++
		e.paused = true
		if f.For > 0 {
			st.push(Event{Kind: KindFault, At: st.now + f.For, Fault: &Fault{Kind: FaultResume, Node: f.Node, Source: f.Source}})
		}
	case FaultResume:
		st.resume(st.proc(f.Node))
	case FaultPartition:
		g := st.net.group
		for i := range g {
			g[i] = len(f.Groups) + 1 // unlisted nodes form one more group
		}
		for i, grp := range f.Groups {
			for _, n := range grp {
				g[n-1] = i + 1
			}
		}
	case FaultIsolate:
		g := st.net.group
		max := 0
		for _, v := range g {
			if v > max {
				max = v
			}
		}
		g[f.Node-1] = max + 1
	case FaultCut, FaultUncut:
		st.net.cut[st.proc(f.From).idx*st.net.procs+st.proc(f.To).idx] = f.Kind == FaultCut
	case FaultHeal:
		st.heal()
	case FaultHealAll:
		st.heal()
		st.net.reset()
		for _, e := range st.procs[:st.nodes] {
			if e.started && !e.up {
				st.apply(&Fault{Kind: FaultRestart, Node: e.id, Source: f.Source})
			}
			if e.paused {
				st.resume(e)
			}
		}
	case FaultLoss:
		st.net.setLoss(f.Value)
	case FaultDuplicate:
		st.net.setDuplicate(f.Value)
	case FaultDrift:
		e := st.proc(f.Node)
		e.baseLocal = e.Now()
		e.baseTrue = st.now
		e.rate = 1 + f.Value
	default:
		panic(fmt.Sprintf("sim: unknown fault kind %q", f.Kind))
	}
}

func (st *state) heal() {
	for i := range st.net.group {
		st.net.group[i] = 0
	}
	for i := range st.net.cut {
		st.net.cut[i] = false
	}
}

func (st *state) crash(e *Env) {
	if e.starting {
		// A crash before the restart's start event voids that start.
		e.starting = false
		e.epoch++
		return
	}
	if !e.up {
		st.rec.outcome(e.id.String() + " is already down")
		return
	}
	st.stats.Crashes++
	e.up = false
	e.p = nil
	e.paused = false
	e.held = nil
	e.epoch++
	e.timers = nil
	e.cow &^= cowProcess | cowTimers
	e.fpOK = false
}

func (st *state) resume(e *Env) {
	if !e.paused {
		return
	}
	e.paused = false
	held := e.held
	e.held = nil
	for _, ev := range held {
		ev.At = st.now
		if ev.Kind == KindTimer {
			// The timer keeps its id so the process can still cancel it.
			st.q.push(ev)
			continue
		}
		st.push(ev)
	}
}

// nemesisTick picks a concrete fault of the tick's kind, schedules its undo
// and the next tick.
func (st *state) nemesisTick(k int) *Fault {
	n := st.cfg.Nemesis
	kind := nemesisKinds[k]
	r := st.nemRng
	st.scheduleNemesis(k, st.now)
	downtime := n.Downtime
	if downtime <= 0 {
		downtime = 500 * Millisecond
	}
	undoAt := st.now + Millisecond + Time(r.ExpFloat64()*float64(downtime))
	if n.HealAt > 0 && undoAt > n.HealAt {
		undoAt = n.HealAt
	}
	nodes := st.procs[:st.nodes]
	switch kind {
	case FaultCrash:
		maxDown := n.MaxCrashed
		if maxDown == 0 {
			maxDown = (st.nodes - 1) / 2
		}
		var up []NodeID
		down := 0
		for _, e := range nodes {
			if e.up && n.targeted(e.id) {
				up = append(up, e.id)
			} else if e.started {
				down++
			}
		}
		if down >= maxDown || len(up) == 0 {
			return nil
		}
		id := up[r.IntN(len(up))]
		st.push(Event{Kind: KindFault, At: undoAt, Fault: &Fault{Kind: FaultRestart, Node: id, Source: "nemesis"}})
		return &Fault{Kind: FaultCrash, Node: id, Source: "nemesis"}
	case FaultPartition:
		if st.nodes < 2 {
			return nil
		}
		perm := r.Perm(st.nodes)
		size := 1 + r.IntN(st.nodes-1)
		var a, b []NodeID
		for i, p := range perm {
			if i < size {
				a = append(a, NodeID(p+1))
			} else {
				b = append(b, NodeID(p+1))
			}
		}
		st.push(Event{Kind: KindFault, At: undoAt, Fault: &Fault{Kind: FaultHeal, Source: "nemesis"}})
		return &Fault{Kind: FaultPartition, Groups: [][]NodeID{sortIDs(a), sortIDs(b)}, Source: "nemesis"}
	case FaultCut:
		if st.nodes < 2 {
			return nil
		}
		from := NodeID(1 + r.IntN(st.nodes))
		if len(n.Targets) > 0 {
			from = n.Targets[r.IntN(len(n.Targets))]
		}
		to := NodeID(1 + r.IntN(st.nodes-1))
		if to >= from {
			to++
		}
		st.push(Event{Kind: KindFault, At: undoAt, Fault: &Fault{Kind: FaultUncut, From: from, To: to, Source: "nemesis"}})
		return &Fault{Kind: FaultCut, From: from, To: to, Source: "nemesis"}
	case FaultPause:
		id := NodeID(1 + r.IntN(st.nodes))
		if len(n.Targets) > 0 {
			id = n.Targets[r.IntN(len(n.Targets))]
		}
		if !st.proc(id).up {
			return nil
		}
		return &Fault{Kind: FaultPause, Node: id, For: undoAt - st.now, Source: "nemesis"}
	case FaultLoss:
		burst := n.LossBurst
		if burst == 0 {
			burst = 0.5
		}
		st.push(Event{Kind: KindFault, At: undoAt, Fault: &Fault{Kind: FaultLoss, Value: st.cfg.Network.Loss, Source: "nemesis"}})
		return &Fault{Kind: FaultLoss, Value: burst, Source: "nemesis"}
	}
	return nil
}

// scheduleNemesis schedules the next tick of nemesis kind k after now,
// unless it would come after the heal.
func (st *state) scheduleNemesis(k int, now Time) {
	n := st.cfg.Nemesis
	every := n.every(nemesisKinds[k])
	at := now + Millisecond + Time(st.nemRng.ExpFloat64()*float64(every))
	if n.HealAt > 0 && at >= n.HealAt {
		return
	}
	st.push(Event{Kind: KindFault, At: at, Fault: &Fault{Kind: faultNemesis, Value: float64(k), Source: "nemesis"}})
}

func sortIDs(ids []NodeID) []NodeID {
	slices.Sort(ids)
	return ids
}
