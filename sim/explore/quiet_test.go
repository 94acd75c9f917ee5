package explore

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/sim"
)

// flip is a protocol for quiet steps: node 1 flips a bit each time its
// timer fires and tells node 2 the new value; node 2 does nothing. Node
// 1's state is its bit alone, so its flip from 0 to 1 is one cached step
// however often it is taken; the messages in flight (a multiset) tell the
// states apart.
type flip struct{ b bool }

type flipMsg struct{ B bool }

func (*flipMsg) MessageType() string { return "test.Flip" }

func init() { sim.Messages.Register(&flipMsg{}) }

func (f *flip) Start(env *sim.Env) {
	if env.ID() == 1 {
		env.SetTimer(sim.Millisecond, "flip", 0)
	}
}

func (f *flip) Receive(env *sim.Env, from sim.NodeID, msg sim.Message) {}

func (f *flip) Timer(env *sim.Env, t sim.Timer) {
	f.b = !f.b
	env.Send(2, &flipMsg{B: f.b})
	env.SetTimer(sim.Millisecond, "flip", 0)
}

func (f *flip) AppendState(b []byte) []byte {
	if f.b {
		return append(b, 1)
	}
	return append(b, 0)
}

func (f *flip) Inspect() sim.View { return sim.View{Role: "flipper"} }

// thirdRaise is a local checker with a memory: it counts node 1's flips
// (up to 2) and fails when node 1's bit is raised after two flips, that
// is on the third. The step that raises the bit is quiet under a checker
// that counted none, and a violation under one that counted two.
type thirdRaise struct{ flips, limit int }

func (*thirdRaise) Name() string { return "test.ThirdRaise" }

func (c *thirdRaise) Check(s *sim.Sim, ev *sim.Event) error {
	next, err := c.CheckShared(s, ev)
	if next != nil {
		*c = *next.(*thirdRaise)
	}
	return err
}

func (c *thirdRaise) CheckShared(s *sim.Sim, ev *sim.Event) (sim.Checker, error) {
	if ev.To != 1 || ev.Kind != sim.KindTimer {
		return nil, nil
	}
	if s.Process(1).(*flip).b && c.flips >= c.limit {
		return nil, errors.New("the bit is raised a second time")
	}
	return &thirdRaise{flips: min(c.flips+1, 2), limit: c.limit}, nil
}

func (c *thirdRaise) AppendCheckerState(b []byte) []byte {
	return append(b, byte(c.flips), byte(c.limit))
}

// flipSim checks thirdRaise with the given limit (2: the third raise
// fails; more: none does, the checker counting up to 2).
func flipSim(t *testing.T, local bool, limit int) *sim.Sim {
	s, err := sim.New(sim.Config{Seed: 1, Nodes: 2, Network: sim.NetworkConfig{Latency: sim.DefaultLatency}},
		sim.Factory{Node: func(sim.NodeID) sim.Process { return &flip{} }})
	require.NoError(t, err)
	if local {
		s.AddChecker(&thirdRaise{limit: limit})
	} else {
		s.AddChecker(&notLocal{thirdRaise{limit: limit}})
	}
	return s
}

// notLocal is thirdRaise without the claim to be local.
type notLocal struct{ thirdRaise }

func (c *notLocal) CheckShared(s *sim.Sim, ev *sim.Event) (sim.Checker, error) {
	next, err := c.thirdRaise.CheckShared(s, ev)
	if next != nil {
		return &notLocal{*next.(*thirdRaise)}, err
	}
	return nil, err
}

func (c *notLocal) AppendCheckerState() {} // not sim.CheckerLocal's

// TestQuietStepsByWhatCheckersRemember: the violation at the depth bound
// is reached by a step that was quiet under a checker remembering less;
// it is found, as with quiet steps off, without the step cache, and with
// a checker that does not claim to be local.
func TestQuietStepsByWhatCheckersRemember(t *testing.T) {
	opts := Options{DepthMax: 3, Network: NetworkMultiset, NoDuplicates: true}
	var rs []*Result
	for _, c := range []struct {
		local, quiet, cache bool
	}{{true, true, true}, {true, false, true}, {true, true, false}, {false, true, true}} {
		defer SetQuietSteps(c.quiet)()
		o := opts
		o.NoStepCache = !c.cache
		r, err := Run(flipSim(t, c.local, 2), o)
		require.NoError(t, err)
		require.Equal(t, FoundViolation, r.Found, "%+v", c)
		require.Equal(t, 3, r.Depth)
		require.Zero(t, r.StepMismatches)
		r.Elapsed, r.Violation.Checker = 0, ""
		rs = append(rs, r)
	}
	require.Equal(t, rs[0], rs[1])
	require.Equal(t, rs[0].Choices, rs[2].Choices)
	require.Equal(t, rs[0], rs[3])
}

// TestQuietStatesSameSearch: a search longer than the checker's memory
// (it stops remembering at two flips) checks most states at the bound by
// quiet steps, and finds what a search that makes them finds.
func TestQuietStatesSameSearch(t *testing.T) {
	for _, workers := range []int{1, 3} {
		var rs []*Result
		for _, on := range []bool{true, false} {
			defer SetQuietSteps(on)()
			r, err := Run(flipSim(t, true, 3), Options{DepthMax: 8, Network: NetworkMultiset, NoDuplicates: true, Workers: workers, Spawn: goSpawn})
			require.NoError(t, err)
			r.Elapsed = 0
			rs = append(rs, r)
		}
		require.Positive(t, rs[0].QuietStates, "workers %d", workers)
		require.Zero(t, rs[1].QuietStates)
		// A quiet state is reached, not built: the same states in all.
		rs[0].States += rs[0].QuietStates
		rs[0].QuietStates = 0
		require.Equal(t, rs[1], rs[0], "workers %d", workers)
	}
}

// TestRecordStepFingerprint: the fingerprint recordStep makes of the
// parts it lists is the child's, on both networks.
func TestRecordStepFingerprint(t *testing.T) {
	for _, sets := range []bool{false, true} {
		s := flipSim(t, true, 3)
		Prepare(s)
		s.SetFingerprintSets(sets)
		var w scratch
		var ch chunk
		o := Options{Network: NetworkMultiset}
		if sets {
			o.Network = NetworkSet
		}
		listed := 0
		for range 6 {
			w.bs = branches(s, &o, w.bs, &w)
			w.parts.load(s, &w)
			var next *sim.Sim
			for bi := range w.bs {
				b := &w.bs[bi]
				k, j, ok := localEvent(s, b, &w)
				c := w.fork(s)
				require.NoError(t, b.take(c))
				if ok {
					if h := w.parts.recordStep(s, c, 1, k, j, &ch, &w); h != 0 {
						want, _ := c.Fingerprint(nil)
						require.Equal(t, want, h, "sets %v, branch %d", sets, bi)
						listed++
					}
				}
				if b.action != sim.ChoiceDrop {
					next = c
				}
			}
			require.NotNil(t, next)
			s = next
		}
		require.Greater(t, listed, 6)
	}
}
