package sim

import (
	"bytes"
	"fmt"
	"math"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Determinism: the same seed and configuration give byte-identical traces,
// run after run; different seeds give different traces.
func TestDeterminismSameSeedSameBytes(t *testing.T) {
	seen := map[string]uint64{}
	for seed := uint64(0); seed < 100; seed++ {
		cfg := pingConfig(seed)
		cfg.Duration = 200 * Millisecond
		cfg.Network.Loss = 0.05
		cfg.Network.Duplicate = 0.05
		cfg.Nemesis = &NemesisConfig{CrashEvery: 50 * Millisecond, PartitionEvery: 70 * Millisecond, PauseEvery: 90 * Millisecond, Downtime: 20 * Millisecond, HealAt: 150 * Millisecond}
		a := traceOf(t, cfg, nil)
		b := traceOf(t, cfg, nil)
		require.True(t, bytes.Equal(a, b), "seed %d: two runs differ (replay: go test ./sim -run TestDeterminism)", seed)
		if other, ok := seen[string(a)]; ok {
			t.Fatalf("seeds %d and %d gave the same trace", other, seed)
		}
		seen[string(a)] = seed
	}
}

// The same runs in parallel goroutines give the same bytes as one by one:
// no goroutine schedule leaks into a run.
func TestDeterminismParallel(t *testing.T) {
	const n = 8
	want := make([][]byte, n)
	for i := range want {
		want[i] = traceOf(t, pingConfig(uint64(i)), nil)
	}
	got := make([][]byte, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = traceOf(t, pingConfig(uint64(i)), nil)
		}()
	}
	wg.Wait()
	for i := range want {
		assert.True(t, bytes.Equal(want[i], got[i]), "seed %d differs when run in parallel", i)
	}
}

// Streams are independent: adding a client does not change the network's
// draws between nodes.
func TestStreamsIndependent(t *testing.T) {
	a := NewRand(7, "net/n1->n2")
	b := NewRand(7, "net/n1->n2")
	c := NewRand(7, "client/c1")
	for i := 0; i < 100; i++ {
		x := a.Uint64()
		require.Equal(t, x, b.Uint64())
		_ = c.Uint64()
	}
	assert.NotEqual(t, NewRand(7, "node/n1").Uint64(), NewRand(8, "node/n1").Uint64())
}

func TestQueueOrdersByTimeThenInsertion(t *testing.T) {
	var q queue
	var id EventID
	push := func(at Time) { q.push(Event{ID: id, At: at}); id++ }
	for _, at := range []Time{5, 1, 5, 3, 1, 9, 0} {
		push(at)
	}
	var got []string
	for q.len() > 0 {
		e := q.pop()
		got = append(got, fmt.Sprintf("%d/%d", e.At, e.ID))
	}
	assert.Equal(t, []string{"0/6", "1/1", "1/4", "3/3", "5/0", "5/2", "9/5"}, got)
}

// recorder is a protocol that remembers what it received, and persists a
// counter: the probe of the lifecycle tests.
type recorder struct {
	got      []string
	volatile int
	fired    []Time
}

type note struct{ Text string }

func (*note) MessageType() string { return "test.Note" }

func init() { Messages.Register(&note{}) }

func (r *recorder) Start(env *Env) {
	if b, ok := env.Load("count"); ok {
		r.volatile = int(b[0])
	}
}
func (r *recorder) Receive(env *Env, from NodeID, m Message) {
	r.got = append(r.got, from.String()+":"+m.(*note).Text)
	r.volatile++
	if r.volatile%2 == 0 {
		env.Store("count", []byte{byte(r.volatile)})
	}
}
func (r *recorder) Timer(env *Env, t Timer) { r.fired = append(r.fired, env.Now()) }
func (r *recorder) Inspect() View           { return View{Role: "recorder"} }

// sender sends one note per timer tick to a fixed target.
type sender struct {
	to    NodeID
	every Time
	n     int
}

