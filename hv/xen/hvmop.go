package xen

import "encoding/binary"

// hvm_op sub-commands (xen/include/public/hvm/hvm_op.h).
const (
	HVMOpSetParam                = 0
	HVMOpGetParam                = 1
	HVMOpFlushTLBs               = 5
	HVMOpPagetableDying          = 9
	HVMOpGetTime                 = 10
	HVMOpXentrace                = 11
	HVMOpGetMemType              = 15
	HVMOpSetEvtchnUpcallVector   = 23
	HVMOpGuestRequestVMEvent     = 24
	HVMOpAltP2M                  = 25
	trcSubclsShift               = 12 // TRC_SUBCLS_SHIFT (public/trace.h)
	hvmXentraceExtraBytesAligned = 4  // extra_bytes must be a multiple of 4
)

// hvmOp mirrors do_hvm_op (xen/arch/x86/hvm/hvm.c) for a PVH domU.
// set_evtchn_upcall_vector, flush_tlbs and get_mem_type are not
// implemented yet (-ENOSYS).
func (x *Dispatcher) hvmOp(v VCPU, op, arg uint64) int64 {
	switch op {
	case HVMOpSetParam:
		return x.hvmSetParam(v, arg)
	case HVMOpGetParam:
		return x.hvmGetParam(v, arg)

	case HVMOpPagetableDying:
		var b [hvmPagetableDyingSize]byte
		if !copyIn(v, arg, b[:]) {
			return EFAULT.Ret()
		}
		switch x.lookupAnyID(binary.LittleEndian.Uint16(b[hvmPagetableDyingDomID:])) {
		case domNone:
			return ESRCH.Ret()
		case domForeign:
			return EOPNOTSUPP.Ret()
		}
		// Only meaningful for shadow paging; a PVH domain uses HAP.
		return EINVAL.Ret()

	case HVMOpGetTime:
		if x.opts.Now == nil {
			return ENOSYS.Ret()
		}
		var b [hvmGetTimeSize]byte
		binary.LittleEndian.PutUint64(b[:], x.opts.Now())
		return copyOutOrFault(v, arg, b[:])

	case HVMOpXentrace:
		var b [hvmXentraceSize]byte
		if !copyIn(v, arg, b[:]) {
			return EFAULT.Ret()
		}
		event := binary.LittleEndian.Uint16(b[hvmXentraceEvent:])
		extra := binary.LittleEndian.Uint16(b[hvmXentraceExtraBytes:])
		if extra%hvmXentraceExtraBytesAligned != 0 || extra > hvmXentraceExtraMax ||
			event>>trcSubclsShift != 0 {
			return EINVAL.Ret()
		}
		return 0 // no trace buffers: the record is dropped

	case HVMOpGuestRequestVMEvent:
		if arg != 0 {
			return EINVAL.Ret()
		}
		return 0 // no monitor subscribed to guest requests

	case HVMOpAltP2M:
		return EOPNOTSUPP.Ret() // altp2m is not supported
	}
	return ENOSYS.Ret()
}

// hvmSetParam mirrors hvmop_set_param.
func (x *Dispatcher) hvmSetParam(v VCPU, arg uint64) int64 {
	var b [hvmParamSize]byte
	if !copyIn(v, arg, b[:]) {
		return EFAULT.Ret()
	}
	idx := binary.LittleEndian.Uint32(b[hvmParamIndex:])
	if idx >= HVMNrParams {
		return EINVAL.Ret()
	}
	if e := x.targetErrno(binary.LittleEndian.Uint16(b[hvmParamDomID:])); e != 0 {
		return e.Ret()
	}
	if e := x.guestSetParam(v, idx, binary.LittleEndian.Uint64(b[hvmParamValue:])); e != 0 {
		return e.Ret()
	}
	return 0
}

// hvmGetParam mirrors hvmop_get_param: the whole struct is written back with
// the value filled in.
func (x *Dispatcher) hvmGetParam(v VCPU, arg uint64) int64 {
	var b [hvmParamSize]byte
	if !copyIn(v, arg, b[:]) {
		return EFAULT.Ret()
	}
	idx := binary.LittleEndian.Uint32(b[hvmParamIndex:])
	if idx >= HVMNrParams {
		return EINVAL.Ret()
	}
	if e := x.targetErrno(binary.LittleEndian.Uint16(b[hvmParamDomID:])); e != 0 {
		return e.Ret()
	}
	val, e := x.guestGetParam(idx)
	if e != 0 {
		return e.Ret()
	}
	binary.LittleEndian.PutUint64(b[hvmParamValue:], val)
	return copyOutOrFault(v, arg, b[:])
}
