package reports

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/synod-dev/synod/protocols/scenario"
	"github.com/synod-dev/synod/sim"
)

// diagramEventsMax bounds a diagram's window: beyond a few hundred events
// the arrows are unreadable anyway.
const diagramEventsMax = 2000

// Arrow is one message in a space-time diagram.
type Arrow struct {
	From, To   sim.NodeID
	Sent, Recv sim.Time
	Label      string
	// Lost marks a message dropped by the network or sent to a down node.
	Lost bool
}

// Mark is a point event on a node's line: a fault or a role change.
type Mark struct {
	Node  sim.NodeID // 0: every node (partition, heal)
	At    sim.Time
	Label string
	Kind  string // "fault", "role"
}

// Diagram is the content of a space-time diagram of events [From, To).
type Diagram struct {
	From, To int64
	Start    sim.Time
	End      sim.Time
	Lanes    []sim.NodeID
	Arrows   []Arrow
	Marks    []Mark
	Title    string
	// Labels is where the last drawing of the diagram's figure put its
	// labels.
	Labels LabelLayout
}

type diagramObserver struct {
	from, to int64
	sends    map[sim.EventID]int // delivery event -> arrow index
	d        *Diagram
	roles    map[sim.NodeID]string
	seen     map[sim.NodeID]bool
}

func (o *diagramObserver) Observe(s *sim.Sim, r *sim.Record) {
	if r.Index == o.from-1 {
		o.noteRoles(s, r.Event.At, false)
	}
	if r.Index < o.from || r.Index >= o.to {
		return
	}
	ev := &r.Event
	d := o.d
	if r.Index == o.from {
		d.Start = ev.At
	}
	d.End = ev.At
	if ev.To != 0 {
		o.seen[ev.To] = true
	}
	switch ev.Kind {
	case sim.KindDeliver, sim.KindRequest:
		if k, ok := o.sends[ev.ID]; ok {
			d.Arrows[k].Recv = ev.At
			d.Arrows[k].Lost = r.Outcome != ""
		} else {
			// Sent before the window: draw it from the window's edge.
			d.Arrows = append(d.Arrows, Arrow{From: ev.From, To: ev.To, Sent: max(ev.Sent, d.Start), Recv: ev.At, Label: msgLabel(ev.Msg), Lost: r.Outcome != ""})
		}
		o.seen[ev.From] = true
	case sim.KindFault:
		d.Marks = append(d.Marks, Mark{Node: ev.Fault.Node, At: ev.At, Label: ev.Fault.String(), Kind: "fault"})
	}
	for _, e := range r.Effects {
		switch e.Kind {
		case sim.EffectSend:
			o.sends[e.ID] = len(d.Arrows)
			d.Arrows = append(d.Arrows, Arrow{From: ev.To, To: e.To, Sent: ev.At, Recv: -1, Label: msgLabel(e.Msg)})
		case sim.EffectDrop:
			d.Arrows = append(d.Arrows, Arrow{From: ev.To, To: e.To, Sent: ev.At, Recv: ev.At + sim.Millisecond, Label: msgLabel(e.Msg), Lost: true})
		}
	}
	o.noteRoles(s, ev.At, true)
}

// noteRoles records every node's role and marks the changes.
func (o *diagramObserver) noteRoles(s *sim.Sim, at sim.Time, mark bool) {
	d := o.d
	for _, id := range s.Nodes() {
		role := ""
		if v, ok := s.Inspect(id); ok && s.Up(id) {
			role = v.Role
			if v.TermLabel != "" {
				role += " " + v.TermLabel + " " + strconv.FormatInt(v.Term, 10)
			}
		} else {
			role = "down"
		}
		if prev, ok := o.roles[id]; mark && ok && prev != role && role != "down" && prev != "down" {
			d.Marks = append(d.Marks, Mark{Node: id, At: at, Label: role, Kind: "role"})
		}
		o.roles[id] = role
	}
}

func msgLabel(m sim.Message) string {
	if m == nil {
		return ""
	}
	t := m.MessageType()
	for i := len(t) - 1; i >= 0; i-- {
		if t[i] == '.' {
			return t[i+1:]
		}
	}
	return t
}

