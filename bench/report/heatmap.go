package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/xenolith/xenolith/bench/record"
)

// maxHeatCells bounds a heatmap's rows and columns (a record is input).
const maxHeatCells = 400

// heatGrid is a heatmap curve as a grid: rows are the series (first at
// the top), columns the distinct x values in order.
type heatGrid struct {
	xs     []float64
	labels []string
	z      [][]float64 // [row][col], NaN where a series has no point
}

func newHeatGrid(c *record.Curve) (*heatGrid, error) {
	seen := map[float64]bool{}
	g := &heatGrid{}
	for _, s := range c.Series {
		for _, p := range s.Points {
			if !seen[p[0]] {
				seen[p[0]] = true
				g.xs = append(g.xs, p[0])
			}
		}
	}
	sort.Float64s(g.xs)
	if len(g.xs) == 0 || len(c.Series) == 0 {
		return nil, fmt.Errorf("no cells")
	}
	if len(g.xs) > maxHeatCells || len(c.Series) > maxHeatCells {
		return nil, fmt.Errorf("%d x %d cells: too many to draw", len(c.Series), len(g.xs))
	}
	col := map[float64]int{}
	for i, x := range g.xs {
		col[x] = i
	}
	for _, s := range c.Series {
		row := make([]float64, len(g.xs))
		for i := range row {
			row[i] = math.NaN()
		}
		for _, p := range s.Points {
			row[col[p[0]]] = p[1]
		}
		g.labels = append(g.labels, s.Label)
		g.z = append(g.z, row)
	}
	return g, nil
}

// Dims, Z, X and Y implement plotter.GridXYZ; row 0 is drawn at the top.
func (g *heatGrid) Dims() (c, r int)   { return len(g.xs), len(g.z) }
func (g *heatGrid) Z(c, r int) float64 { return g.z[len(g.z)-1-r][c] }
func (g *heatGrid) X(c int) float64    { return float64(c) }
func (g *heatGrid) Y(r int) float64    { return float64(r) }

// span returns the range of the finite cells.
func (g *heatGrid) span() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range g.z {
		for _, v := range row {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if lo > hi {
		return 0, 1
	}
	if lo == hi {
		hi = lo + 1
	}
	return lo, hi
}

// labelTicks labels integer positions with names, at most about max of them.
type labelTicks struct {
	names []string
	max   int
}

// Ticks implements plot.Ticker.
func (l labelTicks) Ticks(_, _ float64) []plot.Tick {
	step := max(1, (len(l.names)+l.max-1)/max(l.max, 1))
	var out []plot.Tick
	for i, n := range l.names {
		t := plot.Tick{Value: float64(i)}
		if i%step == 0 {
			t.Label = n
		}
		out = append(out, t)
	}
	return out
}

// heatmapPNG draws a heatmap curve with its colour scale beneath, as PNG.
// The plotting library panics on some degenerate input; a record is user
// input, so a panic becomes an error.
func heatmapPNG(c *record.Curve) (data []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			data, err = nil, fmt.Errorf("cannot draw: %v", r)
		}
	}()
	g, err := newHeatGrid(c)
	if err != nil {
		return nil, err
	}
	lo, hi := g.span()
	// The scale ends short of the palette's white, so that the largest
	// value stays apart from the blank (no data) cells.
	scaleTop := hi + (hi-lo)*0.15
	if math.IsInf(scaleTop, 0) || math.IsNaN(scaleTop) {
		return nil, fmt.Errorf("values out of range")
	}
	cm := moreland.ExtendedBlackBody()
	cm.SetMin(lo)
	cm.SetMax(scaleTop)
	hm := plotter.NewHeatMap(g, cm.Palette(255))
	hm.Min, hm.Max = lo, scaleTop
	hm.NaN = color.RGBA{0xdd, 0xe6, 0xf0, 0xff}
	p := plot.New()
	p.Title.Text = c.Name
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = c.XLabel
	p.Y.Label.Text = c.YLabel
	p.Add(hm)
	xl := make([]string, len(g.xs))
	for i, x := range g.xs {
		xl[i] = fmt.Sprintf("%g", x)
	}
	p.X.Tick.Marker = labelTicks{names: xl, max: 16}
	yl := make([]string, len(g.labels))
	for i := range g.labels {
		yl[i] = g.labels[len(g.labels)-1-i]
	}
	p.Y.Tick.Marker = labelTicks{names: yl, max: 30}

	bar := plot.New()
	bar.Title.Text = fmt.Sprintf("colour scale: %s to %s (pale blue-grey: no data)", fmtCell(lo), fmtCell(hi))
	bar.Title.TextStyle.Font.Size = vg.Points(10)
	bar.HideY()
	bar.X.Tick.Marker = niceTicks{}
	bar.Add(&plotter.ColorBar{ColorMap: cm})

	rows := len(g.z)
	h := vg.Length(3.5)*vg.Inch + vg.Length(math.Min(float64(rows), 60))*0.06*vg.Inch
	barH := 0.9 * vg.Inch
	img := vgimg.New(chartWidth, h+barH)
	dc := draw.New(img)
	top := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: vg.Point{X: dc.Min.X, Y: dc.Min.Y + barH}, Max: dc.Max}}
	bottom := draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{Min: dc.Min, Max: vg.Point{X: dc.Max.X, Y: dc.Min.Y + barH}}}
	p.Draw(top)
	bar.Draw(bottom)
	var b bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// fmtCell formats a cell value for the colour scale.
func fmtCell(v float64) string { return fmt.Sprintf("%.4g", v) }

// heatTable tabulates a heatmap curve: one row per series, one column per x.
func heatTable(c *record.Curve) (head []string, rows [][]string, more int) {
	g, err := newHeatGrid(c)
	if err != nil {
		return nil, nil, 0
	}
	head = append(head, c.XLabel+" →")
	for _, x := range g.xs {
		head = append(head, fmt.Sprintf("%g", x))
	}
	for i, row := range g.z {
		if len(rows) == maxTableRows {
			more++
			continue
		}
		r := []string{g.labels[i]}
		for _, v := range row {
			if math.IsNaN(v) {
				r = append(r, "")
			} else {
				r = append(r, fmtCell(v))
			}
		}
		rows = append(rows, r)
	}
	return head, rows, more
}
