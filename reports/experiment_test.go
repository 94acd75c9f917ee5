package reports

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestExperimentsRunInTestMode runs every experiment at its smallest size
// and checks its figures are valid images with their data.
func TestExperimentsRunInTestMode(t *testing.T) {
	require.NotEmpty(t, Experiments())
	for _, e := range Experiments() {
		t.Run(e.Name, func(t *testing.T) {
			if m := e.Missing(); len(m) > 0 {
				t.Skipf("protocol %v not registered", m)
			}
			rep, err := e.Execute(ExpConfig{Size: SizeTest, Workers: 2})
			require.NoError(t, err)
			require.NotEmpty(t, rep.Figures)
			dir := t.TempDir()
			require.NoError(t, rep.Write(dir))
			for _, f := range rep.Figures {
				checkImages(t, dir, f.Name)
				require.FileExists(t, filepath.Join(dir, f.Name+".csv"))
			}
			md, err := os.ReadFile(filepath.Join(dir, "report.md"))
			require.NoError(t, err)
			require.Contains(t, string(md), "Reproduce")
		})
	}
}

func TestExperimentMissingProtocol(t *testing.T) {
	e := &Experiment{Name: "x", Protocols: []string{"no-such-protocol"}, Run: func(ExpConfig) (*Report, error) { return &Report{}, nil }}
	_, err := e.Execute(ExpConfig{})
	require.ErrorContains(t, err, "protocol no-such-protocol not available")
	_, err = LookupExperiment("nope")
	require.Error(t, err)
}
