package sim

import (
	"cmp"
	"fmt"
	"slices"
)

// A targeted nemesis: faults aimed at leaders, at the moments a uniform
// nemesis almost never hits. The deep bugs of replication protocols (Raft's
// Figure 8 among them) need a leader cut off just after it was elected or
// just after it appended to its log, before what it did reached a majority,
// and then the same again for the next leader: a Poisson process of faults
// at random nodes and times lines that up about never. A strike watches each
// node's own view (Inspect) after every event it handles; when a node
// becomes leader, or a leader appends, it strikes that node a short random
// time later (isolates it from the rest, or crashes it) and undoes the fault
// after the nemesis's downtime. It knows nothing of any protocol beyond the
// view's role, term and log length, and the role is named in the scenario.

// StrikeConfig aims faults at leaders (NemesisConfig.Strike).
type StrikeConfig struct {
	// Role is the view role the strike watches; empty means "leader".
	Role string `json:"role,omitempty" yaml:"role"`
	// Elected is the chance that a node seen to take the role (or to take
	// it again in a higher term) is struck.
	Elected float64 `json:"elected,omitempty" yaml:"elected"`
	// Appended is the chance that a node in the role is struck after an
	// event that grew its log.
	Appended float64 `json:"appended,omitempty" yaml:"appended"`
	// Committed is the chance that a node in the role is struck after an
	// event that advanced its commit index.
	Committed float64 `json:"committed,omitempty" yaml:"committed"`
	// After is the mean of the exponential time from the moment to the
	// strike; zero means strikeAfterDefault. Small values hit the window
	// before the leader's messages arrive; larger ones let a few round
	// trips through first.
	After Time `json:"after,omitempty" yaml:"after"`
	// Fault is what a strike does: "isolate" (the default) partitions the
	// node from all the others, replacing any partition in force (so that
	// the leader struck before rejoins the rest), and after the downtime
	// heals it if that partition is still in force; "crash" crashes it,
	// within the nemesis's crash bound, and restarts it after the
	// downtime.
	Fault FaultKind `json:"fault,omitempty" yaml:"fault"`
	// Plan, when set, replaces the strike's draws by decisions written
	// down (a shrinker's, see StrikeShot): the moments are counted as
	// always, and only the moments a shot names are struck, with its delay
	// and downtime. A plan draws nothing from the strike's stream.
	Plan []StrikeShot `json:"plan,omitempty" yaml:"plan"`
}

// StrikeShot is one strike of a plan: at the Moment-th moment the strike
// aims at (counted from 0: a node seen to take the role, or one in the role
// growing its log or commit index, as far as the settings' chances are
// above 0), the node of that moment is struck After later, for Down. A
// plan stays aimed when a shot is removed: the later shots hit whatever node
// is then at their moment, where a schedule fixed in node and time would
// miss it.
type StrikeShot struct {
	Moment int64 `json:"moment" yaml:"moment"`
	After  Time  `json:"after" yaml:"after"`
	Down   Time  `json:"down" yaml:"down"`
}

// strikePlanMax bounds a plan's length.
const strikePlanMax = 100_000

// strikeBook is the strike's bookkeeping in the run's state: the moments
// seen so far, and, when shots are recorded (Sim.RecordStrikes), the
// pending aims and the shots taken.
type strikeBook struct {
	moments int64
	record  bool
	aims    []strikeAim
	shots   []StrikeShot
}

// strikeAim is a pending strike, for the record: when a strike resolves it
// becomes a shot with its moment and delay.
type strikeAim struct {
	node   NodeID
	at     Time
	moment int64
	after  Time
}

// fork gives a forked run its own book (the slices are appended to).
func (b strikeBook) fork() strikeBook {
	b.aims, b.shots = slices.Clip(b.aims), slices.Clip(b.shots)
	return b
}

// RecordStrikes makes the run keep the strike nemesis's shots: every strike
// that resolved to a fault, as the plan entry that replays it
// (StrikeConfig.Plan). Call it before the run starts.
func (s *Sim) RecordStrikes() { s.st.strikes.record = true }

// StrikeShots returns the shots the strike nemesis took so far (with
// RecordStrikes), in the order of their moments' strikes.
func (s *Sim) StrikeShots() []StrikeShot { return slices.Clone(s.st.strikes.shots) }

