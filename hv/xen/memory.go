package xen

import "encoding/binary"

// memory_op sub-commands (xen/include/public/memory.h) and the command
// encoding: bits 0..5 are the command, the rest the continuation's start
// extent.
const (
	XenmemIncreaseReservation = 0
	XenmemDecreaseReservation = 1
	XenmemMaximumRAMPage      = 2
	XenmemCurrentReservation  = 3
	XenmemMaximumReservation  = 4
	XenmemMachphysMFNList     = 5
	XenmemPopulatePhysmap     = 6
	XenmemAddToPhysmap        = 7
	XenmemMemoryMap           = 9
	XenmemMachineMemoryMap    = 10
	XenmemExchange            = 11
	XenmemMachphysMapping     = 12
	XenmemSetMemoryMap        = 13
	XenmemMaximumGPFN         = 14
	XenmemRemoveFromPhysmap   = 15
	XenmemAddToPhysmapBatch   = 23
	XenmemAcquireResource     = 28
	MemopExtentShift          = 6
	MemopCmdMask              = 1<<MemopExtentShift - 1
)

// memoryOp mirrors hvm_memory_op and do_memory_op (xen/common/memory.c),
// with arch_memory_op (xen/arch/x86/mm.c) for XENMEM_memory_map. Only the
// reservation queries and the memory map are implemented so far; every
// other command is -ENOSYS.
func (x *Dispatcher) memoryOp(v VCPU, cmd, arg uint64) int64 {
	startExtent := cmd >> MemopExtentShift
	switch cmd & MemopCmdMask {
	case XenmemCurrentReservation, XenmemMaximumReservation, XenmemMaximumGPFN:
		if startExtent != 0 {
			return EINVAL.Ret()
		}
		var b [memoryDomainSize]byte
		if !copyIn(v, arg, b[:]) {
			return EFAULT.Ret()
		}
		// rcu_lock_domain_by_any_id, then xsm_memory_stat_reservation
		// (XSM_TARGET).
		if e := x.targetErrno(binary.LittleEndian.Uint16(b[:])); e != 0 {
			return e.Ret()
		}
		if cmd == XenmemMaximumGPFN {
			return int64(maxGPFN(x.dom.MemoryMap()))
		}
		return int64(min(x.dom.RAMPages(), 1<<62)) // stays positive
	}
	// arch_memory_op switches on the whole cmd, so a memory_map with
	// continuation bits set is an unknown command.
	if cmd == XenmemMemoryMap {
		return x.memoryMap(v, arg)
	}
	return ENOSYS.Ret()
}

// memoryMap mirrors arch_memory_op's XENMEM_memory_map: the guest gives the
// capacity of its buffer; Xen copies min(capacity, entries) entries and
// writes the count back. An empty map is -ENOSYS ("backwards
// compatibility").
func (x *Dispatcher) memoryMap(v VCPU, arg uint64) int64 {
	var b [memoryMapSize]byte
	if !copyIn(v, arg, b[:]) {
		return EFAULT.Ret()
	}
	entries := x.dom.MemoryMap()
	if len(entries) == 0 {
		return ENOSYS.Ret()
	}
	n := uint64(binary.LittleEndian.Uint32(b[memoryMapNrEntries:]))
	n = min(n, uint64(len(entries)))
	out := make([]byte, n*e820EntrySize)
	for i, e := range entries[:n] {
		o := out[i*e820EntrySize:]
		binary.LittleEndian.PutUint64(o[0:], e.Addr)
		binary.LittleEndian.PutUint64(o[8:], e.Size)
		binary.LittleEndian.PutUint32(o[16:], e.Type)
	}
	if !copyOut(v, binary.LittleEndian.Uint64(b[memoryMapBuffer:]), out) {
		return EFAULT.Ret()
	}
	binary.LittleEndian.PutUint32(b[memoryMapNrEntries:], uint32(n))
	return copyOutOrFault(v, arg, b[:])
}

// maxGPFN returns the highest guest frame covered by the memory map, Xen's
// domain_get_maximum_gpfn (the highest frame in the p2m).
func maxGPFN(entries []MemmapEntry) uint64 {
	var top uint64
	for _, e := range entries {
		if e.Size == 0 {
			continue
		}
		end := e.Addr + e.Size - 1
		if end < e.Addr { // wraps: the map reaches the top of the space
			end = ^uint64(0)
		}
		top = max(top, end/PageSize)
	}
	return top
}
