package twopc

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// TestPropertyAtomicity runs both protocols' property scenarios over
// random seeds (crashes, partitions, cuts, pauses, message loss, a few
// vote-no draws) and requires zero violations of every invariant. After
// the nemesis heals everything, every participant must reach an outcome:
// nothing stays blocked once the failures are repaired. Seeds: -twopc.seeds N.
func TestPropertyAtomicity(t *testing.T) {
	for _, proto := range []string{"2pc", "paxos-commit"} {
		for _, coop := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/cooperative=%v", proto, coop), func(t *testing.T) {
				file := filepath.Join(scenarioDir, "property-"+proto+".yaml")
				base, err := scenario.Load(file)
				if err != nil {
					t.Fatal(err)
				}
				for seed := uint64(1); seed <= uint64(seeds()); seed++ {
					if why := propertyRun(base, seed, coop); why != "" {
						cmd := fmt.Sprintf("go run ./cmd/synod run --scenario testdata/scenarios/twopc/property-%s.yaml --seed %d", proto, seed)
						if coop {
							cmd += " (with options.cooperative: true)"
						}
						t.Fatalf("seed %d: %s\nreplay: %s\nwatch:  %s", seed, why,
							cmd, "go run ./cmd/synod tui --scenario testdata/scenarios/twopc/property-"+proto+".yaml --seed "+fmt.Sprint(seed))
					}
				}
			})
		}
	}
}

// propertyRun runs one seed and says what went wrong, or "".
func propertyRun(base *scenario.Scenario, seed uint64, coop bool) string {
	sc := base.Clone()
	sc.Seed = seed
	o := sc.ProtocolOptions().(*Options)
	o.Cooperative = coop
	raw, _ := json.Marshal(o)
	sc.RawOpts = raw
	if err := sc.Revalidate(); err != nil {
		return err.Error()
	}
	in, err := scenario.Build(sc)
	if err != nil {
		return err.Error()
	}
	s := in.Sim
	s.Run()
	if err := s.Err(); err != nil {
		return err.Error()
	}
	if v := s.Violations(); len(v) > 0 {
		return v[0].String()
	}
	if b := Blocking(s); b.Open > 0 {
		return fmt.Sprintf("blocked after the heal: %v", b)
	}
	ok := 0
	for _, r := range in.History() {
		if r.Status == protocols.OpOK {
			ok++
		}
	}
	if ok == 0 {
		return "nothing committed"
	}
	return ""
}

func ms(n int64) sim.Time { return sim.Time(n) * sim.Millisecond }
