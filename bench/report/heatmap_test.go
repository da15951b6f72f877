package report

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/record/recordtest"
)

// heatCurve is a density-trace heatmap: one row per VM, a cell per step
// the VM was running in.
func heatCurve(vms int, steps []int) bench.Curve {
	c := bench.Curve{Name: "eBPF: userspace exits/s per VM at each density step", Kind: bench.KindHeatmap,
		XLabel: "VMs running (density step)", YLabel: "VM; colour: exits/s"}
	for v := 1; v <= vms; v++ {
		s := bench.Series{Label: "d" + strconv.Itoa(v)}
		for _, n := range steps {
			if v <= n {
				s.Points = append(s.Points, [2]float64{float64(n), float64(10*v + n)})
			}
		}
		c.Series = append(c.Series, s)
	}
	return c
}

// TestRenderHeatmap: a heatmap curve and trace tables render as a PNG of
// readable size, a transposed data table and the tables' HTML.
func TestRenderHeatmap(t *testing.T) {
	dir := t.TempDir()
	if d := os.Getenv("XENOLITH_REPORT_DIR"); d != "" {
		dir = d
	}
	res := recordtest.Result("density", map[string]any{"max": 30}, recordtest.Metric("VMs at SLO", "count", []float64{30}))
	res.Curves = append(res.Curves, heatCurve(30, []int{1, 10, 20, 30}))
	res.Tables = append(res.Tables, bench.Table{Title: "eBPF per density step", Columns: []string{"VMs", "exits/s per VM"}, Rows: [][]string{{"10", "12 [10, 14]"}}})
	rec := recordtest.Record(res)
	if err := rec.Validate(); err != nil {
		t.Fatalf("a heatmap curve must validate: %v", err)
	}
	out, err := Render([]*record.Record{rec}, Options{Dir: dir, Base: "heat", Now: time.Unix(0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Images) != 1 {
		t.Fatalf("images %v", out.Images)
	}
	f, err := os.ReadFile(out.Images[0])
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(f))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width < 600 || cfg.Height < 300 {
		t.Errorf("heatmap %dx%d is too small to read", cfg.Width, cfg.Height)
	}
	html, _ := os.ReadFile(out.HTML)
	for _, want := range []string{"eBPF per density step", "12 [10, 14]", "exits/s per VM at each density step", "<th>30</th>"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestHeatmapDegenerate: empty, constant, NaN-free single-cell and
// oversized heatmaps give an image or an error, never a panic.
func TestHeatmapDegenerate(t *testing.T) {
	big := record.Curve{Name: "big", Kind: record.KindHeatmap}
	for i := 0; i < maxHeatCells+1; i++ {
		big.Series = append(big.Series, record.Series{Label: "x", Points: [][2]float64{{1, 1}}})
	}
	cases := []struct {
		name string
		c    record.Curve
		ok   bool
	}{
		{"no series", record.Curve{Name: "a", Kind: record.KindHeatmap}, false},
		{"no points", record.Curve{Name: "b", Kind: record.KindHeatmap, Series: []record.Series{{Label: "r"}}}, false},
		{"one cell", record.Curve{Name: "c", Kind: record.KindHeatmap, Series: []record.Series{{Label: "r", Points: [][2]float64{{1, 5}}}}}, true},
		{"constant", record.Curve{Name: "d", Kind: record.KindHeatmap, Series: []record.Series{{Label: "r", Points: [][2]float64{{1, 0}, {2, 0}}}, {Label: "s"}}}, true},
		{"huge values", record.Curve{Name: "e", Kind: record.KindHeatmap, Series: []record.Series{{Label: "r", Points: [][2]float64{{1, -math.MaxFloat64}, {2, math.MaxFloat64}}}}}, false},
		{"too many rows", big, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := heatmapPNG(&tc.c)
			if tc.ok && (err != nil || len(data) == 0) {
				t.Fatalf("want an image, got %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("want an error")
			}
			head, rows, _ := heatTable(&tc.c)
			if tc.ok && (len(head) < 2 || len(rows) != len(tc.c.Series)) {
				t.Errorf("table %v %v", head, rows)
			}
		})
	}
}
