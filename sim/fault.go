package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// FaultKind names a fault action.
type FaultKind string

// The fault actions the simulator can apply.
const (
	FaultCrash     FaultKind = "crash"     // Node loses all volatile state and stops
	FaultRestart   FaultKind = "restart"   // Node is rebuilt from its stable storage
	FaultPause     FaultKind = "pause"     // Node's events are held (For > 0: resume after For)
	FaultResume    FaultKind = "resume"    // held events are released
	FaultPartition FaultKind = "partition" // Groups cannot hear each other; unlisted nodes form one more group
	FaultIsolate   FaultKind = "isolate"   // Node alone in a group
	FaultCut       FaultKind = "cut"       // From's messages no longer reach To (one way)
	FaultUncut     FaultKind = "uncut"     // undo one cut
	FaultHeal      FaultKind = "heal"      // all partitions and cuts removed
	FaultHealAll   FaultKind = "heal-all"  // heal, restart crashed nodes, resume paused ones, restore loss and duplication
	FaultLoss      FaultKind = "loss"      // Value becomes every node link's loss probability
	FaultDuplicate FaultKind = "duplicate" // Value becomes every node link's duplication probability
	FaultDrift     FaultKind = "drift"     // Node's clock runs at rate 1+Value from now on
)

var faultKinds = []FaultKind{FaultCrash, FaultRestart, FaultPause, FaultResume, FaultPartition,
	FaultIsolate, FaultCut, FaultUncut, FaultHeal, FaultHealAll, FaultLoss, FaultDuplicate, FaultDrift}

// FaultKinds lists every fault kind, for help texts.
func FaultKinds() []FaultKind { return append([]FaultKind(nil), faultKinds...) }

// Fault is one fault action.
type Fault struct {
	Kind   FaultKind  `json:"kind" yaml:"kind"`
	Node   NodeID     `json:"node,omitempty" yaml:"node"`
	From   NodeID     `json:"from,omitempty" yaml:"from"`
	To     NodeID     `json:"to,omitempty" yaml:"to"`
	Groups [][]NodeID `json:"groups,omitempty" yaml:"groups"`
	For    Time       `json:"for,omitempty" yaml:"for"`
	Value  float64    `json:"value,omitempty" yaml:"value"`
	// Source says who caused the fault: "schedule", "nemesis", "manual".
	Source string `json:"source,omitempty" yaml:"-"`
}

// ScheduledFault is a fault at a point of simulated time.
type ScheduledFault struct {
	At    Time `json:"at" yaml:"at"`
	Fault `yaml:",inline"`
}

// String renders the fault as the scenario syntax spells it:
// "crash n3", "partition n1,n2|n3,n4,n5", "cut n1->n2", "loss 0.2".
func (f *Fault) String() string {
	if f == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(string(f.Kind))
	switch f.Kind {
	case FaultCrash, FaultRestart, FaultResume, FaultIsolate:
		b.WriteString(" " + f.Node.String())
	case FaultPause:
		b.WriteString(" " + f.Node.String())
		if f.For > 0 {
			b.WriteString(" for " + f.For.String())
		}
	case FaultPartition:
		b.WriteByte(' ')
		for i, g := range f.Groups {
			if i > 0 {
				b.WriteByte('|')
			}
			for j, n := range g {
				if j > 0 {
					b.WriteByte(',')
				}
				b.WriteString(n.String())
			}
		}
	case FaultCut, FaultUncut:
		b.WriteString(" " + f.From.String() + "->" + f.To.String())
	case FaultLoss, FaultDuplicate:
		b.WriteString(" " + strconv.FormatFloat(f.Value, 'g', -1, 64))
	case FaultDrift:
		b.WriteString(" " + f.Node.String() + " " + strconv.FormatFloat(f.Value, 'g', -1, 64))
	}
	if f.Source == "nemesis" || f.Source == "manual" {
		b.WriteString(" (" + f.Source + ")")
	}
	return b.String()
}

