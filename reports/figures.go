package reports

import (
	"fmt"
	"image/color"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/synod-dev/synod/protocols"
	"github.com/synod-dev/synod/sim"
)

// CDFFigure overlays the empirical CDFs of several samples, x logarithmic
// (values <= 0 are left out: they cannot be drawn on a log axis).
func CDFFigure(name, title, xLabel string, series []Series, caption string) *Figure {
	p := newPlot(title, xLabel, "fraction of samples ≤ x")
	logX(p)
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = false
	p.Legend.Left = false
	csvRows := [][]string{{"series", "x", "cdf"}}
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
		pts := make(plotter.XYs, len(xs))
		for k := range xs {
			pts[k] = plotter.XY{X: xs[k], Y: ys[k]}
			csvRows = append(csvRows, []string{s.Name, ff(xs[k]), ff(ys[k])})
		}
		l, _ := plotter.NewLine(pts)
		l.StepStyle = plotter.PostStep
		l.Color = palette(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (n=%d)", s.Name, len(pos)), l)
	}
	// Keep curves that end at the largest value off the frame's edge.
	p.X.Max *= 1.2
	return &Figure{Name: name, Title: title, Caption: caption, Plot: p, CSV: csvRows}
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
	p := newPlot(title, xLabel, "fraction of samples per bin")
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
		return &Figure{Name: name, Title: title, Caption: caption, Plot: p, CSV: csvRows}
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
			pts = append(pts, plotter.XY{X: edges[k], Y: frac})
			csvRows = append(csvRows, []string{s.Name, ff(edges[k]), ff(edges[k+1]), strconv.Itoa(c), ff(frac)})
		}
		pts = append(pts, plotter.XY{X: edges[bins], Y: pts[len(pts)-1].Y})
		l, _ := plotter.NewLine(pts)
		l.StepStyle = plotter.PostStep
		l.Color = palette(si)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (n=%d)", s.Name, n), l)
	}
	p.Y.Min, p.Y.Max = 0, top*1.35 // room for the legend
	return &Figure{Name: name, Title: title, Caption: caption, Plot: p, CSV: csvRows}
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
// answered ones at their latency, failed ones as red crosses, timed-out ones
// as orange triangles at the top; fault spans shaded.
func LatencyOverTimeFigure(name string, d *RunData, caption string) *Figure {
	p := newPlot("Client latency over time", "simulated time (s)", "latency (ms)")
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = logTicks{}
	var ok, failed, unknown plotter.XYs
	csvRows := [][]string{{"client", "seq", "kind", "call_s", "return_s", "status", "latency_ms"}}
	top, bottom := 1.0, math.Inf(1)
	for _, op := range d.Result.History {
		if op.Status == protocols.OpOK {
			top = max(top, op.Latency().Milliseconds())
			bottom = min(bottom, max(op.Latency().Milliseconds(), 0.001))
		}
	}
	top *= 2
	for _, op := range d.Result.History {
		call := op.Call.Seconds()
		lat := ""
		switch op.Status {
		case protocols.OpOK:
			l := max(op.Latency().Milliseconds(), 0.001)
			ok = append(ok, plotter.XY{X: call, Y: l})
			lat = ff(l)
		case protocols.OpFailed:
			failed = append(failed, plotter.XY{X: call, Y: top})
		default:
			unknown = append(unknown, plotter.XY{X: call, Y: top})
		}
		ret := ""
		if op.Return != sim.TimeMax {
			ret = ff(op.Return.Seconds())
		}
		csvRows = append(csvRows, []string{op.Client.String(), strconv.FormatInt(op.Seq, 10), string(op.Op.Kind), ff(call), ret, string(op.Status), lat})
	}
	// Leave room above the top markers for the legend.
	lo, hi := 0.1, top*30
	if !math.IsInf(bottom, 1) {
		lo = math.Pow(10, math.Floor(math.Log10(bottom)))
	}
	p.Y.Min, p.Y.Max = lo, hi
	shade(p, FaultSpans(d.Faults, d.Scenario.Duration), lo, hi)
	add := func(pts plotter.XYs, label string, c color.Color, shape draw.GlyphDrawer, r vg.Length) {
		if len(pts) == 0 {
			return
		}
		s, _ := plotter.NewScatter(pts)
		s.GlyphStyle.Color = c
		s.GlyphStyle.Shape = shape
		s.GlyphStyle.Radius = r
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("%s (%d)", label, len(pts)), s)
	}
	add(ok, "answered", color.NRGBA{R: 31, G: 119, B: 180, A: 160}, draw.CircleGlyph{}, vg.Points(1.5))
	add(failed, "failed (plotted at top)", color.NRGBA{R: 214, G: 39, B: 40, A: 255}, draw.CrossGlyph{}, vg.Points(3))
	add(unknown, "timed out (plotted at top)", color.NRGBA{R: 255, G: 127, B: 14, A: 255}, draw.TriangleGlyph{}, vg.Points(3))
	p.X.Min, p.X.Max = 0, d.Scenario.Duration.Seconds()
	p.Legend.Top = true
	return &Figure{Name: name, Title: p.Title.Text, Caption: caption, Plot: p, CSV: csvRows}
}

