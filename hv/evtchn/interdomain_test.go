package evtchn

import (
	"errors"
	"testing"

	"github.com/xenolith/xenolith/hv/xen"
)

// TestInterdomain connects two domains of a hub both ways: the binder's
// port starts pending, sends cross in both directions with each end's notify
// vCPU, status agrees, and closing either end reverts the other to unbound
// for the closer, ready to be bound again.
func TestInterdomain(t *testing.T) {
	hub := NewHub()
	a := newGuest(t, guestOpt{domid: 3})
	b := newGuest(t, guestOpt{domid: 7})
	for _, g := range []*guest{a, b} {
		if err := hub.Register(g.t); err != nil {
			t.Fatal(err)
		}
	}
	if hub.Len() != 2 || hub.Lookup(3) != a.t || hub.Lookup(4) != nil {
		t.Fatal("hub lookups")
	}
	pa, rc := a.allocUnbound(DomIDSelf, 7)
	wantRC(t, "alloc", rc, 0)
	_, rc = b.bindInterdomain(3, pa+1)
	wantRC(t, "bind to a free port", rc, xen.EINVAL)
	pb, rc := b.bindInterdomain(3, pa)
	wantRC(t, "bind", rc, 0)
	if !b.pending(pb) || b.up.count(0) != 1 {
		t.Fatal("bind did not set the local port pending")
	}
	if a.pending(pa) {
		t.Fatal("bind set the remote port pending")
	}
	wantRC(t, "bind_vcpu", a.bindVCPU(pa, 1), 0)
	wantRC(t, "send b->a", b.send(pb), 0)
	if !a.pending(pa) || a.up.count(1) != 1 || a.sel(legacy(1)) != selBit(pa) {
		t.Fatal("b->a not delivered to a's vcpu 1")
	}
	b.clearPending(pb)
	b.ack(legacy(0))
	wantRC(t, "send a->b", a.send(pa), 0)
	if !b.pending(pb) || b.up.count(0) != 2 {
		t.Fatal("a->b not delivered")
	}
	st, _ := a.status(DomIDSelf, pa)
	if st.status != StatusInterdomain || st.dom != 7 || st.port != uint32(pb) || st.vcpu != 1 {
		t.Errorf("a status %+v", st)
	}
	st, _ = b.status(DomIDSelf, pb)
	if st.status != StatusInterdomain || st.dom != 3 || st.port != uint32(pa) {
		t.Errorf("b status %+v", st)
	}
	checkInvariants(t, a.t, b.t)

	// b closes: a's end reverts to unbound for b, keeps its notify vCPU.
	wantRC(t, "close b", b.closePort(pb), 0)
	st, _ = a.status(DomIDSelf, pa)
	if st.status != StatusUnbound || st.dom != 7 || st.vcpu != 1 {
		t.Errorf("a after b closed: %+v", st)
	}
	wantRC(t, "send on unbound", a.send(pa), 0)
	pb, rc = b.bindInterdomain(3, pa)
	wantRC(t, "rebind", rc, 0)
	// a closes: b's end reverts to unbound for a.
	wantRC(t, "close a", a.closePort(pa), 0)
	st, _ = b.status(DomIDSelf, pb)
	if st.status != StatusUnbound || st.dom != 3 {
		t.Errorf("b after a closed: %+v", st)
	}
	// The other direction: a binds to b's unbound port.
	qa, rc := a.bindInterdomain(7, pb)
	wantRC(t, "a binds b", rc, 0)
	checkInvariants(t, a.t, b.t)

	// Unregistering b reverts a's port and makes b unknown.
	if err := hub.Unregister(7); err != nil {
		t.Fatal(err)
	}
	if err := hub.Unregister(7); !errors.Is(err, ErrNoSuchDomain) {
		t.Errorf("second Unregister: %v", err)
	}
	st, _ = a.status(DomIDSelf, qa)
	if st.status != StatusUnbound || st.dom != 7 {
		t.Errorf("a after b died: %+v", st)
	}
	_, rc = a.bindInterdomain(7, 1)
	wantRC(t, "bind to dead domain", rc, xen.ESRCH)
	_, rc = a.status(7, 1)
	wantRC(t, "status of dead domain", rc, xen.ESRCH)
	if b.t.ActivePorts() != 0 {
		t.Errorf("destroyed table has %d ports", b.t.ActivePorts())
	}
	_, rc = b.bindIPI(0)
	wantRC(t, "bind_ipi in dying domain", rc, xen.EINVAL)
	checkInvariants(t, a.t, b.t)
}

// TestLoopback checks an interdomain channel between two ports of one domain
// (remote_dom = DOMID_SELF).
func TestLoopback(t *testing.T) {
	g := newGuest(t, guestOpt{})
	p, rc := g.allocUnbound(DomIDSelf, DomIDSelf)
	wantRC(t, "alloc", rc, 0)
	q, rc := g.bindInterdomain(DomIDSelf, p)
	wantRC(t, "bind", rc, 0)
	if !g.pending(q) || g.pending(p) {
		t.Fatal("bind pending state")
	}
	g.clearPending(q)
	wantRC(t, "send q", g.send(q), 0)
	if !g.pending(p) {
		t.Fatal("q->p")
	}
	wantRC(t, "send p", g.send(p), 0)
	if !g.pending(q) {
		t.Fatal("p->q")
	}
	wantRC(t, "close p", g.closePort(p), 0)
	st, _ := g.status(DomIDSelf, q)
	if st.status != StatusUnbound || st.dom != 1 {
		t.Errorf("q after close: %+v", st)
	}
	checkInvariants(t, g.t)
}

func TestHubRegister(t *testing.T) {
	h := NewHub()
	a := newGuest(t, guestOpt{domid: 5})
	b := newGuest(t, guestOpt{domid: 5})
	if err := h.Register(a.t); err != nil {
		t.Fatal(err)
	}
	if err := h.Register(b.t); !errors.Is(err, ErrDomainExists) {
		t.Errorf("duplicate id: %v", err)
	}
	if err := NewHub().Register(a.t); !errors.Is(err, ErrRegistered) {
		t.Errorf("second hub: %v", err)
	}
	// b was refused, so it can join another hub.
	if err := NewHub().Register(b.t); err != nil {
		t.Errorf("register b elsewhere: %v", err)
	}
}

// TestForeignAllocGrows checks Xen's quirk that alloc_unbound in another
// domain is refused (-EPERM) only after a port was found there: a full
// target answers -ENOSPC instead.
func TestForeignAllocGrows(t *testing.T) {
	h := NewHub()
	a := newGuest(t, guestOpt{domid: 1})
	b := newGuest(t, guestOpt{domid: 2, maxPorts: 2})
	h.Register(a.t)
	h.Register(b.t)
	_, rc := a.allocUnbound(2, 1)
	wantRC(t, "alloc in b", rc, xen.EPERM)
	if _, err := b.t.AllocPortForBackend(1); err != nil {
		t.Fatal(err)
	}
	_, rc = a.allocUnbound(2, 1)
	wantRC(t, "alloc in full b", rc, xen.ENOSPC)
}