// BuildDiagram re-runs a scenario (with recorded manual choices) and
// collects events [from, to) for a space-time diagram. to <= 0 means
// from+100.
func BuildDiagram(sc *scenario.Scenario, choices []sim.Choice, from, to int64) (*Diagram, error) {
	if to <= 0 {
		to = from + 100
	}
	if from < 0 || to <= from {
		return nil, fmt.Errorf("window %d..%d is empty (want 0 <= from < to)", from, to)
	}
	if to-from > diagramEventsMax {
		return nil, fmt.Errorf("window %d..%d has %d events, over the %d-event bound of a readable diagram", from, to, to-from, diagramEventsMax)
	}
	inst, err := scenario.Build(sc)
	if err != nil {
		return nil, err
	}
	d := &Diagram{From: from, To: to, Title: fmt.Sprintf("%s, seed %d: events %d to %d", sc.Protocol, sc.Seed, from, to-1)}
	o := &diagramObserver{from: from, to: to, sends: map[sim.EventID]int{}, d: d, roles: map[sim.NodeID]string{}, seen: map[sim.NodeID]bool{}}
	inst.Sim.AddObserver(o)
	if _, err := inst.Sim.RunTo(to, choices); err != nil {
		return nil, err
	}
	if inst.Sim.Index() <= from {
		return nil, fmt.Errorf("the run has only %d events; --from %d is past its end", inst.Sim.Index(), from)
	}
	// Messages still in flight at the window's end leave through its edge.
	for i := range d.Arrows {
		if d.Arrows[i].Recv < 0 {
			d.Arrows[i].Recv = d.End
		}
	}
	d.Lanes = append(d.Lanes, inst.Sim.Nodes()...)
	var clients []sim.NodeID
	for id := range o.seen {
		if id.IsClient() {
			clients = append(clients, id)
		}
	}
	slices.Sort(clients)
	slices.Reverse(clients) // c1 first
	d.Lanes = append(d.Lanes, clients...)
	return d, nil
}

// Figure draws the diagram: one horizontal line per node (clients below),
// simulated time to the right, each message an arrow from its send to its
// delivery (lost ones red and dashed), faults as red marks and role
// changes as green labels.
func (d *Diagram) Figure(name, caption string) *Figure {
	p := plot.New()
	p.Title.Text = "Space-time diagram: " + d.Title
	p.X.Label.Text = "simulated time (ms)"
	p.Y.Label.Text = "process"
	lane := map[sim.NodeID]float64{}
	names := make([]string, len(d.Lanes))
	for i, id := range d.Lanes {
		y := float64(len(d.Lanes) - 1 - i)
		lane[id] = y
		names[len(d.Lanes)-1-i] = id.String()
	}
	p.NominalY(names...)
	p.Add(&diagramPlotter{d: d, lane: lane})
	span := max((d.End - d.Start).Milliseconds(), 1)
	p.X.Min, p.X.Max = d.Start.Milliseconds()-0.02*span, d.End.Milliseconds()+0.1*span
	p.Y.Min, p.Y.Max = -0.7, float64(len(d.Lanes))-0.3
	msg, _ := plotter.NewLine(plotter.XYs{{}, {}})
	msg.Color = color.NRGBA{R: 31, G: 119, B: 180, A: 255}
	lost, _ := plotter.NewLine(plotter.XYs{{}, {}})
	lost.Color = color.NRGBA{R: 214, G: 39, B: 40, A: 255}
	lost.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
	fault, _ := plotter.NewScatter(plotter.XYs{{}})
	fault.GlyphStyle = draw.GlyphStyle{Color: lost.Color, Shape: draw.CrossGlyph{}, Radius: vg.Points(4)}
	role, _ := plotter.NewScatter(plotter.XYs{{}})
	role.GlyphStyle = draw.GlyphStyle{Color: color.NRGBA{G: 140, A: 255}, Shape: draw.PyramidGlyph{}, Radius: vg.Points(4)}
	f := &Figure{Name: name, Title: p.Title.Text, Caption: caption, Plot: p}
	f.AddLegend("message", msg)
	f.AddLegend("lost message", lost)
	f.AddLegend("fault", fault)
	f.AddLegend("role change", role)
	rows := [][]string{{"kind", "from", "to", "sent_ms", "recv_ms", "label", "lost"}}
	for _, a := range d.Arrows {
		rows = append(rows, []string{"message", a.From.String(), a.To.String(), ff(a.Sent.Milliseconds()), ff(a.Recv.Milliseconds()), a.Label, strconv.FormatBool(a.Lost)})
	}
	for _, m := range d.Marks {
		node := "all"
		if m.Node != 0 {
			node = m.Node.String()
		}
		rows = append(rows, []string{m.Kind, node, "", ff(m.At.Milliseconds()), "", m.Label, ""})
	}
	f.CSV = rows
	f.Width = DiagramWidth
	f.Height = vg.Length(math.Max(3, 0.45*float64(len(d.Lanes))+1.4)) * vg.Inch
	return f
}

// DiagramWidth is the width of a space-time diagram: wider than other
// figures, for the message labels.
const DiagramWidth = 11 * vg.Inch

type diagramPlotter struct {
	d    *Diagram
	lane map[sim.NodeID]float64
}

// LabelBox is a label a diagram drew, where it drew it (canvas points).
type LabelBox struct {
	Text string
	Box  vg.Rectangle
}