// AvailabilityFigure plots, per window of one run, the fraction of client
// operations that succeeded and, for protocols with leaders, whether a
// usable leader existed (fraction of the window's samples); faults shaded.
func AvailabilityFigure(name string, d *RunData, window sim.Time, caption string) *Figure {
	p := newPlot("Availability over time", "simulated time (s)", "fraction")
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
	p.Y.Min, p.Y.Max = 0, 1.35
	shade(p, FaultSpans(d.Faults, end), 0, 1.35)
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
	if len(leadPts) > 0 {
		leadPts = append(leadPts, plotter.XY{X: end.Seconds(), Y: leadPts[len(leadPts)-1].Y})
		l, _ := plotter.NewLine(leadPts)
		l.StepStyle = plotter.PostStep
		l.Color = color.NRGBA{R: 44, G: 160, B: 44, A: 255}
		l.Width = vg.Points(1.5)
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		p.Add(l)
		p.Legend.Add("usable leader (fraction of window)", l)
	}
	if len(opsPts) > 0 {
		opsPts = append(opsPts, plotter.XY{X: end.Seconds(), Y: opsPts[len(opsPts)-1].Y})
		l, _ := plotter.NewLine(opsPts)
		l.StepStyle = plotter.PostStep
		l.Color = color.NRGBA{R: 31, G: 119, B: 180, A: 255}
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("ops succeeding (per %v window)", window), l)
	}
	p.X.Min, p.X.Max = 0, end.Seconds()
	p.Legend.Top = true
	return &Figure{Name: name, Title: p.Title.Text, Caption: caption, Plot: p, CSV: csvRows}
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
	p := newPlot(title, xLabel, yLabel)
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
		p.Legend.Add(k, l, s)
	}
	// Room above the curves for the legend.
	p.Y.Min, p.Y.Max = 0, max(top*(1.2+0.07*float64(len(order))), 1e-9)
	return &Figure{Name: name, Title: title, Caption: caption, Plot: p, CSV: csvRows}
}

// BarsFigure draws one bar per label.
func BarsFigure(name, title, xLabel, yLabel string, labels []string, values []float64, caption string) *Figure {
	p := newPlot(title, xLabel, yLabel)
	bars, _ := plotter.NewBarChart(plotter.Values(values), vg.Points(60))
	bars.Color = palette(1)
	bars.LineStyle.Width = 0
	p.Add(bars)
	p.Legend.Add(yLabel, bars)
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
	p.Y.Min, p.Y.Max = 0, max(top*1.3, 1e-9)
	csvRows := [][]string{{"label", "value"}}
	for i := range labels {
		csvRows = append(csvRows, []string{labels[i], ff(values[i])})
	}
	return &Figure{Name: name, Title: title, Caption: caption, Plot: p, CSV: csvRows}
}

// WorkloadEnd is when the run's clients stop starting operations.
func WorkloadEnd(d *RunData) sim.Time {
	w := d.Scenario.Workload
	if w.Stop > 0 {
		return w.Stop
	}
	return d.Scenario.Duration - w.OpTimeout
}
