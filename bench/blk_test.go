package bench

import (
	"strings"
	"testing"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/iouring"
	"github.com/xenolith/xenolith/internal/require"
)

// TestBlkSuite runs a tiny PV block pass: both sides measured, and the
// guest's requests do not exit to user space (in-kernel doorbells).
func TestBlkSuite(t *testing.T) {
	require.KVM(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	res, err := Blk(sys, BlkOptions{Runs: 1, Ops: 500, ImageMiB: 8, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var pv, exits, reg int
	for _, m := range res.Metrics {
		if strings.Contains(m.Name, "registered file and buffers") && m.Summary.P50 > 0 && m.Ratio > 0 {
			reg++
		}
		if strings.HasSuffix(m.Name, "PV block") && m.Summary.P50 > 0 {
			pv++
		}
		if strings.HasSuffix(m.Name, "user-space exits per request") {
			exits++
			if m.Summary.Max > 0.1 {
				t.Errorf("%s: %v", m.Name, m.Summary.Max)
			}
		}
	}
	if pv != 2 || exits != 2 {
		t.Errorf("metrics: %d PV rates, %d exit counts; want 2 each", pv, exits)
	}
	if want := map[bool]int{true: 1}[iouring.BufferTablesAvailable() == nil]; reg != want {
		t.Errorf("%d rows of the registered-buffer floor, want %d", reg, want)
	}
}