// strikeAfterDefault is the mean time to a strike when After is zero: about
// one message delay of the usual scenario networks.
const strikeAfterDefault = 5 * Millisecond

// strikeAfterMax bounds After: a strike is meant for the moment just after
// something happened; a longer wait is what the uniform nemesis does.
const strikeAfterMax = 10 * Second

// Validate checks the strike settings.
func (c *StrikeConfig) Validate() error {
	if err := checkProb("elected", c.Elected); err != nil {
		return err
	}
	if err := checkProb("appended", c.Appended); err != nil {
		return err
	}
	if err := checkProb("committed", c.Committed); err != nil {
		return err
	}
	if c.Elected == 0 && c.Appended == 0 && c.Committed == 0 {
		return fmt.Errorf("elected: a strike needs elected, appended or committed above 0 (all are 0)")
	}
	if c.After < 0 || c.After > strikeAfterMax {
		return fmt.Errorf("after: %v is outside 0..%v", c.After, strikeAfterMax)
	}
	if len(c.Plan) > strikePlanMax {
		return fmt.Errorf("plan: %d shots, more than %d", len(c.Plan), strikePlanMax)
	}
	for i, p := range c.Plan {
		switch {
		case p.Moment < 0 || (i > 0 && p.Moment <= c.Plan[i-1].Moment):
			return fmt.Errorf("plan[%d].moment: %d is not above the shot before's (moments ascend from 0)", i, p.Moment)
		case p.After < 0 || p.After > strikeAfterMax:
			return fmt.Errorf("plan[%d].after: %v is outside 0..%v", i, p.After, strikeAfterMax)
		case p.Down <= 0 || p.Down > strikeAfterMax:
			return fmt.Errorf("plan[%d].down: %v is outside 1ns..%v", i, p.Down, strikeAfterMax)
		}
	}
	switch c.Fault {
	case "", FaultIsolate, FaultCrash:
	default:
		return fmt.Errorf("fault: %q is not a strike (want isolate or crash)", c.Fault)
	}
	return nil
}

func (c *StrikeConfig) role() string {
	if c.Role == "" {
		return "leader"
	}
	return c.Role
}

func (c *StrikeConfig) after() Time {
	if c.After == 0 {
		return strikeAfterDefault
	}
	return c.After
}

// leaderWatch is what a strike last saw of one node: whether it held the
// role, in which term, with how long a log. It lives in the node's Env, so
// forks and checkpoints copy it.
type leaderWatch struct {
	leads  bool
	term   int64
	logLen int64
	commit int64
}

// faultStrike is the internal kind of a pending strike: Node is the target,
// Value is 0 for the strike and strikeUndo for the end of an isolation. It
// is resolved when due into the concrete fault, which replaces it in the
// event, as a nemesis tick is.
const faultStrike FaultKind = "strike"

// strikeUndo marks the end of a strike's isolation (Fault.Value).
const strikeUndo = 1

// watchLeader looks at node e after it handled an event and, at a moment
// the strike aims at, schedules a strike at it.
func (st *state) watchLeader(e *Env) {
	n := st.cfg.Nemesis
	c := n.Strike
	in, ok := e.p.(Inspector)
	if !ok || !e.up {
		return
	}
	v := in.Inspect()
	was := e.watch
	now := leaderWatch{leads: v.Role == c.role(), term: v.Term, logLen: v.LogLen, commit: v.Commit}
	e.watch = now
	if !now.leads || (n.HealAt > 0 && st.now >= n.HealAt) {
		return
	}
	// One event may be several moments (a leader's first append is its
	// election's); the likeliest strike counts.
	chance := 0.0
	if !was.leads || now.term > was.term {
		chance = c.Elected
	}
	if now.commit > was.commit {
		chance = max(chance, c.Committed)
	}
	if now.logLen > was.logLen {
		chance = max(chance, c.Appended)
	}
	if chance == 0 {
		return
	}
	moment := st.strikes.moments
	st.strikes.moments++
	if c.Plan != nil {
		i, ok := slices.BinarySearchFunc(c.Plan, moment, func(p StrikeShot, m int64) int { return cmp.Compare(p.Moment, m) })
		if !ok {
			return
		}
		at := st.now + c.Plan[i].After
		if n.HealAt > 0 && at >= n.HealAt {
			return
		}
		st.push(Event{Kind: KindFault, At: at, Fault: &Fault{Kind: faultStrike, Node: e.id, Value: float64(strikePlanned + i), Source: "nemesis"}})
		return
	}
	if !st.strikeRng.Chance(chance) {
		return
	}
	after := Time(st.strikeRng.ExpFloat64() * float64(c.after()))
	at := st.now + after
	if n.HealAt > 0 && at >= n.HealAt {
		return
	}
	if st.strikes.record {
		st.strikes.aims = append(st.strikes.aims, strikeAim{node: e.id, at: at, moment: moment, after: after})
	}
	st.push(Event{Kind: KindFault, At: at, Fault: &Fault{Kind: faultStrike, Node: e.id, Source: "nemesis"}})
}

