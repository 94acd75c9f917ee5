package reports

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg"

	"github.com/synod-dev/synod/protocols/scenario"
)

func TestDiagramOfAWindow(t *testing.T) {
	sc := testScenario(t)
	d, err := BuildDiagram(sc, nil, 0, 120)
	require.NoError(t, err)
	require.NotEmpty(t, d.Arrows)
	require.Len(t, d.Lanes[:sc.Nodes], sc.Nodes)
	for _, a := range d.Arrows {
		require.GreaterOrEqual(t, a.Recv, a.Sent, "an arrow goes forward in time: %+v", a)
		require.GreaterOrEqual(t, a.Sent, d.Start)
	}
	dir := t.TempDir()
	f := d.Figure("diag", "test")
	require.NoError(t, f.Save(dir))
	b, err := os.ReadFile(filepath.Join(dir, "diag.png"))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err)
	require.Equal(t, 11*FigureDPI, img.Bounds().Dx())
	svg, err := os.ReadFile(filepath.Join(dir, "diag.svg"))
	require.NoError(t, err)
	require.True(t, strings.Contains(string(svg[:min(len(svg), 400)]), "<svg"), "not an SVG")

	_, err = BuildDiagram(sc, nil, 10, 5)
	require.Error(t, err)
	_, err = BuildDiagram(sc, nil, 0, 5000)
	require.ErrorContains(t, err, "bound")
}

// TestDiagramLabelsDoNotOverlap draws diagrams at the size they are
// written and checks the label boxes the drawing placed: no two
// intersect, each lies in the data area, and every label is placed or
// counted as left out. The docs' window (Raft's first election, seed 3)
// once drew "AppendEntriRequestVoteReply"; a window of 400 events is too
// dense to label every message and must leave some out, counted.
func TestDiagramLabelsDoNotOverlap(t *testing.T) {
	def, err := scenario.LoadDefault()
	require.NoError(t, err)
	def = def.Clone()
	def.Seed = 3
	require.NoError(t, def.Revalidate())
	for _, tc := range []struct {
		name     string
		sc       *scenario.Scenario
		from, to int64
		dropsMin int
		dropsMax int // -1: any
	}{
		{"docs-first-election", def, 85, 124, 0, 2},
		// The election at 170ms packs a dozen messages into 10ms.
		{"test-window", testScenario(t), 0, 120, 0, 15},
		{"dense", def, 91, 491, 1, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := BuildDiagram(tc.sc, nil, tc.from, tc.to)
			require.NoError(t, err)
			f := d.Figure("diag", "test")
			_, err = f.Render(f.Width, f.Height, "png")
			require.NoError(t, err)
			lay := d.Labels
			require.NotEmpty(t, lay.Placed)
			for i, a := range lay.Placed {
				require.True(t, inside(a.Box, lay.Canvas), "label %q at %v outside the data area %v", a.Text, a.Box, lay.Canvas)
				for j := range i {
					b := lay.Placed[j]
					require.False(t, intersects(a.Box, b.Box), "labels %q at %v and %q at %v overlap", a.Text, a.Box, b.Text, b.Box)
				}
			}
			labels := len(d.Marks)
			for _, a := range d.Arrows {
				if a.Label != "" {
					labels++
				}
			}
			assert.Equal(t, labels, len(lay.Placed)+lay.Dropped, "every label placed or counted as left out")
			assert.GreaterOrEqual(t, lay.Dropped, tc.dropsMin, "labels left out")
			if tc.dropsMax >= 0 {
				assert.LessOrEqual(t, lay.Dropped, tc.dropsMax, "labels left out of %d", labels)
			}
		})
	}
}

func TestDiagramBoxGeometry(t *testing.T) {
	r := func(x0, y0, x1, y1 vg.Length) vg.Rectangle {
		return vg.Rectangle{Min: vg.Point{X: x0, Y: y0}, Max: vg.Point{X: x1, Y: y1}}
	}
	assert.True(t, intersects(r(0, 0, 10, 10), r(5, 5, 15, 15)))
	assert.False(t, intersects(r(0, 0, 10, 10), r(10, 0, 20, 10)), "sharing an edge is not overlapping")
	assert.False(t, intersects(r(0, 0, 10, 10), r(0, 11, 10, 20)))
	assert.True(t, intersects(r(0, 0, 10, 10), r(2, 2, 3, 3)), "one inside the other")
	assert.True(t, inside(r(2, 2, 3, 3), r(0, 0, 10, 10)))
	assert.False(t, inside(r(2, 2, 11, 3), r(0, 0, 10, 10)))
}
