package etcdraft

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/protocols/scenario"
)

// etcd's Raft runs under the reference Raft's own scenario files: the same
// faults, nemesis, network and workload, with etcd-raft's default options
// instead of raft's. Whatever a scenario expects of the reference Raft
// (a stale lease read, a stalled minority), etcd-raft must stay safe:
// no invariant violation, no panic, no non-linearizable history.
func TestRaftScenariosUnderEtcdRaft(t *testing.T) {
	files, err := filepath.Glob("../../testdata/scenarios/raft/*.yaml")
	require.NoError(t, err)
	if len(files) == 0 {
		t.Skip("no raft scenarios yet")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			sc, err := scenario.Load(f)
			require.NoError(t, err)
			c := sc.Clone()
			c.Protocol = Name
			c.ResetOptions()
			require.NoError(t, c.Revalidate())
			res, err := scenario.Run(c, scenario.RunOptions{})
			require.NoError(t, err)
			require.Nil(t, res.Panic)
			require.Zero(t, res.Violations, "%v", res.FirstViolation)
			require.NotEqual(t, string(protocols.LinViolation), res.Linearizable)
			t.Logf("%s: %d ops ok, %d unknown, linearizable %s", filepath.Base(f), res.OpsOK, res.OpsUnknown, res.Linearizable)
		})
	}
}
