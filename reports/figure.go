package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure sizes: wide enough for a slide, small enough for a README.
const (
	FigureWidth  = 8 * vg.Inch
	FigureHeight = 4.5 * vg.Inch
	// FigureDPI is the PNG resolution; a figure is 1200x675 pixels.
	FigureDPI = 150
)

// Figure is one plot with its caption and raw data.
type Figure struct {
	// Name is the file stem: NAME.png, NAME.svg, NAME.csv.
	Name    string
	Title   string
	Caption string
	Plot    *plot.Plot
	// CSV is the raw data, header row first.
	CSV [][]string
	// Width and Height override the default size.
	Width, Height vg.Length
	// Legend is drawn in rows between the title and the data, where it
	// hides no data and needs no headroom on the y axis (gonum's own
	// legend, Plot.Legend, draws over the data).
	Legend []LegendEntry
}

// LegendEntry is one entry of a figure's legend: a text after the
// thumbnails that show the style of what it names.
type LegendEntry struct {
	Text   string
	Thumbs []plot.Thumbnailer
}

// AddLegend appends an entry to the legend drawn above the data.
func (f *Figure) AddLegend(text string, thumbs ...plot.Thumbnailer) {
	f.Legend = append(f.Legend, LegendEntry{Text: text, Thumbs: thumbs})
}

// Report collects figures and writes them with a report.md.
type Report struct {
	Title string
	// Intro is markdown put before the figures (configuration, tables).
	Intro   []string
	Figures []*Figure
	// Files are written beside report.md, by name: the scenario files of
	// scenarios an experiment builds in code, which its replay commands
	// name (a run's flags alone would not rebuild them).
	Files map[string][]byte
}

// Add appends a figure.
func (r *Report) Add(f *Figure) { r.Figures = append(r.Figures, f) }

// Note appends a paragraph of markdown to the introduction.
func (r *Report) Note(format string, args ...any) {
	r.Intro = append(r.Intro, fmt.Sprintf(format, args...))
}

// Write writes every figure as PNG, SVG and CSV, and report.md, into dir.
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# %s\n\n", r.Title)
	for _, p := range r.Intro {
		md.WriteString(p + "\n\n")
	}
	for _, f := range r.Figures {
		if err := f.Save(dir); err != nil {
			return fmt.Errorf("figure %s: %v", f.Name, err)
		}
		fmt.Fprintf(&md, "## %s\n\n![%s](%s.png)\n\n%s\n\nData: [%s.csv](%s.csv) · vector: [%s.svg](%s.svg)\n\n",
			f.Title, f.Title, f.Name, f.Caption, f.Name, f.Name, f.Name, f.Name)
	}
	for _, name := range slices.Sorted(maps.Keys(r.Files)) {
		if filepath.Base(name) != name {
			return fmt.Errorf("report file %q: want a plain file name", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), r.Files[name], 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md.String()), 0o644)
}

// Save writes NAME.png, NAME.svg and NAME.csv into dir.
func (f *Figure) Save(dir string) error {
	w, h := f.Width, f.Height
	if w == 0 {
		w, h = FigureWidth, FigureHeight
	}
	for _, ext := range []string{"png", "svg"} {
		b, err := f.Render(w, h, ext)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name+"."+ext), b, 0o644); err != nil {
			return err
		}
	}
	if len(f.CSV) == 0 {
		return nil
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.WriteAll(f.CSV); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, f.Name+".csv"), buf.Bytes(), 0o644)
}

// Render draws the figure in a format ("png" or "svg").
func (f *Figure) Render(w, h vg.Length, format string) ([]byte, error) {
	var buf bytes.Buffer
	switch format {
	case "png":
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(FigureDPI))
		f.Draw(draw.New(c))
		if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
			return nil, err
		}
	case "svg":
		c := vgsvg.New(w, h)
		f.Draw(draw.New(c))
		if _, err := c.WriteTo(&buf); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("figure %s: format %q is neither png nor svg", f.Name, format)
	}
	return buf.Bytes(), nil
}

