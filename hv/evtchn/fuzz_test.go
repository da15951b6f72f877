package evtchn

import (
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// fuzzStep is the size of one step of FuzzEventChannelOp's input: a control
// byte, a command byte and a 24-byte argument struct.
const fuzzStep = 2 + statusSize

// step encodes one fuzz step.
func step(ctl, cmd byte, arg ...[]byte) []byte {
	b := make([]byte, fuzzStep)
	b[0], b[1] = ctl, cmd
	copy(b[2:], cat(arg...))
	return b
}

// FuzzEventChannelOp runs arbitrary sequences of event_channel_op calls and
// monitor-side operations against two domains of a hub. Each step's control
// byte picks the domain (bit 0), a faulting argument address (bit 1), and
// the action (bits 2-4): 0-3 a hypercall with the step's command, 4
// RaiseVirq, 5 a backend bind, 6 an endpoint operation, 7 vcpu_info/poll
// calls. Nothing may panic, every hypercall answers 0 or a Xen -errno, and
// the tables' invariants (see checkInvariants) hold after every step.
func FuzzEventChannelOp(f *testing.F) {
	p := func(v uint32) []byte { return u32(v) }
	f.Add(cat(
		step(0, OpAllocUnbound, u16(DomIDSelf), u16(2)),
		step(1, OpBindInterdomain, u16(1), u16(0), p(1)),
		step(0, OpSend, p(1)),
		step(1, OpSend, p(1)),
		step(0, OpClose, p(1)),
		step(1, OpStatus, u16(DomIDSelf), u16(0), p(1)),
	))
	f.Add(cat(
		step(0, OpBindVIRQ, p(VIRQTimer), p(1)),
		step(4<<2, 0, []byte{1, VIRQTimer}),
		step(0, OpBindIPI, p(2)),
		step(0, OpBindIPI, p(1)),
		step(0, OpSend, p(2)),
		step(0, OpUnmask, p(2)),
		step(0, OpBindVCPU, p(2), p(0)),
		step(0, OpReset, u16(DomIDSelf)),
	))
	f.Add(cat(
		step(5<<2, 0, []byte{1}),
		step(5<<2, 0, []byte{0, 0, 0, 0}, p(1)),
		step(6<<2, 0, []byte{0}),
		step(0, OpSend, p(1)),
		step(6<<2, 0, []byte{1}),
		step(0, OpClose, p(1)),
		step(6<<2, 0, []byte{2}),
	))
	f.Add(cat(
		step(0, OpAllocUnbound, u16(DomIDSelf), u16(DomIDSelf)),
		step(0, OpBindInterdomain, u16(DomIDSelf), u16(0), p(1)),
		step(7<<2, 0, []byte{1, 0}, u16(0x40)),
		step(7<<2, 0, []byte{2, 1}, u16(0)),
		step(0, OpSend, p(2)),
		step(7<<2, 0, []byte{3, 1}),
		step(2, OpStatus),
		step(0, OpInitControl),
		step(0, 0xff),
	))
	f.Fuzz(func(t *testing.T, data []byte) {
		hub := NewHub()
		gs := [2]*guest{newGuest(t, guestOpt{domid: 1, vcpus: 3, maxPorts: 200}), newGuest(t, guestOpt{domid: 2, vcpus: 2, noShinfo: true})}
		for _, g := range gs {
			if err := hub.Register(g.t); err != nil {
				t.Fatal(err)
			}
		}
		var eps []*Endpoint
		defer func() {
			for _, e := range eps {
				e.Close()
			}
		}()
		for len(data) >= fuzzStep {
			s := data[:fuzzStep]
			data = data[fuzzStep:]
			g := gs[s[0]&1]
			arg := s[2:]
			switch s[0] >> 2 & 7 {
			case 0, 1, 2, 3:
				gva := uint64(testArg)
				if s[0]&2 != 0 {
					gva = testRAM - 4
				}
				if err := g.m.WriteAt(arg, testArg); err != nil {
					t.Fatal(err)
				}
				cmd := uint64(s[1])
				if cmd >= 0x80 {
					cmd |= 0xffffffff00000000
				}
				rc := g.t.Hypercall(g.v, cmd, gva)
				if rc > 0 || (rc < 0 && !xen.IsErrno(rc)) {
					t.Fatalf("cmd %d returned %d", cmd, rc)
				}
			case 4:
				g.t.RaiseVirq(int(arg[0]%4), uint32(arg[1]))
			case 5:
				if arg[0]&1 != 0 {
					g.t.AllocPortForBackend(le.Uint16(arg[2:]) & 3)
				} else if ep, err := g.t.BindBackend(Port(le.Uint32(arg[4:]))); err == nil {
					eps = append(eps, ep)
				}
			case 6:
				if len(eps) == 0 {
					break
				}
				ep := eps[int(arg[1])%len(eps)]
				switch arg[0] % 4 {
				case 0:
					ep.Notify()
				case 1:
					ep.Drain()
				case 2:
					ep.Close()
				case 3:
					ep.Connected()
				}
			case 7:
				v := int(arg[1] % 4)
				switch arg[0] % 5 {
				case 0:
					g.t.SetVCPUInfo(v, testVInfo+mem.GPA(le.Uint16(arg[2:])))
				case 1:
					g.t.SetSharedInfo(mem.GPA(le.Uint32(arg[2:])) << 12)
				case 2:
					g.t.PollBegin(v, []uint32{le.Uint32(arg[4:])})
				case 3:
					g.t.PollEnd(v)
				case 4:
					g.t.UpcallPending(v)
					g.t.PortPending(Port(le.Uint32(arg[4:])))
				}
			}
			checkInvariants(t, gs[0].t, gs[1].t)
		}
		for _, g := range gs {
			hub.Unregister(g.t.DomID())
		}
		checkInvariants(t, gs[0].t, gs[1].t)
		for _, g := range gs {
			if n := g.t.ActivePorts(); n != 0 {
				t.Fatalf("d%d has %d ports after destruction", g.t.DomID(), n)
			}
		}
	})
}
