package reports

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// TestPlotLogTicksLabelEnoughWithoutOverlap: a log axis shows at least
// logLabelsMin labelled values over any range, even within one decade
// (the sweep's p99 axis of 140 to 760 ms once showed only 200 and 500, an
// election CDF of 150 to 310 ms only 200), and on an axis as wide as a
// figure's no two labels overlap.
func TestPlotLogTicksLabelEnoughWithoutOverlap(t *testing.T) {
	sty := text.Style{Font: font.From(plot.DefaultFont, vg.Points(10)), Handler: plot.DefaultTextHandler}
	width := 7 * vg.Inch // the data area of an 8-inch figure, less the y axis
	for _, r := range [][2]float64{{135, 365}, {140, 760}, {5, 2000}, {1, 1e6}, {0.5, 0.9}, {7, 7.5}, {0.02, 30}, {100, 1300}} {
		t.Run(fmt.Sprintf("%g..%g", r[0], r[1]), func(t *testing.T) {
			lo, hi := r[0], r[1]
			var labelled []plot.Tick
			for _, tk := range (logTicks{}).Ticks(lo, hi) {
				require.GreaterOrEqual(t, tk.Value, lo, "tick %v below the range", tk)
				require.LessOrEqual(t, tk.Value, hi, "tick %v above the range", tk)
				if tk.Label != "" {
					labelled = append(labelled, tk)
				}
			}
			require.GreaterOrEqual(t, len(labelled), logLabelsMin, "labelled ticks %v", labelled)
			at := func(v float64) vg.Length { return width * vg.Length(math.Log(v/lo)/math.Log(hi/lo)) }
			for i := 1; i < len(labelled); i++ {
				a, b := labelled[i-1], labelled[i]
				gap := at(b.Value) - at(a.Value)
				need := (sty.Width(a.Label) + sty.Width(b.Label)) / 2
				assert.Greater(t, gap, need, "labels %q and %q are %.1fpt apart, their halves need %.1fpt", a.Label, b.Label, gap, need)
			}
		})
	}
}

// seedReport is the docs' run report: the default scenario, seed 3
// (docs/figures/run-default-seed3), whose three time-outs once drew as one
// marker.
func seedReport(t *testing.T, seed uint64) *Report {
	t.Helper()
	sc, err := scenario.LoadDefault()
	require.NoError(t, err)
	sc = sc.Clone()
	sc.Seed = seed
	require.NoError(t, sc.Revalidate())
	rep, _, err := RunReport(sc, "", "", 250*sim.Millisecond)
	require.NoError(t, err)
	return rep
}

func figureNamed(t *testing.T, r *Report, name string) *Figure {
	t.Helper()
	for _, f := range r.Figures {
		if f.Name == name {
			return f
		}
	}
	require.Failf(t, "no figure", "%s in %d figures", name, len(r.Figures))
	return nil
}

// draw renders a figure at its written size and returns the canvas of
// its data area.
func drawFigure(t *testing.T, f *Figure) draw.Canvas {
	t.Helper()
	w, h := f.Width, f.Height
	if w == 0 {
		w, h = FigureWidth, FigureHeight
	}
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(FigureDPI))
	dc := draw.New(c)
	f.Draw(dc)
	// The data area as the plot drew it: with the title's padding that
	// made room for the legend.
	lay := layoutLegend(f.Legend, legendStyle(), w)
	p := *f.Plot
	p.Title.Padding += lay.height + legendGap
	return p.DataCanvas(dc)
}

// TestPlotLegendAboveTheData: the legend's entries do not overlap each
// other, fit the figure's width, and sit above the data area.
func TestPlotLegendAboveTheData(t *testing.T) {
	rep := seedReport(t, 3)
	for _, f := range rep.Figures {
		t.Run(f.Name, func(t *testing.T) {
			require.NotEmpty(t, f.Legend, "a legend names every line")
			data := drawFigure(t, f)
			lay := layoutLegend(f.Legend, legendStyle(), FigureWidth)
			top := FigureHeight - f.Plot.Title.TextStyle.Rectangle(f.Plot.Title.Text).Size().Y - f.Plot.Title.Padding
			for i, b := range lay.boxes {
				abs := b.Add(vg.Point{Y: top})
				assert.GreaterOrEqual(t, abs.Min.X, vg.Length(0), "entry %q starts left of the figure", f.Legend[i].Text)
				assert.LessOrEqual(t, abs.Max.X, FigureWidth, "entry %q ends right of the figure", f.Legend[i].Text)
				assert.Greater(t, abs.Min.Y, data.Max.Y, "entry %q (%v) reaches into the data area (top %v)", f.Legend[i].Text, abs, data.Max.Y)
				for j := range i {
					assert.False(t, intersects(b, lay.boxes[j]), "entries %q and %q overlap", f.Legend[i].Text, f.Legend[j].Text)
				}
			}
		})
	}
}

