package vm

import (
	"encoding/binary"
	"sync"
	"time"

	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/xen"
)

// vcpuTimer is one vCPU's Xen timers: the single-shot timer (also driven by
// set_timer_op) and the periodic timer, both raising VIRQ_TIMER on that vCPU
// (xen/include/public/vcpu.h).
//
// Two paths expire a deadline, and a generation number makes sure only one
// of them fires it: a vCPU blocked in SCHEDOP_block or poll sleeps in ppoll
// with the deadline as its timeout (nanosecond precision, on its own
// thread), and the process's timer thread (hrtimer.go) covers a vCPU that
// is running or halted in the guest when the deadline passes.
type vcpuTimer struct {
	p    *pv
	vcpu int

	mu        sync.Mutex // protects the fields below
	singleAt  time.Time  // single-shot deadline, zero if none
	singleGen uint64
	single    *hrTimer
	periodAt  time.Time // next periodic tick, zero if none
	period    time.Duration
	periodGen uint64
	periodic  *hrTimer
	fired     uint64 // VIRQ_TIMER raised by this timer
}

// fireLocked raises VIRQ_TIMER; t.mu is held, so that a timer stopped or
// re-armed by the guest never fires after the hypercall returns (as Xen's
// stop_timer), however long this thread was descheduled between finding a
// deadline due and raising the event.
func (t *vcpuTimer) fireLocked() {
	t.fired++
	t.p.evt.RaiseVirq(t.vcpu, evtchn.VIRQTimer)
	t.p.v.vcpus[t.vcpu].wakeUp()
}

// setSingle arms the single-shot timer at absolute system time deadline.
func (t *vcpuTimer) setSingle(deadline uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	precise.stop(t.single)
	t.singleGen++
	gen := t.singleGen
	t.singleAt = t.p.clock.deadline(deadline)
	t.single = precise.after(t.singleAt, func() { t.expireSingle(gen) })
}

func (t *vcpuTimer) expireSingle(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gen != t.singleGen || t.singleAt.IsZero() {
		return
	}
	t.singleAt = time.Time{}
	t.fireLocked()
}

func (t *vcpuTimer) stopSingle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.singleGen++
	t.singleAt = time.Time{}
	precise.stop(t.single)
	t.single = nil
}

func (t *vcpuTimer) setPeriodic(period time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	precise.stop(t.periodic)
	t.periodGen++
	gen := t.periodGen
	t.period = period
	t.periodAt = time.Now().Add(period)
	t.periodic = precise.after(t.periodAt, func() { t.tick(gen) })
}

// tick fires a due periodic deadline and schedules the next one.
func (t *vcpuTimer) tick(gen uint64) {
	t.mu.Lock()
	if gen != t.periodGen || t.periodAt.IsZero() || time.Now().Before(t.periodAt) {
		t.mu.Unlock()
		return
	}
	t.periodAt = t.periodAt.Add(t.period)
	if now := time.Now(); t.periodAt.Before(now) {
		t.periodAt = now.Add(t.period)
	}
	precise.stop(t.periodic)
	t.periodic = precise.after(t.periodAt, func() { t.tick(gen) })
	t.fireLocked()
	t.mu.Unlock()
}

func (t *vcpuTimer) stopPeriodic() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.periodGen++
	t.periodAt = time.Time{}
	t.period = 0
	precise.stop(t.periodic)
	t.periodic = nil
}

// next returns the earliest armed deadline (zero if none).
func (t *vcpuTimer) next() time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	d := t.singleAt
	if !t.periodAt.IsZero() && (d.IsZero() || t.periodAt.Before(d)) {
		d = t.periodAt
	}
	return d
}

// expireDue fires every deadline that has passed; the vCPU thread calls it
// when its ppoll times out.
func (t *vcpuTimer) expireDue() {
	now := time.Now()
	t.mu.Lock()
	sgen, sat := t.singleGen, t.singleAt
	pgen, pat := t.periodGen, t.periodAt
	t.mu.Unlock()
	if !sat.IsZero() && !now.Before(sat) {
		t.expireSingle(sgen)
	}
	if !pat.IsZero() && !now.Before(pat) {
		t.tick(pgen)
	}
}

func (t *vcpuTimer) stop() {
	t.stopSingle()
	t.stopPeriodic()
}

// setTimerOp answers set_timer_op (hypercall 15): arg 1 is an absolute
// system time; 0 cancels.
func (p *pv) setTimerOp(v xen.VCPU, c xen.Call) int64 {
	t := p.timers[v.ID()]
	if c.Args[0] == 0 {
		t.stopSingle()
		return 0
	}
	t.setSingle(c.Args[0])
	return 0
}

// setSingleshot answers VCPUOP_set_singleshot_timer ({timeout_abs_ns u64,
// flags u32}); only the calling vCPU's timer may be set (Xen: -EINVAL).
func (p *pv) setSingleshot(v xen.VCPU, c xen.Call) int64 {
	if int(uint32(c.Args[1])) != v.ID() {
		return xen.EINVAL.Ret()
	}
	var b [16]byte
	if err := v.CopyIn(c.Args[2], b[:]); err != nil {
		return xen.EFAULT.Ret()
	}
	deadline, flags := binary.LittleEndian.Uint64(b[0:]), binary.LittleEndian.Uint32(b[8:])
	if flags&1 != 0 && p.clock.past(deadline) { // VCPU_SSHOTTMR_future
		return xen.ETIME.Ret()
	}
	p.timers[v.ID()].setSingle(deadline)
	return 0
}

func (p *pv) stopSingleshot(v xen.VCPU, c xen.Call) int64 {
	if int(uint32(c.Args[1])) != v.ID() {
		return xen.EINVAL.Ret()
	}
	p.timers[v.ID()].stopSingle()
	return 0
}

// setPeriodic answers VCPUOP_set_periodic_timer ({period_ns u64}); Xen
// refuses periods under 1 ms with -EINVAL.
func (p *pv) setPeriodic(v xen.VCPU, c xen.Call) int64 {
	var b [8]byte
	if err := v.CopyIn(c.Args[2], b[:]); err != nil {
		return xen.EFAULT.Ret()
	}
	period := binary.LittleEndian.Uint64(b[:])
	if period < uint64(time.Millisecond) {
		return xen.EINVAL.Ret()
	}
	p.timers[int(uint32(c.Args[1]))].setPeriodic(time.Duration(min(period, 1<<62)))
	return 0
}

func (p *pv) stopPeriodic(v xen.VCPU, c xen.Call) int64 {
	p.timers[int(uint32(c.Args[1]))].stopPeriodic()
	return 0
}
