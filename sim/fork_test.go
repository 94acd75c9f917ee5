package sim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// sameRun compares two runs as far as the outside can see.
func sameRun(t *testing.T, a, b *Sim, at string) {
	t.Helper()
	fa, _ := a.Fingerprint(nil)
	fb, _ := b.Fingerprint(nil)
	require.Equal(t, fb, fa, "fingerprints differ %s", at)
	require.Equal(t, b.Index(), a.Index(), at)
	require.Equal(t, b.Now(), a.Now(), at)
	require.Equal(t, b.Stats(), a.Stats(), at)
	require.Equal(t, b.Pending(), a.Pending(), at)
	for _, id := range a.Nodes() {
		va, _ := a.Inspect(id)
		vb, _ := b.Inspect(id)
		require.Equal(t, vb, va, "%v %s", id, at)
		sa, sb := a.Storage(id), b.Storage(id)
		require.Equal(t, sb.Keys(""), sa.Keys(""), "%v storage %s", id, at)
		for _, k := range sa.Keys("") {
			va, _ := sa.Get(k)
			vb, _ := sb.Get(k)
			require.Equal(t, vb, va, "%v storage key %s %s", id, k, at)
		}
	}
}

// TestForkIsIndependent: a fork and its original, stepped in turns with
// faults between, each match a deep copy (Clone) stepped alike: copy on
// write leaks nothing either way.
func TestForkIsIndependent(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		s, err := New(pingConfig(seed), pingFactory())
		require.NoError(t, err)
		for range 200 {
			s.Step()
		}
		ref := s.Clone()
		f := s.Fork()
		fref := s.Clone()
		require.NoError(t, f.Inject(Fault{Kind: FaultCrash, Node: 2}))
		require.NoError(t, fref.Inject(Fault{Kind: FaultCrash, Node: 2}))
		for i := range 400 {
			s.Step()
			ref.Step()
			f.Step()
			fref.Step()
			if i == 100 {
				require.NoError(t, s.Inject(Fault{Kind: FaultPartition, Groups: [][]NodeID{{1, 2}, {3, 4, 5}}}))
				require.NoError(t, ref.Inject(Fault{Kind: FaultPartition, Groups: [][]NodeID{{1, 2}, {3, 4, 5}}}))
				require.NoError(t, f.Inject(Fault{Kind: FaultRestart, Node: 2}))
				require.NoError(t, fref.Inject(Fault{Kind: FaultRestart, Node: 2}))
			}
			if i%50 == 0 {
				// A fork of a fork, stepped a little, must not disturb either.
				g := f.Fork()
				for range 20 {
					g.Step()
				}
			}
		}
		sameRun(t, s, ref, "original")
		sameRun(t, f, fref, "fork")
	}
}

// TestFingerprintIgnoresOrderAndTime: the same processes with the same
// messages in flight are one state, however they got there; a copy of a
// message in flight counts once when pending messages are a set.
func TestFingerprintSets(t *testing.T) {
	s, err := New(pingConfig(3), pingFactory())
	require.NoError(t, err)
	for range 50 {
		s.Step()
	}
	var msg EventID
	for _, ev := range s.Pending() {
		if ev.Kind == KindDeliver {
			msg = ev.ID
			break
		}
	}
	require.NotZero(t, msg)
	before, _ := s.Fingerprint(nil)
	pred, ok, _ := s.FingerprintAfter(msg, true, nil)
	require.True(t, ok)
	d := s.Fork()
	_, err = d.Duplicate(msg)
	require.NoError(t, err)
	after, _ := d.Fingerprint(nil)
	require.Equal(t, pred, after, "predicted fingerprint of a duplication")
	require.NotEqual(t, before, after)

	s.SetFingerprintSets(true)
	d.SetFingerprintSets(true)
	b2, _ := s.Fingerprint(nil)
	a2, _ := d.Fingerprint(nil)
	require.Equal(t, b2, a2, "a copy of a message in flight is the same state in a set")
}

// TestCombineFingerprint: a fingerprint put together from its parts is the
// run's fingerprint, with pending messages as a multiset or a set, and a
// part changed by hand gives the fingerprint of a run where it changed.
func TestCombineFingerprint(t *testing.T) {
	s, err := New(pingConfig(3), pingFactory())
	require.NoError(t, err)
	for i := range 80 {
		s.Step()
		if i%7 != 0 {
			continue
		}
		for _, sets := range []bool{false, true} {
			s.SetFingerprintSets(sets)
			want, _ := s.Fingerprint(nil)
			procs := s.AppendProcessFingerprints(nil)
			pend := s.AppendPendingFPs(nil)
			require.Len(t, procs, len(s.Nodes())+s.Config().Clients)
			require.Equal(t, want, s.CombineFingerprint(procs, pend), "step %d sets %v", i, sets)
			evs, fps := s.AppendPendingFingerprints(nil, nil)
			require.Len(t, evs, len(fps))
			require.ElementsMatch(t, pend, fps)
			require.Equal(t, s.Pending(), evs)
			refs, rfps := s.AppendPendingRefs(nil, nil)
			require.Equal(t, fps, rfps)
			require.Len(t, refs, len(evs))
			for i := range refs {
				require.Equal(t, evs[i], *refs[i])
			}
		}
	}
	require.Equal(t, 1, s.ProcessIndex(2))
	require.Equal(t, -1, s.ProcessIndex(9))
}

// countChecker counts the events it has checked.
type countChecker struct{ n int }

