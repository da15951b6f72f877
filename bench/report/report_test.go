package report

import (
	"bytes"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot/plotter"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/record/recordtest"
)

// fakeRecord has two suites with floors and the example curves.
func fakeRecord(seed uint64) *record.Record {
	r := rand.New(rand.NewPCG(seed, 1))
	raw := recordtest.Metric("raw port-I/O exit, CPL3 (floor)", "ns", recordtest.Noisy(r, 5, 9000, 0.03))
	hc := recordtest.WithFloor(recordtest.Metric("null hypercall, CPL3", "ns", recordtest.Noisy(r, 5, 9900, 0.03)), raw)
	ioe := recordtest.Metric("ioeventfd write, CPL3 (floor)", "ns", recordtest.Noisy(r, 5, 3000, 0.05))
	notify := recordtest.WithFloor(recordtest.Metric("EVTCHNOP_send to a backend (in-kernel doorbell)", "ns", recordtest.Noisy(r, 5, 3600, 0.05)), ioe)
	rtt := recordtest.WithFloor(recordtest.Metric("guest -> backend -> guest round trip", "ns", recordtest.Noisy(r, 5, 25000, 0.05)), raw)
	exits := recordtest.Metric("user-space exits per notify", "count", []float64{0, 0, 0, 0, 0})
	rec := recordtest.Record(
		recordtest.Result("hypercall", map[string]any{"Runs": 5, "Iterations": 20000}, raw, hc),
		recordtest.Result("evtchn", map[string]any{"Runs": 5, "Iterations": 10000}, ioe, notify, rtt, exits),
	)
	rec.Curves = recordtest.Curves(r)
	return rec
}

