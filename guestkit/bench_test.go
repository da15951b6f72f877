package guestkit

import (
	"fmt"
	"testing"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

// BenchmarkHypercallRoundTrip boots hcbench once with b.N iterations per
// loop and reports the guest-timed medians: the null hypercall and the raw
// port-I/O exit (its floor) from the same run, and their ratio.
func BenchmarkHypercallRoundTrip(b *testing.B) {
	require.KVM(b)
	sys, err := kvm.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Close()
	n := b.N
	if n < 100 {
		n = 100
	}
	if n > 1<<20 {
		n = 1 << 20
	}
	out, err := Run(sys, RunOptions{Program: "hcbench", Cmdline: fmt.Sprint(n)})
	if err != nil {
		b.Fatal(err)
	}
	med := func(name string) float64 {
		s := out.Series(name)
		if len(s) == 0 {
			b.Fatalf("no %s series (console: %s)", name, out.Console)
		}
		ns := make([]float64, len(s))
		for i, c := range s {
			ns[i] = float64(c) * 1e6 / float64(out.TSCKHz)
		}
		return stats.Median(ns)
	}
	raw, hc := med("cpl3_raw"), med("cpl3_hcall")
	b.ReportMetric(hc, "hcall-ns/op")
	b.ReportMetric(raw, "raw-exit-ns/op")
	b.ReportMetric(hc/raw, "ratio")
	b.ReportMetric(med("cpl0_hcall"), "cpl0-hcall-ns/op")
	b.ReportMetric(med("cpl0_raw"), "cpl0-raw-exit-ns/op")
}

// BenchmarkCreateToMain boots hello b.N times and reports the median time
// from the start of VM creation to the guest's main.
func BenchmarkCreateToMain(b *testing.B) {
	require.KVM(b)
	sys, err := kvm.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer sys.Close()
	var ns []float64
	for i := 0; i < b.N; i++ {
		out, err := Run(sys, RunOptions{Program: "hello"})
		if err != nil {
			b.Fatal(err)
		}
		ns = append(ns, float64(out.Main.Sub(out.Created).Nanoseconds()))
	}
	b.ReportMetric(stats.Median(ns), "create-to-main-ns")
}
