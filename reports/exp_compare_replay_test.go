package reports

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
)

// raft-vs-paxos builds its scenario in code, so a failing seed's replay
// command cannot be `run --protocol P --seed N` (that rebuilds the default
// scenario, another run, as it used to print): it names the scenario file
// the report writes beside report.md. Each file rebuilds the run the
// experiment made, event for event.
func TestRaftVsPaxosWritesTheScenariosItsReplaysName(t *testing.T) {
	e, err := LookupExperiment("raft-vs-paxos")
	require.NoError(t, err)
	if m := e.Missing(); len(m) > 0 {
		t.Skipf("protocol %v not registered", m)
	}
	rep, err := e.Execute(ExpConfig{Size: SizeTest, Workers: 2})
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, rep.Write(dir))
	for _, p := range []string{"raft", "paxos", "etcd-raft"} {
		file := filepath.Join(dir, "scenario-"+p+".yaml")
		got, err := scenario.Load(file)
		require.NoError(t, err, "the report writes %s", file)
		want, err := mustParse(fmt.Sprintf(chaosScenario, p, "2s", "1500ms"))
		require.NoError(t, err)
		got.Seed, want.Seed = 1, 1
		a, err := scenario.Run(got, scenario.RunOptions{})
		require.NoError(t, err)
		b, err := scenario.Run(want, scenario.RunOptions{})
		require.NoError(t, err)
		assert.Equal(t, b.Events, a.Events, "%s: the file's run is the experiment's", p)
		assert.Equal(t, b.Faults, a.Faults, p)
		assert.Equal(t, b.OpsOK, a.OpsOK, p)
	}
}
