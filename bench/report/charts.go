package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/stats"
)

// palette is the Okabe-Ito set, distinguishable with colour-blindness.
var palette = []color.RGBA{
	{0x00, 0x72, 0xB2, 0xff}, // blue
	{0xD5, 0x5E, 0x00, 0xff}, // vermillion
	{0x00, 0x9E, 0x73, 0xff}, // bluish green
	{0xE6, 0x9F, 0x00, 0xff}, // orange
	{0xCC, 0x79, 0xA7, 0xff}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xff}, // sky blue
	{0x99, 0x88, 0x00, 0xff}, // dark yellow
	{0x44, 0x44, 0x44, 0xff}, // grey
}

func colorOf(i int) color.Color { return palette[i%len(palette)] }

// refColor draws reference lines (SLOs, floors, stop points).
var refColor = color.RGBA{0xC0, 0x00, 0x00, 0xff}

// chartWidth is the width of every chart; heights vary.
const chartWidth = 9 * vg.Inch

// ratioBar is one bar of the overhead chart.
type ratioBar struct {
	label         string
	ratio, lo, hi float64
}

// overheadBars collects the metrics of a record that have a floor.
func overheadBars(r *record.Record) []ratioBar {
	var out []ratioBar
	for _, res := range r.Results {
		for _, m := range res.Metrics {
			if m.Floor == "" || !(m.Ratio > 0) {
				continue
			}
			lo, hi := m.RatioLo, m.RatioHi
			if !(lo > 0 && lo <= m.Ratio) {
				lo = m.Ratio
			}
			if !(hi >= m.Ratio) {
				hi = m.Ratio
			}
			out = append(out, ratioBar{label: res.Suite + ": " + m.Name, ratio: m.Ratio, lo: lo, hi: hi})
		}
	}
	return out
}

// overheadPlot draws each floor ratio as a horizontal bar with its 95%
// interval and a dashed line at 1 (the floor itself). It returns nil when
// the record has no ratio.
func overheadPlot(r *record.Record) (*plot.Plot, vg.Length, error) {
	bars := overheadBars(r)
	if len(bars) == 0 {
		return nil, 0, nil
	}
	// Top to bottom in record order: the y axis grows upwards.
	n := len(bars)
	vals := make(plotter.Values, n)
	names := make([]string, n)
	pts := errPoints{XYs: make(plotter.XYs, n), XErrors: make(plotter.XErrors, n)}
	labels := plotter.XYLabels{XYs: make(plotter.XYs, n), Labels: make([]string, n)}
	xmax := 1.0
	for i, b := range bars {
		j := n - 1 - i
		vals[j] = b.ratio
		names[j] = " " + b.label // room before the left edge
		pts.XYs[j] = plotter.XY{X: b.ratio, Y: float64(j)}
		pts.XErrors[j] = struct{ Low, High float64 }{b.ratio - b.lo, b.hi - b.ratio}
		labels.XYs[j] = plotter.XY{X: b.hi, Y: float64(j)}
		labels.Labels[j] = fmt.Sprintf("  %.2fx [%.2f, %.2f]", b.ratio, b.lo, b.hi)
		xmax = math.Max(xmax, b.hi)
	}
	p := plot.New()
	p.Title.Text = "Cost against the floor measured in the same run (ratio of medians, 95% CI)"
	p.X.Label.Text = "ratio to floor (1 = as fast as the floor)"
	p.X.Tick.Marker = niceTicks{}
	p.X.Min, p.X.Max = 0, xmax*1.3
	bc, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return nil, 0, err
	}
	bc.Horizontal = true
	bc.Color = palette[5]
	bc.LineStyle.Width = 0
	eb, err := plotter.NewXErrorBars(pts)
	if err != nil {
		return nil, 0, err
	}
	eb.LineStyle.Width = vg.Points(1.2)
	lb, err := plotter.NewLabels(labels)
	if err != nil {
		return nil, 0, err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].YAlign = draw.YCenter
	}
	one, err := plotter.NewLine(plotter.XYs{{X: 1, Y: -0.5}, {X: 1, Y: float64(n) - 0.5}})
	if err != nil {
		return nil, 0, err
	}
	one.Color = refColor
	one.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(plotter.NewGrid(), bc, eb, lb, one)
	p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
	p.NominalY(names...)
	return p, vg.Inch + vg.Length(n)*vg.Points(28), nil
}

// errPoints are points with horizontal error bars.
type errPoints struct {
	plotter.XYs
	plotter.XErrors
}

