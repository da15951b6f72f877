package evtchn

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/hv/xen"
)

// newEndpoint pre-creates a port for the backend and binds it, as the
// monitor does for the xenstore ring.
func newEndpoint(t *testing.T, g *guest) *Endpoint {
	t.Helper()
	p, err := g.t.AllocPortForBackend(DomIDBackend)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := g.t.BindBackend(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close() })
	return ep
}

// TestEndpointKickAndNotify checks both directions: a guest send signals
// the eventfd (after the initial kick of the bind), Notify raises the guest
// port on its notify vCPU.
func TestEndpointKickAndNotify(t *testing.T) {
	g := newGuest(t, guestOpt{})
	ep := newEndpoint(t, g)
	if !ep.Connected() || ep.RemotePort() != 1 {
		t.Fatalf("connected %v remote %d", ep.Connected(), ep.RemotePort())
	}
	if n := ep.Drain(); n != 1 {
		t.Fatalf("initial kicks = %d, want 1", n)
	}
	if n := ep.Drain(); n != 0 {
		t.Fatalf("kicks after drain = %d", n)
	}
	for range 3 {
		wantRC(t, "send", g.send(ep.Port()), 0)
	}
	// The eventfd itself holds the count (what KVM's ioeventfd adds to).
	var b [8]byte
	if n, err := unix.Read(ep.KickFD(), b[:]); err != nil || n != 8 || binary.NativeEndian.Uint64(b[:]) != 3 {
		t.Fatalf("eventfd read %d %v %d", n, err, binary.NativeEndian.Uint64(b[:]))
	}
	wantRC(t, "send", g.send(ep.Port()), 0)
	if n := ep.Drain(); n != 1 {
		t.Fatalf("kicks = %d, want 1", n)
	}
	wantRC(t, "bind_vcpu", g.bindVCPU(ep.Port(), 1), 0)
	ep.Notify()
	if !g.pending(ep.Port()) || g.up.count(1) != 1 {
		t.Fatal("Notify did not raise the guest port on vcpu 1")
	}
	st, _ := g.status(DomIDSelf, ep.Port())
	if st.status != StatusInterdomain || st.dom != DomIDBackend || st.port != uint32(ep.RemotePort()) {
		t.Errorf("status %+v", st)
	}
	if s := g.t.Stats(); s.Kicks != 4 || s.Notifies != 1 || s.Sends != 4 {
		t.Errorf("stats %+v", s)
	}
	checkInvariants(t, g.t)
}

// TestEndpointWait checks that Wait blocks until a kick from another
// goroutine, honours its context, and that Drain returns what Wait consumed.
func TestEndpointWait(t *testing.T) {
	g := newGuest(t, guestOpt{})
	ep := newEndpoint(t, g)
	ep.Drain()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	err := ep.Wait(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with nothing = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- ep.Wait(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	wantRC(t, "send", g.send(ep.Port()), 0)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not wake on a kick")
	}
	if n := ep.Drain(); n != 1 {
		t.Fatalf("Drain = %d after Wait", n)
	}
	// A cancelled context leaves the endpoint usable.
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if err := ep.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v, want canceled", err)
	}
	wantRC(t, "send", g.send(ep.Port()), 0)
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ep.Wait(ctx); err != nil {
		t.Fatalf("Wait after a cancelled one: %v", err)
	}
	// Close wakes a waiter.
	ep.Drain()
	go func() { done <- ep.Wait(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	ep.Close()
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("Wait after Close = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not wake Wait")
	}
	if err := ep.Wait(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait on closed = %v", err)
	}
}

// TestEndpointDisconnect checks that a guest close disconnects and signals
// the endpoint, that Notify then does nothing, and that Close hands an
// unbound port back to the guest as dom0's close would.
func TestEndpointDisconnect(t *testing.T) {
	g := newGuest(t, guestOpt{})
	ep := newEndpoint(t, g)
	ep.Drain()
	wantRC(t, "close", g.closePort(ep.Port()), 0)
	if ep.Connected() {
		t.Fatal("still connected")
	}
	if err := ep.Wait(context.Background()); err != nil {
		t.Fatalf("Wait after disconnect = %v (the signal should be returned first)", err)
	}
	ep.Drain()
	if err := ep.Wait(context.Background()); !errors.Is(err, ErrDisconnected) {
		t.Fatalf("Wait = %v, want ErrDisconnected", err)
	}
	ep.Notify()
	if g.pending(ep.Port()) {
		t.Fatal("Notify after disconnect raised the port")
	}
	checkInvariants(t, g.t)

	// The xenbus case: the guest allocates for domain 0, the backend binds.
	p, rc := g.allocUnbound(DomIDSelf, DomIDBackend)
	wantRC(t, "alloc", rc, 0)
	ep2, err := g.t.BindBackend(p)
	if err != nil {
		t.Fatal(err)
	}
	if ep2.RemotePort() != 2 {
		t.Errorf("second backend port number = %d (first still held until Close)", ep2.RemotePort())
	}
	if err := ep2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ep2.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	st, _ := g.status(DomIDSelf, p)
	if st.status != StatusUnbound || st.dom != DomIDBackend {
		t.Errorf("port after backend close: %+v", st)
	}
	ep3, err := g.t.BindBackend(p)
	if err != nil {
		t.Fatalf("rebind after backend close: %v", err)
	}
	defer ep3.Close()
	checkInvariants(t, g.t)
}

func TestBindBackendErrors(t *testing.T) {
	f := newFixture(t)
	g := f.g1
	for _, c := range []struct {
		port Port
		want error
	}{
		{0, ErrNotUnbound},
		{fxInvalid, ErrInvalidPort},
		{fxFree, ErrNotUnbound},
		{fxIPI, ErrNotUnbound},
		{fxUnbound2, ErrNotUnbound}, // unbound for domain 2, not 0
	} {
		if _, err := g.t.BindBackend(c.port); !errors.Is(err, c.want) {
			t.Errorf("BindBackend(%d) = %v, want %v", c.port, err, c.want)
		}
	}
	if ErrnoOf(ErrNotUnbound) != xen.EINVAL {
		t.Error("ErrNotUnbound errno")
	}
	// Binding an already bound port fails.
	ep := newEndpoint(t, g)
	if _, err := g.t.BindBackend(ep.Port()); !errors.Is(err, ErrNotUnbound) {
		t.Errorf("double bind: %v", err)
	}
	// A destroyed domain disconnects its endpoints and refuses new ones.
	p, _ := g.t.AllocPortForBackend(DomIDBackend)
	if err := f.hub.Unregister(1); err != nil {
		t.Fatal(err)
	}
	if ep.Connected() {
		t.Error("endpoint connected after domain destroyed")
	}
	if _, err := g.t.BindBackend(p); !errors.Is(err, ErrDying) {
		t.Errorf("bind in dying domain: %v", err)
	}
	if _, err := g.t.AllocPortForBackend(0); !errors.Is(err, ErrDying) {
		t.Errorf("alloc in dying domain: %v", err)
	}
}

// TestDrainDuringWait checks that Drain does not block behind a Wait in
// another goroutine.
func TestDrainDuringWait(t *testing.T) {
	g := newGuest(t, guestOpt{})
	ep := newEndpoint(t, g)
	ep.Drain()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ep.Wait(ctx) }()
	time.Sleep(10 * time.Millisecond)
	got := make(chan uint64, 1)
	go func() { got <- ep.Drain() }()
	select {
	case n := <-got:
		if n != 0 {
			t.Errorf("Drain = %d", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Drain blocked behind Wait")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait = %v", err)
	}
}
