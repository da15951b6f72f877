package vm

import (
	"github.com/xenolith/xenolith/hv/evtchn"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/hv/boot"
	"github.com/xenolith/xenolith/hv/xen"
)

// domain implements xen.Domain for a VM.
type domain struct{ v *VM }

func (d *domain) DomID() uint16    { return d.v.cfg.DomID }
func (d *domain) NumVCPUs() int    { return len(d.v.vcpus) }
func (d *domain) RAMPages() uint64 { return d.v.cfg.MemBytes / 4096 }

func (d *domain) MemoryMap() []xen.MemmapEntry {
	var out []xen.MemmapEntry
	for _, e := range boot.MemoryMap(d.v.cfg.MemBytes) {
		out = append(out, xen.MemmapEntry{Addr: e.Addr, Size: e.Size, Type: e.Type})
	}
	return out
}

func (d *domain) ConsoleWrite(p []byte)    { d.v.consoleWrite(p) }
func (d *domain) ConsoleRead(p []byte) int { return 0 }

func (d *domain) Shutdown(reason uint32) {
	d.v.log.Debug("guest shutdown", "reason", Reason(reason).String())
	d.v.stop(Result{Reason: Reason(reason)})
}

func (d *domain) SetShutdownCode(code uint32) { d.v.shutdownCode.Store(int64(code)) }

func (d *domain) Yield(xen.VCPU) { unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }

// Block implements SCHEDOP_block: sleep until an event is pending for
// this vCPU (its evtchn_upcall_pending), a kick, or VM stop.
func (d *domain) Block(v xen.VCPU) {
	c := d.vcpu(v)
	evt := d.v.pv.evt
	t := d.v.pv.timers[c.id]
	pending := func() bool { return evt.UpcallPending(c.id) }
	for !d.v.stopping() && !pending() {
		c.sleep(t.next(), pending)
		t.expireDue()
	}
}

// Poll implements SCHEDOP_poll: sleep until one of ports is pending, the
// timeout (absolute system time, 0 = none) passes, or a kick.
func (d *domain) Poll(v xen.VCPU, ports []uint32, timeoutNs uint64) {
	c := d.vcpu(v)
	evt := d.v.pv.evt
	if evt.PollBegin(c.id, ports) {
		evt.PollEnd(c.id)
		return
	}
	defer evt.PollEnd(c.id)
	t := d.v.pv.timers[c.id]
	deadline := t.next()
	if timeoutNs != 0 {
		pd := d.v.pv.clock.deadline(timeoutNs)
		if !time.Now().Before(pd) {
			return
		}
		if deadline.IsZero() || pd.Before(deadline) {
			deadline = pd
		}
	}
	// One wakeup (an event for this vCPU, a timer, a kick) ends the poll;
	// returning early is allowed.
	c.sleep(deadline, func() bool { return evtPollReady(evt, c.id, ports) })
	t.expireDue()
}

// evtPollReady reports whether one of the polled ports is pending.
func evtPollReady(evt interface{ PortPending(evtchn.Port) bool }, vcpu int, ports []uint32) bool {
	for _, p := range ports {
		if evt.PortPending(evtchn.Port(p)) {
			return true
		}
	}
	return false
}

// ParamSet implements xen.ParamObserver.
func (d *domain) ParamSet(v xen.VCPU, idx uint32, val uint64) { d.v.pv.ParamSet(v, idx, val) }

func (d *domain) vcpu(v xen.VCPU) *vcpu { return d.v.vcpus[v.ID()] }

// VCPUInitialised implements xen.Domain.
func (d *domain) VCPUInitialised(id int) bool {
	if id < 0 || id >= len(d.v.vcpus) {
		return false
	}
	c := d.v.vcpus[id]
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.initialised
}

// InitialiseVCPU implements xen.Domain: the context is applied by the
// vCPU's own thread when it is brought up.
func (d *domain) InitialiseVCPU(id int, ctx xen.VCPUContext) error {
	if id < 0 || id >= len(d.v.vcpus) {
		return xen.ErrNoSuchVCPU
	}
	c := d.v.vcpus[id]
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.initialised {
		return xen.ErrVCPUExists
	}
	cp := ctx
	c.initCtx = &cp
	c.initialised = true
	return nil
}

// UpVCPU implements xen.Domain.
func (d *domain) UpVCPU(id int) error {
	if id < 0 || id >= len(d.v.vcpus) {
		return xen.ErrNoSuchVCPU
	}
	c := d.v.vcpus[id]
	c.mu.Lock()
	if !c.initialised {
		c.mu.Unlock()
		return xen.ErrVCPUNotInitialised
	}
	if c.isUp {
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	c.markUp()
	return nil
}

// DownVCPU implements xen.Domain.
func (d *domain) DownVCPU(id int) error {
	if id < 0 || id >= len(d.v.vcpus) {
		return xen.ErrNoSuchVCPU
	}
	c := d.v.vcpus[id]
	c.mu.Lock()
	c.isUp = false
	c.mu.Unlock()
	c.down.Store(true)
	c.kv.Kick()
	return nil
}

// VCPUIsUp implements xen.Domain.
func (d *domain) VCPUIsUp(id int) bool {
	if id < 0 || id >= len(d.v.vcpus) {
		return false
	}
	c := d.v.vcpus[id]
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.isUp
}

// block parks the vCPU thread until a wakeup (an event, a kick or VM stop).
func (c *vcpu) block() { c.sleep(time.Time{}, nil) }