// LabelLayout is where the last drawing of a diagram put its labels, and
// how many message labels it left out because every place tried for
// them overlapped a label already placed.
type LabelLayout struct {
	Placed  []LabelBox
	Dropped int
	// Canvas is the data area the labels were laid out in.
	Canvas vg.Rectangle
}

// labelPlaces are the fractions of an arrow's length at which its label
// is tried, in order: the middle, then staggered towards either end.
var labelPlaces = []float64{0.5, 0.35, 0.65, 0.22, 0.78}

// labelLayout places labels so that no two boxes intersect: each label
// goes to the first of its candidate anchors where its box is clear of
// every box placed before it and inside the bounds, or is dropped.
type labelLayout struct {
	bounds vg.Rectangle
	LabelLayout
}

// place tries the anchors in order and records the label at the first
// that fits; it reports whether one did.
func (l *labelLayout) place(sty text.Style, txt string, anchors []vg.Point) (vg.Point, bool) {
	r := sty.Rectangle(txt)
	for _, at := range anchors {
		box := r.Add(at)
		if !inside(box, l.bounds) {
			continue
		}
		if slices.ContainsFunc(l.Placed, func(b LabelBox) bool { return intersects(b.Box, box) }) {
			continue
		}
		l.Placed = append(l.Placed, LabelBox{Text: txt, Box: box})
		return at, true
	}
	return vg.Point{}, false
}

// intersects says two rectangles share more than an edge.
func intersects(a, b vg.Rectangle) bool {
	return a.Min.X < b.Max.X && b.Min.X < a.Max.X && a.Min.Y < b.Max.Y && b.Min.Y < a.Max.Y
}

// inside says a lies within b.
func inside(a, b vg.Rectangle) bool {
	return a.Min.X >= b.Min.X && a.Max.X <= b.Max.X && a.Min.Y >= b.Min.Y && a.Max.Y <= b.Max.Y
}