func (s *sender) Start(env *Env)                { env.SetTimer(s.every, "send", 0) }
func (s *sender) Receive(*Env, NodeID, Message) {}
func (s *sender) Timer(env *Env, t Timer) {
	s.n++
	env.Send(s.to, &note{Text: fmt.Sprint(s.n)})
	env.SetTimer(s.every, "send", 0)
}

// world builds a run where n1 sends to n2 every 10ms and the rest record.
func world(t testing.TB, cfg Config) *Sim {
	t.Helper()
	s, err := New(cfg, Factory{Node: func(id NodeID) Process {
		if id == 1 {
			return &sender{to: 2, every: 10 * Millisecond}
		}
		return &recorder{}
	}})
	require.NoError(t, err)
	return s
}

func constNet() NetworkConfig {
	return NetworkConfig{Latency: Latency{Dist: "constant", Min: Millisecond}}
}

func TestPartitionAndCutSemantics(t *testing.T) {
	cfg := Config{Seed: 1, Nodes: 3, Network: constNet()}
	s := world(t, cfg)
	s.RunUntil(35 * Millisecond)
	r := s.Process(2).(*recorder)
	require.Len(t, r.got, 3)

	// A partition separates groups in both directions.
	require.NoError(t, s.Inject(Fault{Kind: FaultPartition, Groups: [][]NodeID{{1}, {2, 3}}}))
	assert.True(t, s.Blocked(1, 2))
	assert.True(t, s.Blocked(2, 1))
	assert.False(t, s.Blocked(2, 3))
	s.RunUntil(65 * Millisecond)
	assert.Len(t, r.got, 3, "nothing crosses a partition")
	assert.EqualValues(t, 3, s.Stats().DroppedPartition)

	// A one-way cut: n1 cannot reach n2, but n2 can reach n1.
	require.NoError(t, s.Inject(Fault{Kind: FaultHeal}))
	require.NoError(t, s.Inject(Fault{Kind: FaultCut, From: 1, To: 2}))
	assert.True(t, s.Blocked(1, 2))
	assert.False(t, s.Blocked(2, 1))
	s.RunUntil(95 * Millisecond)
	assert.Len(t, r.got, 3, "a cut link carries nothing")

	require.NoError(t, s.Inject(Fault{Kind: FaultUncut, From: 1, To: 2}))
	s.RunUntil(125 * Millisecond)
	assert.Len(t, r.got, 6, "healed")
}

// A message in flight when a partition starts is lost at delivery.
func TestPartitionDropsInFlight(t *testing.T) {
	s := world(t, Config{Seed: 1, Nodes: 2, Network: NetworkConfig{Latency: Latency{Dist: "constant", Min: 5 * Millisecond}}})
	s.RunUntil(11 * Millisecond) // the first note left at 10ms, arrives at 15ms
	require.NoError(t, s.Inject(Fault{Kind: FaultIsolate, Node: 2}))
	s.RunUntil(16 * Millisecond)
	assert.Empty(t, s.Process(2).(*recorder).got)
	assert.EqualValues(t, 1, s.Stats().DroppedPartition)
}

func TestCrashLosesVolatileStateKeepsStorage(t *testing.T) {
	s := world(t, Config{Seed: 1, Nodes: 2, Network: constNet()})
	s.RunUntil(55 * Millisecond)
	r := s.Process(2).(*recorder)
	require.Equal(t, 5, r.volatile)
	require.NoError(t, s.Inject(Fault{Kind: FaultCrash, Node: 2}))
	assert.Nil(t, s.Process(2), "a crashed node has no process")
	assert.False(t, s.Up(2))
	stored, ok := s.Storage(2).Get("count")
	require.True(t, ok, "storage survives the crash")
	assert.Equal(t, byte(4), stored[0])
	s.RunUntil(75 * Millisecond)
	assert.EqualValues(t, 2, s.Stats().DroppedCrashed, "messages to a crashed node are lost")

	require.NoError(t, s.Inject(Fault{Kind: FaultRestart, Node: 2}))
	s.Step() // the start event
	r2 := s.Process(2).(*recorder)
	require.NotSame(t, r, r2, "a restart builds a new process")
	assert.Equal(t, 4, r2.volatile, "only what was persisted comes back")
	assert.Empty(t, r2.got, "volatile state is gone")
}