func (*countChecker) Name() string               { return "test.Count" }
func (c *countChecker) Check(*Sim, *Event) error { c.n++; return nil }
func (c *countChecker) CloneChecker() Checker    { cp := *c; return &cp }
func checked(s *Sim) int                         { return s.st.checkers[0].(*countChecker).n }

// TestForkIntoReusesOnlyItsOwnMemory: a fork's memory, reused by ForkInto
// for another run, is not memory that a fork of the first still uses (its
// checkers, in particular, which a fork copies only when it checks).
func TestForkIntoReusesOnlyItsOwnMemory(t *testing.T) {
	cfg := pingConfig(7)
	cfg.Nodes = 3
	s, err := New(cfg, pingFactory())
	require.NoError(t, err)
	s.AddChecker(&countChecker{})
	for range 10 {
		s.Step()
	}
	p := s.Fork()
	p.Step()
	c := p.Fork() // shares p's checkers until it checks
	want := checked(c)
	require.Equal(t, checked(s)+1, want)
	m := s.ForkInto(p) // p is done with: its memory makes m
	for range 5 {
		m.Step()
	}
	require.Equal(t, checked(s)+5, checked(m))
	require.Equal(t, want, checked(c), "a fork's checkers changed when its parent's memory was reused")
	c.Step()
	require.Equal(t, want+1, checked(c))
	require.Equal(t, checked(s)+5, checked(m))
}

// seenEvents is a CheckerSharer: it remembers how many events it saw,
// in a copy it returns, and whether it saw them all.
type seenEvents struct {
	n      int64
	missed bool
}

func (*seenEvents) Name() string                    { return "test.SeenEvents" }
func (c *seenEvents) Check(s *Sim, ev *Event) error { panic("a sharer is checked by CheckShared") }
func (c *seenEvents) CheckShared(s *Sim, ev *Event) (Checker, error) {
	return &seenEvents{n: c.n + 1, missed: c.missed || s.LastCheckIndex() != s.Index()-1}, nil
}

// TestCheckerSharer: a sharing checker is not copied by a fork; what a
// fork's check returns replaces it in that fork only; LastCheckIndex
// tells it whether it saw the event before.
func TestCheckerSharer(t *testing.T) {
	s, err := New(pingConfig(3), pingFactory())
	require.NoError(t, err)
	s.AddChecker(&seenEvents{})
	for range 20 {
		s.Step()
	}
	at := func(s *Sim) *seenEvents { return s.Checkers()[0].(*seenEvents) }
	require.Equal(t, int64(20), at(s).n)
	require.False(t, at(s).missed)

	f := s.Fork()
	require.Same(t, at(s), at(f))
	f.Step()
	f.Step()
	require.Equal(t, int64(22), at(f).n)
	require.Equal(t, int64(20), at(s).n, "the run forked from is untouched")

	// Checks held back and run once: the checker sees that it missed one.
	g := s.Fork()
	g.DeferChecks(true)
	g.Step()
	g.Step()
	g.RunDeferredChecks()
	require.Equal(t, int64(21), at(g).n)
	require.True(t, at(g).missed)
}

// recycledPing is ping that copies itself into spare memory
// (ProcessRecycler).
type recycledPing struct{ ping }

func (p *recycledPing) CloneProcess() Process { return p.CloneProcessInto(nil) }

func (p *recycledPing) CloneProcessInto(spare Process) Process {
	c, ok := spare.(*recycledPing)
	if !ok || c == p {
		c = new(recycledPing)
	}
	*c = *p
	return c
}

// TestForkIntoRecyclesProcesses: a fork made into a discarded fork reuses
// the processes the discarded one had copied for itself, and runs as a
// fresh fork does; copies the discarded fork shared with a fork of its own
// are not reused.
func TestForkIntoRecyclesProcesses(t *testing.T) {
	cfg := pingConfig(3)
	cfg.Nodes = 3 // a small run: its forks are made in blocks
	s, err := New(cfg, Factory{Node: func(NodeID) Process { return &recycledPing{} }})
	require.NoError(t, err)
	for range 40 {
		s.Step()
	}
	copied := func(f *Sim) map[NodeID]Process {
		m := map[NodeID]Process{}
		for _, id := range s.Nodes() {
			if f.Process(id) != s.Process(id) {
				m[id] = f.Process(id)
			}
		}
		return m
	}
	const steps = 12
	fresh := s.Fork()
	for range steps {
		fresh.Step()
	}
	want, _ := fresh.Fingerprint(nil)

	a := s.Fork()
	for range steps {
		a.Step()
	}
	mine := copied(a)
	require.NotEmpty(t, mine)
	b := s.ForkInto(a) // a is done with
	for range steps {
		b.Step()
	}
	for id, p := range copied(b) {
		require.Same(t, mine[id], p, "node %v's copy reuses a's", id)
	}
	got, _ := b.Fingerprint(nil)
	require.Equal(t, want, got)

	// A copy shared with a fork is not reused.
	c := s.Fork()
	for range steps {
		c.Step()
	}
	shared := copied(c)
	child := c.Fork()
	before, _ := child.Fingerprint(nil)
	d := s.ForkInto(c)
	for range steps {
		d.Step()
	}
	for id, p := range copied(d) {
		require.NotSame(t, shared[id], p, "node %v's copy is c's child's too", id)
	}
	after, _ := child.Fingerprint(nil)
	require.Equal(t, before, after, "the child is untouched")
	got, _ = d.Fingerprint(nil)
	require.Equal(t, want, got)
}