// strikePlanned is the Fault.Value of a planned strike's first shot; shot
// i of the plan has strikePlanned+i.
const strikePlanned = 2

// takeAim removes the pending aim at id due now and returns it (ok false
// when shots are not recorded).
func (st *state) takeAim(id NodeID) (strikeAim, bool) {
	for i, a := range st.strikes.aims {
		if a.node == id && a.at == st.now {
			st.strikes.aims = slices.Delete(slices.Clip(st.strikes.aims), i, i+1)
			return a, true
		}
	}
	return strikeAim{}, false
}

// strike resolves a due strike at id into its fault and schedules the
// undo; nil when the target no longer holds the role or is down, or a crash
// would exceed the nemesis's crash bound. An undo heals the partition only
// if it still isolates id.
func (st *state) strike(id NodeID, value float64) *Fault {
	n := st.cfg.Nemesis
	c := n.Strike
	if value == strikeUndo {
		if !st.isolated(id) {
			return nil
		}
		return &Fault{Kind: FaultHeal, Source: "nemesis"}
	}
	aim, aimed := st.takeAim(id)
	e := st.proc(id)
	if !e.up || !e.watch.leads {
		return nil
	}
	var down Time
	if value >= strikePlanned {
		down = c.Plan[int(value)-strikePlanned].Down
	} else {
		downtime := n.Downtime
		if downtime <= 0 {
			downtime = 500 * Millisecond
		}
		down = Millisecond + Time(st.strikeRng.ExpFloat64()*float64(downtime))
	}
	undoAt := st.now + down
	if aimed {
		st.strikes.shots = append(st.strikes.shots, StrikeShot{Moment: aim.moment, After: aim.after, Down: down})
	}
	if n.HealAt > 0 && undoAt > n.HealAt {
		undoAt = n.HealAt
	}
	if c.Fault == FaultCrash {
		maxDown := n.MaxCrashed
		if maxDown == 0 {
			maxDown = (st.nodes - 1) / 2
		}
		down := 0
		for _, o := range st.procs[:st.nodes] {
			if o.started && !o.up {
				down++
			}
		}
		if down >= maxDown {
			return nil
		}
		st.push(Event{Kind: KindFault, At: undoAt, Fault: &Fault{Kind: FaultRestart, Node: id, Source: "nemesis"}})
		return &Fault{Kind: FaultCrash, Node: id, Source: "nemesis"}
	}
	if st.nodes < 2 {
		return nil
	}
	var rest []NodeID
	for _, o := range st.nodeIDs {
		if o != id {
			rest = append(rest, o)
		}
	}
	st.push(Event{Kind: KindFault, At: undoAt, Fault: &Fault{Kind: faultStrike, Node: id, Value: strikeUndo, Source: "nemesis"}})
	return &Fault{Kind: FaultPartition, Groups: [][]NodeID{{id}, slices.Clip(rest)}, Source: "nemesis"}
}

// isolated reports whether the partition in force puts id alone and every
// other node together, as a strike's isolation does.
func (st *state) isolated(id NodeID) bool {
	g := st.net.group
	other := -1
	for i, v := range g {
		switch {
		case NodeID(i+1) == id:
			continue
		case other < 0:
			other = v
		case v != other:
			return false
		}
	}
	return other >= 0 && g[id-1] != other
}
