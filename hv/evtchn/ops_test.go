package evtchn

import (
	"bytes"
	"errors"
	"testing"

	"github.com/xenolith/xenolith/hv/xen"
)

// fixture is domain 1 (2 vCPUs) in a hub with domain 2, with ports:
// 1 unbound for d2, 2 IPI on vCPU 1, 3 VIRQ_TIMER on vCPU 0, 4 VIRQ_ARGO,
// 5 unbound for d3, and d2's port 1 unbound for d1, port 2 unbound for d3.
type fixture struct {
	g1, g2 *guest
	hub    *Hub
}

const (
	fxUnbound2 = Port(1)
	fxIPI      = Port(2)
	fxTimer    = Port(3)
	fxArgo     = Port(4)
	fxUnbound3 = Port(5)
	fxFree     = Port(63) // valid (first bucket) but free
	fxInvalid  = Port(64) // beyond the valid buckets
)

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	f := &fixture{g1: newGuest(tb, guestOpt{domid: 1}), g2: newGuest(tb, guestOpt{domid: 2}), hub: NewHub()}
	for _, g := range []*guest{f.g1, f.g2} {
		if err := f.hub.Register(g.t); err != nil {
			tb.Fatal(err)
		}
	}
	steps := []struct {
		got  func() (Port, int64)
		want Port
	}{
		{func() (Port, int64) { return f.g1.allocUnbound(DomIDSelf, 2) }, fxUnbound2},
		{func() (Port, int64) { return f.g1.bindIPI(1) }, fxIPI},
		{func() (Port, int64) { return f.g1.bindVIRQ(VIRQTimer, 0) }, fxTimer},
		{func() (Port, int64) { return f.g1.bindVIRQ(VIRQArgo, 0) }, fxArgo},
		{func() (Port, int64) { return f.g1.allocUnbound(DomIDSelf, 3) }, fxUnbound3},
		{func() (Port, int64) { return f.g2.allocUnbound(DomIDSelf, 1) }, 1},
		{func() (Port, int64) { return f.g2.allocUnbound(DomIDSelf, 3) }, 2},
	}
	for i, s := range steps {
		if p, rc := s.got(); rc != 0 || p != s.want {
			tb.Fatalf("fixture step %d: port %d rc %d, want port %d", i, p, rc, s.want)
		}
	}
	return f
}