func TestRender(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("XENOLITH_REPORT_DIR"); d != "" {
		dir = d // keep the output to look at
	}
	rec := fakeRecord(1)
	out, err := Render([]*record.Record{rec}, Options{Dir: dir, Base: "fake", Names: []string{"fake.json"}, Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 5 {
		t.Fatalf("images %v, want the overhead chart and 4 curves", out.Images)
	}
	for _, img := range out.Images {
		f, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(bytes.NewReader(f))
		if err != nil {
			t.Fatalf("%s: %v", img, err)
		}
		if cfg.Width < 600 || cfg.Height < 150 {
			t.Errorf("%s: %dx%d is too small to read", img, cfg.Width, cfg.Height)
		}
	}
	html, err := os.ReadFile(out.HTML)
	if err != nil {
		t.Fatal(err)
	}
	page := string(html)
	for _, want := range []string{
		"<title>Xenolith benchmark report: hypercall, evtchn, density</title>",
		"<h2>fake.json</h2>", "Test CPU @ 2.00GHz, 2 logical CPUs", "kvm_pvm", "0123456789abcdef",
		"Suite hypercall", "Suite evtchn", "null hypercall, CPL3",
		`<span class="floor">floor: raw port-I/O exit, CPL3 (floor)</span>`,
		"guest -&gt; backend -&gt; guest round trip", // escaped
		`src="data:image/png;base64,`, "fake-overhead.png", "fake-boot-time-cdf.png",
		"Host memory per VM", "<th>p99</th>", "200 boots",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"ZgotmplZ", "http://", "https://", "<script"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	if strings.Count(page, `src="data:image/png;base64,`) != 5 {
		t.Errorf("page embeds %d images, want 5", strings.Count(page, `src="data:image/png;base64,`))
	}
}

func TestRenderSeveral(t *testing.T) {
	dir := t.TempDir()
	a, b := fakeRecord(1), fakeRecord(2)
	b.Curves = nil
	b.Results = b.Results[1:]
	out, err := Render([]*record.Record{a, b}, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(out.HTML) != "report.html" || len(out.Images) != 6 {
		t.Errorf("output %+v", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "report-r2-overhead.png")); err != nil {
		t.Error(err)
	}
	page, _ := os.ReadFile(out.HTML)
	if !strings.Contains(string(page), "<h2>record 2</h2>") {
		t.Error("second record untitled")
	}
}

func TestRenderNoCharts(t *testing.T) {
	rec := recordtest.Record(recordtest.Result("plain", nil, recordtest.Metric("m", "count", []float64{1, 2, 3})))
	out, err := Render([]*record.Record{rec}, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 0 {
		t.Errorf("images %v for a record without floors or curves", out.Images)
	}
	if _, err := Render(nil, Options{Dir: t.TempDir()}); err == nil {
		t.Error("no records rendered")
	}
}

// Every kind draws, edge cases included: an empty series, one point, a
// log axis, reference lines outside the data, duplicate curve names.
func TestCurveEdges(t *testing.T) {
	for _, c := range []record.Curve{
		{Name: "empty series", Series: []record.Series{{Label: "none"}}},
		{Name: "one point", Series: []record.Series{{Label: "p", Points: [][2]float64{{1, 1}}}}, HLines: []record.HLine{{Label: "h", Y: 5}}, VLines: []record.VLine{{Label: "v", X: -3}}},
		{Name: "log", LogY: true, Series: []record.Series{{Label: "p", Points: [][2]float64{{1, 1}, {2, 100}, {3, 1e4}}}}},
		{Name: "cdf one", Kind: record.KindCDF, Series: []record.Series{{Label: "p", Points: [][2]float64{{7, 0}}}}, VLines: []record.VLine{{Label: "SLO", X: 9}}},
		{Name: "stacked ragged", Kind: record.KindStacked, Series: []record.Series{{Label: "a", Points: [][2]float64{{1, 1}, {2, 2}}}, {Label: "b", Points: [][2]float64{{3, 1}}}}, HLines: []record.HLine{{Label: "budget", Y: 4}}},
		{Name: "stacked empty", Kind: record.KindStacked, Series: []record.Series{{Label: "a"}}},
		{Name: "stacked negative", Kind: record.KindStacked, Series: []record.Series{{Label: "a", Points: [][2]float64{{1, 1}, {2, 2}}}, {Label: "b", Points: [][2]float64{{1, -1}}}}},
		{Name: "log with zero", LogY: true, Series: []record.Series{{Label: "p", Points: [][2]float64{{1, 0}, {2, 100}}}}, HLines: []record.HLine{{Label: "h", Y: -1}}},
		{Name: "no series"},
		{Name: "repeated x", Series: []record.Series{{Label: "each VM", Points: [][2]float64{{0, 1}, {0, 3}, {1, 2}, {2, 2}, {2, 5}, {2, 4}}}}},
		{Name: "empty with lines", Series: []record.Series{{Label: "none"}}, HLines: []record.HLine{{Label: "h", Y: 2}}, VLines: []record.VLine{{Label: "v", X: 1}}},
		{Name: "flat", Series: []record.Series{{Label: "p", Points: [][2]float64{{1, 3}, {2, 3}}}}, VLines: []record.VLine{{Label: "v", X: 1.5}}},
		{Name: "log flat", LogY: true, Series: []record.Series{{Label: "p", Points: [][2]float64{{1, 3}, {1, 3}}}}},
		{Name: "cdf ties", Kind: record.KindCDF, Series: []record.Series{{Label: "p", Points: [][2]float64{{7, 0}, {7, 0}, {7, 1}}}}},
	} {
		t.Run(c.Name, func(t *testing.T) {
			p, err := curvePlot(&c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pngOf(p, 300); err != nil {
				t.Fatal(err)
			}
		})
	}
	if _, err := curvePlot(&record.Curve{Name: "bad", Kind: "pie", Series: []record.Series{{}}}); err == nil {
		t.Error("unknown kind drawn")
	}
	rec := recordtest.Record()
	rec.Curves = []record.Curve{
		{Name: "Same name!", Series: []record.Series{{Label: "a", Points: [][2]float64{{1, 1}}}}},
		{Name: "same name?", Series: []record.Series{{Label: "a", Points: [][2]float64{{1, 1}}}}},
	}
	out, err := Render([]*record.Record{rec}, Options{Dir: t.TempDir(), Base: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 2 || out.Images[0] == out.Images[1] {
		t.Errorf("images %v", out.Images)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Boot time CDF":                   "boot-time-cdf",
		"SLO p99 against VMs running":     "slo-p99-against-vms-running",
		"../../etc/passwd":                "etc-passwd",
		"":                                "curve",
		strings.Repeat("long name ", 10):  "long-name-long-name-long-name-long-name-long-nam",
		"  µ-latency (p99) / VMs @ 1000 ": "latency-p99-vms-1000",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzCurve draws arbitrary valid curves: a record is user input and
// must not crash the renderer.
func FuzzCurve(f *testing.F) {
	f.Add(uint8(0), []byte{1, 2, 3, 4}, false, 1.0, 2.0)
	f.Add(uint8(1), []byte{5, 5, 5}, false, 0.0, 0.0)
	f.Add(uint8(2), []byte{0, 0, 1, 200}, true, 3.0, -1.0)
	f.Add(uint8(0), []byte{}, true, -5.0, 1e300)
	f.Fuzz(func(t *testing.T, kind uint8, data []byte, logY bool, h, v float64) {
		if len(data) > 64 {
			data = data[:64]
		}
		c := record.Curve{Name: "fuzz", Kind: []string{record.KindLine, record.KindCDF, record.KindStacked}[int(kind)%3], LogY: logY,
			HLines: []record.HLine{{Label: "h", Y: h}}, VLines: []record.VLine{{Label: "v", X: v}}}
		var s record.Series
		for i := 0; i+1 < len(data); i += 2 {
			s.Points = append(s.Points, [2]float64{float64(data[i]) - 100, float64(data[i+1])})
		}
		c.Series = []record.Series{s, {Label: "second", Points: s.Points[len(s.Points)/2:]}}
		if c.Validate() != nil {
			return
		}
		p, err := curvePlot(&c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pngOf(p, 200); err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
	})
}

// A suite's own curves (bench.Curve, as the density suite writes them:
// CDF points with their cumulative fraction, the stop point as an HLine
// whose Y is the x) are drawn like a record's.
func TestRenderResultCurves(t *testing.T) {
	res := recordtest.Result("density", nil, recordtest.Metric("VMs at SLO (idle)", "VMs", []float64{40, 40, 50}))
	res.Notes = []string{"limited by: host memory"}
	res.Curves = []bench.Curve{
		{Name: "density: SLO metric vs VMs running", Kind: "line", XLabel: "VMs running", YLabel: "p99 (ms)",
			Series: []bench.Series{{Label: "search 1", Points: [][2]float64{{10, 1}, {20, 2}, {40, 5}}}},
			HLines: []bench.HLine{{Label: "SLO", Y: 4}}, VLines: []bench.HLine{{Label: "stop (median)", Y: 40}}},
		{Name: "boot time CDF", Kind: "cdf", XLabel: "ms", YLabel: "fraction",
			Series: []bench.Series{{Label: "all VMs", Points: [][2]float64{{1, 0.25}, {2, 0.5}, {3, 0.75}, {9, 1}}}}},
	}
	rec := recordtest.Record(res)
	if got := rec.AllCurves(); len(got) != 2 || got[0].VLines[0].X != 40 || got[1].Suite != "density" {
		t.Fatalf("AllCurves() = %+v", got)
	}
	out, err := Render([]*record.Record{rec}, Options{Dir: t.TempDir(), Base: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 2 {
		t.Errorf("images %v", out.Images)
	}
	page, _ := os.ReadFile(out.HTML)
	for _, want := range []string{"Note: limited by: host memory", "d-density-slo-metric-vs-vms-running.png", "d-boot-time-cdf.png", "Suite density."} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestMediansByX(t *testing.T) {
	med, dup := mediansByX(plotter.XYs{{X: 0, Y: 1}, {X: 0, Y: 3}, {X: 1, Y: 2}, {X: 2, Y: 2}, {X: 2, Y: 5}, {X: 2, Y: 4}})
	want := plotter.XYs{{X: 0, Y: 2}, {X: 1, Y: 2}, {X: 2, Y: 4}}
	if !dup || len(med) != len(want) {
		t.Fatalf("mediansByX = %v, %v", med, dup)
	}
	for i := range want {
		if med[i] != want[i] {
			t.Errorf("median %d = %v, want %v", i, med[i], want[i])
		}
	}
	if _, dup := mediansByX(plotter.XYs{{X: 0, Y: 1}, {X: 1, Y: 1}}); dup {
		t.Error("distinct x taken for repeats")
	}
}