func TestCrashKillsTimers(t *testing.T) {
	s := world(t, Config{Seed: 1, Nodes: 2, Network: constNet()})
	s.RunUntil(5 * Millisecond)
	require.NoError(t, s.Inject(Fault{Kind: FaultCrash, Node: 1}))
	for _, e := range s.Pending() {
		assert.False(t, e.Kind == KindTimer && e.To == 1, "a crashed node's timer is still pending: %s", e.Describe())
	}
	s.RunUntil(100 * Millisecond)
	assert.Empty(t, s.Process(2).(*recorder).got, "the crashed sender sent nothing")
}

func TestPauseHoldsEvents(t *testing.T) {
	s := world(t, Config{Seed: 1, Nodes: 2, Network: constNet()})
	s.RunUntil(5 * Millisecond)
	require.NoError(t, s.Inject(Fault{Kind: FaultPause, Node: 2, For: 50 * Millisecond}))
	s.RunUntil(54 * Millisecond)
	r := s.Process(2).(*recorder)
	assert.Empty(t, r.got, "a paused node handles nothing")
	assert.Len(t, s.Held(2), 5)
	s.RunUntil(56 * Millisecond)
	assert.Equal(t, []string{"n1:1", "n1:2", "n1:3", "n1:4", "n1:5"}, r.got, "held events are released in order at resume")
	assert.False(t, s.Paused(2))
}

func TestClockDrift(t *testing.T) {
	s, err := New(Config{Seed: 1, Nodes: 2, Network: constNet(), Faults: []ScheduledFault{{At: 0, Fault: Fault{Kind: FaultDrift, Node: 1, Value: 0.25}}}},
		Factory{Node: func(id NodeID) Process { return &ticker{} }})
	require.NoError(t, err)
	s.RunUntil(Second)
	fast := s.Process(1).(*ticker)
	slow := s.Process(2).(*ticker)
	// A clock that runs 25% fast fires its 100ms timer every 80ms of true time.
	assert.Equal(t, 12, fast.n)
	assert.Equal(t, 10, slow.n)
	// The drift starts after the first timer was set at rate 1 (fired at
	// 100ms true); the twelfth fires at 980ms true, 1.225s on the fast clock.
	assert.InDelta(t, 1.225*float64(Second), float64(fast.local), float64(Millisecond))
}

type ticker struct {
	n     int
	local Time
}

func (k *ticker) Start(env *Env)                { env.SetTimer(100*Millisecond, "tick", 0) }
func (k *ticker) Receive(*Env, NodeID, Message) {}
func (k *ticker) Timer(env *Env, t Timer) {
	k.n++
	k.local = env.Now()
	env.SetTimer(100*Millisecond, "tick", 0)
}

// Loss and duplication rates are within statistical tolerance over 100,000
// messages.
func TestLossAndDuplicationRates(t *testing.T) {
	const n = 100_000
	s, err := New(Config{Seed: 3, Nodes: 2, Network: NetworkConfig{Latency: Latency{Dist: "constant", Min: Millisecond}, Loss: 0.1, Duplicate: 0.05}},
		Factory{Node: func(id NodeID) Process {
			if id == 1 {
				return &sender{to: 2, every: Millisecond}
			}
			return &recorder{}
		}})
	require.NoError(t, err)
	for s.Stats().Sent < n {
		require.True(t, s.Step())
	}
	st := s.Stats()
	within := func(name string, got int64, p float64, of int64) {
		mean := p * float64(of)
		sd := math.Sqrt(float64(of) * p * (1 - p))
		assert.InDelta(t, mean, float64(got), 5*sd, "%s: %d of %d, want about %.0f", name, got, of, mean)
	}
	within("loss", st.DroppedLoss, 0.1, st.Sent)
	within("duplication", st.Duplicated, 0.05, st.Sent-st.DroppedLoss)
}

