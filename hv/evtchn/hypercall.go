package evtchn

import (
	"encoding/binary"

	"github.com/xenolith/xenolith/hv/xen"
)

var le = binary.LittleEndian

// Hypercall executes event_channel_op(cmd, arg) for vCPU v of this domain
// and returns the value for RAX: 0 or a negative Xen errno. It mirrors
// do_event_channel_op (xen/common/event_channel.c): cmd is truncated to
// the C int of the prototype; an unknown cmd is -ENOSYS before anything is
// read; otherwise the argument struct is copied in whole (-EFAULT if that
// faults), checked and executed, and for the commands with OUT fields the
// whole struct is copied back on success (a fault then gives -EFAULT, but
// the operation stays done, as in Xen). Bytes the operation does not
// write (padding, IN fields, unused union members) go back as the guest
// wrote them.
func (t *Table) Hypercall(v xen.VCPU, cmd uint64, arg uint64) int64 {
	t.stats.hypercalls.Add(1)
	var buf [statusSize]byte
	size, out := argSize(int32(uint32(cmd)))
	if size == 0 {
		return xen.ENOSYS.Ret()
	}
	b := buf[:size]
	if v.CopyIn(arg, b) != nil {
		return xen.EFAULT.Ret()
	}
	err := t.op(int32(uint32(cmd)), b)
	if err != 0 {
		return err.Ret()
	}
	if out && v.CopyOut(arg, b) != nil {
		return xen.EFAULT.Ret()
	}
	return 0
}

// argSize returns the size of cmd's argument struct and whether it has OUT
// fields; size 0 means an unknown command.
func argSize(cmd int32) (size int, out bool) {
	switch cmd {
	case OpAllocUnbound:
		return allocUnboundSize, true
	case OpBindInterdomain:
		return bindInterdomainSize, true
	case OpBindVIRQ:
		return bindVIRQSize, true
	case OpBindIPI:
		return bindIPISize, true
	case OpBindPIRQ:
		return bindPIRQSize, true
	case OpClose:
		return closeSize, false
	case OpSend:
		return sendSize, false
	case OpStatus:
		return statusSize, true
	case OpBindVCPU:
		return bindVCPUSize, false
	case OpUnmask:
		return unmaskSize, false
	case OpReset, OpResetCont:
		return resetSize, false
	case OpInitControl:
		return initControlSize, true
	case OpExpandArray:
		return expandArraySize, false
	case OpSetPriority:
		return setPrioritySize, false
	}
	return 0, false
}

// op runs command cmd on its copied-in argument b (of argSize bytes),
// writing OUT fields into b.
func (t *Table) op(cmd int32, b []byte) xen.Errno {
	switch cmd {
	case OpAllocUnbound:
		return t.allocUnbound(b)
	case OpBindInterdomain:
		return t.bindInterdomain(b)
	case OpBindVIRQ:
		return t.bindVIRQ(b)
	case OpBindIPI:
		return t.bindIPI(b)
	case OpBindPIRQ:
		// evtchn_bind_pirq: pirq >= d->nr_pirqs, and this domain has none.
		return xen.EINVAL
	case OpClose:
		return t.closePort(Port(le.Uint32(b)))
	case OpSend:
		return t.send(Port(le.Uint32(b)))
	case OpStatus:
		return t.status(b)
	case OpBindVCPU:
		return t.bindVCPU(Port(le.Uint32(b[bindVCPUPort:])), le.Uint32(b[bindVCPUVCPU:]))
	case OpUnmask:
		return t.unmask(Port(le.Uint32(b)))
	case OpReset, OpResetCont:
		return t.resetOp(le.Uint16(b), cmd == OpResetCont)
	case OpInitControl, OpExpandArray:
		// The FIFO ABI is not offered: guests fall back to 2-level (Linux
		// does on any error). Xen would set FIFO up; QEMU answers -ENOSYS.
		return xen.ENOSYS
	case OpSetPriority:
		// evtchn_set_priority: a bad port is -EINVAL; then 2-level has no
		// set_priority op (evtchn_port_set_priority: -ENOSYS).
		t.mu.RLock()
		ok := t.validLocked(Port(le.Uint32(b[setPriorityPort:])))
		t.mu.RUnlock()
		if !ok {
			return xen.EINVAL
		}
		return xen.ENOSYS
	}
	return xen.ENOSYS
}
