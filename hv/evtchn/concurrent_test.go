package evtchn

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// callAt makes event_channel_op with the struct at its own guest address,
// so that concurrent callers do not share argument memory.
func (g *guest) callAt(gva uint64, cmd int, arg []byte) (int64, []byte) {
	g.m.WriteAt(arg, mem.GPA(gva))
	rc := g.t.Hypercall(g.v, uint64(cmd), gva)
	out := make([]byte, len(arg))
	g.m.ReadAt(out, mem.GPA(gva))
	return rc, out
}

// TestConcurrent runs senders, raisers, a guest acknowledging upcalls,
// binders and closers across two domains, backend endpoints and pollers at
// the same time (run it with -race), then checks the invariants and that
// destroying the domains leaves nothing behind.
func TestConcurrent(t *testing.T) {
	hub := NewHub()
	a := newGuest(t, guestOpt{domid: 1, vcpus: 4})
	b := newGuest(t, guestOpt{domid: 2, vcpus: 2})
	hub.Register(a.t)
	hub.Register(b.t)
	for v := range 4 {
		a.bindVIRQ(VIRQTimer, uint32(v))
		a.bindIPI(uint32(v))
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	var calls atomic.Uint64
	run := func(f func(r *rand.Rand, slot uint64)) {
		slot := uint64(testArg + 64*(calls.Add(1)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(slot, 1))
			for !stop.Load() {
				f(r, slot)
			}
		}()
	}
	check := func(rc int64) {
		if rc > 0 || (rc < 0 && !xen.IsErrno(rc)) {
			t.Errorf("bad return %d", rc)
		}
	}
	// Senders on both domains, on whatever the low ports are.
	for range 3 {
		run(func(r *rand.Rand, slot uint64) {
			g := []*guest{a, b}[r.IntN(2)]
			rc, _ := g.callAt(slot, OpSend, u32(uint32(r.IntN(20))))
			check(rc)
		})
	}
	// Raisers: timers and unmasks.
	run(func(r *rand.Rand, slot uint64) {
		a.t.RaiseVirq(r.IntN(4), VIRQTimer)
		rc, _ := a.callAt(slot, OpUnmask, u32(uint32(r.IntN(20))))
		check(rc)
	})
	// The guest side: acknowledge upcalls, clear pending words, mask.
	run(func(r *rand.Rand, slot uint64) {
		v := r.IntN(4)
		if gpa, ok := a.t.VCPUInfo(v); ok {
			a.ack(gpa)
		}
		a.m.Swap64(testShinfo+shinfoEvtchnPending, 0)
		b.m.And64(testShinfo+shinfoEvtchnMask, ^uint64(1<<r.IntN(20)))
	})
	// Binders and closers across the two domains.
	for range 2 {
		run(func(r *rand.Rand, slot uint64) {
			x, y := a, b
			if r.IntN(2) == 0 {
				x, y = b, a
			}
			rc, out := x.callAt(slot, OpAllocUnbound, cat(u16(DomIDSelf), u16(y.t.DomID()), u32(0)))
			check(rc)
			if rc == 0 {
				rc, _ = y.callAt(slot, OpBindInterdomain, cat(u16(x.t.DomID()), u16(0), out[4:8], u32(0)))
				check(rc)
			}
			rc, _ = x.callAt(slot, OpClose, u32(uint32(r.IntN(20))))
			check(rc)
			rc, _ = y.callAt(slot, OpBindVCPU, cat(u32(uint32(r.IntN(20))), u32(uint32(r.IntN(2)))))
			check(rc)
			rc, _ = y.callAt(slot, OpStatus, cat(u16(x.t.DomID()), u16(0), u32(uint32(r.IntN(20))), make([]byte, 16)))
			check(rc)
		})
	}
	// Backends: bind, notify, wait briefly, close.
	run(func(r *rand.Rand, slot uint64) {
		p, err := a.t.AllocPortForBackend(DomIDBackend)
		if err != nil {
			return
		}
		ep, err := a.t.BindBackend(p)
		if err != nil {
			return
		}
		for range 5 {
			ep.Notify()
			a.callAt(slot, OpSend, u32(uint32(p)))
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
		ep.Wait(ctx)
		cancel()
		ep.Drain()
		if r.IntN(2) == 0 {
			a.callAt(slot, OpClose, u32(uint32(p)))
		}
		ep.Close()
	})
	// Pollers.
	run(func(r *rand.Rand, slot uint64) {
		v := r.IntN(4)
		a.t.PollBegin(v, []uint32{uint32(r.IntN(20))})
		a.t.UpcallPending(v)
		a.t.PollEnd(v)
	})

	time.Sleep(100 * time.Millisecond)
	if err := a.t.SetVCPUInfo(3, testVInfo); err != nil {
		t.Error(err)
	}
	if err := b.t.SetSharedInfo(testShinfo + 0x1000); err != nil {
		t.Error(err)
	}
	time.Sleep(300 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	checkInvariants(t, a.t, b.t)
	if s := a.t.Stats(); s.Sends == 0 || s.Upcalls == 0 || s.Raises == 0 {
		t.Errorf("stats %+v: nothing happened", s)
	}
	hub.Unregister(1)
	checkInvariants(t, a.t, b.t)
	hub.Unregister(2)
	if a.t.ActivePorts() != 0 || b.t.ActivePorts() != 0 {
		t.Errorf("ports left: %d %d", a.t.ActivePorts(), b.t.ActivePorts())
	}
}