// Draw draws the plot and, in the room it leaves under the title, the
// figure's legend rows.
func (f *Figure) Draw(c draw.Canvas) {
	p := f.Plot
	if len(f.Legend) == 0 {
		p.Draw(c)
		return
	}
	lay := layoutLegend(f.Legend, legendStyle(), c.Max.X-c.Min.X)
	padding := p.Title.Padding
	defer func() { p.Title.Padding = padding }()
	p.Title.Padding = padding + lay.height + legendGap
	p.Draw(c)
	top := c.Max.Y - padding
	if p.Title.Text != "" {
		top -= p.Title.TextStyle.Rectangle(p.Title.Text).Size().Y
	}
	lay.draw(c, vg.Point{X: c.Min.X, Y: top})
}

// legendGap separates the legend rows from the data below them.
const legendGap = 4

// legendStyle is the legend's text: a little smaller than gonum's 12pt,
// so that a few entries fit in one row.
func legendStyle() text.Style {
	return text.Style{Font: font.From(plot.DefaultFont, vg.Points(11)), Handler: plot.DefaultTextHandler}
}

// legendThumbWidth is the width of an entry's thumbnail.
const legendThumbWidth = vg.Length(18)

// legendLayout places legend entries in centred rows, left to right,
// starting a row when the next entry would pass the width.
type legendLayout struct {
	entries []LegendEntry
	style   text.Style
	// boxes are the entries' rectangles, relative to the top left
	// corner of the legend (y grows downwards from 0 as negative).
	boxes  []vg.Rectangle
	height vg.Length
}

func layoutLegend(entries []LegendEntry, sty text.Style, width vg.Length) legendLayout {
	lay := legendLayout{entries: entries, style: sty}
	em := sty.Rectangle("M").Size().X
	rowH := sty.Rectangle("Mg").Size().Y * 1.2
	sep := 2 * em
	var row []int
	rowW := vg.Length(0)
	rowTop := vg.Length(0)
	flush := func() {
		x := (width - rowW) / 2
		for _, i := range row {
			b := &lay.boxes[i]
			w := b.Max.X
			b.Min = vg.Point{X: x, Y: rowTop - rowH}
			b.Max = vg.Point{X: x + w, Y: rowTop}
			x += w + sep
		}
		rowTop -= rowH
		row, rowW = row[:0], 0
	}
	for i, e := range entries {
		w := legendThumbWidth + em/2 + sty.Rectangle(e.Text).Size().X
		lay.boxes = append(lay.boxes, vg.Rectangle{Max: vg.Point{X: w}})
		next := rowW + w
		if len(row) > 0 {
			next += sep
		}
		if len(row) > 0 && next > width {
			flush()
			next = w
		}
		row = append(row, i)
		rowW = next
	}
	if len(row) > 0 {
		flush()
	}
	lay.height = -rowTop
	return lay
}

// draw draws the laid-out legend with its top left corner at at.
func (lay legendLayout) draw(c draw.Canvas, at vg.Point) {
	em := lay.style.Rectangle("M").Size().X
	for i, e := range lay.entries {
		b := lay.boxes[i]
		lo := vg.Point{X: at.X + b.Min.X, Y: at.Y + b.Min.Y}
		h := b.Max.Y - b.Min.Y
		thumb := draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: lo.X, Y: lo.Y + h*0.15},
			Max: vg.Point{X: lo.X + legendThumbWidth, Y: lo.Y + h*0.85},
		}}
		for _, t := range e.Thumbs {
			t.Thumbnail(&thumb)
		}
		sty := lay.style
		sty.YAlign = draw.YCenter
		c.FillText(sty, vg.Point{X: lo.X + legendThumbWidth + em/2, Y: lo.Y + h/2}, e.Text)
	}
}

// newPlot makes a plot with a title, axis labels (with units) and a
// grid.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Add(plotter.NewGrid())
	return p
}

// newFigure makes a figure around a new plot; its legend goes above the
// data (AddLegend).
func newFigure(name, title, xLabel, yLabel, caption string) *Figure {
	return &Figure{Name: name, Title: title, Caption: caption, Plot: newPlot(title, xLabel, yLabel)}
}