func TestLatencyDistributionsRespectMinimum(t *testing.T) {
	r := NewRand(1, "lat")
	for _, l := range []Latency{
		{Dist: "constant", Min: 3 * Millisecond},
		{Dist: "uniform", Min: Millisecond, Max: 5 * Millisecond},
		{Dist: "normal", Min: Millisecond, Mean: 2 * Millisecond, StdDev: 3 * Millisecond},
		{Dist: "exponential", Min: 2 * Millisecond, Mean: 10 * Millisecond},
	} {
		require.NoError(t, l.Validate())
		var sum Time
		for i := 0; i < 10000; i++ {
			d := l.Sample(r)
			require.GreaterOrEqual(t, d, l.Min, l.Dist)
			if l.Max > 0 {
				require.LessOrEqual(t, d, l.Max, l.Dist)
			}
			sum += d
		}
		if l.Dist == "exponential" {
			assert.InDelta(t, float64(12*Millisecond), float64(sum/10000), float64(Millisecond), "exponential mean is Min+Mean")
		}
	}
}

func TestFIFOKeepsLinkOrder(t *testing.T) {
	s, err := New(Config{Seed: 5, Nodes: 2, Network: NetworkConfig{Latency: Latency{Dist: "uniform", Min: Millisecond, Max: 50 * Millisecond}, FIFO: true}},
		Factory{Node: func(id NodeID) Process {
			if id == 1 {
				return &sender{to: 2, every: Millisecond}
			}
			return &recorder{}
		}})
	require.NoError(t, err)
	s.RunUntil(500 * Millisecond)
	got := s.Process(2).(*recorder).got
	require.NotEmpty(t, got)
	for i, g := range got {
		require.Equal(t, fmt.Sprintf("n1:%d", i+1), g, "FIFO link reordered")
	}
}

// Replay to event k equals the live state at k, through checkpoints.
func TestCheckpointRestoreMatchesLive(t *testing.T) {
	cfg := pingConfig(9)
	cfg.Nemesis = &NemesisConfig{CrashEvery: 100 * Millisecond, PartitionEvery: 100 * Millisecond, Downtime: 50 * Millisecond}
	cfg.Network.Loss = 0.01
	live := traceOf(t, cfg, nil)

	s, err := New(cfg, pingFactory())
	require.NoError(t, err)
	var buf bytes.Buffer
	tw, err := NewTraceWriter(&buf, nil, s.Config())
	require.NoError(t, err)
	s.AddObserver(tw)
	for i := 0; i < 300; i++ {
		require.True(t, s.Step(), "stopped: %s %v", s.Stopped(), s.Err())
	}
	cp := s.Checkpoint()
	for i := 0; i < 100; i++ { // wander off, then come back
		s.Step()
	}
	s.Restore(cp)
	require.EqualValues(t, 300, s.Index())
	// Truncate what the writer wrote after the checkpoint and go on.
	tw.w.Flush()
	lines := bytes.SplitAfter(buf.Bytes(), []byte("\n"))
	buf.Reset()
	for _, l := range lines[:1+300] {
		buf.Write(l)
	}
	s.Run()
	require.NoError(t, tw.Close(s))
	// The digest of the restored run's trace covers the lines cut above,
	// which the writer hashed as it wrote them: leave it out.
	noDigest := regexp.MustCompile(`,"digest":"[^"]*"`)
	a := bytes.Split(noDigest.ReplaceAll(live, nil), []byte("\n"))
	b := bytes.Split(noDigest.ReplaceAll(buf.Bytes(), nil), []byte("\n"))
	for i := range a {
		require.Less(t, i, len(b))
		require.Equal(t, string(a[i]), string(b[i]), "restored run diverged from the live run at line %d", i)
	}
}

