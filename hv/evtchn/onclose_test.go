package evtchn

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestEndpointOnClose checks that Close runs the hook once while the
// eventfd is still open, that a hook set after Close is refused, and that
// BackendEndpoint finds the endpoint only while the guest port is bound to it.
func TestEndpointOnClose(t *testing.T) {
	g := newGuest(t, guestOpt{})
	ep := newEndpoint(t, g)
	if got := g.t.BackendEndpoint(ep.Port()); got != ep {
		t.Fatalf("BackendEndpoint(%d) = %p, want %p", ep.Port(), got, ep)
	}
	for _, p := range []Port{0, ep.Port() + 1, 1 << 20, ^Port(0)} {
		if got := g.t.BackendEndpoint(p); got != nil {
			t.Errorf("BackendEndpoint(%d) = %p, want nil", p, got)
		}
	}
	calls := 0
	fdOpen := false
	fd := ep.KickFD()
	if !ep.OnClose(func() {
		calls++
		var st unix.Stat_t
		fdOpen = unix.Fstat(fd, &st) == nil
	}) {
		t.Fatal("OnClose on an open endpoint refused")
	}
	if err := ep.Close(); err != nil {
		t.Fatal(err)
	}
	ep.Close()
	if calls != 1 || !fdOpen {
		t.Errorf("hook ran %d times (want 1), eventfd open during it: %v", calls, fdOpen)
	}
	if ep.OnClose(func() { t.Error("hook set after Close ran") }) {
		t.Error("OnClose after Close accepted")
	}
	if got := g.t.BackendEndpoint(ep.Port()); got != nil {
		t.Errorf("BackendEndpoint after Close = %p", got)
	}

	// A guest close disconnects the endpoint: no longer the port's backend.
	ep2 := newEndpoint(t, g)
	wantRC(t, "close", g.closePort(ep2.Port()), 0)
	if got := g.t.BackendEndpoint(ep2.Port()); got != nil {
		t.Errorf("BackendEndpoint after the guest closed its port = %p", got)
	}
	checkInvariants(t, g.t)
}
