package bench

import (
	"errors"
	"testing"

	"github.com/xenolith/xenolith/bench/probe"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

// TestTraceOverheadRuns checks the overhead suite's shape on a tiny run
// (speed itself belongs to the benchmark record, not to a test).
func TestTraceOverheadRuns(t *testing.T) {
	require.KVM(t)
	require.Root(t)
	if ok, why := probe.Available(); !ok {
		t.Skipf("skipping: %s", why)
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	res, err := TraceOverhead(sys, TraceOverheadOptions{Runs: 1, Exits: 2000})
	if errors.Is(err, probe.ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Metrics) != 2 || res.Metrics[1].Ratio <= 0 {
		t.Fatalf("metrics %+v", res.Metrics)
	}
}