func TestOpErrnos(t *testing.T) {
	p32 := func(p Port) []byte { return u32(uint32(p)) }
	cases := []struct {
		name string
		cmd  uint64
		arg  []byte
		want xen.Errno
	}{
		// alloc_unbound: lookup, port, then XSM_TARGET.
		{"alloc self", OpAllocUnbound, cat(u16(DomIDSelf), u16(0), u32(0)), 0},
		{"alloc own id", OpAllocUnbound, cat(u16(1), u16(7), u32(0)), 0},
		{"alloc in other domain", OpAllocUnbound, cat(u16(2), u16(1), u32(0)), xen.EPERM},
		{"alloc in backend", OpAllocUnbound, cat(u16(0), u16(1), u32(0)), xen.EPERM},
		{"alloc in unknown", OpAllocUnbound, cat(u16(9), u16(1), u32(0)), xen.ESRCH},
		{"alloc in DOMID_IO", OpAllocUnbound, cat(u16(0x7ff1), u16(1), u32(0)), xen.ESRCH},
		// bind_interdomain
		{"bind unknown domain", OpBindInterdomain, cat(u16(9), u16(0), u32(1), u32(0)), xen.ESRCH},
		{"bind backend", OpBindInterdomain, cat(u16(0), u16(0), u32(1), u32(0)), xen.EINVAL},
		{"bind invalid remote port", OpBindInterdomain, cat(u16(2), u16(0), u32(5000), u32(0)), xen.EINVAL},
		{"bind free remote port", OpBindInterdomain, cat(u16(2), u16(0), u32(9), u32(0)), xen.EINVAL},
		{"bind port unbound for d3", OpBindInterdomain, cat(u16(2), u16(0), u32(2), u32(0)), xen.EINVAL},
		{"bind ok", OpBindInterdomain, cat(u16(2), u16(0), u32(1), u32(0)), 0},
		{"bind loopback to port for d2", OpBindInterdomain, cat(u16(DomIDSelf), u16(0), p32(fxUnbound2), u32(0)), xen.EINVAL},
		{"bind loopback to ipi", OpBindInterdomain, cat(u16(DomIDSelf), u16(0), p32(fxIPI), u32(0)), xen.EINVAL},
		// bind_virq
		{"virq 24", OpBindVIRQ, cat(u32(NrVIRQs), u32(0), u32(0)), xen.EINVAL},
		{"virq -1", OpBindVIRQ, cat(u32(0xffffffff), u32(0), u32(0)), xen.EINVAL},
		{"timer on vcpu 2", OpBindVIRQ, cat(u32(VIRQTimer), u32(2), u32(0)), xen.ENOENT},
		{"timer on vcpu -1", OpBindVIRQ, cat(u32(VIRQTimer), u32(0xffffffff), u32(0)), xen.ENOENT},
		{"timer again", OpBindVIRQ, cat(u32(VIRQTimer), u32(0), u32(0)), xen.EEXIST},
		{"timer on vcpu 1", OpBindVIRQ, cat(u32(VIRQTimer), u32(1), u32(0)), 0},
		{"debug on vcpu 1", OpBindVIRQ, cat(u32(VIRQDebug), u32(1), u32(0)), 0},
		{"console on vcpu 1", OpBindVIRQ, cat(u32(VIRQConsole), u32(1), u32(0)), xen.EINVAL},
		{"console global", OpBindVIRQ, cat(u32(VIRQConsole), u32(0), u32(0)), xen.EBUSY},
		{"arch virq global", OpBindVIRQ, cat(u32(VIRQArch0), u32(0), u32(0)), xen.EBUSY},
		{"dom_exc global", OpBindVIRQ, cat(u32(VIRQDomExc), u32(0), u32(0)), xen.EBUSY},
		{"argo on vcpu 1", OpBindVIRQ, cat(u32(VIRQArgo), u32(1), u32(0)), xen.EINVAL},
		{"argo again", OpBindVIRQ, cat(u32(VIRQArgo), u32(0), u32(0)), xen.EEXIST},
		{"unused virq 5 global", OpBindVIRQ, cat(u32(5), u32(0), u32(0)), xen.EBUSY},
		// bind_ipi, bind_pirq
		{"ipi vcpu 2", OpBindIPI, cat(u32(2), u32(0)), xen.ENOENT},
		{"ipi vcpu 0", OpBindIPI, cat(u32(0), u32(0)), 0},
		{"pirq", OpBindPIRQ, cat(u32(0), u32(0), u32(0)), xen.EINVAL},
		// close
		{"close 0", OpClose, p32(0), xen.EINVAL},
		{"close valid free", OpClose, p32(fxFree), xen.EINVAL},
		{"close invalid", OpClose, p32(fxInvalid), xen.EINVAL},
		{"close huge", OpClose, u32(0xffffffff), xen.EINVAL},
		{"close ipi", OpClose, p32(fxIPI), 0},
		{"close virq", OpClose, p32(fxTimer), 0},
		{"close unbound", OpClose, p32(fxUnbound2), 0},
		// send
		{"send 0", OpSend, p32(0), xen.EINVAL},
		{"send free", OpSend, p32(fxFree), xen.EINVAL},
		{"send invalid", OpSend, p32(fxInvalid), xen.EINVAL},
		{"send virq", OpSend, p32(fxTimer), xen.EINVAL},
		{"send unbound", OpSend, p32(fxUnbound2), 0},
		{"send ipi", OpSend, p32(fxIPI), 0},
		// status
		{"status unknown", OpStatus, cat(u16(9), u16(0), u32(1), make([]byte, 16)), xen.ESRCH},
		{"status backend", OpStatus, cat(u16(0), u16(0), u32(1), make([]byte, 16)), xen.EPERM},
		{"status other", OpStatus, cat(u16(2), u16(0), u32(1), make([]byte, 16)), xen.EPERM},
		{"status other bad port", OpStatus, cat(u16(2), u16(0), u32(5000), make([]byte, 16)), xen.EINVAL},
		{"status invalid", OpStatus, cat(u16(DomIDSelf), u16(0), p32(fxInvalid), make([]byte, 16)), xen.EINVAL},
		{"status free", OpStatus, cat(u16(DomIDSelf), u16(0), p32(fxFree), make([]byte, 16)), 0},
		// bind_vcpu: vCPU first, then port, then state.
		{"bind_vcpu bad vcpu and port", OpBindVCPU, cat(u32(5000), u32(2)), xen.ENOENT},
		{"bind_vcpu invalid port", OpBindVCPU, cat(u32(5000), u32(1)), xen.EINVAL},
		{"bind_vcpu free", OpBindVCPU, cat(p32(fxFree), u32(1)), xen.EINVAL},
		{"bind_vcpu reserved", OpBindVCPU, cat(u32(0), u32(1)), xen.EINVAL},
		{"bind_vcpu ipi", OpBindVCPU, cat(p32(fxIPI), u32(0)), xen.EINVAL},
		{"bind_vcpu timer", OpBindVCPU, cat(p32(fxTimer), u32(1)), xen.EINVAL},
		{"bind_vcpu argo", OpBindVCPU, cat(p32(fxArgo), u32(1)), 0},
		{"bind_vcpu unbound", OpBindVCPU, cat(p32(fxUnbound2), u32(1)), 0},
		// unmask
		{"unmask invalid", OpUnmask, p32(fxInvalid), xen.EINVAL},
		{"unmask free", OpUnmask, p32(fxFree), 0},
		{"unmask 0", OpUnmask, p32(0), 0},
		{"unmask ipi", OpUnmask, p32(fxIPI), 0},
		// reset
		{"reset other", OpReset, u16(2), xen.EPERM},
		{"reset backend", OpReset, u16(0), xen.EPERM},
		{"reset unknown", OpReset, u16(9), xen.ESRCH},
		{"reset_cont", OpResetCont, u16(DomIDSelf), xen.EBUSY},
		{"reset_cont unknown", OpResetCont, u16(9), xen.ESRCH},
		{"reset self", OpReset, u16(DomIDSelf), 0},
		// FIFO
		{"init_control", OpInitControl, make([]byte, 24), xen.ENOSYS},
		{"expand_array", OpExpandArray, make([]byte, 8), xen.ENOSYS},
		{"set_priority", OpSetPriority, cat(p32(fxIPI), u32(0)), xen.ENOSYS},
		{"set_priority invalid", OpSetPriority, cat(p32(fxInvalid), u32(0)), xen.EINVAL},
		// unknown and truncated commands
		{"cmd 15", 15, nil, xen.ENOSYS},
		{"cmd -1", 0xffffffff, nil, xen.ENOSYS},
		{"cmd 1<<32|send", 1<<32 | OpSend, p32(fxIPI), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			arg := append(c.arg, make([]byte, 24)...) // room for any struct
			rc, _ := f.g1.call(int(c.cmd), arg[:max(len(c.arg), 1)])
			if c.cmd > 0xffffffff {
				rc = f.g1.t.Hypercall(f.g1.v, c.cmd, testArg)
			}
			wantRC(t, c.name, rc, c.want)
			checkInvariants(t, f.g1.t, f.g2.t)
		})
	}
}