// Validate checks the fault against a cluster of the given size and names the
// offending field.
func (f *Fault) Validate(nodes int) error {
	needNode := func() error {
		if err := checkNode(f.Node, nodes, false); err != nil {
			return fmt.Errorf("node: %v", err)
		}
		return nil
	}
	switch f.Kind {
	case FaultCrash, FaultRestart, FaultResume, FaultIsolate:
		return needNode()
	case FaultPause:
		return needNode()
	case FaultDrift:
		if err := needNode(); err != nil {
			return err
		}
		if f.Value <= -1 || f.Value > 10 {
			return fmt.Errorf("value: drift %v must be in (-1, 10]", f.Value)
		}
	case FaultPartition:
		if len(f.Groups) == 0 {
			return fmt.Errorf("groups: a partition needs at least one group")
		}
		seen := map[NodeID]bool{}
		for i, g := range f.Groups {
			for _, n := range g {
				if err := checkNode(n, nodes, false); err != nil {
					return fmt.Errorf("groups[%d]: %v", i, err)
				}
				if seen[n] {
					return fmt.Errorf("groups[%d]: %v is in two groups", i, n)
				}
				seen[n] = true
			}
		}
	case FaultCut, FaultUncut:
		if err := checkNode(f.From, nodes, false); err != nil {
			return fmt.Errorf("from: %v", err)
		}
		if err := checkNode(f.To, nodes, false); err != nil {
			return fmt.Errorf("to: %v", err)
		}
		if f.From == f.To {
			return fmt.Errorf("to: a node cannot be cut from itself")
		}
	case FaultLoss, FaultDuplicate:
		return checkProb("value", f.Value)
	case FaultHeal, FaultHealAll:
	case "":
		return fmt.Errorf("kind: missing (want one of %s)", kindList())
	default:
		return fmt.Errorf("kind: %q is not a fault (want one of %s)", f.Kind, kindList())
	}
	return nil
}

func kindList() string {
	s := make([]string, len(faultKinds))
	for i, k := range faultKinds {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// NemesisConfig sets a seeded random fault injector. Each fault kind with a
// nonzero mean interval is an independent Poisson process; each fault is
// undone after a random time with mean Downtime. At HealAt every fault is
// healed and none is injected after, so liveness can be checked.
type NemesisConfig struct {
	CrashEvery     Time    `json:"crash_every,omitempty" yaml:"crash_every"`
	PartitionEvery Time    `json:"partition_every,omitempty" yaml:"partition_every"`
	CutEvery       Time    `json:"cut_every,omitempty" yaml:"cut_every"`
	PauseEvery     Time    `json:"pause_every,omitempty" yaml:"pause_every"`
	LossEvery      Time    `json:"loss_every,omitempty" yaml:"loss_every"`
	LossBurst      float64 `json:"loss_burst,omitempty" yaml:"loss_burst"`
	Downtime       Time    `json:"downtime,omitempty" yaml:"downtime"`
	// MaxCrashed bounds nodes down at once; zero means a minority ((N-1)/2).
	MaxCrashed int `json:"max_crashed,omitempty" yaml:"max_crashed"`
	// DriftMax gives every node a random clock drift in [-DriftMax, DriftMax]
	// at the start of the run.
	DriftMax float64 `json:"drift_max,omitempty" yaml:"drift_max"`
	// HealAt is when the nemesis heals everything and stops; zero means never.
	HealAt Time `json:"heal_at,omitempty" yaml:"heal_at"`
	// Targets, when set, are the only nodes the nemesis crashes, pauses and
	// cuts links from (partitions still split the whole cluster): a swarm
	// configuration that hammers a few nodes. Empty means every node.
	Targets []NodeID `json:"targets,omitempty" yaml:"targets"`
	// Strike, when set, also aims faults at leaders just after they are
	// elected or append (sim/strike.go), on top of the kinds above.
	Strike *StrikeConfig `json:"strike,omitempty" yaml:"strike"`
}

// Validate checks the nemesis settings.
func (n *NemesisConfig) Validate(nodes int) error {
	if err := checkProb("loss_burst", n.LossBurst); err != nil {
		return err
	}
	if n.MaxCrashed < 0 || n.MaxCrashed > nodes {
		return fmt.Errorf("max_crashed: %d is outside 0..%d", n.MaxCrashed, nodes)
	}
	if n.DriftMax < 0 || n.DriftMax >= 1 {
		return fmt.Errorf("drift_max: %v is outside [0,1)", n.DriftMax)
	}
	seen := map[NodeID]bool{}
	for i, id := range n.Targets {
		if err := checkNode(id, nodes, false); err != nil {
			return fmt.Errorf("targets[%d]: %v", i, err)
		}
		if seen[id] {
			return fmt.Errorf("targets[%d]: %v is listed twice", i, id)
		}
		seen[id] = true
	}
	if n.Strike != nil {
		if err := n.Strike.Validate(); err != nil {
			return fmt.Errorf("strike.%v", err)
		}
	}
	return nil
}

// targeted reports whether the nemesis may crash, pause or cut from id.
func (n *NemesisConfig) targeted(id NodeID) bool {
	return len(n.Targets) == 0 || slices.Contains(n.Targets, id)
}

// nemesis kinds, in a fixed order so the schedule is deterministic.
var nemesisKinds = []FaultKind{FaultCrash, FaultPartition, FaultCut, FaultPause, FaultLoss}

func (n *NemesisConfig) every(k FaultKind) Time {
	switch k {
	case FaultCrash:
		return n.CrashEvery
	case FaultPartition:
		return n.PartitionEvery
	case FaultCut:
		return n.CutEvery
	case FaultPause:
		return n.PauseEvery
	case FaultLoss:
		return n.LossEvery
	}
	return 0
}
