package bench

import (
	"math"
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

func TestCreationMetrics(t *testing.T) {
	low := &creationLevel{Running: 10, Boot: []float64{1e6, 2e6, 3e6}, KVMVM: []float64{1e4, 1e4, 2e4}, Spares: 3}
	high := &creationLevel{Running: 1000, Boot: []float64{2e6, 4e6, 6e6}, KVMVM: []float64{1e4, 3e4, 2e4}, Spares: 2}
	var res Result
	creationMetrics(&res, low, high)
	p99 := metric(&res, cycleHighP99Name)
	if p99 == nil || p99.Floor != cycleLowP99Name || math.Abs(p99.Ratio-2) > 1e-9 {
		t.Fatalf("p99 ratio: %+v", p99)
	}
	p50 := metric(&res, cycleHighName)
	if p50 == nil || p50.Floor != cycleLowName || math.Abs(p50.Ratio-2) > 1e-9 || p50.Summary.N != 3 {
		t.Fatalf("p50 ratio: %+v", p50)
	}
	if k := metric(&res, cycleHighKernName); k == nil || k.Floor != cycleLowKernName {
		t.Fatalf("kernel phase: %+v", k)
	}
	if len(res.Notes) != 3 {
		t.Errorf("notes %q", res.Notes)
	}
	// Only the low level: no ratios; nothing at all: nothing added.
	var one Result
	creationMetrics(&one, low, nil)
	if metric(&one, cycleLowName) == nil || metric(&one, cycleHighName) != nil {
		t.Errorf("low level only: %+v", one.Metrics)
	}
	var none Result
	creationMetrics(&none, nil, nil)
	if len(none.Metrics) != 0 {
		t.Errorf("no levels: %+v", none.Metrics)
	}
	if s := creationSeries(low, high); len(s) != 2 || len(s[1].Points) != 2 || s[1].Points[1][0] != 1000 {
		t.Errorf("chart series %+v", s)
	}
}

// TestDensityCreationCycles runs the create-destroy cycles of a tiny idle
// search: at one VM running and at the largest fleet (three).
func TestDensityCreationCycles(t *testing.T) {
	require.KVM(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	p, err := LoadProfile("idle")
	if err != nil {
		t.Fatal(err)
	}
	q := *p
	q.SLO.BootP99Ms = 1e6
	res, err := Density(sys, DensityOptions{Profile: &q, Max: 3, Step: 3, Window: 100 * time.Millisecond, CreateCycles: 6, CreateLow: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{cycleLowName, cycleHighName} {
		if m := metric(res, name); m == nil || m.Summary.N != 6 || !(m.Summary.P50 > 0) {
			t.Errorf("%s: %+v (notes %q)", name, m, res.Notes)
		}
	}
	if m := metric(res, cycleHighP99Name); m == nil || m.Floor != cycleLowP99Name || !(m.Ratio > 0) {
		t.Errorf("p99 ratio: %+v", m)
	}
	if o, ok := res.Config.(DensityOptions); !ok || !o.Spares || o.CreateCycles != 6 {
		t.Errorf("config does not record the cycles and spares: %+v", res.Config)
	}
	found := false
	for _, c := range res.Curves {
		for _, s := range c.Series {
			found = found || s.Label == "create-destroy cycles p99"
		}
	}
	if !found {
		t.Error("creation chart has no cycle series")
	}
	t.Logf("notes: %q", res.Notes)
}