func TestTimelineStepBackAndForward(t *testing.T) {
	cfg := pingConfig(4)
	s, err := New(cfg, pingFactory())
	require.NoError(t, err)
	tl := NewTimeline(s, 100)
	var views []Stats
	for i := 0; i < 1000; i++ {
		require.True(t, tl.Step())
		views = append(views, s.Stats())
	}
	for _, k := range []int64{999, 500, 1, 0, 731} {
		require.NoError(t, tl.GoTo(k))
		require.Equal(t, k, s.Index())
		if k > 0 {
			assert.Equal(t, views[k-1], s.Stats(), "state at %d differs from the live state", k)
		}
	}
}

// Manual choices are recorded and replay reproduces the run.
func TestManualChoicesReplay(t *testing.T) {
	cfg := pingConfig(2)
	s, err := New(cfg, pingFactory())
	require.NoError(t, err)
	var buf bytes.Buffer
	tw, _ := NewTraceWriter(&buf, nil, s.Config())
	s.AddObserver(tw)
	for i := 0; i < 50; i++ {
		s.Step()
	}
	var msgs []Event
	for _, e := range s.Pending() {
		if e.Kind == KindDeliver {
			msgs = append(msgs, e)
		}
	}
	require.GreaterOrEqual(t, len(msgs), 3)
	last := msgs[len(msgs)-1]
	require.NoError(t, s.Deliver(last.ID), "deliver the latest message first")
	require.NoError(t, s.Drop(msgs[0].ID))
	_, err = s.Duplicate(msgs[1].ID)
	require.NoError(t, err)
	require.NoError(t, s.Inject(Fault{Kind: FaultCrash, Node: 3}))
	s.Run()
	require.NoError(t, tw.Close(s))

	tr, err := ReadTrace(bytes.NewReader(buf.Bytes()), "manual.jsonl")
	require.NoError(t, err)
	require.Len(t, tr.Choices, 4)
	again := traceOf(t, cfg, tr.Choices)
	assert.Equal(t, buf.String(), string(again), "replaying the recorded choices did not reproduce the run")
	assert.NotEqual(t, string(traceOf(t, cfg, nil)), buf.String(), "the choices changed nothing")
}

type bomb struct{}

func (bomb) Start(env *Env)                { env.SetTimer(Millisecond, "boom", 0) }
func (bomb) Receive(*Env, NodeID, Message) {}
func (bomb) Timer(env *Env, t Timer) {
	var m map[string]int
	//lint:ignore SA5000 the panic is the point: a student's bug the simulator must catch and report
	m["x"] = 1 // a student's bug: assignment to a nil map
}

func TestProtocolPanicIsCaught(t *testing.T) {
	s, err := New(Config{Seed: 77, Nodes: 3, Network: constNet()}, Factory{Node: func(NodeID) Process { return bomb{} }})
	require.NoError(t, err)
	assert.Equal(t, StopPanic, s.Run())
	pe, ok := s.Err().(*PanicError)
	require.True(t, ok)
	assert.EqualValues(t, 77, pe.Seed)
	assert.EqualValues(t, 3, pe.Index, "three starts, then the first timer")
	assert.Contains(t, pe.Value, "nil map")
	assert.Contains(t, pe.Stack, "bomb")
	assert.Contains(t, pe.Error(), "seed 77")
}

type failing struct{ after int64 }

func (f failing) Name() string { return "always-after" }
func (f failing) Check(s *Sim, ev *Event) error {
	if s.Index() > f.after {
		return fmt.Errorf("index %d > %d", s.Index(), f.after)
	}
	return nil
}

