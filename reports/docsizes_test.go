package reports

import (
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg"
)

// docsSize is docs/reports.md's statement of the figures' sizes.
var docsSize = regexp.MustCompile(`PNG \(([0-9]+)x([0-9]+)\s+pixels; a space-time diagram is ([0-9]+) pixels wide`)

// TestDocsFigureSizes: the sizes docs/reports.md states are the ones the
// code writes, and every PNG under docs/figures has them (so a figure
// regenerated at another size, or one left stale, fails here).
func TestDocsFigureSizes(t *testing.T) {
	page, err := os.ReadFile("../docs/reports.md")
	require.NoError(t, err)
	m := docsSize.FindStringSubmatch(strings.Join(strings.Fields(string(page)), " "))
	require.NotNil(t, m, "docs/reports.md states the PNG sizes as %q", docsSize)
	num := func(s string) int {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		return n
	}
	w, h, dw := num(m[1]), num(m[2]), num(m[3])
	px := func(l vg.Length) int { return int(float64(l/vg.Inch) * FigureDPI) }
	require.Equal(t, px(FigureWidth), w, "figure width in pixels")
	require.Equal(t, px(FigureHeight), h, "figure height in pixels")
	require.Equal(t, px(DiagramWidth), dw, "diagram width in pixels")
	n := 0
	require.NoError(t, filepath.WalkDir("../docs/figures", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".png" {
			return err
		}
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		cfg, err := png.DecodeConfig(f)
		require.NoError(t, err, path)
		n++
		if filepath.Base(filepath.Dir(path)) == "diagram" {
			assert.Equal(t, dw, cfg.Width, "%s: a diagram's width", path)
			return nil
		}
		assert.Equal(t, [2]int{w, h}, [2]int{cfg.Width, cfg.Height}, "%s: width and height", path)
		return nil
	}))
	require.Greater(t, n, 10, "PNGs under docs/figures")
}
