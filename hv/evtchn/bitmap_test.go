package evtchn

import (
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// TestRaiseOnce checks the 2-level sequence: the first raise sets pending,
// the selector bit and upcall_pending and upcalls once; later raises while
// the port is pending do nothing, even after the guest acknowledged the
// upcall; a raise after the guest cleared the pending bit upcalls again.
func TestRaiseOnce(t *testing.T) {
	g := newGuest(t, guestOpt{})
	p, rc := g.bindIPI(0)
	wantRC(t, "bind_ipi", rc, 0)
	for range 3 {
		wantRC(t, "send", g.send(p), 0)
	}
	if !g.pending(p) || g.sel(legacy(0)) != selBit(p) || !g.upcallPending(legacy(0)) {
		t.Fatalf("after send: pending %v sel %#x upcall %v", g.pending(p), g.sel(legacy(0)), g.upcallPending(legacy(0)))
	}
	if n := g.up.count(0); n != 1 {
		t.Fatalf("upcalls = %d, want 1", n)
	}
	if sel := g.ack(legacy(0)); sel != selBit(p) {
		t.Fatalf("sel = %#x", sel)
	}
	wantRC(t, "send", g.send(p), 0)
	if g.sel(legacy(0)) != 0 || g.up.count(0) != 1 {
		t.Fatalf("send while pending reached sel %#x, upcalls %d", g.sel(legacy(0)), g.up.count(0))
	}
	g.clearPending(p)
	wantRC(t, "send", g.send(p), 0)
	if g.up.count(0) != 2 || !g.upcallPending(legacy(0)) {
		t.Fatalf("upcalls = %d after re-raise", g.up.count(0))
	}
	if got := g.t.Stats(); got.Upcalls != 2 || got.Sends != 5 || got.Raises != 5 {
		t.Errorf("stats = %+v", got)
	}
}

// TestSelectorWords checks that ports in different words set different
// selector bits and that a second port in an already-selected word does not
// upcall.
func TestSelectorWords(t *testing.T) {
	g := newGuest(t, guestOpt{maxPorts: 256})
	var ports []Port
	for range 70 {
		p, rc := g.bindIPI(0)
		wantRC(t, "bind_ipi", rc, 0)
		ports = append(ports, p)
	}
	a, b, c := ports[0], ports[1], ports[69] // words 0, 0, 1
	wantRC(t, "send a", g.send(a), 0)
	wantRC(t, "send b", g.send(b), 0)
	wantRC(t, "send c", g.send(c), 0)
	if g.sel(legacy(0)) != 0b11 {
		t.Fatalf("sel = %#b, want 0b11", g.sel(legacy(0)))
	}
	if g.up.count(0) != 1 {
		t.Fatalf("upcalls = %d, want 1", g.up.count(0))
	}
}

// TestMaskAndUnmask checks that a masked port gets pending but no selector
// bit or upcall, that EVTCHNOP_unmask replays it, and that unmasking a port
// that is not pending does nothing.
func TestMaskAndUnmask(t *testing.T) {
	g := newGuest(t, guestOpt{})
	p, _ := g.bindIPI(0)
	q, _ := g.bindIPI(0)
	g.setMask(p, true)
	g.setMask(q, true)
	wantRC(t, "send", g.send(p), 0)
	if !g.pending(p) || g.sel(legacy(0)) != 0 || g.upcallPending(legacy(0)) || g.up.count(0) != 0 {
		t.Fatalf("masked send delivered: sel %#x upcalls %d", g.sel(legacy(0)), g.up.count(0))
	}
	if !g.t.PortPending(p) || !g.t.PortMasked(p) || g.t.UpcallPending(0) {
		t.Fatal("PortPending/PortMasked/UpcallPending disagree with memory")
	}
	wantRC(t, "unmask q", g.unmask(q), 0)
	if g.up.count(0) != 0 || g.t.PortMasked(q) {
		t.Fatal("unmask of a port that is not pending upcalled")
	}
	wantRC(t, "unmask p", g.unmask(p), 0)
	if g.sel(legacy(0)) != selBit(p) || !g.upcallPending(legacy(0)) || g.up.count(0) != 1 {
		t.Fatalf("unmask did not replay: sel %#x upcalls %d", g.sel(legacy(0)), g.up.count(0))
	}
	// Unmasking an already unmasked pending port does nothing more.
	g.ack(legacy(0))
	wantRC(t, "unmask p again", g.unmask(p), 0)
	if g.up.count(0) != 1 || g.sel(legacy(0)) != 0 {
		t.Fatal("second unmask replayed")
	}
}

// TestNotifyVCPU checks that a port bound to vCPU 1 upcalls vCPU 1 in its own
// vcpu_info, and that bind_vcpu moves an interdomain port's notifications.
func TestNotifyVCPU(t *testing.T) {
	g := newGuest(t, guestOpt{vcpus: 3})
	p, _ := g.bindIPI(1)
	wantRC(t, "send", g.send(p), 0)
	if g.up.count(1) != 1 || g.up.count(0) != 0 || g.sel(legacy(1)) != selBit(p) || g.sel(legacy(0)) != 0 {
		t.Fatalf("ipi on vcpu 1: upcalls %v, sel0 %#x sel1 %#x", g.up.calls, g.sel(legacy(0)), g.sel(legacy(1)))
	}
	if !g.t.UpcallPending(1) || g.t.UpcallPending(0) {
		t.Fatal("UpcallPending wrong")
	}
	a, _ := g.allocUnbound(DomIDSelf, DomIDSelf)
	b, rc := g.bindInterdomain(DomIDSelf, a)
	wantRC(t, "loopback bind", rc, 0)
	wantRC(t, "bind_vcpu", g.bindVCPU(a, 2), 0)
	wantRC(t, "send", g.send(b), 0)
	if g.up.count(2) != 1 || g.sel(legacy(2)) != selBit(a) {
		t.Fatalf("bind_vcpu(2): upcalls %v", g.up.calls)
	}
}

// TestRegisteredVCPUInfo checks VCPUOP_register_vcpu_info's side: the old
// contents are copied, every selector bit is set and an upcall raised, later
// events land in the new area only, and the checks of map_guest_area.
func TestRegisteredVCPUInfo(t *testing.T) {
	g := newGuest(t, guestOpt{vcpus: 2})
	p, _ := g.bindIPI(1)
	wantRC(t, "send", g.send(p), 0)
	g.ack(legacy(1))
	g.m.Store64(legacy(1)+32, 0x1234) // time area
	area := testVInfo + 0x40
	if err := g.t.SetVCPUInfo(1, area); err != nil {
		t.Fatal(err)
	}
	if v, _ := g.m.Load64(area + 32); v != 0x1234 {
		t.Errorf("time word not copied: %#x", v)
	}
	if g.sel(area) != ^uint64(0) || !g.upcallPending(area) || g.up.count(1) != 2 {
		t.Fatalf("registration: sel %#x upcall %v upcalls %d", g.sel(area), g.upcallPending(area), g.up.count(1))
	}
	if gpa, ok := g.t.VCPUInfo(1); !ok || gpa != area {
		t.Errorf("VCPUInfo = %#x %v", gpa, ok)
	}
	g.ack(area)
	g.clearPending(p)
	wantRC(t, "send", g.send(p), 0)
	if g.sel(area) != selBit(p) || g.sel(legacy(1)) != 0 || g.up.count(1) != 3 {
		t.Fatalf("event after registration: sel new %#x legacy %#x", g.sel(area), g.sel(legacy(1)))
	}

	for _, c := range []struct {
		vcpu int
		gpa  mem.GPA
		want xen.Errno
	}{
		{1, testVInfo + 0x100, xen.EBUSY},
		{2, testVInfo, xen.ENOENT},
		{-1, testVInfo, xen.ENOENT},
		{0, testVInfo + 0xfc8, xen.ENXIO}, // crosses the page
		{0, testVInfo + 4, xen.ENXIO},     // misaligned
		{0, testRAM, xen.EINVAL},          // outside RAM
		{0, 1 << 62, xen.EINVAL},
	} {
		if got := ErrnoOf(g.t.SetVCPUInfo(c.vcpu, c.gpa)); got != c.want {
			t.Errorf("SetVCPUInfo(%d, %#x) errno %v, want %v", c.vcpu, c.gpa, got, c.want)
		}
	}
}

// TestHighVCPU checks a vCPU >= 32: without a registered vcpu_info it gets
// upcalls through the monitor's stand-in, and registration starts from a
// cleared area with upcall_mask set.
func TestHighVCPU(t *testing.T) {
	g := newGuest(t, guestOpt{vcpus: 40})
	p, _ := g.bindIPI(35)
	wantRC(t, "send", g.send(p), 0)
	if g.up.count(35) != 1 || !g.t.UpcallPending(35) {
		t.Fatal("no upcall for vcpu 35")
	}
	if _, ok := g.t.VCPUInfo(35); ok {
		t.Fatal("vcpu 35 has a vcpu_info before registering")
	}
	area := testVInfo + 0x200
	g.m.Store64(area+16, 0xdead)
	if err := g.t.SetVCPUInfo(35, area); err != nil {
		t.Fatal(err)
	}
	w, _ := g.m.Load64(area)
	if w != upcallMaskBit|upcallPendingBit || g.sel(area) != ^uint64(0) {
		t.Fatalf("area word0 %#x sel %#x", w, g.sel(area))
	}
	if v, _ := g.m.Load64(area + 16); v != 0 {
		t.Errorf("area not cleared: %#x", v)
	}
	if g.up.count(35) != 2 {
		t.Errorf("upcalls = %d, want 2", g.up.count(35))
	}
}

// TestBeforeSharedInfo checks that raises before shared_info is placed
// behave as on Xen's unmapped page (upcall included) and that placing it
// writes the state into a cleared page; moving it copies the page.
func TestBeforeSharedInfo(t *testing.T) {
	g := newGuest(t, guestOpt{noShinfo: true})
	p, _ := g.bindIPI(1)
	wantRC(t, "send", g.send(p), 0)
	if g.up.count(1) != 1 || !g.t.UpcallPending(1) || !g.t.PortPending(p) {
		t.Fatal("raise before placement not recorded")
	}
	if _, ok := g.t.SharedInfo(); ok {
		t.Fatal("SharedInfo placed")
	}
	wantRC(t, "unmask", g.unmask(p), 0) // no mask page: nothing to do
	for off := mem.GPA(0); off < pageSize; off += 8 {
		g.m.Store64(testShinfo+off, ^uint64(0)) // the guest's old page contents
	}
	if err := g.t.SetSharedInfo(testShinfo); err != nil {
		t.Fatal(err)
	}
	if !g.pending(p) || g.sel(legacy(1)) != selBit(p) || !g.upcallPending(legacy(1)) {
		t.Fatal("state not written at placement")
	}
	if g.upcallPending(legacy(0)) || g.sel(legacy(0)) != 0 || g.shWord(shinfoEvtchnMask) != 0 {
		t.Fatal("page not cleared at placement")
	}
	if g.up.count(1) != 1 {
		t.Errorf("placement upcalled again")
	}
	// Move it.
	newAt := mem.GPA(0x50000)
	if err := g.t.SetSharedInfo(newAt); err != nil {
		t.Fatal(err)
	}
	v, _ := g.m.Load64(newAt + shinfoEvtchnPending)
	if v != portBit(p) {
		t.Fatalf("moved pending word %#x", v)
	}
	for _, c := range []struct {
		gpa  mem.GPA
		want xen.Errno
	}{{0x123, xen.ENXIO}, {testRAM, xen.EINVAL}, {testRAM - 0x800, xen.ENXIO}} {
		if got := ErrnoOf(g.t.SetSharedInfo(c.gpa)); got != c.want {
			t.Errorf("SetSharedInfo(%#x) errno %v, want %v", c.gpa, got, c.want)
		}
	}
}

// TestPoll checks PollBegin/PollEnd: ready when the port is pending, a
// masked port's raise wakes the poller once, other ports do not wake a
// single-port poller, any port wakes a multi-port poller.
func TestPoll(t *testing.T) {
	g := newGuest(t, guestOpt{})
	p, _ := g.bindIPI(0)
	q, _ := g.bindIPI(0)
	g.setMask(p, true)
	g.setMask(q, true)
	if g.t.PollBegin(1, []uint32{uint32(p)}) {
		t.Fatal("ready with nothing pending")
	}
	wantRC(t, "send q", g.send(q), 0)
	if g.up.wakeCount(1) != 0 {
		t.Fatal("woken by another port")
	}
	wantRC(t, "send p", g.send(p), 0)
	g.clearPending(p)
	wantRC(t, "send p", g.send(p), 0)
	if g.up.wakeCount(1) != 1 {
		t.Fatalf("wakes = %d, want 1", g.up.wakeCount(1))
	}
	g.t.PollEnd(1)
	if !g.t.PollBegin(1, []uint32{uint32(q), uint32(p)}) {
		t.Fatal("not ready with pending ports")
	}
	g.t.PollEnd(1)
	g.clearPending(p)
	g.clearPending(q)
	if g.t.PollBegin(0, nil) {
		t.Fatal("ready")
	}
	wantRC(t, "send q", g.send(q), 0)
	if g.up.wakeCount(0) != 1 {
		t.Fatal("multi-port poller not woken")
	}
	g.t.PollEnd(0)
	if g.t.pollers.Load() != 0 {
		t.Fatalf("pollers = %d", g.t.pollers.Load())
	}
}

// TestRaiseVirq checks per-vCPU and per-domain VIRQ delivery.
func TestRaiseVirq(t *testing.T) {
	g := newGuest(t, guestOpt{vcpus: 2})
	g.t.RaiseVirq(0, VIRQTimer) // unbound: nothing
	t0, _ := g.bindVIRQ(VIRQTimer, 0)
	t1, _ := g.bindVIRQ(VIRQTimer, 1)
	argo, rc := g.bindVIRQ(VIRQArgo, 0)
	wantRC(t, "bind argo", rc, 0)
	g.t.RaiseVirq(1, VIRQTimer)
	if !g.pending(t1) || g.pending(t0) || g.up.count(1) != 1 {
		t.Fatal("timer on vcpu 1 misdelivered")
	}
	wantRC(t, "bind_vcpu argo", g.bindVCPU(argo, 1), 0)
	g.t.RaiseVirq(0, VIRQArgo)
	if !g.pending(argo) || g.sel(legacy(1))&selBit(argo) == 0 {
		t.Fatal("argo not delivered to its notify vcpu")
	}
	if p, ok := g.t.VirqPort(1, VIRQArgo); !ok || p != argo {
		t.Errorf("VirqPort(argo) = %d %v", p, ok)
	}
	g.t.RaiseVirq(5, VIRQTimer)
	g.t.RaiseVirq(0, 99)
}