func TestInvariantStopsOrRecords(t *testing.T) {
	s, _ := New(pingConfig(1), pingFactory())
	s.AddChecker(failing{after: 10})
	assert.Equal(t, StopViolation, s.Run())
	require.Len(t, s.Violations(), 1)
	assert.EqualValues(t, 10, s.Violations()[0].Index)

	cfg := pingConfig(1)
	cfg.KeepGoing = true
	s, _ = New(cfg, pingFactory())
	s.AddChecker(failing{after: 10})
	s.Run()
	assert.Greater(t, len(s.Violations()), 100)
}

type panicking struct{ at int64 }

func (panicking) Name() string { return "panicking" }
func (p panicking) Check(s *Sim, ev *Event) error {
	if s.Index() == p.at {
		var m map[string]int
		//lint:ignore SA5000 the panic is the point: a checker's bug the simulator must report as its violation
		m["x"] = 1
	}
	return nil
}

// One deferred recover covers all the checkers of an event (runCheckers):
// a checker's panic is still its own violation, at its event, and with
// KeepGoing the checkers after it run for that event too.
func TestCheckerPanicIsItsViolation(t *testing.T) {
	cfg := pingConfig(1)
	cfg.KeepGoing = true
	s, _ := New(cfg, pingFactory())
	before, after := &counting{}, &counting{}
	s.AddChecker(before)
	s.AddChecker(panicking{at: 5})
	s.AddChecker(failing{after: 7})
	s.AddChecker(after)
	for i := 0; i < 9; i++ {
		s.Step()
	}
	require.Len(t, s.Violations(), 3, "%+v", s.Violations())
	v := s.Violations()[0]
	assert.Equal(t, "panicking", v.Checker)
	assert.EqualValues(t, 4, v.Index, "the event before the one Index names")
	assert.Contains(t, v.Message, "checker panicked")
	assert.Contains(t, v.Message, "nil map")
	assert.Equal(t, "always-after", s.Violations()[1].Checker)
	assert.EqualValues(t, 7, s.Violations()[1].Index)
	assert.Equal(t, 9, before.n)
	assert.Equal(t, 9, after.n, "the checker after the panicking one ran at every event")

	s, _ = New(pingConfig(1), pingFactory())
	after = &counting{}
	s.AddChecker(panicking{at: 5})
	s.AddChecker(after)
	assert.Equal(t, StopViolation, s.Run())
	require.Len(t, s.Violations(), 1)
	assert.Equal(t, "panicking", s.Violations()[0].Checker)
	assert.Equal(t, 4, after.n, "without KeepGoing the run stops at the panic")
}

func TestCheckEvery(t *testing.T) {
	cfg := pingConfig(1)
	cfg.CheckEvery = 7
	cfg.KeepGoing = true
	s, _ := New(cfg, pingFactory())
	c := &counting{}
	s.AddChecker(c)
	for i := 0; i < 70; i++ {
		s.Step()
	}
	assert.Equal(t, 10, c.n)
}

type counting struct{ n int }

func (c *counting) Name() string             { return "counting" }
func (c *counting) Check(*Sim, *Event) error { c.n++; return nil }

func TestNemesisHealsAndStops(t *testing.T) {
	cfg := pingConfig(3)
	cfg.Duration = 5 * Second
	cfg.Nemesis = &NemesisConfig{CrashEvery: 100 * Millisecond, PartitionEvery: 100 * Millisecond, CutEvery: 100 * Millisecond, PauseEvery: 100 * Millisecond, LossEvery: 100 * Millisecond, Downtime: 300 * Millisecond, HealAt: 2 * Second}
	s, err := New(cfg, pingFactory())
	require.NoError(t, err)
	s.RunUntil(2*Second + Millisecond)
	st := s.Stats()
	assert.Greater(t, st.Crashes, int64(3))
	for _, id := range s.Nodes() {
		assert.True(t, s.Up(id), "%v still down after the heal", id)
		assert.False(t, s.Paused(id))
	}
	assert.False(t, s.Partitioned())
	faults := st.Faults
	s.Run()
	// After the heal only the leftover undo events of earlier faults run.
	assert.LessOrEqual(t, s.Stats().Faults-faults, int64(20))
}

