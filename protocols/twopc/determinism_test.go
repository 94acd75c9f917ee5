package twopc

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

func traceBytes(t *testing.T, file string, seed uint64) []byte {
	sc, err := scenario.Load(scenarioDir + "/" + file)
	require.NoError(t, err)
	sc.Seed = seed
	var buf bytes.Buffer
	_, err = scenario.Run(sc, scenario.RunOptions{Trace: &buf})
	require.NoError(t, err)
	return buf.Bytes()
}

// TestTracesAreDeterministic: the same scenario and seed give the same
// trace, byte for byte (no map order or other chance leaks in).
func TestTracesAreDeterministic(t *testing.T) {
	for _, f := range []string{"property-2pc-cooperative.yaml", "property-paxos-commit.yaml"} {
		t.Run(f, func(t *testing.T) {
			a, b := traceBytes(t, f, 3), traceBytes(t, f, 3)
			require.Greater(t, len(a), 10000)
			require.True(t, bytes.Equal(a, b), "traces differ")
		})
	}
}

// TestCheckpointRestore: a run restored from a checkpoint taken midway
// ends exactly as the run that was never interrupted.
func TestCheckpointRestore(t *testing.T) {
	sc, err := scenario.Load(scenarioDir + "/property-paxos-commit.yaml")
	require.NoError(t, err)
	in, err := scenario.Build(sc)
	require.NoError(t, err)
	s := in.Sim
	require.True(t, s.RunUntil(1500*sim.Millisecond))
	cp := s.Checkpoint()
	s.Run()
	want, wantB := s.Stats(), Blocking(s)
	s.Restore(cp)
	s.Run()
	require.Equal(t, want, s.Stats())
	require.Equal(t, wantB, Blocking(s))
	require.Empty(t, s.Violations())
}
