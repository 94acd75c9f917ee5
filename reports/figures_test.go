package reports

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot/vg"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

func TestCDFMonotoneEndingAtOne(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
	}{
		{"distinct", []float64{5, 1, 3, 2, 4}},
		{"ties", []float64{2, 2, 1, 3, 3, 3}},
		{"one", []float64{7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xs, ys := CDF(tc.in)
			require.Equal(t, len(xs), len(ys))
			require.True(t, slices.IsSorted(xs))
			for i := 1; i < len(xs); i++ {
				require.Greater(t, xs[i], xs[i-1], "xs strictly increase after collapsing ties")
				require.Greater(t, ys[i], ys[i-1])
			}
			require.Equal(t, 1.0, ys[len(ys)-1])
			// The CDF at each x counts the values <= x.
			for i, x := range xs {
				n := 0
				for _, v := range tc.in {
					if v <= x {
						n++
					}
				}
				require.InDelta(t, float64(n)/float64(len(tc.in)), ys[i], 1e-12)
			}
		})
	}
}

func TestQuantilesMatchTheRawData(t *testing.T) {
	h := []protocols.OpRecord{}
	for i := 1; i <= 100; i++ {
		h = append(h, protocols.OpRecord{Call: 0, Return: sim.Time(i) * sim.Millisecond, Status: protocols.OpOK})
	}
	h = append(h, protocols.OpRecord{Call: 0, Return: sim.TimeMax, Status: protocols.OpUnknown})
	lat := LatenciesMs(h)
	require.Len(t, lat, 100, "only answered operations have a latency")
	q := Quantiles(lat, 0.5, 0.9, 0.99, 1)
	require.Equal(t, []float64{50, 90, 99, 100}, q)
}

// TestAvailabilityHandComputed checks the windows against a history worked
// out by hand: windows of 100ms over 300ms, op timeout 150ms.
func TestAvailabilityHandComputed(t *testing.T) {
	ms := sim.Millisecond
	h := []protocols.OpRecord{
		{Call: 0, Return: 10 * ms, Status: protocols.OpOK},                 // window 0 ok
		{Call: 20 * ms, Return: 50 * ms, Status: protocols.OpFailed},       // window 0 failed
		{Call: 60 * ms, Return: 120 * ms, Status: protocols.OpOK},          // window 1 ok
		{Call: 0, Return: sim.TimeMax, Status: protocols.OpUnknown},        // counts at 150ms: window 1
		{Call: 250 * ms, Return: sim.TimeMax, Status: protocols.OpUnknown}, // 400ms is past the end: window 2
	}
	ws := AvailabilityWindows(h, 300*ms, 100*ms, 150*ms)
	require.Len(t, ws, 3)
	want := []struct{ ok, total int }{{1, 2}, {1, 2}, {0, 1}}
	for i, w := range ws {
		require.Equal(t, want[i].ok, w.OK, "window %d ok", i)
		require.Equal(t, want[i].total, w.Total, "window %d total", i)
		require.GreaterOrEqual(t, w.Frac, 0.0)
		require.LessOrEqual(t, w.Frac, 1.0)
	}
	require.Equal(t, 0.5, ws[0].Frac)
	require.Equal(t, 0.0, ws[2].Frac)
}

func TestLeaderSummaryHandComputed(t *testing.T) {
	ms := sim.Millisecond
	ls := []LeaderSample{
		{At: 0},
		{At: 10 * ms, Leader: 1, Term: 1, Usable: true},
		{At: 20 * ms, Leader: 1, Term: 1, Usable: true},
		{At: 30 * ms},
		{At: 40 * ms},
		{At: 50 * ms, Leader: 2, Term: 2, Usable: true},
	}
	s := SummarizeLeaders(ls, 10*ms)
	require.InDelta(t, 0.5, s.UsableFrac, 1e-12)
	require.Equal(t, 20*ms, s.LongestOutage)
	require.Equal(t, 2, s.Elections)
	lw := LeaderWindows(ls, 60*ms, 30*ms)
	require.Equal(t, []float64{2.0 / 3, 1.0 / 3}, lw)
	d := &RunData{Leaders: ls, Faults: []FaultMark{{At: 25 * ms, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 1}}}}
	require.Equal(t, []sim.Time{25 * ms}, ElectionTimes(d))
}