func (dp *diagramPlotter) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	d := dp.d
	laneStyle := draw.LineStyle{Color: color.Gray{Y: 90}, Width: vg.Points(1)}
	x0, x1 := trX(d.Start.Milliseconds()), trX(d.End.Milliseconds())
	for _, y := range dp.lane {
		c.StrokeLine2(laneStyle, x0, trY(y), x1, trY(y))
	}
	small := text.Style{Font: font.From(plotter.DefaultFont, vg.Points(6.5)), Handler: plot.DefaultTextHandler, Color: color.Gray{Y: 40}, XAlign: draw.XCenter, YAlign: draw.YCenter}
	blue := color.NRGBA{R: 31, G: 119, B: 180, A: 220}
	red := color.NRGBA{R: 214, G: 39, B: 40, A: 255}
	type arrowAt struct {
		p0, p1 vg.Point
		label  string
	}
	var drawn []arrowAt
	for _, a := range d.Arrows {
		fy, ok1 := dp.lane[a.From]
		ty, ok2 := dp.lane[a.To]
		if !ok1 || !ok2 {
			continue
		}
		st := draw.LineStyle{Color: blue, Width: vg.Points(0.8)}
		if a.Lost {
			st.Color = red
			st.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
		}
		p0 := vg.Point{X: trX(a.Sent.Milliseconds()), Y: trY(fy)}
		p1 := vg.Point{X: trX(a.Recv.Milliseconds()), Y: trY(ty)}
		c.StrokeLines(st, []vg.Point{p0, p1})
		if a.Lost {
			c.DrawGlyph(draw.GlyphStyle{Color: red, Shape: draw.CrossGlyph{}, Radius: vg.Points(2.5)}, p1)
		} else {
			arrowHead(&c, st.Color, p0, p1)
		}
		drawn = append(drawn, arrowAt{p0, p1, a.Label})
	}
	lay := &labelLayout{bounds: c.Rectangle}
	lay.Canvas = c.Rectangle
	// Marks first: a fault or a role change says more than one message's
	// name, so theirs are placed before any message's.
	faultText := text.Style{Font: font.From(plotter.DefaultFont, vg.Points(7)), Handler: plot.DefaultTextHandler, Color: red, Rotation: math.Pi / 2}
	roleText := text.Style{Font: font.From(plotter.DefaultFont, vg.Points(7)), Handler: plot.DefaultTextHandler, Color: color.NRGBA{G: 120, A: 255}}
	top := float64(len(d.Lanes)) - 0.5
	marksDropped := 0
	for _, m := range d.Marks {
		x := trX(m.At.Milliseconds())
		var sty text.Style
		var anchors []vg.Point
		switch {
		case m.Kind == "fault" && m.Node != 0:
			pt := vg.Point{X: x, Y: trY(dp.lane[m.Node])}
			c.DrawGlyph(draw.GlyphStyle{Color: red, Shape: draw.CrossGlyph{}, Radius: vg.Points(5)}, pt)
			sty = faultText
			anchors = []vg.Point{{X: x - vg.Points(3), Y: pt.Y + vg.Points(8)}, {X: x + vg.Points(10), Y: pt.Y + vg.Points(8)}}
		case m.Kind == "fault":
			st := draw.LineStyle{Color: red, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
			c.StrokeLine2(st, x, trY(-0.5), x, trY(top))
			sty = faultText
			anchors = []vg.Point{{X: x - vg.Points(3), Y: trY(-0.45)}, {X: x + vg.Points(10), Y: trY(-0.45)}}
		default:
			pt := vg.Point{X: x, Y: trY(dp.lane[m.Node])}
			c.DrawGlyph(draw.GlyphStyle{Color: roleText.Color, Shape: draw.PyramidGlyph{}, Radius: vg.Points(4)}, pt)
			sty = roleText
			anchors = []vg.Point{{X: x + vg.Points(3), Y: pt.Y + vg.Points(4)}, {X: x + vg.Points(3), Y: pt.Y - vg.Points(11)}}
		}
		if at, ok := lay.place(sty, m.Label, anchors); ok {
			c.FillText(sty, at, m.Label)
		} else {
			marksDropped++
		}
	}
	// No message label hides a mark's glyph: their boxes are reserved
	// (boxes without text, removed from the layout at the end).
	for _, m := range d.Marks {
		if m.Node == 0 {
			continue
		}
		pt := vg.Point{X: trX(m.At.Milliseconds()), Y: trY(dp.lane[m.Node])}
		r := vg.Points(5)
		lay.Placed = append(lay.Placed, LabelBox{Box: vg.Rectangle{Min: vg.Point{X: pt.X - r, Y: pt.Y - r}, Max: vg.Point{X: pt.X + r, Y: pt.Y + r}}})
	}
	// The note of what was left out goes in first too, bottom left.
	note := text.Style{Font: font.From(plotter.DefaultFont, vg.Points(7)), Handler: plot.DefaultTextHandler, Color: color.Gray{Y: 60}}
	noteAt := vg.Point{X: c.Min.X + vg.Points(2), Y: c.Min.Y + vg.Points(2)}
	labels := len(drawn) + len(d.Marks)
	noteBox := note.Rectangle(dropNote(labels, labels)).Add(noteAt)
	lay.Placed = append(lay.Placed, LabelBox{Box: noteBox})
	for _, a := range drawn {
		if a.label == "" {
			continue
		}
		anchors := make([]vg.Point, len(labelPlaces))
		for i, t := range labelPlaces {
			anchors[i] = vg.Point{X: a.p0.X + vg.Length(t)*(a.p1.X-a.p0.X), Y: a.p0.Y + vg.Length(t)*(a.p1.Y-a.p0.Y)}
		}
		at, ok := lay.place(small, a.label, anchors)
		if !ok {
			lay.Dropped++
			continue
		}
		box := lay.Placed[len(lay.Placed)-1].Box
		c.FillPolygon(color.NRGBA{R: 255, G: 255, B: 255, A: 200}, []vg.Point{box.Min, {X: box.Max.X, Y: box.Min.Y}, box.Max, {X: box.Min.X, Y: box.Max.Y}})
		c.FillText(small, at, a.label)
	}
	lay.Dropped += marksDropped
	// The reserved boxes are not labels. (The note's text can only be
	// shorter than the one its box was measured with.)
	lay.Placed = slices.DeleteFunc(lay.Placed, func(b LabelBox) bool { return b.Text == "" })
	if lay.Dropped > 0 {
		c.FillText(note, noteAt, dropNote(lay.Dropped, labels))
	}
	d.Labels = lay.LabelLayout
}

// dropNote says how many labels a diagram left out.
func dropNote(dropped, labels int) string {
	return fmt.Sprintf("labels left out where they would overlap others: %d of %d", dropped, labels)
}

// arrowHead draws a small filled head at p1 pointing away from p0.
func arrowHead(c *draw.Canvas, clr color.Color, p0, p1 vg.Point) {
	dx, dy := float64(p1.X-p0.X), float64(p1.Y-p0.Y)
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	ux, uy := dx/l, dy/l
	size := 5.0
	back := vg.Point{X: p1.X - vg.Length(ux*size), Y: p1.Y - vg.Length(uy*size)}
	left := vg.Point{X: back.X - vg.Length(uy*size*0.4), Y: back.Y + vg.Length(ux*size*0.4)}
	right := vg.Point{X: back.X + vg.Length(uy*size*0.4), Y: back.Y - vg.Length(ux*size*0.4)}
	c.FillPolygon(clr, []vg.Point{p1, left, right})
}