// TestEFAULT checks that a faulting argument is -EFAULT for every known
// command (before any check) and that unknown commands do not read it.
func TestEFAULT(t *testing.T) {
	f := newFixture(t)
	for cmd := range 20 {
		want := xen.EFAULT
		if s, _ := argSize(int32(cmd)); s == 0 {
			want = xen.ENOSYS
		}
		rc := f.g1.t.Hypercall(f.g1.v, uint64(cmd), testRAM-1)
		wantRC(t, "cmd "+xen.Errno(cmd).String(), rc, want)
	}
}

// roVCPU is a vCPU whose writes fault.
type roVCPU struct{ *fakeVCPU }

func (roVCPU) CopyOut(uint64, []byte) error { return errors.New("read-only") }

// TestCopyOutFault checks that a fault on copy-out is -EFAULT with the port
// allocated anyway, as in Xen ("Cleaning up here would be a mess!").
func TestCopyOutFault(t *testing.T) {
	g := newGuest(t, guestOpt{})
	g.m.WriteAt(cat(u16(DomIDSelf), u16(0), u32(0)), testArg)
	rc := g.t.Hypercall(roVCPU{g.v}, OpAllocUnbound, testArg)
	wantRC(t, "alloc_unbound", rc, xen.EFAULT)
	if g.t.ActivePorts() != 1 {
		t.Fatalf("active = %d, want 1", g.t.ActivePorts())
	}
	// Commands without OUT fields do not copy out.
	g.m.WriteAt(u32(1), testArg)
	wantRC(t, "close", g.t.Hypercall(roVCPU{g.v}, OpClose, testArg), 0)
}

