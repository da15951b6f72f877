// Package report renders benchmark records as a self-contained HTML page
// for people: the tool and host metadata, one table per suite (p50 with
// its interval, p99, ratio to the floor), a bar chart of the overhead
// ratios with their intervals, and one chart per curve (density ramps,
// latency against VMs running, memory breakdowns, CDFs). Charts are drawn
// with gonum.org/v1/plot, embedded in the page as PNG data URIs and also
// written beside it as PNG files.
package report

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/stats"
)

// Options configure Render.
type Options struct {
	Dir   string    // output directory, created if need be
	Base  string    // file base: Base.html and Base-*.png (default "report")
	Names []string  // a title per record, e.g. its file name (default "record N")
	Now   time.Time // generation time shown on the page (default now)
}

// Output lists the files Render wrote.
type Output struct {
	HTML   string   // the page
	Images []string // the PNG files beside it, also embedded in the page
}

// Render writes the page for recs and its images under o.Dir.
func Render(recs []*record.Record, o Options) (*Output, error) {
	if len(recs) == 0 {
		return nil, fmt.Errorf("report: no record")
	}
	if o.Base == "" {
		o.Base = "report"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	out := &Output{HTML: filepath.Join(o.Dir, o.Base+".html")}
	pg := page{Generated: o.Now.Format("2006-01-02 15:04:05 MST")}
	for i, r := range recs {
		name := fmt.Sprintf("record %d", i+1)
		if i < len(o.Names) && o.Names[i] != "" {
			name = o.Names[i]
		}
		prefix := o.Base
		if len(recs) > 1 {
			prefix = fmt.Sprintf("%s-r%d", o.Base, i+1)
		}
		rv, err := recordView(r, name, prefix, o.Dir, out)
		if err != nil {
			return nil, err
		}
		pg.Records = append(pg.Records, rv)
	}
	pg.Title = "Xenolith benchmark report"
	if len(recs) == 1 {
		pg.Title += ": " + strings.Join(recs[0].Suites(), ", ")
	}
	var b bytes.Buffer
	if err := pageTemplate.Execute(&b, pg); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(out.HTML, b.Bytes(), 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return out, nil
}

// page is the template's data.
type page struct {
	Title     string
	Generated string
	Records   []recView
}

type recView struct {
	Name     string
	Meta     [][2]string
	Headline []HeadlineRow
	Suites   []suiteView
	Overhead *imageView
	Curves   []curveView
}

type suiteView struct {
	Name   string
	TSCKHz uint64
	Config string
	Rows   []metricRow
	Notes  []string
	Tables []bench.Table
}

type metricRow struct {
	Name, Floor, Unit, Runs, N, P50, CI, P99, Ratio string
}

type imageView struct {
	Title string
	Src   template.HTMLAttr // src="data:..." of the PNG (base64 needs no escaping)
	File  string            // the PNG beside the page
}

type curveView struct {
	imageView
	Suite string
	Head  []string   // data table header
	Rows  [][]string // data table rows
	More  int        // rows left out
}

func recordView(r *record.Record, name, prefix, dir string, out *Output) (recView, error) {
	rv := recView{Name: name, Meta: meta(r), Headline: Headline(r.Results)}
	for _, res := range r.Results {
		rv.Suites = append(rv.Suites, suiteOf(res))
	}
	p, h, err := overheadPlot(r)
	if err != nil {
		return rv, fmt.Errorf("report: overhead chart: %w", err)
	}
	if p != nil {
		img, err := writeImage(p, h, "Overhead ratios", prefix+"-overhead.png", dir, out)
		if err != nil {
			return rv, err
		}
		rv.Overhead = img
	}
	used := map[string]bool{"overhead": true}
	curves := r.AllCurves()
	for i := range curves {
		c := &curves[i]
		if !hasPoints(c) {
			continue // nothing to draw (e.g. no run-queue waits at any step)
		}
		sl := slug(c.Name)
		for n := 2; used[sl]; n++ {
			sl = fmt.Sprintf("%s-%d", slug(c.Name), n)
		}
		used[sl] = true
		file := fmt.Sprintf("%s-%s.png", prefix, sl)
		var img *imageView
		var err error
		if c.EffectiveKind() == record.KindHeatmap {
			img, err = writeHeatmap(c, file, dir, out)
		} else {
			var p *plot.Plot
			if p, err = curvePlot(c); err != nil {
				return rv, fmt.Errorf("report: %w", err)
			}
			img, err = writeImage(p, 4.5*vg.Inch, c.Name, file, dir, out)
		}
		if err != nil {
			return rv, err
		}
		cv := curveView{imageView: *img, Suite: c.Suite}
		cv.Head, cv.Rows, cv.More = curveTable(c)
		rv.Curves = append(rv.Curves, cv)
	}
	return rv, nil
}

// hasPoints reports whether any series of c has a point.
func hasPoints(c *record.Curve) bool {
	for _, s := range c.Series {
		if len(s.Points) > 0 {
			return true
		}
	}
	return false
}

func writeImage(p *plot.Plot, h vg.Length, title, file, dir string, out *Output) (*imageView, error) {
	data, err := pngOf(p, h)
	if err != nil {
		return nil, fmt.Errorf("report: chart %q: %w", title, err)
	}
	return writePNG(data, title, file, dir, out)
}

// writeHeatmap draws a heatmap curve and writes it like writeImage.
func writeHeatmap(c *record.Curve, file, dir string, out *Output) (*imageView, error) {
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	data, err := heatmapPNG(c)
	if err != nil {
		return nil, fmt.Errorf("report: chart %q: %w", c.Name, err)
	}
	return writePNG(data, c.Name, file, dir, out)
}

// writePNG writes a chart beside the page and returns its view.
func writePNG(data []byte, title, file, dir string, out *Output) (*imageView, error) {
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	out.Images = append(out.Images, path)
	src := template.HTMLAttr(`src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(data) + `"`)
	return &imageView{Title: title, Src: src, File: file}, nil
}

func meta(r *record.Record) [][2]string {
	rev := r.Tool.GitRevision
	if r.Tool.GitDirty {
		rev += " (dirty tree)"
	}
	h := r.Host
	return [][2]string{
		{"tool", fmt.Sprintf("%s %s", r.Tool.Name, r.Tool.Version)},
		{"git revision", rev},
		{"created", r.Created.Format("2006-01-02 15:04:05 MST")},
		{"command", strings.Join(r.Command, " ")},
		{"host", h.Hostname},
		{"kernel", fmt.Sprintf("%s (%s/%s)", h.Kernel, h.OS, h.Arch)},
		{"CPU", fmt.Sprintf("%s, %d logical CPUs", h.CPUModel, h.Cores)},
		{"memory", fmt.Sprintf("%.1f GiB", float64(h.MemBytes)/(1<<30))},
		{"KVM backend", h.KVMBackend},
		{"Go", h.GoVersion},
		{"schema", fmt.Sprint(r.Schema)},
	}
}

func suiteOf(res *bench.Result) suiteView {
	sv := suiteView{Name: res.Suite, TSCKHz: res.TSCKHz, Notes: res.Notes, Tables: res.Tables}
	if res.Config != nil {
		if b, err := json.MarshalIndent(res.Config, "", "  "); err == nil {
			sv.Config = string(b)
		}
	}
	for _, m := range res.Metrics {
		s := m.Summary
		f := func(v float64) string { return record.FormatValue(m.Unit, v) }
		row := metricRow{
			Name: m.Name, Floor: m.Floor, Unit: m.Unit, N: fmt.Sprint(s.N), Runs: fmt.Sprint(len(m.Runs)),
			P50: f(s.P50), CI: fmt.Sprintf("%s – %s", f(s.P50Lo), f(s.P50Hi)), P99: f(s.P99), Ratio: "–",
		}
		if m.Floor != "" {
			row.Ratio = fmt.Sprintf("%.2fx [%.2f, %.2f]", m.Ratio, m.RatioLo, m.RatioHi)
		}
		sv.Rows = append(sv.Rows, row)
	}
	return sv
}

// maxTableRows bounds a curve's data table.
const maxTableRows = 60

// curveTable tabulates a curve: x against each series for lines and
// stacks, a percentile summary per series for CDFs.
func curveTable(c *record.Curve) (head []string, rows [][]string, more int) {
	if c.EffectiveKind() == record.KindHeatmap {
		return heatTable(c)
	}
	if c.EffectiveKind() == record.KindCDF {
		head = []string{"series", "n", "min", "p50", "p90", "p99", "max"}
		for _, s := range c.Series {
			xs := make([]float64, len(s.Points))
			for i, p := range s.Points {
				xs[i] = p[0]
			}
			sm := stats.Summarize(xs)
			g := func(v float64) string { return fmt.Sprintf("%.4g", v) }
			rows = append(rows, []string{s.Label, fmt.Sprint(sm.N), g(sm.Min), g(sm.P50), g(sm.P90), g(sm.P99), g(sm.Max)})
		}
		return head, rows, 0
	}
	head = []string{c.XLabel}
	var xs []float64
	cols := make([]map[float64]float64, len(c.Series))
	seen := map[float64]bool{}
	for i, s := range c.Series {
		head = append(head, s.Label)
		cols[i] = map[float64]float64{}
		for _, p := range s.Points {
			cols[i][p[0]] = p[1]
			if !seen[p[0]] {
				seen[p[0]] = true
				xs = append(xs, p[0])
			}
		}
	}
	sort.Float64s(xs)
	for _, x := range xs {
		if len(rows) == maxTableRows {
			more++
			continue
		}
		row := []string{fmt.Sprintf("%.4g", x)}
		for i := range c.Series {
			if v, ok := cols[i][x]; ok {
				row = append(row, fmt.Sprintf("%.4g", v))
			} else {
				row = append(row, "")
			}
		}
		rows = append(rows, row)
	}
	return head, rows, more
}

// slug makes a file-name element of a title.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if len(out) > 48 {
		out = strings.TrimRight(out[:48], "-")
	}
	if out == "" {
		return "curve"
	}
	return out
}
