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
type vcpuTimer struct {
	p    *pv
	vcpu int

	mu       sync.Mutex  // protects the fields below
	single   *time.Timer // pending single-shot, nil if none
	periodic *time.Timer // next periodic tick, nil if none
	period   time.Duration
	fired    uint64 // VIRQ_TIMER raised by this timer
}

func (t *vcpuTimer) fire() {
	t.mu.Lock()
	t.fired++
	t.mu.Unlock()
	t.p.evt.RaiseVirq(t.vcpu, evtchn.VIRQTimer)
}

// setSingle arms the single-shot timer at absolute system time deadline.
func (t *vcpuTimer) setSingle(deadline uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.single != nil {
		t.single.Stop()
	}
	t.single = time.AfterFunc(time.Until(t.p.clock.deadline(deadline)), t.fire)
}

func (t *vcpuTimer) stopSingle() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.single != nil {
		t.single.Stop()
		t.single = nil
	}
}

func (t *vcpuTimer) setPeriodic(period time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.periodic != nil {
		t.periodic.Stop()
	}
	t.period = period
	next := time.Now().Add(period)
	var tick func()
	tick = func() {
		t.fire()
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.period == period && t.periodic != nil {
			next = next.Add(period)
			if d := time.Until(next); d > 0 {
				t.periodic.Reset(d)
			} else {
				next = time.Now().Add(period)
				t.periodic.Reset(period)
			}
		}
	}
	t.periodic = time.AfterFunc(period, tick)
}

func (t *vcpuTimer) stopPeriodic() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.periodic != nil {
		t.periodic.Stop()
		t.periodic = nil
	}
	t.period = 0
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
	if flags&1 != 0 && deadline < p.clock.systemTime() { // VCPU_SSHOTTMR_future
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