// TestStatus checks EVTCHNOP_status output for every state, and that bytes
// the state does not define go back as the guest wrote them.
func TestStatus(t *testing.T) {
	f := newFixture(t)
	g := f.g1
	loc, rc := f.g2.bindInterdomain(1, fxUnbound2)
	wantRC(t, "bind", rc, 0)
	cases := []struct {
		port Port
		want statusOut
	}{
		{0, statusOut{status: StatusClosed}},
		{fxFree, statusOut{status: StatusClosed}},
		{fxUnbound3, statusOut{status: StatusUnbound, dom: 3}},
		{fxUnbound2, statusOut{status: StatusInterdomain, dom: 2, port: uint32(loc)}},
		{fxIPI, statusOut{status: StatusIPI, vcpu: 1}},
		{fxTimer, statusOut{status: StatusVIRQ, virq: VIRQTimer}},
		{fxArgo, statusOut{status: StatusVIRQ, virq: VIRQArgo}},
	}
	for _, c := range cases {
		got, rc := g.status(DomIDSelf, c.port)
		wantRC(t, "status", rc, 0)
		got.virq = le.Uint32(u32(got.virq))
		if c.want.status != StatusVIRQ {
			c.want.virq, got.virq = 0, 0
		} else {
			c.want.dom, got.dom = 0, 0
		}
		if got != c.want {
			t.Errorf("status(%d) = %+v, want %+v", c.port, got, c.want)
		}
	}
	// Undefined bytes are preserved.
	in := cat(u16(DomIDSelf), []byte{0xaa, 0xbb}, u32(uint32(fxIPI)), u32(9), u32(9), bytes.Repeat([]byte{0xcc}, 8))
	rc, out := g.call(OpStatus, in)
	wantRC(t, "status", rc, 0)
	want := cat(u16(DomIDSelf), []byte{0xaa, 0xbb}, u32(uint32(fxIPI)), u32(StatusIPI), u32(1), bytes.Repeat([]byte{0xcc}, 8))
	if !bytes.Equal(out, want) {
		t.Errorf("status bytes % x, want % x", out, want)
	}
	in = cat(u16(DomIDSelf), u16(0), u32(uint32(fxUnbound3)), u32(0), u32(0), bytes.Repeat([]byte{0xcc}, 8))
	_, out = g.call(OpStatus, in)
	if !bytes.Equal(out[18:], bytes.Repeat([]byte{0xcc}, 6)) {
		t.Errorf("unbound status clobbered union tail: % x", out[16:])
	}
}

