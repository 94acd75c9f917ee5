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
	for _, name := range []string{"2pc", "2pc-cooperative", "paxos-commit", "paxos-commit-cooperative"} {
		t.Run(name, func(t *testing.T) {
			file := "testdata/scenarios/twopc/property-" + name + ".yaml"
			base, err := scenario.Load(filepath.Join("../..", file))
			if err != nil {
				t.Fatal(err)
			}
			for seed := uint64(1); seed <= uint64(seeds()); seed++ {
				if why := propertyRun(base, seed); why != "" {
					t.Fatalf("seed %d: %s\nreplay: go run ./cmd/synod run --scenario %s --seed %d\nwatch:  go run ./cmd/synod tui --scenario %s --seed %d",
						seed, why, file, seed, file, seed)
				}
			}
		})
	}
}

// propertyRun runs one seed and says what went wrong, or "".
func propertyRun(base *scenario.Scenario, seed uint64) string {
	sc := base.Clone()
	sc.Seed = seed
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

// TestPropertyCanFail: the property run does find a broken protocol
// (participants that abort while uncertain) within a few seeds.
func TestPropertyCanFail(t *testing.T) {
	base, err := scenario.Load(filepath.Join(scenarioDir, "property-2pc.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	o := base.ProtocolOptions().(*Options)
	o.UnsafeAbortUncertain = true
	raw, _ := json.Marshal(o)
	base.RawOpts = raw
	if err := base.Revalidate(); err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= 20; seed++ {
		if why := propertyRun(base, seed); why != "" {
			t.Logf("seed %d: %s", seed, why)
			return
		}
	}
	t.Fatal("20 seeds of a broken protocol found nothing")
}

// TestPaxosRecoveryIsLive: with a query timeout far below a round trip,
// acceptors keep taking transactions over from each other; the exponential
// backoff of recovery attempts must still let one of them finish (without
// it, the property scenario stayed blocked after the heal).
func TestPaxosRecoveryIsLive(t *testing.T) {
	base, err := scenario.Load(filepath.Join(scenarioDir, "property-paxos-commit.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	o := base.ProtocolOptions().(*Options)
	o.VoteTimeout, o.QueryTimeout, o.ResendInterval, o.RecoveryStagger = 4*sim.Millisecond, 3*sim.Millisecond, 5*sim.Millisecond, sim.Millisecond
	raw, _ := json.Marshal(o)
	base.RawOpts = raw
	if err := base.Revalidate(); err != nil {
		t.Fatal(err)
	}
	for seed := uint64(1); seed <= uint64(seeds())/5+1; seed++ {
		if why := propertyRun(base, seed); why != "" {
			t.Fatalf("seed %d: %s", seed, why)
		}
	}
}
