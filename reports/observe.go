// Package reports runs seed sweeps and draws the figures synod reports:
// latency, availability, leader elections, costs, and space-time diagrams.
// Everything here is built from deterministic runs: the same scenario and
// seed give the same figure data on any machine.
package reports

import (
	"strings"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"

	_ "github.com/synod-dev/synod/protocols/all" // every protocol
)

// FaultMark is one fault as it was applied.
type FaultMark struct {
	At    sim.Time
	Index int64
	Fault sim.Fault
}

// LeaderSample is the cluster's leadership at one instant.
type LeaderSample struct {
	At sim.Time
	// Leader is the highest-term node whose role is leader (0: none).
	Leader sim.NodeID
	Term   int64
	// Usable says the leader is up, not paused, and can exchange messages
	// with a majority of the cluster (itself included): it can commit.
	Usable bool
}

// RunData is one run with what the reports need beyond its summary.
type RunData struct {
	Scenario *scenario.Scenario
	Result   *scenario.Result
	Faults   []FaultMark
	Leaders  []LeaderSample
	// HasLeaders says some node ever took the leader role, so leader
	// availability means something for this protocol.
	HasLeaders bool
	// SampleEvery is the spacing of the leader samples.
	SampleEvery sim.Time
}

type faultRecorder struct{ marks *[]FaultMark }

func (f faultRecorder) ObserveFault(s *sim.Sim, idx int64, ft *sim.Fault) {
	*f.marks = append(*f.marks, FaultMark{At: s.Now(), Index: idx, Fault: *ft})
}

// Observe runs a scenario to its end, sampling who leads every sampleEvery
// of simulated time (zero: every 10ms). Sampling reads the nodes' views
// between events and does not change the run: its events are the same as
// those of scenario.Run.
func Observe(sc *scenario.Scenario, sampleEvery sim.Time) (*RunData, error) {
	if sampleEvery <= 0 {
		sampleEvery = 10 * sim.Millisecond
	}
	inst, err := scenario.Build(sc)
	if err != nil {
		return nil, err
	}
	d := &RunData{Scenario: sc, SampleEvery: sampleEvery}
	inst.Sim.AddFaultObserver(faultRecorder{&d.Faults})
	for t := sim.Time(0); ; t += sampleEvery {
		ok := inst.Sim.RunUntil(t)
		ls := SampleLeader(inst.Sim)
		ls.At = t
		if ls.Leader != 0 {
			d.HasLeaders = true
		}
		d.Leaders = append(d.Leaders, ls)
		if !ok {
			break
		}
	}
	d.Result = inst.Summarize()
	return d, nil
}

// IsLeaderRole says whether a view's role names a leader ("leader",
// "primary", or a composite such as "leader+acceptor+learner").
func IsLeaderRole(role string) bool {
	for part := range strings.SplitSeq(role, "+") {
		if part == "leader" || part == "primary" {
			return true
		}
	}
	return false
}

// SampleLeader reads every node's view and reports the highest-term leader
// and whether it is usable. At is left zero.
func SampleLeader(s *sim.Sim) LeaderSample {
	var best LeaderSample
	for _, id := range s.Nodes() {
		if !s.Up(id) {
			continue
		}
		v, ok := s.Inspect(id)
		if !ok || !IsLeaderRole(v.Role) {
			continue
		}
		usable := usableLeader(s, id)
		// Prefer a usable leader, then the highest term.
		if best.Leader == 0 || (usable && !best.Usable) || (usable == best.Usable && v.Term > best.Term) {
			best = LeaderSample{Leader: id, Term: v.Term, Usable: usable}
		}
	}
	return best
}

func usableLeader(s *sim.Sim, l sim.NodeID) bool {
	if !s.Up(l) || s.Paused(l) {
		return false
	}
	nodes := s.Nodes()
	reach := 0
	for _, id := range nodes {
		if id == l || (s.Up(id) && !s.Paused(id) && !s.Blocked(l, id) && !s.Blocked(id, l)) {
			reach++
		}
	}
	return reach >= len(nodes)/2+1
}