// fractionAxis puts a fraction on 0..1, ticked every 0.25.
func fractionAxis(a *plot.Axis) {
	a.Min, a.Max = 0, 1
	a.Tick.Marker = plot.ConstantTicks{
		{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"}, {Value: 0.5, Label: "0.5"},
		{Value: 0.75, Label: "0.75"}, {Value: 1, Label: "1"},
	}
}

// niceCeil is the smallest of 1, 2 or 5 times a power of ten that is at
// least x (x > 0): an axis end a reader takes in at a glance.
func niceCeil(x float64) float64 {
	if x <= 0 {
		return 1
	}
	base := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*base >= x*(1-1e-12) {
			return m * base
		}
	}
	return 10 * base
}

// logX makes the x axis logarithmic: the plot carries log10 of the x
// values on a linear axis ticked with the values (log10Ticks); the caller
// puts log10 of its values and of the axis range in the plot.
func logX(p *plot.Plot) {
	p.X.Tick.Marker = log10Ticks{}
}

// logTicks labels a log axis so that a reader finds at least
// logLabelsMin values on it: every power of ten, 2 and 5 times each when
// the range spans under three decades, every multiple under one decade,
// and plain linear ticks (gonum's) when the range is too narrow for even
// those (a range of 150 to 300 has only 200 and 300).
type logTicks struct{}

// logLabelsMin is the fewest labelled ticks an axis shows.
const logLabelsMin = 3

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	var ts []plot.Tick
	labelled := 0
	decades := math.Log10(hi / lo)
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			label := ""
			if m == 1 || (decades < 3 && (m == 2 || m == 5)) || decades < 1 {
				label = strconv.FormatFloat(v, 'g', -1, 64)
				labelled++
			}
			ts = append(ts, plot.Tick{Value: v, Label: label})
		}
	}
	if labelled >= logLabelsMin {
		return ts
	}
	var lin []plot.Tick
	for _, t := range (plot.DefaultTicks{}).Ticks(lo, hi) {
		if t.Value > 0 {
			lin = append(lin, t)
		}
	}
	return lin
}

// log10Ticks labels a linear axis that carries log10 of the values with
// the values themselves, ticked as logTicks would tick them. Such an axis
// stands in for gonum's LogScale, whose axis label gonum places at the
// arithmetic mean of the range (near the top or right end of a log axis)
// and then shrinks the data area to make room for it there: a fifth of a
// figure's width was left blank right of a CDF reaching 5 s.
type log10Ticks struct{}

func (log10Ticks) Ticks(lo, hi float64) []plot.Tick {
	ts := logTicks{}.Ticks(math.Pow(10, lo), math.Pow(10, hi))
	for i := range ts {
		ts[i].Value = math.Log10(ts[i].Value)
	}
	return ts
}

// Series is a named sample, one curve of a figure.
type Series struct {
	Name   string
	Values []float64
}

// palette returns the i-th series color.
func palette(i int) color.Color { return plotutil.Color(i) }

// Span is an interval of simulated time, for shading (faults).
type Span struct {
	Start, End float64 // seconds
	Label      string
}

// faultColor shades the spans when a fault was in force.
var faultColor = color.NRGBA{R: 255, G: 140, B: 0, A: 40}

// shade draws translucent rectangles over [lo, hi] of the y axis for each
// span, with one legend entry for all of them.
func shade(f *Figure, spans []Span, lo, hi float64) {
	var first *plotter.Polygon
	for _, s := range spans {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: s.Start, Y: lo}, {X: s.End, Y: lo}, {X: s.End, Y: hi}, {X: s.Start, Y: hi}})
		if err != nil {
			continue
		}
		poly.Color = faultColor
		poly.LineStyle.Width = 0
		f.Plot.Add(poly)
		if first == nil {
			first = poly
		}
	}
	if first != nil {
		f.AddLegend("fault in force", first)
	}
}

func ff(x float64) string { return fmt.Sprintf("%.6g", x) }
