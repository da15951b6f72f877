package bench

import (
	"os"
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

// TestDensityModes runs tiny searches of the profiles and modes that need
// a running host: per-VM block probes, and one process per VM compared
// with the shared runtime.
func TestDensityModes(t *testing.T) {
	require.KVM(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	blk, err := LoadProfile("blk")
	if err != nil {
		t.Fatal(err)
	}
	idle, err := LoadProfile("idle")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("blk probe", func(t *testing.T) {
		p := *blk
		p.SLO.BlkReadP99Ms = 1e6 // the SLO holds: this checks the probe, not the host
		res, err := Density(sys, DensityOptions{Profile: &p, Max: 2, Step: 2, Window: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		m := metric(res, "block read p99, largest fleet")
		if m == nil || !(m.Summary.P50 > 0) {
			t.Fatalf("no block read latency measured: %+v", m)
		}
		if v := metric(res, "VMs at SLO (blk)"); v == nil || v.Summary.P50 != 2 {
			t.Errorf("VMs at SLO: %+v", v)
		}
	})
	t.Run("process per VM", func(t *testing.T) {
		o := DensityOptions{Profile: idle, Max: 2, Step: 2, Window: 200 * time.Millisecond}
		shared, err := Density(sys, o)
		if err != nil {
			t.Fatal(err)
		}
		o.ProcessPerVM, o.Exe, o.Max = true, os.Args[0], LargestFleet(shared)
		per, err := Density(sys, o)
		if err != nil {
			t.Fatal(err)
		}
		if per.Suite != "density-process" {
			t.Errorf("suite %q", per.Suite)
		}
		if v := metric(per, "VMs at SLO (idle)"); v == nil || v.Summary.P50 != 2 {
			t.Errorf("process per VM: VMs at SLO %+v (notes %q)", v, per.Notes)
		}
		CompareDensity(shared, per)
		m := metric(per, "process RSS per VM, largest fleet")
		if m == nil || m.Floor == "" || !(m.Ratio > 1) {
			t.Errorf("process-per-VM RSS not compared with the shared runtime (or not larger): %+v", m)
		}
		if c := metric(per, "VM creation to main, <20 VMs running"); c == nil || c.Summary.N != 2 {
			t.Errorf("creation latency of the children: %+v", c)
		}
	})
}

func metric(r *Result, name string) *Metric {
	for i := range r.Metrics {
		if r.Metrics[i].Name == name {
			return &r.Metrics[i]
		}
	}
	return nil
}
