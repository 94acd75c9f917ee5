package reports

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
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
}

// Report collects figures and writes them with a report.md.
type Report struct {
	Title string
	// Intro is markdown put before the figures (configuration, tables).
	Intro   []string
	Figures []*Figure
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
	fixLogRange(f.Plot)
	if format == "png" {
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(FigureDPI))
		f.Plot.Draw(draw.New(c))
		if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	to, err := f.Plot.WriterTo(w, h, format)
	if err != nil {
		return nil, err
	}
	if _, err := to.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// newPlot makes a plot with a title, axis labels (with units) and the
// legend at the top right.
func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

// logX makes the x axis logarithmic.
func logX(p *plot.Plot) {
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = logTicks{}
}

// logTicks labels 1, 2 and 5 times each power of ten (gonum's LogTicks
// labels only powers of ten, leaving a range within one decade bare).
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	var ts []plot.Tick
	decades := math.Log10(hi / lo)
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		base := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * base
			if v < lo || v > hi {
				continue
			}
			label := ""
			if m == 1 || (decades < 3 && (m == 2 || m == 5)) {
				label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			ts = append(ts, plot.Tick{Value: v, Label: label})
		}
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

// shade draws translucent rectangles over [lo, hi] of the y axis for each
// span, and returns the legend entry (one for all spans).
func shade(p *plot.Plot, spans []Span, lo, hi float64) {
	if len(spans) == 0 {
		return
	}
	var first *plotter.Polygon
	for _, s := range spans {
		poly, err := plotter.NewPolygon(plotter.XYs{{X: s.Start, Y: lo}, {X: s.End, Y: lo}, {X: s.End, Y: hi}, {X: s.Start, Y: hi}})
		if err != nil {
			continue
		}
		poly.Color = color.NRGBA{R: 255, G: 140, B: 0, A: 40}
		poly.LineStyle.Width = 0
		p.Add(poly)
		if first == nil {
			first = poly
		}
	}
	if first != nil {
		p.Legend.Add("fault in force", first)
	}
}

func ff(x float64) string { return fmt.Sprintf("%.6g", x) }

// fixLogRange gives an empty log axis a drawable range: gonum panics on a
// log scale whose range includes zero.
func fixLogRange(p *plot.Plot) {
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		if _, ok := a.Scale.(plot.LogScale); ok && (a.Min <= 0 || a.Max <= a.Min) {
			a.Min, a.Max = 1, 10
		}
	}
}
