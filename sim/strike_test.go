package sim

import (
	"reflect"
	"strings"
	"testing"
)

// crowned is a toy protocol for the strike nemesis: n1 claims the role
// "leader" in term 1 as soon as it starts, appends an entry on every tick
// and commits it on the next; the others follow.
type crowned struct {
	id          NodeID
	log, commit int64
}

func (c *crowned) Start(env *Env) {
	c.id = env.ID()
	env.SetTimer(10*Millisecond, "tick", 0)
}

func (c *crowned) Receive(*Env, NodeID, Message) {}

func (c *crowned) Timer(env *Env, _ Timer) {
	c.commit = c.log
	c.log++
	env.SetTimer(10*Millisecond, "tick", 0)
}

func (c *crowned) Inspect() View {
	v := View{Role: "follower", LogLen: c.log, Commit: c.commit}
	if c.id == 1 {
		v.Role, v.Term = "leader", 1
	}
	return v
}

type faultLog struct{ faults []ScheduledFault }

func (l *faultLog) ObserveFault(s *Sim, _ int64, f *Fault) {
	l.faults = append(l.faults, ScheduledFault{At: s.Now(), Fault: *f})
}

func runCrowned(t *testing.T, strike StrikeConfig) []ScheduledFault {
	t.Helper()
	cfg := Config{Seed: 7, Nodes: 3, Duration: 2 * Second, Network: NetworkConfig{Latency: DefaultLatency},
		Nemesis: &NemesisConfig{Downtime: 50 * Millisecond, HealAt: Second, Strike: &strike}}
	s, err := New(cfg, Factory{Node: func(NodeID) Process { return &crowned{} }})
	if err != nil {
		t.Fatal(err)
	}
	l := &faultLog{}
	s.AddFaultObserver(l)
	s.Run()
	return l.faults
}

// A strike isolates the node that takes the leader role a short time after
// it does, and only that node; the undo heals the isolation it made.
func TestStrikeIsolatesANewLeader(t *testing.T) {
	fs := runCrowned(t, StrikeConfig{Elected: 1, After: Millisecond})
	if len(fs) < 2 {
		t.Fatalf("got faults %v, want an isolation of n1 and its heal", fs)
	}
	if got := fs[0].Fault.String(); got != "partition n1|n2,n3 (nemesis)" {
		t.Fatalf("first fault %q at %v, want the isolation of n1", got, fs[0].At)
	}
	if fs[0].At > 50*Millisecond {
		t.Fatalf("isolation at %v, want within a few mean delays of n1's start", fs[0].At)
	}
	if got := fs[1].Fault.String(); got != "heal (nemesis)" {
		t.Fatalf("second fault %q, want the heal of the isolation", got)
	}
	for _, f := range fs {
		if f.At >= Second && f.Fault.Kind != FaultHealAll {
			t.Fatalf("fault %v at %v after the heal at 1s", f.Fault.String(), f.At)
		}
	}
}

// Appends and commits strike a leader again and again; elections alone
// (n1 is leader once) strike at most once; crash strikes restart.
func TestStrikeMoments(t *testing.T) {
	count := func(fs []ScheduledFault, k FaultKind) int {
		n := 0
		for _, f := range fs {
			if f.Fault.Kind == k {
				n++
			}
		}
		return n
	}
	if n := count(runCrowned(t, StrikeConfig{Elected: 1}), FaultPartition); n != 1 {
		t.Fatalf("elected only: %d isolations, want 1 (n1 takes the role once)", n)
	}
	if n := count(runCrowned(t, StrikeConfig{Appended: 1}), FaultPartition); n < 5 {
		t.Fatalf("appended: %d isolations, want many (n1 appends every 10ms)", n)
	}
	if n := count(runCrowned(t, StrikeConfig{Committed: 1}), FaultPartition); n < 5 {
		t.Fatalf("committed: %d isolations, want many (n1 commits every 10ms)", n)
	}
	fs := runCrowned(t, StrikeConfig{Elected: 1, Fault: FaultCrash})
	if count(fs, FaultCrash) != 1 || count(fs, FaultRestart) != 1 || fs[0].Fault.Node != 1 {
		t.Fatalf("crash strike: got %v, want crash n1 then restart n1", fs)
	}
}

func TestStrikeValidate(t *testing.T) {
	for _, c := range []struct {
		cfg  StrikeConfig
		want string
	}{
		{StrikeConfig{}, "strike.elected: a strike needs elected, appended or committed above 0 (all are 0)"},
		{StrikeConfig{Elected: 2}, "strike.elected: 2 is outside [0,1]"},
		{StrikeConfig{Elected: 1, After: -1}, "strike.after: -1ns is outside 0..10s"},
		{StrikeConfig{Elected: 1, Fault: FaultPause}, `strike.fault: "pause" is not a strike (want isolate or crash)`},
	} {
		n := NemesisConfig{Strike: &c.cfg}
		err := n.Validate(3)
		if err == nil || err.Error() != c.want {
			t.Errorf("%+v: got %v, want %s", c.cfg, err, c.want)
		}
	}
}

// A strike's recorded shots, replayed as its plan, strike as the draws did;
// a plan without its first shot still strikes the later moments' leader,
// and a bad plan is an error naming the shot.
func TestStrikePlanReplaysTheShots(t *testing.T) {
	run := func(strike StrikeConfig) ([]ScheduledFault, []StrikeShot) {
		t.Helper()
		cfg := Config{Seed: 7, Nodes: 3, Duration: 2 * Second, Network: NetworkConfig{Latency: DefaultLatency},
			Nemesis: &NemesisConfig{Downtime: 50 * Millisecond, HealAt: Second, Strike: &strike}}
		s, err := New(cfg, Factory{Node: func(NodeID) Process { return &crowned{} }})
		if err != nil {
			t.Fatal(err)
		}
		s.RecordStrikes()
		l := &faultLog{}
		s.AddFaultObserver(l)
		s.Run()
		return l.faults, s.StrikeShots()
	}
	drawn, shots := run(StrikeConfig{Committed: 1, After: Millisecond})
	if len(shots) < 3 {
		t.Fatalf("want at least 3 shots to replay, got %d (faults %v)", len(shots), drawn)
	}
	replayed, again := run(StrikeConfig{Committed: 1, After: Millisecond, Plan: shots})
	if !reflect.DeepEqual(drawn, replayed) {
		t.Fatalf("the plan of the shots strikes otherwise:\ndrawn    %v\nreplayed %v", drawn, replayed)
	}
	if len(again) != 0 {
		t.Fatalf("a plan records no shots (its aims are not drawn), got %v", again)
	}
	rest, _ := run(StrikeConfig{Committed: 1, After: Millisecond, Plan: shots[1:]})
	if len(rest) == 0 || len(rest) >= len(drawn) {
		t.Fatalf("without its first shot the plan should strike less but still strike: %v", rest)
	}
	bad := StrikeConfig{Committed: 1, Plan: []StrikeShot{{Moment: 3, Down: Millisecond}, {Moment: 3, Down: Millisecond}}}
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "plan[1].moment") {
		t.Fatalf("a plan with a repeated moment validates: %v", err)
	}
}
