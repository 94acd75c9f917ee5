package reports

import (
	"cmp"
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// CDFFigure overlays the empirical CDFs of several samples, x logarithmic
// (values <= 0 are left out: they cannot be drawn on a log axis). Each
// curve rises from 0 at its smallest value and runs on at 1 to the right
// edge; a curve of few values marks them.
func CDFFigure(name, title, xLabel string, series []Series, caption string) *Figure {
	f := newFigure(name, title, xLabel, "fraction of samples ≤ x", caption)
	p := f.Plot
	logX(p)
	fractionAxis(&p.Y)
	csvRows := [][]string{{"series", "x", "cdf"}}
	type curve struct {
		name   string
		i, n   int
		xs, ys []float64
	}
	var curves []curve
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range series {
		var pos []float64
		for _, v := range s.Values {
			if v > 0 {
				pos = append(pos, v)
			}
		}
		if len(pos) == 0 {
			continue
		}
		xs, ys := thin(CDF(pos))
		for k := range xs {
			csvRows = append(csvRows, []string{s.Name, ff(xs[k]), ff(ys[k])})
		}
		lo, hi = min(lo, xs[0]), max(hi, xs[len(xs)-1])
		curves = append(curves, curve{s.Name, i, len(pos), xs, ys})
	}
	if len(curves) > 0 {
		xlo, xhi := logPad(lo, hi)
		p.X.Min, p.X.Max = math.Log10(xlo), math.Log10(xhi)
	}
	for _, c := range curves {
		pts := plotter.XYs{{X: math.Log10(c.xs[0]), Y: 0}}
		for k := range c.xs {
			pts = append(pts, plotter.XY{X: math.Log10(c.xs[k]), Y: c.ys[k]})
		}
		pts = append(pts, plotter.XY{X: p.X.Max, Y: 1})
		l, _ := plotter.NewLine(pts)
		l.StepStyle = plotter.PostStep
		l.Color = palette(c.i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		thumbs := []plot.Thumbnailer{l}
		if len(c.xs) <= cdfMarkedMax {
			marks := make(plotter.XYs, len(c.xs))
			for k := range c.xs {
				marks[k] = plotter.XY{X: math.Log10(c.xs[k]), Y: c.ys[k]}
			}
			sc, _ := plotter.NewScatter(marks)
			sc.GlyphStyle = draw.GlyphStyle{Color: palette(c.i), Shape: draw.CircleGlyph{}, Radius: vg.Points(2.5)}
			p.Add(sc)
			thumbs = append(thumbs, sc)
		}
		f.AddLegend(fmt.Sprintf("%s (n=%d)", c.name, c.n), thumbs...)
	}
	f.CSV = csvRows
	return f
}

// cdfMarkedMax is the most points a CDF curve marks with a dot: a few
// values are easier to count as dots, many would blot the curve.
const cdfMarkedMax = 30

// logPad widens [lo, hi] on a log axis so that the first and last values
// stand off the frame, by a tenth of the range's log span each side and
// at least 10%.
func logPad(lo, hi float64) (float64, float64) {
	k := max(math.Pow(hi/lo, 0.1), 1.1)
	return lo / k, hi * k
}

// cdfPointsMax bounds the points drawn and written per CDF curve: beyond
// a few thousand the eye sees no difference and the SVG and CSV bloat.
const cdfPointsMax = 2000

// thin keeps at most cdfPointsMax points of a CDF, evenly spaced in rank,
// always keeping the first and the last (y = 1).
func thin(xs, ys []float64) ([]float64, []float64) {
	n := len(xs)
	if n <= cdfPointsMax {
		return xs, ys
	}
	ox, oy := make([]float64, 0, cdfPointsMax), make([]float64, 0, cdfPointsMax)
	for k := range cdfPointsMax {
		i := k * (n - 1) / (cdfPointsMax - 1)
		ox, oy = append(ox, xs[i]), append(oy, ys[i])
	}
	return ox, oy
}

// HistogramFigure overlays histograms of several samples as step outlines
// over shared logarithmic bins, so shapes of different spreads compare.
func HistogramFigure(name, title, xLabel string, series []Series, bins int, caption string) *Figure {
	f := newFigure(name, title, xLabel, "fraction of samples per bin", caption)
	p := f.Plot
	logX(p)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range series {
		for _, v := range s.Values {
			if v > 0 {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	csvRows := [][]string{{"series", "bin_lo", "bin_hi", "count", "fraction"}}
	if math.IsInf(lo, 1) {
		f.CSV = csvRows
		return f
	}
	if hi <= lo {
		hi = lo * 1.01
	}
	edges := make([]float64, bins+1)
	for i := range edges {
		edges[i] = lo * math.Pow(hi/lo, float64(i)/float64(bins))
	}
	top := 0.0
	for si, s := range series {
		counts := make([]int, bins)
		n := 0
		for _, v := range s.Values {
			if v <= 0 {
				continue
			}
			k := int(float64(bins) * math.Log(v/lo) / math.Log(hi/lo))
			counts[min(max(k, 0), bins-1)]++
			n++
		}
		if n == 0 {
			continue
		}
		var pts plotter.XYs
		for k, c := range counts {
			frac := float64(c) / float64(n)
			top = max(top, frac)
			pts = append(pts, plotter.XY{X: math.Log10(edges[k]), Y: frac})
			csvRows = append(csvRows, []string{s.Name, ff(edges[k]), ff(edges[k+1]), strconv.Itoa(c), ff(frac)})
		}
		pts = append(pts, plotter.XY{X: math.Log10(edges[bins]), Y: pts[len(pts)-1].Y})
		l, _ := plotter.NewLine(pts)
		l.StepStyle = plotter.PostStep
		l.Color = palette(si)
		l.Width = vg.Points(1.5)
		p.Add(l)
		f.AddLegend(fmt.Sprintf("%s (n=%d)", s.Name, n), l)
	}
	p.X.Min, p.X.Max = math.Log10(edges[0]), math.Log10(edges[bins])
	p.Y.Min, p.Y.Max = 0, top*1.05
	f.CSV = csvRows
	return f
}

// FaultSpans turns applied faults into intervals of simulated time when
// some fault was in force: a crash until the node's restart, a pause for
// its length, a partition or cut until the next heal, a loss burst until
// loss is set back. Open spans end at end.
func FaultSpans(marks []FaultMark, end sim.Time) []Span {
	var spans []Span
	open := map[string]sim.Time{}
	begin := func(key string, at sim.Time) {
		if _, ok := open[key]; !ok {
			open[key] = at
		}
	}
	close1 := func(key string, at sim.Time) {
		if s, ok := open[key]; ok {
			spans = append(spans, Span{Start: s.Seconds(), End: at.Seconds(), Label: key})
			delete(open, key)
		}
	}
	net := func(at sim.Time) {
		for k := range open {
			if len(k) > 4 && (k[:4] == "part" || k[:4] == "cut ") {
				close1(k, at)
			}
		}
	}
	for _, m := range marks {
		f := m.Fault
		switch f.Kind {
		case sim.FaultCrash:
			begin("crash "+f.Node.String(), m.At)
		case sim.FaultRestart:
			close1("crash "+f.Node.String(), m.At)
		case sim.FaultPause:
			if f.For > 0 {
				spans = append(spans, Span{Start: m.At.Seconds(), End: (m.At + f.For).Seconds(), Label: "pause " + f.Node.String()})
			} else {
				begin("pause "+f.Node.String(), m.At)
			}
		case sim.FaultResume:
			close1("pause "+f.Node.String(), m.At)
		case sim.FaultPartition, sim.FaultIsolate:
			begin("partition", m.At)
		case sim.FaultCut:
			begin("cut "+f.From.String()+"->"+f.To.String(), m.At)
		case sim.FaultUncut:
			close1("cut "+f.From.String()+"->"+f.To.String(), m.At)
		case sim.FaultHeal:
			net(m.At)
		case sim.FaultLoss:
			if f.Value > 0.05 {
				begin("loss", m.At)
			} else {
				close1("loss", m.At)
			}
		case sim.FaultHealAll:
			for k := range open {
				close1(k, m.At)
			}
		}
	}
	for k := range open {
		close1(k, end)
	}
	return mergeSpans(spans)
}

// mergeSpans unions overlapping spans, sorted by start.
func mergeSpans(spans []Span) []Span {
	if len(spans) == 0 {
		return nil
	}
	sortSpans(spans)
	out := []Span{spans[0]}
	for _, s := range spans[1:] {
		last := &out[len(out)-1]
		if s.Start <= last.End {
			last.End = max(last.End, s.End)
			continue
		}
		out = append(out, s)
	}
	return out
}

func sortSpans(s []Span) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Start < s[j-1].Start; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// LatencyOverTimeFigure plots every operation of one run at its call time:
// answered ones at their latency, failed ones as red crosses at theirs,
// timed-out ones as orange triangles at the operation timeout (they waited
// at least that long), several that would overlap drawn once with their
// count; fault spans shaded. The log y axis (log10 of the latency on a
// linear axis, see log10Ticks) runs from a round value under the fastest
// operation to one over the slowest mark.
func LatencyOverTimeFigure(name string, d *RunData, caption string) *Figure {
	f := newFigure(name, "Client latency over time", "simulated time (s)", "latency (ms, log scale)", caption)
	p := f.Plot
	p.Y.Tick.Marker = log10Ticks{}
	timeout := d.Scenario.Workload.OpTimeout.Milliseconds()
	var ok, failed, unknown plotter.XYs
	csvRows := [][]string{{"client", "seq", "kind", "call_s", "return_s", "status", "latency_ms"}}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, op := range d.Result.History {
		call := op.Call.Seconds()
		lat := ""
		y := timeout
		switch op.Status {
		case protocols.OpOK, protocols.OpFailed:
			y = max(op.Latency().Milliseconds(), latencyFloorMs)
			lat = ff(y)
			if op.Status == protocols.OpOK {
				ok = append(ok, plotter.XY{X: call, Y: y})
			} else {
				failed = append(failed, plotter.XY{X: call, Y: y})
			}
		default:
			unknown = append(unknown, plotter.XY{X: call, Y: y})
		}
		lo, hi = min(lo, y), max(hi, y)
		ret := ""
		if op.Return != sim.TimeMax {
			ret = ff(op.Return.Seconds())
		}
		csvRows = append(csvRows, []string{op.Client.String(), strconv.FormatInt(op.Seq, 10), string(op.Op.Kind), ff(call), ret, string(op.Status), lat})
	}
	if math.IsInf(lo, 1) {
		lo, hi = 1, 10
	}
	// Round ends a little beyond the data: the count beside a group of
	// time-outs needs a little room above them.
	p.Y.Min, p.Y.Max = math.Log10(niceFloor(lo/1.05)), math.Log10(niceCeil(hi*1.15))
	for _, pts := range []plotter.XYs{ok, failed, unknown} {
		for i := range pts {
			pts[i].Y = math.Log10(pts[i].Y)
		}
	}
	p.X.Min, p.X.Max = 0, d.Scenario.Duration.Seconds()
	shade(f, FaultSpans(d.Faults, d.Scenario.Duration), p.Y.Min, p.Y.Max)
	add := func(pts plotter.XYs, label string, c color.Color, shape draw.GlyphDrawer, r vg.Length) {
		if len(pts) == 0 {
			return
		}
		g := &groupedScatter{XYs: pts, Style: draw.GlyphStyle{Color: c, Shape: shape, Radius: r}}
		if shape == (draw.TriangleGlyph{}) {
			g.Group = true
		}
		p.Add(g)
		f.AddLegend(fmt.Sprintf("%s (%d)", label, len(pts)), g)
	}
	add(ok, "answered, at its latency", color.NRGBA{R: 31, G: 119, B: 180, A: 160}, draw.CircleGlyph{}, vg.Points(1.5))
	add(failed, "failed, at its latency", color.NRGBA{R: 214, G: 39, B: 40, A: 255}, draw.CrossGlyph{}, vg.Points(3))
	add(unknown, fmt.Sprintf("timed out, at the %v op timeout", d.Scenario.Workload.OpTimeout), color.NRGBA{R: 255, G: 127, B: 14, A: 255}, draw.TriangleGlyph{}, vg.Points(3.5))
	f.CSV = csvRows
	return f
}

// latencyFloorMs is the least latency drawn: a log axis cannot show 0.
const latencyFloorMs = 0.001

// niceFloor is the largest of 1, 2 or 5 times a power of ten that is at
// most x (x > 0).
func niceFloor(x float64) float64 {
	if x <= 0 {
		return latencyFloorMs
	}
	base := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{5, 2, 1} {
		if m*base <= x*(1+1e-12) {
			return m * base
		}
	}
	return base
}

// groupedScatter draws a glyph per point; with Group set, points whose
// glyphs would overlap on the canvas are drawn once, with their count
// beside the glyph, so that three time-outs of the same instant do not
// read as one.
type groupedScatter struct {
	plotter.XYs
	Style draw.GlyphStyle
	Group bool
	// groups is what the last Plot drew, for tests: canvas centre and
	// count of each group.
	groups []glyphGroup
}

type glyphGroup struct {
	At    vg.Point
	Count int
}

func (g *groupedScatter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	pts := make([]vg.Point, len(g.XYs))
	for i, xy := range g.XYs {
		pts[i] = vg.Point{X: trX(xy.X), Y: trY(xy.Y)}
	}
	g.groups = groupGlyphs(pts, g.Style.Radius, g.Group)
	sty := text.Style{Font: font.From(plot.DefaultFont, vg.Points(8)), Handler: plot.DefaultTextHandler, Color: g.Style.Color, YAlign: draw.YBottom}
	for _, gr := range g.groups {
		c.DrawGlyph(g.Style, gr.At)
		if gr.Count > 1 {
			c.FillText(sty, vg.Point{X: gr.At.X + g.Style.Radius, Y: gr.At.Y + g.Style.Radius}, fmt.Sprintf("×%d", gr.Count))
		}
	}
}

// groupGlyphs gathers points whose glyphs of radius r would overlap into
// groups drawn at their leftmost point, in order of x (the points may
// come in any order). Without group every point is its own.
func groupGlyphs(pts []vg.Point, r vg.Length, group bool) []glyphGroup {
	out := make([]glyphGroup, 0, len(pts))
	if !group {
		for _, pt := range pts {
			out = append(out, glyphGroup{At: pt, Count: 1})
		}
		return out
	}
	sorted := slices.Clone(pts)
	slices.SortFunc(sorted, func(a, b vg.Point) int { return cmp.Compare(a.X, b.X) })
	// A point joins the first group drawn within 2r of it, else starts
	// its own: drawn glyphs stay at least 2r apart. Groups are in order
	// of x, so the search goes back only while they are within 2r in x.
	for _, pt := range sorted {
		joined := false
		for k := len(out) - 1; k >= 0 && pt.X-out[k].At.X < 2*r; k-- {
			if math.Abs(float64(pt.Y-out[k].At.Y)) < float64(2*r) {
				out[k].Count++
				joined = true
				break
			}
		}
		if !joined {
			out = append(out, glyphGroup{At: pt, Count: 1})
		}
	}
	return out
}

func (g *groupedScatter) DataRange() (xmin, xmax, ymin, ymax float64) {
	return plotter.XYRange(g.XYs)
}

func (g *groupedScatter) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(g.Style, c.Center())
}

// AvailabilityFigure plots, per window of one run, the fraction of client
// operations that succeeded and, for protocols with leaders, whether a
// usable leader existed (fraction of the window's samples); faults shaded.
// Both are fractions: the y axis is 0..1.
func AvailabilityFigure(name string, d *RunData, window sim.Time, caption string) *Figure {
	f := newFigure(name, "Availability over time", "simulated time (s)", "fraction of the window", caption)
	p := f.Plot
	end := d.Scenario.Duration
	ws := AvailabilityWindows(d.Result.History, end, window, d.Scenario.Workload.OpTimeout)
	// While the workload runs, a window in which no operation ended had
	// none succeed: the clients were stuck waiting.
	active := WorkloadEnd(d)
	for i := range ws {
		if ws[i].Total == 0 && ws[i].End <= active {
			ws[i].Frac = 0
		}
	}
	lead := LeaderWindows(d.Leaders, end, window)
	fractionAxis(&p.Y)
	shade(f, FaultSpans(d.Faults, end), 0, 1)
	csvRows := [][]string{{"window_start_s", "window_end_s", "ops_ok", "ops_total", "ops_success_fraction", "usable_leader_fraction"}}
	var opsPts, leadPts plotter.XYs
	for i, w := range ws {
		lf := ""
		if d.HasLeaders && i < len(lead) {
			lf = ff(lead[i])
			leadPts = append(leadPts, plotter.XY{X: w.Start.Seconds(), Y: lead[i]})
		}
		fr := ""
		if w.Frac >= 0 {
			fr = ff(w.Frac)
			opsPts = append(opsPts, plotter.XY{X: w.Start.Seconds(), Y: w.Frac})
		}
		csvRows = append(csvRows, []string{ff(w.Start.Seconds()), ff(w.End.Seconds()), strconv.Itoa(w.OK), strconv.Itoa(w.Total), fr, lf})
	}
	// The solid line first, the dashed one over it: where both are 1
	// both stay visible.
	if len(opsPts) > 0 {
		opsPts = append(opsPts, plotter.XY{X: end.Seconds(), Y: opsPts[len(opsPts)-1].Y})
		l, _ := plotter.NewLine(opsPts)
		l.StepStyle = plotter.PostStep
		l.Color = color.NRGBA{R: 31, G: 119, B: 180, A: 255}
		l.Width = vg.Points(2)
		p.Add(l)
		f.AddLegend(fmt.Sprintf("operations that succeeded (per %v window)", window), l)
	}
	if len(leadPts) > 0 {
		leadPts = append(leadPts, plotter.XY{X: end.Seconds(), Y: leadPts[len(leadPts)-1].Y})
		l, _ := plotter.NewLine(leadPts)
		l.StepStyle = plotter.PostStep
		l.Color = color.NRGBA{R: 44, G: 160, B: 44, A: 255}
		l.Width = vg.Points(1.5)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		p.Add(l)
		f.AddLegend("time with a usable leader", l)
	}
	p.X.Min, p.X.Max = 0, end.Seconds()
	f.CSV = csvRows
	return f
}

// LeaderWindows is the fraction of each window's leader samples that had a
// usable leader.
func LeaderWindows(ls []LeaderSample, end, window sim.Time) []float64 {
	if window <= 0 || end <= 0 {
		return nil
	}
	n := int((end + window - 1) / window)
	usable := make([]int, n)
	total := make([]int, n)
	for _, s := range ls {
		k := int(s.At / window)
		if k >= n {
			k = n - 1
		}
		total[k]++
		if s.Usable {
			usable[k]++
		}
	}
	out := make([]float64, n)
	for i := range out {
		if total[i] > 0 {
			out[i] = float64(usable[i]) / float64(total[i])
		}
	}
	return out
}

// LinesFigure draws y against x for several named series (one point per x),
// e.g. latency against cluster size.
func LinesFigure(name, title, xLabel, yLabel string, xs []float64, ys map[string][]float64, order []string, caption string) *Figure {
	f := newFigure(name, title, xLabel, yLabel, caption)
	p := f.Plot
	header := []string{"x"}
	header = append(header, order...)
	csvRows := [][]string{header}
	for i, x := range xs {
		row := []string{ff(x)}
		for _, k := range order {
			row = append(row, ff(ys[k][i]))
		}
		csvRows = append(csvRows, row)
	}
	top := 0.0
	for i, k := range order {
		pts := make(plotter.XYs, len(xs))
		for j := range xs {
			pts[j] = plotter.XY{X: xs[j], Y: ys[k][j]}
			top = max(top, ys[k][j])
		}
		l, s, _ := plotter.NewLinePoints(pts)
		l.Color = palette(i)
		l.Width = vg.Points(1.5)
		s.Color = palette(i)
		p.Add(l, s)
		f.AddLegend(k, l, s)
	}
	if isFraction(yLabel) && top <= 1 {
		fractionAxis(&p.Y)
	} else {
		p.Y.Min, p.Y.Max = 0, niceCeil(max(top*1.05, 1e-9))
	}
	f.CSV = csvRows
	return f
}

// BarsFigure draws one bar per label.
func BarsFigure(name, title, xLabel, yLabel string, labels []string, values []float64, caption string) *Figure {
	f := newFigure(name, title, xLabel, yLabel, caption)
	p := f.Plot
	bars, _ := plotter.NewBarChart(plotter.Values(values), vg.Points(60))
	bars.Color = palette(1)
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.NominalX(labels...)
	top := 0.0
	var pts plotter.XYs
	var texts []string
	for i, v := range values {
		top = max(top, v)
		pts = append(pts, plotter.XY{X: float64(i), Y: v})
		texts = append(texts, fmt.Sprintf("%.3g", v))
	}
	if lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: texts}); err == nil {
		for i := range lb.TextStyle {
			lb.TextStyle[i].XAlign = draw.XCenter
		}
		lb.Offset = vg.Point{Y: vg.Points(3)}
		p.Add(lb)
	}
	p.X.Min, p.X.Max = -0.6, float64(len(values))-0.4
	// Room above the tallest bar for its value.
	p.Y.Min, p.Y.Max = 0, max(top*1.12, 1e-9)
	csvRows := [][]string{{"label", "value"}}
	for i := range labels {
		csvRows = append(csvRows, []string{labels[i], ff(values[i])})
	}
	f.CSV = csvRows
	return f
}

// SweepNames names each sweep output for a legend by what tells it from
// the others: a file under the default name (sweep.jsonl) by its folder
// (sweep-default/sweep.jsonl: "sweep-default"), any other by its name
// without .jsonl (raft.jsonl: "raft"), and every one by folder/name when
// those would repeat.
func SweepNames(paths []string) []string {
	names := make([]string, len(paths))
	seen := map[string]int{}
	for i, p := range paths {
		base := strings.TrimSuffix(filepath.Base(p), ".jsonl")
		names[i] = base
		if dir := filepath.Base(filepath.Dir(p)); base == "sweep" && dir != "." && dir != string(filepath.Separator) {
			names[i] = dir
		}
		seen[names[i]]++
	}
	for i, p := range paths {
		if seen[names[i]] > 1 {
			names[i] = filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(p)), strings.TrimSuffix(filepath.Base(p), ".jsonl")))
		}
	}
	return names
}

