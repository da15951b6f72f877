package bench

import (
	"strings"
	"testing"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/internal/require"
)

// TestEvtchnSuite runs a tiny event-channel pass and checks what it must
// show: every metric measured, and no user-space exit for a guest ->
// backend notify (the in-kernel doorbell).
func TestEvtchnSuite(t *testing.T) {
	require.KVM(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	res, err := Evtchn(sys, EvtchnOptions{Runs: 1, Iterations: 200})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Metric{}
	for _, m := range res.Metrics {
		got[m.Name] = m
	}
	for _, name := range []string{"ioeventfd write", "EVTCHNOP_send", "guest -> backend -> guest", "guest -> guest", "user-space exits per notify"} {
		found := false
		for n, m := range got {
			if strings.HasPrefix(n, name) {
				found = true
				if m.Summary.N == 0 {
					t.Errorf("%s: no samples", n)
				}
			}
		}
		if !found {
			t.Errorf("metric %q missing", name)
		}
	}
	if m := got["user-space exits per notify"]; m.Summary.Max != 0 {
		t.Errorf("guest -> backend notifies exited to user space: %v per notify", m.Summary.Max)
	}
}