// TestPlotDataAreaFillsTheFigure: the data area of every figure of a run
// report and of a comparison of election times spanning two decades takes
// most of the figure's width and height (gonum's log axes once left a
// fifth of the width blank for a misplaced axis label).
func TestPlotDataAreaFillsTheFigure(t *testing.T) {
	figs := seedReport(t, 4).Figures
	figs = append(figs, CDFFigure("wide", "Leader election time", "time to a new leader (ms, log scale)",
		[]Series{{Name: "a", Values: []float64{75, 150, 200, 260, 900, 3100}}, {Name: "b", Values: []float64{80, 110, 2000, 4500}}}, "test"))
	for _, f := range figs {
		t.Run(f.Name, func(t *testing.T) {
			data := drawFigure(t, f)
			w, h := data.Max.X-data.Min.X, data.Max.Y-data.Min.Y
			assert.Greater(t, w, 0.88*FigureWidth, "data area %v of a %v-wide figure", data.Rectangle, FigureWidth)
			assert.Greater(t, h, 0.7*FigureHeight, "data area %v of a %v-high figure", data.Rectangle, FigureHeight)
		})
	}
}

// TestPlotAxesFitTheData: fractions on 0..1; the latency-over-time axis
// spans the data with at most a round step of room beyond it either way
// (it once ran to 30,000 ms for data under 500 ms); time-outs are drawn
// at the op timeout, as the legend says, and time-outs of the same
// instant are drawn once with their count.
func TestPlotAxesFitTheData(t *testing.T) {
	rep := seedReport(t, 1)
	av := figureNamed(t, rep, "availability")
	assert.Equal(t, [2]float64{0, 1}, [2]float64{av.Plot.Y.Min, av.Plot.Y.Max}, "availability is a fraction")
	for _, name := range []string{"latency-cdf"} {
		f := figureNamed(t, rep, name)
		assert.Equal(t, [2]float64{0, 1}, [2]float64{f.Plot.Y.Min, f.Plot.Y.Max}, "%s: a CDF is a fraction", name)
	}

	lt := figureNamed(t, rep, "latency-time")
	data := drawFigure(t, lt)
	lo, hi := math.Inf(1), math.Inf(-1)
	var timedOut *groupedScatter
	for _, e := range lt.Legend {
		g, ok := e.Thumbs[0].(*groupedScatter)
		if !ok {
			continue
		}
		for _, p := range g.XYs {
			lo, hi = min(lo, p.Y), max(hi, p.Y)
			assert.GreaterOrEqual(t, p.Y, lt.Plot.Y.Min, "%s: a point below the axis", e.Text)
			assert.LessOrEqual(t, p.Y, lt.Plot.Y.Max, "%s: a point above the axis", e.Text)
		}
		if g.Group {
			timedOut = g
			assert.Contains(t, e.Text, "at the 1s op timeout")
			for _, p := range g.XYs {
				assert.InDelta(t, math.Log10(1000), p.Y, 1e-9, "a time-out is drawn at the 1s op timeout")
			}
		}
	}
	// Room beyond the data: at most a factor 2.5 either way, i.e. the
	// next round value.
	assert.LessOrEqual(t, lt.Plot.Y.Max-hi, math.Log10(2.5), "latency axis top %g ms for data up to %g ms", math.Pow(10, lt.Plot.Y.Max), math.Pow(10, hi))
	assert.LessOrEqual(t, lo-lt.Plot.Y.Min, math.Log10(2.5), "latency axis bottom %g ms for data from %g ms", math.Pow(10, lt.Plot.Y.Min), math.Pow(10, lo))

	require.NotNil(t, timedOut, "seed 1 has time-outs")
	require.Len(t, timedOut.XYs, 3, "seed 1 has three time-outs")
	n := 0
	for i, g := range timedOut.groups {
		n += g.Count
		assert.True(t, data.Contains(g.At), "group %d at %v outside the data area", i, g.At)
		for j := range i {
			d := math.Hypot(float64(g.At.X-timedOut.groups[j].At.X), float64(g.At.Y-timedOut.groups[j].At.Y))
			assert.GreaterOrEqual(t, d, float64(2*timedOut.Style.Radius), "groups %d and %d overlap", i, j)
		}
	}
	assert.Equal(t, 3, n, "every time-out is counted in a group")
	assert.Equal(t, []glyphGroup{{At: timedOut.groups[0].At, Count: 3}}, timedOut.groups, "three time-outs of the same instant: one marker, ×3")
}