// isFraction says an axis label names a fraction, which belongs on 0..1.
func isFraction(label string) bool {
	return strings.HasPrefix(label, "fraction") || strings.HasPrefix(label, "share")
}

// WorkloadEnd is when the run's clients stop starting operations.
func WorkloadEnd(d *RunData) sim.Time {
	w := d.Scenario.Workload
	if w.Stop > 0 {
		return w.Stop
	}
	return d.Scenario.Duration - w.OpTimeout
}

// GroupedBarsFigure draws one group of bars per label, one bar per series
// in each group, side by side and told apart by colour and the legend
// (measured beside the paper's count, for instance). values[s][g] is
// series s in group g.
func GroupedBarsFigure(name, title, xLabel, yLabel string, groups, series []string, values [][]float64, caption string) *Figure {
	f := newFigure(name, title, xLabel, yLabel, caption)
	p := f.Plot
	width := vg.Points(36)
	top := 0.0
	var pts plotter.XYs
	var texts []string
	for s := range series {
		bars, err := plotter.NewBarChart(plotter.Values(values[s]), width)
		if err != nil {
			continue
		}
		bars.Color = palette(s + 1)
		bars.LineStyle.Width = 0
		// Centre the group on its label: series s sits s-(n-1)/2 bars off.
		off := float64(s) - float64(len(series)-1)/2
		bars.Offset = vg.Length(off) * width
		p.Add(bars)
		f.AddLegend(series[s], bars)
		for g, v := range values[s] {
			top = max(top, v)
			// The label's x in data units is found by drawing: place it at
			// the group's centre and shift it by the bar's offset below.
			pts = append(pts, plotter.XY{X: float64(g), Y: v})
			texts = append(texts, fmt.Sprintf("%.3g", v))
		}
		if lb, err := plotter.NewLabels(plotter.XYLabels{XYs: pts, Labels: texts}); err == nil {
			for i := range lb.TextStyle {
				lb.TextStyle[i].XAlign = draw.XCenter
			}
			lb.Offset = vg.Point{X: bars.Offset, Y: vg.Points(3)}
			p.Add(lb)
		}
		pts, texts = nil, nil
	}
	p.NominalX(groups...)
	p.X.Min, p.X.Max = -0.6, float64(len(groups))-0.4
	p.Y.Min, p.Y.Max = 0, max(top*1.12, 1e-9)
	header := append([]string{"group"}, series...)
	csvRows := [][]string{header}
	for g := range groups {
		row := []string{groups[g]}
		for s := range series {
			row = append(row, ff(values[s][g]))
		}
		csvRows = append(csvRows, row)
	}
	f.CSV = csvRows
	return f
}
