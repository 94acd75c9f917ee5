package reports

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
