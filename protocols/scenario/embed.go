package scenario

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultName is how error messages name the embedded default scenario.
const DefaultName = "(embedded default scenario)"

// DefaultYAML returns the text of the embedded default scenario.
func DefaultYAML() []byte { return defaultYAML }

// LoadDefault parses the embedded default scenario.
func LoadDefault() (*Scenario, error) { return Parse(defaultYAML, DefaultName) }

// ForProtocol is the scenario `synod run --protocol NAME` starts from: the
// protocol's own default scenario (Spec.Scenario), or else the embedded
// default scenario with its network, nemesis and workload kept and the
// protocol (and its options) replaced. The workload's mix becomes the
// protocol's (Spec.Mix), since the default scenario names none.
func ForProtocol(name string) (*Scenario, error) {
	spec, err := protocols.Lookup(name)
	if err != nil {
		return nil, &Error{File: "--protocol", Field: "protocol", Msg: err.Error()}
	}
	if spec.Scenario != nil {
		file := "(default scenario of protocol " + name + ")"
		sc, err := Parse(spec.Scenario, file)
		if err != nil {
			return nil, fmt.Errorf("protocol %s: Spec.Scenario: %w", name, err)
		}
		if sc.Protocol != name {
			return nil, &Error{File: file, Line: lineOf(sc.root, "protocol"), Field: "protocol",
				Msg: fmt.Sprintf("protocol %s's Spec.Scenario runs protocol %s: it must name its own", name, sc.Protocol)}
		}
		return sc, nil
	}
	sc, err := LoadDefault()
	if err != nil {
		return nil, err
	}
	if sc.Protocol != name {
		sc.Protocol = name
		sc.ResetOptions()
		if err := sc.Revalidate(); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// Describe says which scenario a run comes from, for the first lines of
// a summary.
func (sc *Scenario) Describe() string {
	if sc.File == DefaultName && sc.Protocol != defaultProtocol {
		return DefaultName + ", protocol " + sc.Protocol
	}
	return sc.File
}

// defaultProtocol is the protocol the embedded default scenario names.
const defaultProtocol = "raft"

// FaultsSummary says whether the run has faults and which: "off (...)"
// or "on: ..." naming the nemesis's kinds and heal time, the scheduled
// faults, the network's loss and duplication, and nodes down at start.
func (sc *Scenario) FaultsSummary() string {
	var on []string
	if n := sc.Nemesis; n != nil {
		var kinds []string
		for _, k := range []struct {
			name  string
			every sim.Time
		}{{"crash", n.CrashEvery}, {"partition", n.PartitionEvery}, {"cut", n.CutEvery}, {"pause", n.PauseEvery}, {"loss burst", n.LossEvery}} {
			if k.every > 0 {
				kinds = append(kinds, k.name)
			}
		}
		if n.DriftMax > 0 {
			kinds = append(kinds, "clock drift")
		}
		if len(kinds) > 0 {
			s := "nemesis (" + strings.Join(kinds, ", ") + ")"
			if n.HealAt > 0 {
				s += " until " + n.HealAt.String()
			}
			on = append(on, s)
		}
	}
	if len(sc.Faults) > 0 {
		on = append(on, fmt.Sprintf("%d scheduled fault(s)", len(sc.Faults)))
	}
	if sc.Network.Loss > 0 {
		on = append(on, fmt.Sprintf("loss %v", sc.Network.Loss))
	}
	if sc.Network.Duplicate > 0 {
		on = append(on, fmt.Sprintf("duplicate %v", sc.Network.Duplicate))
	}
	if len(sc.Network.Links) > 0 {
		on = append(on, fmt.Sprintf("%d link override(s)", len(sc.Network.Links)))
	}
	if len(sc.Down) > 0 {
		on = append(on, fmt.Sprintf("%d node(s) down at start", len(sc.Down)))
	}
	if len(on) == 0 {
		return "off (no nemesis, scheduled faults, loss or duplication)"
	}
	return "on: " + strings.Join(on, "; ")
}