func TestPlotGroupGlyphs(t *testing.T) {
	r := vg.Length(3)
	pts := []vg.Point{{X: 10, Y: 5}, {X: 100, Y: 5}, {X: 12, Y: 5}, {X: 14, Y: 5}, {X: 30, Y: 5}, {X: 12, Y: 50}}
	got := groupGlyphs(pts, r, true)
	assert.Equal(t, []glyphGroup{{At: vg.Point{X: 10, Y: 5}, Count: 3}, {At: vg.Point{X: 12, Y: 50}, Count: 1}, {At: vg.Point{X: 30, Y: 5}, Count: 1}, {At: vg.Point{X: 100, Y: 5}, Count: 1}}, got)
	assert.Len(t, groupGlyphs(pts, r, false), len(pts), "ungrouped: one glyph a point")
}

// TestPlotElectionCDFTicks: an election CDF of two values (seed 4 of the
// default scenario) has at least three labelled ticks on its x axis and
// its values off the frame's edges.
func TestPlotElectionCDFTicks(t *testing.T) {
	rep := seedReport(t, 4)
	f := figureNamed(t, rep, "election-cdf")
	require.Equal(t, 3, len(f.CSV), "seed 4 has two elections after a leader crash: %v", f.CSV)
	var labelled []string
	for _, tk := range f.Plot.X.Tick.Marker.Ticks(f.Plot.X.Min, f.Plot.X.Max) {
		if tk.Label != "" {
			labelled = append(labelled, tk.Label)
		}
	}
	assert.GreaterOrEqual(t, len(labelled), 3, "x labels %v", labelled)
	for _, row := range f.CSV[1:] {
		var x float64
		_, err := fmt.Sscan(row[1], &x)
		require.NoError(t, err)
		assert.Greater(t, math.Log10(x), f.Plot.X.Min+math.Log10(1.05), "value %g at the left edge %g", x, math.Pow(10, f.Plot.X.Min))
		assert.Less(t, math.Log10(x), f.Plot.X.Max-math.Log10(1.05), "value %g at the right edge %g", x, math.Pow(10, f.Plot.X.Max))
	}
}

func TestPlotSweepNames(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{[]string{"sweep-default/sweep.jsonl"}, []string{"sweep-default"}},
		{[]string{"a/sweep.jsonl", "b/sweep.jsonl"}, []string{"a", "b"}},
		{[]string{"out/raft.jsonl", "out/paxos.jsonl"}, []string{"raft", "paxos"}},
		{[]string{"sweep.jsonl"}, []string{"sweep"}},
		{[]string{"a/raft.jsonl", "b/raft.jsonl"}, []string{"a/raft", "b/raft"}},
	} {
		assert.Equal(t, tc.want, SweepNames(tc.in), "%v", tc.in)
	}
}

func TestPlotNiceBounds(t *testing.T) {
	for _, tc := range []struct{ x, ceil, floor float64 }{
		{408, 500, 200}, {1000, 1000, 1000}, {1150, 2000, 1000}, {7, 10, 5}, {0.03, 0.05, 0.02}, {1, 1, 1},
	} {
		assert.Equal(t, tc.ceil, niceCeil(tc.x), "niceCeil(%g)", tc.x)
		assert.InDelta(t, tc.floor, niceFloor(tc.x), 1e-12, "niceFloor(%g)", tc.x)
	}
}