func TestFaultSpans(t *testing.T) {
	s := sim.Second
	marks := []FaultMark{
		{At: 1 * s, Fault: sim.Fault{Kind: sim.FaultCrash, Node: 1}},
		{At: 2 * s, Fault: sim.Fault{Kind: sim.FaultRestart, Node: 1}},
		{At: 3 * s, Fault: sim.Fault{Kind: sim.FaultPartition}},
		{At: 3 * s / 2, Fault: sim.Fault{Kind: sim.FaultPause, Node: 2, For: s}}, // overlaps the crash
		{At: 4 * s, Fault: sim.Fault{Kind: sim.FaultHeal}},
		{At: 5 * s, Fault: sim.Fault{Kind: sim.FaultCut, From: 1, To: 2}},
	}
	got := FaultSpans(marks, 6*s)
	require.Equal(t, []Span{{1, 2.5, "crash n1"}, {3, 4, "partition"}, {5, 6, "cut n1->n2"}}, got)
}

// checkImages checks that NAME.png decodes at the expected size and
// NAME.svg is an SVG document of the expected size.
func checkImages(t *testing.T, dir, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name+".png"))
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(b))
	require.NoError(t, err, name)
	require.Equal(t, int(float64(FigureWidth/vg.Inch)*FigureDPI), img.Bounds().Dx(), name)
	require.Equal(t, int(float64(FigureHeight/vg.Inch)*FigureDPI), img.Bounds().Dy(), name)
	b, err = os.ReadFile(filepath.Join(dir, name+".svg"))
	require.NoError(t, err)
	dec := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		require.NoError(t, err, "%s.svg has no <svg> element", name)
		if se, ok := tok.(xml.StartElement); ok {
			require.Equal(t, "svg", se.Name.Local, name)
			attrs := map[string]string{}
			for _, a := range se.Attr {
				attrs[a.Name.Local] = a.Value
			}
			require.Equal(t, "576pt", attrs["width"], name)
			require.Equal(t, "324pt", attrs["height"], name)
			break
		}
	}
}

func TestRunReportWritesValidFigures(t *testing.T) {
	sc := testScenario(t)
	rep, d, err := RunReport(sc, "", "", 250*sim.Millisecond)
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, rep.Write(dir))
	require.GreaterOrEqual(t, len(rep.Figures), 4)
	for _, f := range rep.Figures {
		checkImages(t, dir, f.Name)
		require.FileExists(t, filepath.Join(dir, f.Name+".csv"))
		require.NotEmpty(t, f.Caption)
		require.NotEmpty(t, f.Plot.X.Label.Text, f.Name)
		require.NotEmpty(t, f.Plot.Y.Label.Text, f.Name)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	require.NoError(t, err)
	require.Contains(t, string(md), "seed 1")
	// The run observed for the report is the run scenario.Run makes.
	for _, w := range AvailabilityWindows(d.Result.History, sc.Duration, 250*sim.Millisecond, sc.Workload.OpTimeout) {
		require.LessOrEqual(t, w.Frac, 1.0)
	}
}

func TestSweepReportWritesValidFigures(t *testing.T) {
	sc := testScenario(t)
	var buf bytes.Buffer
	res := []SeedResult{}
	for s := uint64(0); s < 4; s++ {
		res = append(res, RunSeed(sc, "", s, 0))
	}
	_ = buf
	rep := SweepReport([]string{"a/sweep.jsonl", "b/sweep.jsonl"}, [][]SeedResult{res, res[:2]})
	dir := t.TempDir()
	require.NoError(t, rep.Write(dir))
	for _, f := range rep.Figures {
		checkImages(t, dir, f.Name)
	}
}

func TestThinKeepsTheCDFShape(t *testing.T) {
	var v []float64
	for i := range 10000 {
		v = append(v, float64(i%5000)+0.5)
	}
	xs, ys := thin(CDF(v))
	require.LessOrEqual(t, len(xs), cdfPointsMax)
	require.True(t, slices.IsSorted(xs))
	require.True(t, slices.IsSorted(ys))
	require.Equal(t, 1.0, ys[len(ys)-1])
	require.Equal(t, 4999.5, xs[len(xs)-1])
}

// TestGroupedBarsFigure: one bar per series in each group, a legend entry
// per series (the commit-cost figure used to draw measured and paper
// counts as one run of touching bars, told apart only by their labels).
func TestGroupedBarsFigure(t *testing.T) {
	f := GroupedBarsFigure("g", "t", "x", "y", []string{"a", "b"}, []string{"measured", "paper"}, [][]float64{{1, 2}, {3, 4}}, "")
	require.Len(t, f.Legend, 2)
	assert.Equal(t, "measured", f.Legend[0].Text)
	assert.Equal(t, [][]string{{"group", "measured", "paper"}, {"a", "1", "3"}, {"b", "2", "4"}}, f.CSV)
	assert.InDelta(t, 4*1.12, f.Plot.Y.Max, 1e-9)
}
