package probe

import (
	"fmt"
	"log/slog"

	"github.com/cilium/ebpf"
)

// VMID names a VM in the tracer's maps. Ids of VMs a monitor registers are
// small; ids learnt by Options.Discover have the top bit set.
type VMID uint32

// discoveredBit marks VM ids learnt from KVM_RUN (AUTO_VM_FLAG in probe.c).
const discoveredBit = 0x80000000

// Discovered reports whether the VM was learnt by Options.Discover.
func (id VMID) Discovered() bool { return id&discoveredBit != 0 }

// AddVM gives a VM a tracer id; name labels it in snapshots.
func (t *Tracer) AddVM(name string) (VMID, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return 0, ErrClosed
	}
	if t.next >= discoveredBit {
		return 0, ErrTooManyVMs
	}
	id := t.next
	t.next++
	t.vms[id] = name
	return id, nil
}

// Register attributes thread tid to vCPU vcpu of VM id.
func (t *Tracer) Register(id VMID, vcpu, tid int) error {
	if tid <= 0 || vcpu < 0 {
		return fmt.Errorf("probe: register vCPU %d thread %d: invalid id", vcpu, tid)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	key := uint32(tid)
	// A thread registered again keeps what it counted so far.
	if _, ok := t.slotOf[key]; ok {
		if err := t.releaseLocked(key); err != nil {
			return err
		}
	}
	if len(t.free) == 0 {
		return fmt.Errorf("probe: register thread %d: %w", tid, ErrTooManyThreads)
	}
	t.gen++
	if t.gen == 0 {
		t.gen++
	}
	ts := threadSlot{slot: t.free[len(t.free)-1], gen: t.gen}
	vid := probeVcpuId{Vm: uint32(id), Vcpu: uint32(vcpu)}
	// State first: a thread in vcpus always has its state.
	st := probeTstate{Id: vid, Tid: key, Gen: ts.gen}
	if err := t.coll.Maps["threads"].Put(ts.slot, &st); err != nil {
		return fmt.Errorf("probe: register thread %d: %w", tid, err)
	}
	if err := t.coll.Maps["vcpus"].Put(key, probeVthread{Id: vid, Slot: ts.slot, Gen: ts.gen}); err != nil {
		t.coll.Maps["threads"].Put(ts.slot, &probeTstate{})
		return fmt.Errorf("probe: register thread %d: %w", tid, err)
	}
	t.free = t.free[:len(t.free)-1]
	t.slotOf[key] = ts
	return nil
}

// Unregister forgets thread tid; what it counted stays in its vCPU's
// counters.
func (t *Tracer) Unregister(tid int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	key := uint32(tid)
	if _, ok := t.slotOf[key]; !ok {
		return fmt.Errorf("probe: unregister thread %d: %w", tid, ebpf.ErrKeyNotExist)
	}
	return t.releaseLocked(key)
}

// Hook returns a function for vm.Config.OnVCPUThread that registers and
// unregisters the VM's vCPU threads. Errors are logged, not fatal: tracing
// must never stop a VM.
func (t *Tracer) Hook(id VMID) func(vcpu, tid int, start bool) {
	return func(vcpu, tid int, start bool) {
		var err error
		if start {
			err = t.Register(id, vcpu, tid)
		} else {
			err = t.Unregister(tid)
		}
		if err != nil && err != ErrClosed {
			slog.Warn("probe: vCPU thread", "vm", id, "vcpu", vcpu, "tid", tid, "err", err)
		}
	}
}

// Threads returns the registered and discovered vCPU threads: tid -> VM
// and vCPU.
func (t *Tracer) Threads() (map[int]VCPU, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, ErrClosed
	}
	out := map[int]VCPU{}
	var k uint32
	var v probeVthread
	it := t.coll.Maps["vcpus"].Iterate()
	for it.Next(&k, &v) {
		out[int(k)] = VCPU{VM: VMID(v.Id.Vm), Index: int(v.Id.Vcpu)}
	}
	return out, it.Err()
}

// VCPU names one vCPU.
type VCPU struct {
	VM    VMID `json:"vm"`
	Index int  `json:"vcpu"`
}