// curvePlot draws a curve by its kind.
func curvePlot(c *record.Curve) (*plot.Plot, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p := plot.New()
	p.Title.Text = c.Name
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	p.Add(plotter.NewGrid())
	var err error
	switch c.EffectiveKind() {
	case record.KindCDF:
		err = addCDF(p, c)
	case record.KindStacked:
		err = addStacked(p, c)
	default:
		err = addLines(p, c)
	}
	if err != nil {
		return nil, fmt.Errorf("curve %q: %w", c.Name, err)
	}
	if _, _, ymin, _ := bounds(c); c.LogY && c.EffectiveKind() == record.KindLine && ymin > 0 {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	return p, nil
}

// bounds returns the range of the curve's points and reference lines.
func bounds(c *record.Curve) (xmin, xmax, ymin, ymax float64) {
	xmin, ymin = math.Inf(1), math.Inf(1)
	xmax, ymax = math.Inf(-1), math.Inf(-1)
	for _, s := range c.Series {
		for _, pt := range s.Points {
			xmin, xmax = math.Min(xmin, pt[0]), math.Max(xmax, pt[0])
			ymin, ymax = math.Min(ymin, pt[1]), math.Max(ymax, pt[1])
		}
	}
	for _, h := range c.HLines {
		ymin, ymax = math.Min(ymin, h.Y), math.Max(ymax, h.Y)
	}
	for _, v := range c.VLines {
		xmin, xmax = math.Min(xmin, v.X), math.Max(xmax, v.X)
	}
	if math.IsInf(xmin, 1) {
		xmin, xmax = 0, 1
	}
	if math.IsInf(ymin, 1) {
		ymin, ymax = 0, 1
	}
	return
}

func addLines(p *plot.Plot, c *record.Curve) error {
	for i, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		pts := make(plotter.XYs, len(s.Points))
		for j, pt := range s.Points {
			pts[j] = plotter.XY{X: pt[0], Y: pt[1]}
		}
		sort.SliceStable(pts, func(a, b int) bool { return pts[a].X < pts[b].X })
		if med, dup := mediansByX(pts); dup {
			// Several samples per x (a latency per VM created): the
			// samples as dots, a line through their medians.
			sc, err := plotter.NewScatter(pts)
			if err != nil {
				return err
			}
			sc.Color, sc.Shape, sc.Radius = faded(colorOf(i)), draw.CircleGlyph{}, vg.Points(1.8)
			l, err := plotter.NewLine(med)
			if err != nil {
				return err
			}
			l.Color, l.Width = colorOf(i), vg.Points(1.8)
			p.Add(sc, l)
			p.Legend.Add(s.Label, sc)
			p.Legend.Add(s.Label+" (median)", l)
			continue
		}
		l, sc, err := plotter.NewLinePoints(pts)
		if err != nil {
			return err
		}
		l.Color, l.Width = colorOf(i), vg.Points(1.5)
		sc.Color, sc.Shape, sc.Radius = colorOf(i), draw.CircleGlyph{}, vg.Points(2)
		p.Add(l, sc)
		p.Legend.Add(s.Label, l, sc)
	}
	xmin, xmax, ymin, ymax := bounds(c)
	if !c.LogY && ymin > 0 {
		ymin = 0 // rates and latencies read best from zero
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), vg.Points(-4)
	// Headroom above the data for the legend in the top left corner.
	entries := float64(len(c.Series) + len(c.HLines) + len(c.VLines))
	top := ymax + (ymax-ymin)*(0.07*entries+0.05)
	if c.LogY && ymin > 0 {
		if ymax <= ymin { // one value: a decade either side
			ymin, ymax = ymin/10, ymax*10
		}
		top = ymax * math.Pow(ymax/ymin, 0.07*entries+0.05)
	}
	p.Y.Min = ymin
	p.Y.Max = math.Max(top, ymax)
	return addRefLines(p, c, xmin, xmax, ymin, p.Y.Max)
}

// mediansByX returns the median y at each distinct x of pts (sorted by
// x), and whether any x repeats.
func mediansByX(pts plotter.XYs) (plotter.XYs, bool) {
	var out plotter.XYs
	dup := false
	for i := 0; i < len(pts); {
		j := i + 1
		for j < len(pts) && pts[j].X == pts[i].X {
			j++
		}
		ys := make([]float64, 0, j-i)
		for _, pt := range pts[i:j] {
			ys = append(ys, pt.Y)
		}
		out = append(out, plotter.XY{X: pts[i].X, Y: stats.Median(ys)})
		dup = dup || j-i > 1
		i = j
	}
	return out, dup
}

