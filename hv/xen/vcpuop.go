package xen

import "encoding/binary"

// vcpu_op sub-commands (xen/include/public/vcpu.h).
const (
	VCPUOpInitialise                 = 0
	VCPUOpUp                         = 1
	VCPUOpDown                       = 2
	VCPUOpIsUp                       = 3
	VCPUOpGetRunstateInfo            = 4
	VCPUOpRegisterRunstateMemoryArea = 5
	VCPUOpSetPeriodicTimer           = 6
	VCPUOpStopPeriodicTimer          = 7
	VCPUOpSetSingleshotTimer         = 8
	VCPUOpStopSingleshotTimer        = 9
	VCPUOpRegisterVCPUInfo           = 10
	VCPUOpSendNMI                    = 11
	VCPUOpGetPhysID                  = 12
	VCPUOpRegisterVCPUTimeMemoryArea = 13
	VCPUOpRegisterRunstatePhysArea   = 14
	VCPUOpRegisterVCPUTimePhysArea   = 15
)

// vcpuOp mirrors do_vcpu_op (xen/arch/x86/domain.c) and common_vcpu_op
// (xen/common/domain.c): the target vCPU must exist (-ENOENT), then the
// sub-command runs. Timers, vcpu_info, runstate info, NMIs and the physical
// areas are not implemented yet (-ENOSYS).
func (x *Dispatcher) vcpuOp(v VCPU, cmd int32, vcpuid uint32, arg uint64) int64 {
	if uint64(vcpuid) >= uint64(max(x.dom.NumVCPUs(), 0)) {
		return ENOENT.Ret()
	}
	id := int(vcpuid)
	switch cmd {
	case VCPUOpInitialise:
		return x.vcpuInitialise(v, id, arg)

	case VCPUOpUp:
		x.vcpuMu.Lock()
		defer x.vcpuMu.Unlock()
		if !x.dom.VCPUInitialised(id) {
			return EINVAL.Ret()
		}
		if x.dom.VCPUIsUp(id) {
			return 0
		}
		return errnoRet(x.dom.UpVCPU(id))

	case VCPUOpDown:
		x.vcpuMu.Lock()
		othersUp := false
		for i := range x.dom.NumVCPUs() {
			if i != id && x.dom.VCPUIsUp(i) {
				othersUp = true
				break
			}
		}
		if !othersUp {
			// The last vCPU going down powers the domain off; it stays up.
			x.vcpuMu.Unlock()
			x.shutdown(ShutdownPoweroff)
			return 0
		}
		defer x.vcpuMu.Unlock()
		if !x.dom.VCPUIsUp(id) {
			return 0
		}
		return errnoRet(x.dom.DownVCPU(id))

	case VCPUOpIsUp:
		if x.dom.VCPUIsUp(id) {
			return 1
		}
		return 0

	case VCPUOpRegisterRunstateMemoryArea:
		var b [runstateAreaSize]byte
		if !copyIn(v, arg, b[:]) {
			return EFAULT.Ret()
		}
		// Xen then writes the current runstate there, ignoring faults;
		// runstate accounting comes later, so the area is only recorded.
		x.runMu.Lock()
		x.runstate[id] = binary.LittleEndian.Uint64(b[:])
		x.runMu.Unlock()
		return 0

	case VCPUOpStopPeriodicTimer:
		return 0 // no periodic timer is ever running

	case VCPUOpGetPhysID:
		// Only for hardware-domain vCPUs pinned to physical CPUs.
		return EINVAL.Ret()
	}
	return ENOSYS.Ret()
}

// vcpuInitialise mirrors arch_initialise_vcpu and arch_set_info_hvm_guest:
// copy the context (-EFAULT), refuse an initialised vCPU (-EEXIST), validate
// (-EINVAL), then hand it to the Domain.
func (x *Dispatcher) vcpuInitialise(v VCPU, id int, arg uint64) int64 {
	var b [vcpuHVMContextSize]byte
	if !copyIn(v, arg, b[:]) {
		return EFAULT.Ret()
	}
	ctx, err := DecodeVCPUContext(b[:])
	if err != nil {
		return EINVAL.Ret() // unreachable: b has the full size
	}
	x.vcpuMu.Lock()
	defer x.vcpuMu.Unlock()
	if x.dom.VCPUInitialised(id) {
		return EEXIST.Ret()
	}
	if err := ctx.Validate(x.opts.CPU); err != nil {
		return EINVAL.Ret()
	}
	return errnoRet(x.dom.InitialiseVCPU(id, ctx))
}

// errnoRet returns 0 for a nil error and the guest errno for any other.
func errnoRet(err error) int64 {
	if err == nil {
		return 0
	}
	return errnoOf(err).Ret()
}

// RunstateArea returns the guest-virtual address vCPU id registered with
// VCPUOP_register_runstate_memory_area, and whether it registered one.
func (x *Dispatcher) RunstateArea(id int) (gva uint64, ok bool) {
	x.runMu.Lock()
	defer x.runMu.Unlock()
	gva, ok = x.runstate[id]
	return gva, ok
}
