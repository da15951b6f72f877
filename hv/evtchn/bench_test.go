package evtchn

import (
	"testing"
)

// BenchmarkSendIPI measures EVTCHNOP_send on an IPI port through the
// hypercall entry (copy-in, lookup, raise), with the guest clearing the
// pending bit each time so that every send goes the full way to an upcall.
func BenchmarkSendIPI(b *testing.B) {
	g := newGuest(b, guestOpt{})
	p, _ := g.bindIPI(0)
	g.m.WriteAt(u32(uint32(p)), testArg)
	b.ReportAllocs()
	for b.Loop() {
		g.t.Hypercall(g.v, OpSend, testArg)
		g.clearPending(p)
		g.ack(legacy(0))
	}
}

// BenchmarkNotify measures a backend raising a guest port (the pending bit
// already set: the common fast path under load).
func BenchmarkNotify(b *testing.B) {
	g := newGuest(b, guestOpt{})
	p, _ := g.t.AllocPortForBackend(DomIDBackend)
	ep, err := g.t.BindBackend(p)
	if err != nil {
		b.Fatal(err)
	}
	defer ep.Close()
	b.ReportAllocs()
	for b.Loop() {
		ep.Notify()
	}
}

// BenchmarkKick measures a guest send to a backend endpoint (an eventfd
// write), then one Drain per 64 kicks.
func BenchmarkKick(b *testing.B) {
	g := newGuest(b, guestOpt{})
	p, _ := g.t.AllocPortForBackend(DomIDBackend)
	ep, err := g.t.BindBackend(p)
	if err != nil {
		b.Fatal(err)
	}
	defer ep.Close()
	g.m.WriteAt(u32(uint32(p)), testArg)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		g.t.Hypercall(g.v, OpSend, testArg)
		if i++; i%64 == 0 {
			ep.Drain()
		}
	}
}