// TestPortLimit checks -ENOSPC when the table is full, bucket growth, and
// that a closed port is reused lowest-first and notifies vCPU 0 again.
func TestPortLimit(t *testing.T) {
	g := newGuest(t, guestOpt{maxPorts: 100})
	for want := Port(1); want < 100; want++ {
		p, rc := g.bindIPI(1)
		wantRC(t, "bind_ipi", rc, 0)
		if p != want {
			t.Fatalf("port %d, want %d", p, want)
		}
	}
	_, rc := g.bindIPI(0)
	wantRC(t, "bind_ipi when full", rc, xen.ENOSPC)
	_, rc = g.allocUnbound(DomIDSelf, 0)
	wantRC(t, "alloc when full", rc, xen.ENOSPC)
	_, rc = g.bindInterdomain(DomIDSelf, 5)
	wantRC(t, "bind_interdomain when full", rc, xen.ENOSPC)
	_, rc = g.bindInterdomain(0, 5)
	wantRC(t, "bind backend when full", rc, xen.ENOSPC)
	if _, err := g.t.AllocPortForBackend(0); ErrnoOf(err) != xen.ENOSPC {
		t.Errorf("AllocPortForBackend when full: %v", err)
	}
	// Ports 100..127 are valid (bucket) but never allocatable.
	st, rc := g.status(DomIDSelf, 127)
	wantRC(t, "status 127", rc, 0)
	if st.status != StatusClosed {
		t.Errorf("status(127) = %d", st.status)
	}
	_, rc = g.status(DomIDSelf, 128)
	wantRC(t, "status 128", rc, xen.EINVAL)
	wantRC(t, "close 7", g.closePort(7), 0)
	p, _ := g.allocUnbound(DomIDSelf, 0)
	if p != 7 {
		t.Fatalf("reused port %d, want 7", p)
	}
	if st, _ := g.status(DomIDSelf, 7); st.vcpu != 0 {
		t.Errorf("reused port notifies vcpu %d", st.vcpu)
	}
	checkInvariants(t, g.t)
}

// TestCloseClearsPending checks that closing a port clears its pending bit
// (evtchn_free) and that close unbinds a VIRQ so that it can be bound again.
func TestCloseClearsPending(t *testing.T) {
	g := newGuest(t, guestOpt{})
	p, _ := g.bindVIRQ(VIRQTimer, 1)
	g.t.RaiseVirq(1, VIRQTimer)
	if !g.pending(p) {
		t.Fatal("not pending")
	}
	wantRC(t, "close", g.closePort(p), 0)
	if g.pending(p) {
		t.Fatal("close left the port pending")
	}
	if _, ok := g.t.VirqPort(1, VIRQTimer); ok {
		t.Fatal("virq still bound")
	}
	_, rc := g.bindVIRQ(VIRQTimer, 1)
	wantRC(t, "rebind", rc, 0)
}

// TestReset checks that EVTCHNOP_reset closes every port, peers included.
func TestReset(t *testing.T) {
	f := newFixture(t)
	loc, rc := f.g2.bindInterdomain(1, fxUnbound2)
	wantRC(t, "bind", rc, 0)
	wantRC(t, "reset", f.g1.reset(DomIDSelf), 0)
	if f.g1.t.ActivePorts() != 0 {
		t.Fatalf("active = %d after reset", f.g1.t.ActivePorts())
	}
	st, _ := f.g2.status(DomIDSelf, loc)
	if st.status != StatusUnbound || st.dom != 1 {
		t.Errorf("peer after reset: %+v", st)
	}
	p, rc := f.g1.bindVIRQ(VIRQTimer, 0)
	wantRC(t, "bind after reset", rc, 0)
	if p != 1 {
		t.Errorf("first port after reset = %d", p)
	}
	checkInvariants(t, f.g1.t, f.g2.t)
}

func TestNewTableConfig(t *testing.T) {
	g := newGuest(t, guestOpt{})
	for _, c := range []Config{
		{DomID: 0, VCPUs: 1, Memory: g.m},
		{DomID: DomIDSelf, VCPUs: 1, Memory: g.m},
		{DomID: 1, VCPUs: 0, Memory: g.m},
		{DomID: 1, VCPUs: MaxVCPUs + 1, Memory: g.m},
		{DomID: 1, VCPUs: 1},
		{DomID: 1, VCPUs: 1, Memory: g.m, MaxPorts: 1},
		{DomID: 1, VCPUs: 1, Memory: g.m, MaxPorts: NrPorts + 1},
	} {
		if _, err := NewTable(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("NewTable(%+v) = %v", c, err)
		}
	}
	tab, err := NewTable(Config{DomID: 1, VCPUs: 1, Memory: g.m, MaxPorts: NrPorts})
	if err != nil || tab.MaxPorts() != NrPorts || tab.NumVCPUs() != 1 || tab.DomID() != 1 {
		t.Fatalf("NewTable: %v", err)
	}
}
