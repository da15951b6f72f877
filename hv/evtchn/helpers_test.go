package evtchn

import (
	"sync"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// Guest-physical layout of the test guests.
const (
	testRAM    = 1 << 20
	testShinfo = mem.GPA(0x10000) // where shared_info is placed
	testArg    = 0x20000          // where hypercall argument structs go
	testVInfo  = mem.GPA(0x30000) // a page for registered vcpu_info
)

// fakeVCPU is a xen.VCPU whose guest-virtual addresses are guest-physical
// addresses of m.
type fakeVCPU struct {
	id int
	m  *mem.Memory
}

func (f *fakeVCPU) ID() int { return f.id }

func (f *fakeVCPU) CopyIn(gva uint64, dst []byte) error { return f.m.ReadAt(dst, mem.GPA(gva)) }

func (f *fakeVCPU) CopyOut(gva uint64, src []byte) error { return f.m.WriteAt(src, mem.GPA(gva)) }

// fakeUpcaller counts upcalls and poll wake-ups per vCPU.
type fakeUpcaller struct {
	mu    sync.Mutex
	calls map[int]int
	wakes map[int]int
}

func newFakeUpcaller() *fakeUpcaller {
	return &fakeUpcaller{calls: map[int]int{}, wakes: map[int]int{}}
}

func (u *fakeUpcaller) Upcall(v int) {
	u.mu.Lock()
	u.calls[v]++
	u.mu.Unlock()
}

func (u *fakeUpcaller) PollWake(v int) {
	u.mu.Lock()
	u.wakes[v]++
	u.mu.Unlock()
}

func (u *fakeUpcaller) count(v int) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[v]
}

func (u *fakeUpcaller) wakeCount(v int) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.wakes[v]
}

// guest is a test domain: a table, its memory, a vCPU to make hypercalls
// and the upcall recorder.
type guest struct {
	t  *Table
	m  *mem.Memory
	v  *fakeVCPU
	up *fakeUpcaller
}

type guestOpt struct {
	domid    uint16
	vcpus    int
	maxPorts int
	noShinfo bool
}