func TestConfigValidation(t *testing.T) {
	base := func() Config { return Config{Nodes: 3, Network: NetworkConfig{Latency: DefaultLatency}} }
	cases := []struct {
		name string
		edit func(*Config)
		want string
	}{
		{"nodes zero", func(c *Config) { c.Nodes = 0 }, "nodes: 0 is outside 1..64"},
		{"nodes big", func(c *Config) { c.Nodes = 65 }, "nodes: 65 is outside 1..64"},
		{"loss", func(c *Config) { c.Network.Loss = 1.5 }, "network.loss: 1.5 is outside [0,1]"},
		{"dist", func(c *Config) { c.Network.Latency.Dist = "gamma" }, `network.latency.dist: "gamma" is not one of`},
		{"fault node", func(c *Config) { c.Faults = []ScheduledFault{{Fault: Fault{Kind: FaultCrash, Node: 4}}} }, "faults[0].node: node n4 does not exist"},
		{"negative duration", func(c *Config) { c.Duration = -1 }, "duration: -1ns is negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := base()
			c.edit(&cfg)
			err := cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	cfg := base()
	require.NoError(t, cfg.Validate())
}

func TestParseFaultRoundTrip(t *testing.T) {
	for _, s := range []string{"crash n3", "restart n1", "pause n2 for 500ms", "pause n2", "resume n2", "isolate n1",
		"partition n1,n2|n3,n4,n5", "cut n1->n2", "uncut n2->n1", "heal", "heal-all", "loss 0.2", "duplicate 0.05", "drift n1 0.1"} {
		f, err := ParseFault(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, f.String())
		require.NoError(t, f.Validate(5), s)
	}
	for _, bad := range []string{"", "explode n1", "crash", "crash x1", "cut n1", "loss lots", "pause n1 500ms", "partition n1,,n2"} {
		_, err := ParseFault(bad)
		assert.Error(t, err, bad)
	}
}

func TestRunUntilCond(t *testing.T) {
	s, _ := New(pingConfig(1), pingFactory())
	ok := s.RunUntilCond(func(s *Sim) bool { return s.Stats().Delivered >= 100 }, 0)
	assert.True(t, ok)
	assert.EqualValues(t, 100, s.Stats().Delivered)
	ok = s.RunUntilCond(func(s *Sim) bool { return false }, 10)
	assert.False(t, ok)
}

func TestNodeIDTextRoundTrip(t *testing.T) {
	for _, id := range []NodeID{0, 1, 64, -1, -7} {
		b, err := id.MarshalText()
		require.NoError(t, err)
		var back NodeID
		require.NoError(t, back.UnmarshalText(b))
		assert.Equal(t, id, back)
	}
}

// Fire prods a process with a named timer now; the choice replays.
func TestFireIsARecordedChoice(t *testing.T) {
	cfg := pingConfig(2)
	s, err := New(cfg, pingFactory())
	require.NoError(t, err)
	var buf bytes.Buffer
	tw, _ := NewTraceWriter(&buf, nil, s.Config())
	s.AddObserver(tw)
	for i := 0; i < 20; i++ {
		s.Step()
	}
	stores := s.Stats().Persists
	require.NoError(t, s.Fire(2, "tick", 0))
	assert.Equal(t, stores+1, s.Stats().Persists, "the ping node's tick persisted")
	assert.Error(t, s.Fire(99, "tick", 0))
	assert.Error(t, s.Fire(1, "", 0))
	s.Run()
	require.NoError(t, tw.Close(s))
	tr, err := ReadTrace(bytes.NewReader(buf.Bytes()), "fire.jsonl")
	require.NoError(t, err)
	require.Len(t, tr.Choices, 1)
	assert.Equal(t, ChoiceTimer, tr.Choices[0].Action)
	assert.Equal(t, buf.String(), string(traceOf(t, cfg, tr.Choices)))
}

// sharing is a CheckerSharer that counts its CheckShared calls; its Check
// must never run while it is a sharer in the list. After turnAt calls it
// returns a plain counting checker as its next copy.
type sharing struct {
	n, turnAt int
	plain     *counting
}

func (*sharing) Name() string { return "sharing" }
func (*sharing) Check(*Sim, *Event) error {
	panic("Check called on a CheckerSharer")
}
func (c *sharing) CheckShared(*Sim, *Event) (Checker, error) {
	c.n++
	if c.n == c.turnAt {
		return c.plain, nil
	}
	return nil, nil
}

// TestSharersAreToldApart: runCheckers calls a CheckerSharer's
// CheckShared and any other checker's Check, past the checkers its
// bitmask tells apart (sharerBits) too, and a sharer that hands back a
// plain checker as its next copy gets Check from then on.
func TestSharersAreToldApart(t *testing.T) {
	s, _ := New(pingConfig(1), pingFactory())
	early := &sharing{turnAt: 4, plain: &counting{}}
	s.AddChecker(early)
	var plain []*counting
	for range sharerBits - 1 {
		c := &counting{}
		plain = append(plain, c)
		s.AddChecker(c)
	}
	late := &sharing{turnAt: 100}
	s.AddChecker(late) // index sharerBits: asked its type each time
	for i := 0; i < 9; i++ {
		require.True(t, s.Step())
	}
	require.Empty(t, s.Violations())
	assert.Equal(t, 4, early.n, "CheckShared until it handed back a plain checker")
	assert.Equal(t, 5, early.plain.n, "the plain copy's Check after that")
	assert.Equal(t, 9, late.n)
	assert.Equal(t, 9, plain[0].n)
	assert.Equal(t, 9, plain[sharerBits-2].n)
}

// TestLinkDist checks that every link's dist, decided once when the
// network is built, names the distribution of the latency the link holds
// (the default, the client latency or a link's override), so that a send
// samples what the configuration says.
func TestLinkDist(t *testing.T) {
	over := Latency{Dist: "exponential", Min: Millisecond, Mean: 2 * Millisecond}
	cfg := NetworkConfig{
		Latency:       Latency{Dist: "uniform", Min: Millisecond, Max: 3 * Millisecond},
		ClientLatency: &Latency{Dist: "constant", Min: Millisecond},
		Links:         []LinkOverride{{From: 1, To: 2, Latency: &over}, {From: 3, Latency: &Latency{Dist: "normal", Min: Millisecond, Mean: 2 * Millisecond, StdDev: Millisecond}}},
	}
	n := newNetwork(cfg, 3, 1, 1)
	for i, l := range n.links {
		if got, want := l.dist, distOf(l.Latency.Dist); got != want {
			t.Errorf("link %d->%d (%s): dist %d, want %d", i/n.procs, i%n.procs, l.Latency.Dist, got, want)
		}
	}
	if got := n.links[0*n.procs+1].dist; got != distExponential {
		t.Errorf("n1->n2 override: dist %d, want exponential %d", got, distExponential)
	}
	if got := n.links[2*n.procs+0].dist; got != distNormal {
		t.Errorf("n3->n1 override: dist %d, want normal %d", got, distNormal)
	}
	if got := n.links[0*n.procs+3].dist; got != distConstant {
		t.Errorf("n1->c1 client latency: dist %d, want constant %d", got, distConstant)
	}
	// The same stream gives the same delays through Sample and through
	// the link's decided dist.
	for _, l := range []Latency{cfg.Latency, over, *cfg.ClientLatency, *cfg.Links[1].Latency} {
		a, b := NewRand(7, "x"), NewRand(7, "x")
		for k := 0; k < 100; k++ {
			if x, y := l.Sample(a), l.sample(distOf(l.Dist), b); x != y {
				t.Fatalf("%s draw %d: Sample %v, sample %v", l.Dist, k, x, y)
			}
		}
	}
}
