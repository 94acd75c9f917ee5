package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The shrinking section of docs/explore.md shows what `synod shrink` prints
// for the primary-backup failure and the register without write-back: the
// commands there give those lines, and the register's shrunk run has at
// most 3 clients and fewer than 1,000 events (issue 17's goal).
func TestShrinkLinearizabilityDocsSampleOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("two full shrinks")
	}
	// Single-threaded and in temporary directories: it overlaps the
	// grading tests' go test processes (see labDir).
	t.Parallel()
	doc, err := os.ReadFile("../../../docs/explore.md")
	require.NoError(t, err)
	for _, tc := range []struct{ scenario, trace string }{
		{"pb-partition.yaml", "pb.jsonl"},
		{"register-no-writeback.yaml", "register.jsonl"},
	} {
		t.Run(tc.trace, func(t *testing.T) {
			dir := t.TempDir()
			trace := filepath.Join(dir, tc.trace)
			code, out, errOut := run(t, "run", "--scenario", "../../../testdata/scenarios/core/"+tc.scenario, "--trace", trace)
			require.Equal(t, 1, code, out+errOut)
			small := strings.TrimSuffix(trace, ".jsonl") + ".small.jsonl"
			code, out, errOut = run(t, "shrink", trace, "--out", small)
			require.Equal(t, 0, code, out+errOut)
			out = strings.ReplaceAll(out, dir+string(filepath.Separator), "")

			// The doc's block is the output's opening lines, up to the story.
			var block []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "  key ") || strings.HasPrefix(l, "key ") || strings.HasPrefix(l, "not linearizable:") || strings.HasPrefix(l, "wrote ") {
					break
				}
				block = append(block, l)
			}
			want := "```\n" + strings.Join(block, "\n") + "\n```"
			assert.Contains(t, string(doc), want, "docs/explore.md is stale; the output is:\n%s", out)
			assert.Contains(t, out, "fails: linearizability on key k0")

			code, out, errOut = run(t, "replay", small)
			require.Equal(t, 0, code, out+errOut)
			assert.Contains(t, out, "reproduced exactly")
		})
	}
}
