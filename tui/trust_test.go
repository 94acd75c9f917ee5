package tui

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// TestOpenChecksTheTrace: Open refuses a trace edited after it was
// written, and opens an unsigned one (an older synod) with a warning that
// the model shows first.
func TestOpenChecksTheTrace(t *testing.T) {
	sc := testScenario(t, "raft", 3, 1)
	sc.Duration = 200 * sim.Millisecond
	var buf bytes.Buffer
	_, err := scenario.Run(sc, scenario.RunOptions{Trace: &buf})
	require.NoError(t, err)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, b, 0o644))
		return p
	}

	s, _, err := Open(write("good.jsonl", buf.Bytes()))
	require.NoError(t, err)
	assert.Empty(t, s.Warning, "a signed, untouched trace opens without a warning")

	tampered := bytes.Replace(buf.Bytes(), []byte(`"seed":1`), []byte(`"seed":2`), 1)
	require.NotEqual(t, buf.Bytes(), tampered, "the header names the seed")
	_, _, err = Open(write("tampered.jsonl", tampered))
	require.Error(t, err, "an edited trace is refused")
	assert.Contains(t, err.Error(), "tampered.jsonl")
	assert.Contains(t, err.Error(), "digest", "refused for its digest: %v", err)

	unsigned := regexp.MustCompile(`,?"digest":"[^"]*"`).ReplaceAll(buf.Bytes(), nil)
	require.NotEqual(t, buf.Bytes(), unsigned, "the end line carries a digest")
	s, _, err = Open(write("old.jsonl", unsigned))
	require.NoError(t, err, "an unsigned trace still opens")
	assert.Contains(t, s.Warning, "unsigned")
	m := New(s, Options{NoColor: true})
	m.Update(keySize(80, 24))
	assert.Contains(t, screen(m), "unsigned", "the warning is on screen before the first key")
}