func newGuest(tb testing.TB, o guestOpt) *guest {
	tb.Helper()
	if o.domid == 0 {
		o.domid = 1
	}
	if o.vcpus == 0 {
		o.vcpus = 2
	}
	m, err := mem.New(testRAM, mem.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	up := newFakeUpcaller()
	tab, err := NewTable(Config{DomID: o.domid, VCPUs: o.vcpus, Memory: m, Upcaller: up, MaxPorts: o.maxPorts})
	if err != nil {
		tb.Fatal(err)
	}
	if !o.noShinfo {
		if err := tab.SetSharedInfo(testShinfo); err != nil {
			tb.Fatal(err)
		}
	}
	return &guest{t: tab, m: m, v: &fakeVCPU{m: m}, up: up}
}

// call makes event_channel_op(cmd, testArg) with arg as the struct and
// returns the result and the struct as the guest then sees it.
func (g *guest) call(cmd int, arg []byte) (int64, []byte) {
	if err := g.m.WriteAt(arg, testArg); err != nil {
		panic(err)
	}
	rc := g.t.Hypercall(g.v, uint64(cmd), testArg)
	out := make([]byte, len(arg))
	if err := g.m.ReadAt(out, testArg); err != nil {
		panic(err)
	}
	return rc, out
}

func u16(v uint16) []byte { b := make([]byte, 2); le.PutUint16(b, v); return b }
func u32(v uint32) []byte { b := make([]byte, 4); le.PutUint32(b, v); return b }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func (g *guest) allocUnbound(dom, remote uint16) (Port, int64) {
	rc, out := g.call(OpAllocUnbound, cat(u16(dom), u16(remote), u32(0)))
	return Port(le.Uint32(out[4:])), rc
}

func (g *guest) bindInterdomain(rdom uint16, rport Port) (Port, int64) {
	rc, out := g.call(OpBindInterdomain, cat(u16(rdom), u16(0), u32(uint32(rport)), u32(0)))
	return Port(le.Uint32(out[8:])), rc
}

func (g *guest) bindVIRQ(virq, vcpu uint32) (Port, int64) {
	rc, out := g.call(OpBindVIRQ, cat(u32(virq), u32(vcpu), u32(0)))
	return Port(le.Uint32(out[8:])), rc
}

func (g *guest) bindIPI(vcpu uint32) (Port, int64) {
	rc, out := g.call(OpBindIPI, cat(u32(vcpu), u32(0)))
	return Port(le.Uint32(out[4:])), rc
}

func (g *guest) closePort(p Port) int64 { rc, _ := g.call(OpClose, u32(uint32(p))); return rc }
func (g *guest) send(p Port) int64      { rc, _ := g.call(OpSend, u32(uint32(p))); return rc }
func (g *guest) unmask(p Port) int64    { rc, _ := g.call(OpUnmask, u32(uint32(p))); return rc }
func (g *guest) reset(dom uint16) int64 { rc, _ := g.call(OpReset, u16(dom)); return rc }

func (g *guest) bindVCPU(p Port, vcpu uint32) int64 {
	rc, _ := g.call(OpBindVCPU, cat(u32(uint32(p)), u32(vcpu)))
	return rc
}

// statusOut is a decoded evtchn_status.
type statusOut struct {
	status, vcpu uint32
	dom          uint16 // u.unbound.dom / u.interdomain.dom
	port         uint32 // u.interdomain.port
	virq         uint32 // u.virq
}

func (g *guest) status(dom uint16, p Port) (statusOut, int64) {
	rc, out := g.call(OpStatus, cat(u16(dom), u16(0), u32(uint32(p)), make([]byte, 16)))
	return statusOut{
		status: le.Uint32(out[8:]), vcpu: le.Uint32(out[12:]),
		dom: le.Uint16(out[16:]), port: le.Uint32(out[20:]), virq: le.Uint32(out[16:]),
	}, rc
}

// Guest-side views of shared_info and vcpu_info.

func (g *guest) shWord(off mem.GPA) uint64 {
	v, err := g.m.Load64(testShinfo + off)
	if err != nil {
		panic(err)
	}
	return v
}

func (g *guest) pending(p Port) bool {
	return g.shWord(shinfoEvtchnPending+mem.GPA(8*(p/64)))&(1<<(p%64)) != 0
}

func (g *guest) setMask(p Port, on bool) {
	gpa := testShinfo + shinfoEvtchnMask + mem.GPA(8*(p/64))
	if on {
		g.m.Or64(gpa, 1<<(p%64))
	} else {
		g.m.And64(gpa, ^uint64(1<<(p%64)))
	}
}

func (g *guest) clearPending(p Port) {
	g.m.And64(testShinfo+shinfoEvtchnPending+mem.GPA(8*(p/64)), ^uint64(1<<(p%64)))
}

// legacy returns the GPA of vCPU v's legacy vcpu_info slot.
func legacy(v int) mem.GPA { return testShinfo + mem.GPA(v*vcpuInfoSize) }

func (g *guest) sel(info mem.GPA) uint64 {
	v, _ := g.m.Load64(info + vcpuInfoPendingSel)
	return v
}

func (g *guest) upcallPending(info mem.GPA) bool {
	v, _ := g.m.Load64(info)
	return v&1 != 0
}

// ack does what a guest's upcall handler does first: clear upcall_pending
// and take the selector.
func (g *guest) ack(info mem.GPA) uint64 {
	g.m.And64(info, ^uint64(0xff))
	v, _ := g.m.Swap64(info+vcpuInfoPendingSel, 0)
	return v
}

// wantRC fails the test unless rc == want.
func wantRC(tb testing.TB, what string, rc int64, want xen.Errno) {
	tb.Helper()
	if rc != want.Ret() {
		tb.Fatalf("%s = %d, want %d (%v)", what, rc, want.Ret(), want)
	}
}

// checkInvariants verifies the table's internal consistency: port 0
// reserved, the active count, VIRQ bindings both ways, interdomain peers
// pointing back, endpoints bound to their port. It takes the tables' locks
// one at a time, so call it when no operation is running.
func checkInvariants(tb testing.TB, tabs ...*Table) {
	tb.Helper()
	for _, t := range tabs {
		t.mu.RLock()
		if t.ports[0].state != stateReserved {
			tb.Errorf("d%d: port 0 is %v", t.domid, t.ports[0].state)
		}
		if len(t.ports)%bucketPorts != 0 || len(t.ports) > NrPorts {
			tb.Errorf("d%d: %d valid ports", t.domid, len(t.ports))
		}
		active := 0
		for p := 1; p < len(t.ports); p++ {
			c := t.ports[p]
			if c.state == stateReserved {
				tb.Errorf("d%d: port %d reserved", t.domid, p)
			}
			if c.state != stateFree {
				active++
				if p >= t.maxPorts {
					tb.Errorf("d%d: port %d allocated beyond limit %d", t.domid, p, t.maxPorts)
				}
			}
			if c.state == stateFree && (c != channel{}) {
				tb.Errorf("d%d: free port %d has state %+v", t.domid, p, c)
			}
			if int(c.notify) >= len(t.vcpus) {
				tb.Errorf("d%d: port %d notifies vcpu %d", t.domid, p, c.notify)
			}
			switch c.state {
			case stateVIRQ:
				v := 0
				if virqTypeOf(uint32(c.virq)) == virqPerVCPU {
					v = int(c.notify)
				}
				if t.vcpus[v].virq[c.virq] != Port(p) {
					tb.Errorf("d%d: port %d virq %d not in vcpu %d's table", t.domid, p, c.virq, v)
				}
			case stateInterdomain:
				if (c.ep == nil) == (c.peer == nil) {
					tb.Errorf("d%d: port %d interdomain with peer %v and ep %v", t.domid, p, c.peer, c.ep)
				}
				if c.ep != nil && (c.ep.port != Port(p) || !c.ep.connected || c.ep.t != t) {
					tb.Errorf("d%d: port %d endpoint inconsistent", t.domid, p)
				}
			default:
				if c.peer != nil || c.ep != nil {
					tb.Errorf("d%d: port %d (%v) keeps a peer", t.domid, p, c.state)
				}
			}
		}
		if active != t.active {
			tb.Errorf("d%d: active = %d, counted %d", t.domid, t.active, active)
		}
		for v := range t.vcpus {
			for virq, p := range t.vcpus[v].virq {
				if p == 0 {
					continue
				}
				if !t.validLocked(p) || t.ports[p].state != stateVIRQ || int(t.ports[p].virq) != virq {
					tb.Errorf("d%d: vcpu %d virq %d -> port %d which is not bound to it", t.domid, v, virq, p)
				}
			}
		}
		type link struct {
			peer *Table
			port Port
		}
		var links []link
		var self []Port
		for p := 1; p < len(t.ports); p++ {
			if c := t.ports[p]; c.state == stateInterdomain && c.peer != nil {
				if c.peer == t {
					self = append(self, Port(p))
				} else {
					links = append(links, link{c.peer, c.peerPort})
				}
			}
		}
		for _, p := range self {
			c := t.ports[p]
			if !t.validLocked(c.peerPort) || t.ports[c.peerPort].state != stateInterdomain ||
				t.ports[c.peerPort].peer != t || t.ports[c.peerPort].peerPort != p {
				tb.Errorf("d%d: loopback port %d -> %d not reciprocal", t.domid, p, c.peerPort)
			}
		}
		t.mu.RUnlock()
		for _, l := range links {
			l.peer.mu.RLock()
			ok := l.peer.validLocked(l.port) && l.peer.ports[l.port].state == stateInterdomain && l.peer.ports[l.port].peer == t
			l.peer.mu.RUnlock()
			if !ok {
				tb.Errorf("d%d: peer d%d port %d does not point back", t.domid, l.peer.domid, l.port)
			}
		}
	}
}
