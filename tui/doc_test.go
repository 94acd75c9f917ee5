package tui

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goldenMark names the golden a screen of docs/tui.md is a copy of.
var goldenMark = regexp.MustCompile("(?m)^<!-- golden: (\\S+) -->\n```\n((?s:.*?))```\n")

// trimLines drops the padding at the end of each line and the blank
// lines at the end: a golden pads the screen to the terminal's size, a
// page does not.
func trimLines(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}

// TestDocScreens: every screen docs/tui.md marks with a golden is that
// golden, so the page cannot go stale. After `go test ./tui -run Golden
// -update`, copy the new screens into the page.
func TestDocScreens(t *testing.T) {
	page, err := os.ReadFile("../docs/tui.md")
	require.NoError(t, err)
	found := goldenMark.FindAllSubmatch(page, -1)
	require.GreaterOrEqual(t, len(found), 5, "screens marked <!-- golden: NAME --> in docs/tui.md")
	for _, f := range found {
		name := string(f[1])
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join("testdata", name))
			require.NoError(t, err)
			assert.Equal(t, trimLines(string(want)), trimLines(string(f[2])), "docs/tui.md's copy of testdata/%s", name)
		})
	}
}
