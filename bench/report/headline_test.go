package report

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/bench"
	"github.com/xenolith/xenolith/bench/record"
	"github.com/xenolith/xenolith/bench/record/recordtest"
)

func TestHeadline(t *testing.T) {
	rec := fakeRecord(7)
	r := rand.New(rand.NewPCG(7, 2))
	vms := recordtest.Metric("VMs at SLO (idle)", "VMs", []float64{1000, 1010, 990})
	rss := recordtest.Metric("process RSS per VM, largest fleet", "bytes", recordtest.Noisy(r, 3, 41000, 0.02))
	cpu := recordtest.Metric("host CPU, largest fleet", "cores", []float64{0.1})
	ratio := recordtest.Metric("null hypercall, CPL3 / floor", "ratio", []float64{1.1, 1.1})
	rec.Results = append(rec.Results, recordtest.Result("density", nil, vms, rss, cpu, ratio))
	rows := Headline(rec.Results)
	got := map[string]HeadlineRow{}
	for _, h := range rows {
		got[h.Suite+"|"+h.Metric] = h
	}
	for _, want := range []string{"hypercall|null hypercall, CPL3", "evtchn|EVTCHNOP_send to a backend (in-kernel doorbell)", "density|VMs at SLO (idle)", "density|process RSS per VM, largest fleet"} {
		if _, ok := got[want]; !ok {
			t.Errorf("headline lacks %q", want)
		}
	}
	for _, not := range []string{"hypercall|raw port-I/O exit, CPL3 (floor)", "density|host CPU, largest fleet", "density|null hypercall, CPL3 / floor"} {
		if _, ok := got[not]; ok {
			t.Errorf("headline has %q", not)
		}
	}
	if h := got["hypercall|null hypercall, CPL3"]; !strings.HasSuffix(h.Ratio, "]") || !strings.Contains(h.P50, "[") {
		t.Errorf("row without intervals: %+v", h)
	}
	var b bytes.Buffer
	if err := WriteHeadline(&b, rows); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(b.String(), "\n"); lines != len(rows)+1 {
		t.Errorf("%d lines for %d rows:\n%s", lines, len(rows), b.String())
	}
	if Headline(nil) != nil || len(Headline([]*bench.Result{nil})) != 0 {
		t.Error("headline of nothing is not empty")
	}
}

// TestRenderTablesAndHeadline: a result's tables (e.g. per-VM eBPF
// figures) and the headline table appear on the page.
func TestRenderTablesAndHeadline(t *testing.T) {
	rec := fakeRecord(8)
	rec.Results[0].Tables = []bench.Table{{Title: "per-VM exits (eBPF)", Columns: []string{"VM", "exits/s"}, Rows: [][]string{{"d1", "12"}, {"d2", "<15>"}}}}
	out, err := Render(recsOf(rec), Options{Dir: t.TempDir(), Base: "t"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out.HTML)
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	for _, want := range []string{"<h3>Headline</h3>", "per-VM exits (eBPF)", "<th>exits/s</th>", "&lt;15&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func recsOf(rs ...*record.Record) []*record.Record { return rs }
