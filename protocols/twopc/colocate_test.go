package twopc

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/synod-dev/synod/protocols/scenario"
)

// The layouts of Gray and Lamport's cost table (§3.2, §4.3): a co-located
// coordinator, Paxos Commit's normal-case pattern (votes to F+1 acceptors,
// one write per acceptor) and Faster Paxos Commit keep every invariant
// under the same chaos as the default layout, and nothing stays blocked
// after the heal. Seeds: -twopc.seeds N.
func TestPropertyPaperLayouts(t *testing.T) {
	for _, name := range []string{"2pc-colocated", "paxos-commit-colocated", "paxos-commit-faster"} {
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

// The paper-layout scenarios catch the mistakes they exist for: a
// co-located participant that forgets its prepared state, or a Faster
// Paxos Commit participant that commits on its own timer, breaks an
// invariant within a few seeds.
func TestPropertyPaperLayoutsCatchBugs(t *testing.T) {
	for _, c := range []struct{ name, bug string }{
		{"2pc-colocated", BugForgetPrepared},
		{"paxos-commit-colocated", BugForgetPrepared},
		{"paxos-commit-faster", BugCommitUncertain},
	} {
		t.Run(c.name+"/"+c.bug, func(t *testing.T) {
			base, err := scenario.Load(filepath.Join(scenarioDir, "property-"+c.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			o := base.ProtocolOptions().(*Options)
			o.Bug = c.bug
			raw, _ := json.Marshal(o)
			base.RawOpts = raw
			if err := base.Revalidate(); err != nil {
				t.Fatal(err)
			}
			for seed := uint64(1); seed <= 30; seed++ {
				if why := propertyRun(base, seed); why != "" {
					t.Logf("seed %d: %s", seed, why)
					return
				}
			}
			t.Fatalf("30 seeds of %s with bug %s found nothing", c.name, c.bug)
		})
	}
}
