package vm

import (
	"sync"
	"time"

	"github.com/xenolith/xenolith/hv/kvm"
)

// Xen shuts a domain down with reason poweroff when every vCPU has executed
// HLT with interrupts disabled (xen/arch/x86/hvm/hvm.c, hvm_hlt). With an
// in-kernel irqchip such a HLT never leaves KVM_RUN, so one goroutine per
// process looks for it: every haltTick it reads the "blocking" statistic of
// the vCPUs that are in KVM_RUN (vCPUs sleeping in SCHEDOP_block are
// skipped, so idle VMs cost nothing). When all of a VM's running vCPUs
// have blocked for two ticks, it kicks them; each vCPU thread records
// whether it was halted with RFLAGS.IF clear, and when all were, the VM
// powers off.
const haltTick = 250 * time.Millisecond

type haltWatcher struct {
	once sync.Once
	mu   sync.Mutex  // protects vms
	vms  map[*VM]int // consecutive ticks with every running vCPU blocked
}

var halts haltWatcher

func (h *haltWatcher) add(v *VM) {
	h.once.Do(func() {
		h.vms = map[*VM]int{}
		go h.loop()
	})
	h.mu.Lock()
	h.vms[v] = 0
	h.mu.Unlock()
}

func (h *haltWatcher) remove(v *VM) {
	h.mu.Lock()
	delete(h.vms, v)
	h.mu.Unlock()
}

func (h *haltWatcher) loop() {
	for range time.Tick(haltTick) {
		h.mu.Lock()
		vms := make([]*VM, 0, len(h.vms))
		for v := range h.vms {
			vms = append(vms, v)
		}
		h.mu.Unlock()
		for _, v := range vms {
			n := 0
			if v.allBlocked() {
				h.mu.Lock()
				h.vms[v]++
				n = h.vms[v]
				h.mu.Unlock()
			} else {
				h.mu.Lock()
				if _, ok := h.vms[v]; ok {
					h.vms[v] = 0
				}
				h.mu.Unlock()
			}
			switch {
			case n == 2:
				v.probeHalt()
			case n >= 3 && v.allHaltedNoIF():
				v.stop(Result{Reason: ReasonPoweroff, Detail: "every vCPU halted with interrupts disabled"})
			}
		}
	}
}

// allBlocked reports whether the VM has running vCPUs and all of them are
// blocked inside KVM (not in the monitor's own sleep).
func (v *VM) allBlocked() bool {
	if v.stopping() {
		return false
	}
	running := 0
	for _, c := range v.vcpus {
		c.mu.Lock()
		up := c.isUp
		c.mu.Unlock()
		if !up {
			continue
		}
		if c.sleeping.Load() || c.stats == nil {
			return false
		}
		st, err := c.stats.Read()
		if err != nil || st["blocking"] == 0 {
			return false
		}
		running++
	}
	return running > 0
}

// probeHalt kicks every vCPU so that its thread records its halt state.
func (v *VM) probeHalt() {
	for _, c := range v.vcpus {
		c.haltProbe.Store(true)
		c.kv.Kick()
	}
}

// allHaltedNoIF reports whether every up vCPU recorded a halt with
// interrupts disabled at the last probe.
func (v *VM) allHaltedNoIF() bool {
	n := 0
	for _, c := range v.vcpus {
		c.mu.Lock()
		up := c.isUp
		c.mu.Unlock()
		if !up {
			continue
		}
		if !c.haltedNoIF.Load() {
			return false
		}
		n++
	}
	return n > 0
}

// recordHalt runs on the vCPU thread after a probe's kick: KVM stored the
// registers at the interrupted KVM_RUN.
func (c *vcpu) recordHalt() {
	c.haltProbe.Store(false)
	ifFlag := c.kv.SyncReg(kvm.RegRFLAGS)&(1<<9) != 0
	st, err := c.kv.MPState()
	c.haltedNoIF.Store(err == nil && st == kvm.MPStateHalted && !ifFlag)
}
