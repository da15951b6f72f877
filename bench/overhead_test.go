package bench

import (
	"os"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

// TestOverheadSuite runs a tiny overhead pass and checks its shape: every
// part present with its floor and a finite ratio with an interval, and the
// skipped net part noted in one line (the net suite has its own test).
func TestOverheadSuite(t *testing.T) {
	require.KVM(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	res, err := Overhead(sys, OverheadOptions{Runs: 2, Iterations: 200, Lifecycle: 3, MemVMs: 3, BlkOps: 200, SkipNet: true, Exe: os.Args[0]})
	if err != nil {
		t.Fatal(err)
	}
	if res.Suite != "overhead" {
		t.Errorf("suite %q", res.Suite)
	}
	names := map[string]Metric{}
	for _, m := range res.Metrics {
		names[m.Name] = m
	}
	for _, want := range []string{
		"hypercall: null hypercall, CPL3",
		"evtchn: EVTCHNOP_send to a backend (in-kernel doorbell)",
		"evtchn: guest -> backend -> guest round trip",
		"lifecycle: VM create to guest main",
		"lifecycle: VM destroy (Stop, Close, until KVM released it)",
		"memory: process RSS per VM",
		"blk: 4 KiB random read, qd 32, PV block",
	} {
		m, ok := names[want]
		if !ok {
			t.Errorf("metric %q missing", want)
			continue
		}
		if m.Floor == "" {
			t.Errorf("%s: no floor", want)
		} else if _, ok := names[m.Floor]; !ok {
			t.Errorf("%s: floor %q not in the result", want, m.Floor)
		}
		if !(m.Ratio > 0) || !(m.RatioLo <= m.Ratio && m.Ratio <= m.RatioHi) {
			t.Errorf("%s: ratio %v [%v, %v]", want, m.Ratio, m.RatioLo, m.RatioHi)
		}
		if m.Summary.N == 0 || !(m.Summary.P99 >= m.Summary.P50) {
			t.Errorf("%s: summary %+v", want, m.Summary)
		}
	}
	{
		found := false
		for _, n := range res.Notes {
			found = found || strings.HasPrefix(n, "net: skipped")
		}
		if !found {
			t.Errorf("no 'net: skipped' note in %q", res.Notes)
		}
	}
}