// faded returns c, half transparent.
func faded(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 0x70}
}

func addCDF(p *plot.Plot, c *record.Curve) error {
	for i, s := range c.Series {
		if len(s.Points) == 0 {
			continue
		}
		xs := make([]float64, len(s.Points))
		for j, pt := range s.Points {
			xs[j] = pt[0]
		}
		sort.Float64s(xs)
		pts := make(plotter.XYs, 0, len(xs)+1)
		pts = append(pts, plotter.XY{X: xs[0], Y: 0})
		for j, x := range xs {
			pts = append(pts, plotter.XY{X: x, Y: float64(j+1) / float64(len(xs))})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.StepStyle = plotter.PostStep
		l.Color, l.Width = colorOf(i), vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (n=%d)", s.Label, len(xs)), l)
	}
	xmin, xmax, _, _ := bounds(c)
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = vg.Points(8)
	return addRefLines(p, c, xmin, xmax, 0, 1)
}

func addStacked(p *plot.Plot, c *record.Curve) error {
	seen := map[float64]bool{}
	var xs []float64
	for _, s := range c.Series {
		for _, pt := range s.Points {
			if !seen[pt[0]] {
				seen[pt[0]] = true
				xs = append(xs, pt[0])
			}
		}
	}
	sort.Float64s(xs)
	if len(xs) == 0 {
		return nil // nothing to stack: an empty frame
	}
	pos := map[float64]int{}
	names := make([]string, len(xs))
	for i, x := range xs {
		pos[x] = i
		names[i] = fmt.Sprintf("%g", x)
	}
	width := vg.Points(math.Min(60, 400/math.Max(1, float64(len(xs)))))
	var below *plotter.BarChart
	total := make([]float64, len(xs))
	for i, s := range c.Series {
		vals := make(plotter.Values, len(xs))
		for _, pt := range s.Points {
			vals[pos[pt[0]]] += pt[1]
		}
		label := s.Label
		for j, v := range vals {
			if v < 0 { // a shrinking component cannot be stacked
				vals[j] = 0
				label = s.Label + " (negative drawn as 0)"
			}
			total[j] += vals[j]
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return err
		}
		bc.Color = colorOf(i)
		bc.LineStyle.Width = vg.Points(0.5)
		bc.LineStyle.Color = color.White
		if below != nil {
			bc.StackOn(below)
		}
		below = bc
		p.Add(bc)
		p.Legend.Add(label, bc)
	}
	p.NominalX(names...)
	ymax := 0.0
	for _, t := range total {
		ymax = math.Max(ymax, t)
	}
	for _, h := range c.HLines {
		ymax = math.Max(ymax, h.Y)
	}
	// Room above the tallest stack for the legend.
	p.Y.Min, p.Y.Max = 0, ymax*(1.15+0.09*float64(len(c.Series)))
	p.Legend.Top, p.Legend.Left = true, true
	n := float64(len(xs))
	return addRefLines(p, &record.Curve{HLines: c.HLines}, -0.5, n-0.5, 0, ymax)
}

// addRefLines draws the curve's horizontal lines across [xmin, xmax] and
// its vertical lines across [ymin, ymax], dashed, in the legend.
func addRefLines(p *plot.Plot, c *record.Curve, xmin, xmax, ymin, ymax float64) error {
	dashes := [][]vg.Length{{vg.Points(6), vg.Points(3)}, {vg.Points(2), vg.Points(2)}, {vg.Points(8), vg.Points(2), vg.Points(2), vg.Points(2)}}
	k := 0
	add := func(label string, pts plotter.XYs) error {
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color, l.Width, l.Dashes = refColor, vg.Points(1.5), dashes[k%len(dashes)]
		k++
		p.Add(l)
		p.Legend.Add(label, l)
		return nil
	}
	for _, h := range c.HLines {
		if err := add(h.Label, plotter.XYs{{X: xmin, Y: h.Y}, {X: xmax, Y: h.Y}}); err != nil {
			return err
		}
	}
	for _, v := range c.VLines {
		if err := add(v.Label, plotter.XYs{{X: v.X, Y: ymin}, {X: v.X, Y: ymax}}); err != nil {
			return err
		}
	}
	return nil
}

// pngOf renders a plot as PNG. The plotting library panics on some
// degenerate input; a record is user input, so a panic becomes an error.
func pngOf(p *plot.Plot, h vg.Length) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("cannot draw: %v", r)
		}
	}()
	p.Title.TextStyle.Font.Size = vg.Points(13)
	wt, err := p.WriterTo(chartWidth, h, "png")
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if _, err := wt.WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
