package evtchn

// EVTCHNOP sub-commands of event_channel_op (hypercall 32), from
// xen/include/public/event_channel.h.
const (
	OpBindInterdomain = 0  // EVTCHNOP_bind_interdomain
	OpBindVIRQ        = 1  // EVTCHNOP_bind_virq
	OpBindPIRQ        = 2  // EVTCHNOP_bind_pirq
	OpClose           = 3  // EVTCHNOP_close
	OpSend            = 4  // EVTCHNOP_send
	OpStatus          = 5  // EVTCHNOP_status
	OpAllocUnbound    = 6  // EVTCHNOP_alloc_unbound
	OpBindIPI         = 7  // EVTCHNOP_bind_ipi
	OpBindVCPU        = 8  // EVTCHNOP_bind_vcpu
	OpUnmask          = 9  // EVTCHNOP_unmask
	OpReset           = 10 // EVTCHNOP_reset
	OpInitControl     = 11 // EVTCHNOP_init_control (FIFO ABI)
	OpExpandArray     = 12 // EVTCHNOP_expand_array (FIFO ABI)
	OpSetPriority     = 13 // EVTCHNOP_set_priority (FIFO ABI)
	OpResetCont       = 14 // EVTCHNOP_reset_cont (Xen-internal continuation, reachable by guests)
)

// Channel status values returned by EVTCHNOP_status (EVTCHNSTAT_*).
const (
	StatusClosed      = 0 // not in use
	StatusUnbound     = 1 // waiting for an interdomain connection
	StatusInterdomain = 2 // connected to a remote domain
	StatusPIRQ        = 3 // bound to a physical IRQ
	StatusVIRQ        = 4 // bound to a virtual IRQ
	StatusIPI         = 5 // bound to a virtual IPI
)

// Virtual IRQs (VIRQ_* in xen/include/public/xen.h). V: per-vCPU,
// D: per-domain, G: global (delivered to one privileged domain).
const (
	VIRQTimer     = 0  // V: timebase update or requested timeout
	VIRQDebug     = 1  // V: request to dump debug info
	VIRQConsole   = 2  // G: bytes on the emergency console
	VIRQDomExc    = 3  // G: exceptional event for some domain
	VIRQTbuf      = 4  // G: trace buffer has records
	VIRQDebugger  = 6  // G: a domain paused for debugging
	VIRQXenoprof  = 7  // V: oprofile sample available
	VIRQConRing   = 8  // G: bytes on the console ring
	VIRQPCPUState = 9  // G: physical CPU state changed
	VIRQMemEvent  = 10 // G: memory event
	VIRQArgo      = 11 // D: Argo message notification
	VIRQEnomem    = 12 // G: low on heap memory
	VIRQXenPMU    = 13 // V: PMC interrupt
	VIRQArch0     = 16 // G on x86 (arch_get_virq_type): first architecture VIRQ
	VIRQArch7     = 23 // G on x86: last architecture VIRQ
	NrVIRQs       = 24 // NR_VIRQS
)

// Limits of the 2-level ABI and of a Table.
const (
	// NrPorts is the number of ports of the 2-level ABI
	// (EVTCHN_2L_NR_CHANNELS for a 64-bit guest): 64 words of 64 bits.
	NrPorts = 4096
	// DefaultMaxPorts is the default Config.MaxPorts: ports 0..1023, as a
	// libxl-created domain gets (max_event_channels 1023 is the highest
	// port, Xen's max_evtchn_port).
	DefaultMaxPorts = 1024
	// MaxVCPUs is the largest Config.VCPUs accepted (Xen's HVM_MAX_VCPUS).
	MaxVCPUs = 128
	// LegacyVCPUs is XEN_LEGACY_MAX_VCPUS: vCPUs below it have a vcpu_info
	// slot in shared_info.
	LegacyVCPUs = 32
	// bucketPorts is EVTCHNS_PER_BUCKET on x86-64 (a 4 KiB page of 64-byte
	// struct evtchn): Xen makes ports valid (port_is_valid) a bucket at a
	// time, which decides between -EINVAL and "closed" for free ports.
	bucketPorts = 64
)

// Domain ids (xen/include/public/xen.h).
const (
	// DomIDSelf names the calling domain in hypercall arguments.
	DomIDSelf = 0x7ff0
	// DomIDFirstReserved is the first id that cannot name an ordinary domain.
	DomIDFirstReserved = 0x7ff0
	// DomIDBackend is the domain the monitor's backends act as (dom0).
	DomIDBackend = 0
)

// shared_info and vcpu_info layout for a 64-bit guest (xen.h,
// arch-x86/xen.h, arch-x86/xen-x86_64.h).
const (
	sharedInfoSize      = 4096  // one page
	shinfoVCPUInfo      = 0x000 // struct vcpu_info vcpu_info[32]
	shinfoEvtchnPending = 0x800 // xen_ulong_t evtchn_pending[64]
	shinfoEvtchnMask    = 0xa00 // xen_ulong_t evtchn_mask[64]
	vcpuInfoSize        = 64    // sizeof(struct vcpu_info)
	vcpuInfoUpcallWord  = 0     // aligned word holding upcall_pending (byte 0) and upcall_mask (byte 1)
	vcpuInfoUpcallMask  = 1     // uint8 evtchn_upcall_mask (byte offset)
	vcpuInfoPendingSel  = 8     // xen_ulong_t evtchn_pending_sel
	vcpuInfoAlign       = 8     // map_guest_area requires alignof(xen_ulong_t)
	upcallPendingBit    = 1     // bit 0 of byte 0: evtchn_upcall_pending
	upcallMaskBit       = 1 << (8 * vcpuInfoUpcallMask)
	wordBits            = 64 // BITS_PER_EVTCHN_WORD
	pendingWords        = NrPorts / wordBits
	pageSize            = 4096
	pageMask            = pageSize - 1
)

// Wire structs of event_channel.h (x86-64): sizes and field offsets.
// layout_test.go pins them.
const (
	allocUnboundSize      = 8  // struct evtchn_alloc_unbound
	allocUnboundDom       = 0  // domid_t dom (IN)
	allocUnboundRemoteDom = 2  // domid_t remote_dom (IN)
	allocUnboundPort      = 4  // evtchn_port_t port (OUT)
	bindInterdomainSize   = 12 // struct evtchn_bind_interdomain
	bindInterdomainDom    = 0  // domid_t remote_dom (IN)
	bindInterdomainRPort  = 4  // evtchn_port_t remote_port (IN)
	bindInterdomainLPort  = 8  // evtchn_port_t local_port (OUT)
	bindVIRQSize          = 12 // struct evtchn_bind_virq
	bindVIRQVIRQ          = 0  // uint32_t virq (IN)
	bindVIRQVCPU          = 4  // uint32_t vcpu (IN)
	bindVIRQPort          = 8  // evtchn_port_t port (OUT)
	bindPIRQSize          = 12 // struct evtchn_bind_pirq {pirq, flags, port}
	bindIPISize           = 8  // struct evtchn_bind_ipi
	bindIPIVCPU           = 0  // uint32_t vcpu (IN)
	bindIPIPort           = 4  // evtchn_port_t port (OUT)
	closeSize             = 4  // struct evtchn_close {port}
	sendSize              = 4  // struct evtchn_send {port}
	statusSize            = 24 // struct evtchn_status
	statusDom             = 0  // domid_t dom (IN)
	statusPort            = 4  // evtchn_port_t port (IN)
	statusStatus          = 8  // uint32_t status (OUT)
	statusVCPU            = 12 // uint32_t vcpu (OUT)
	statusUnion           = 16 // union u (OUT): unbound.dom / interdomain.dom (domid_t) / pirq / virq
	statusInterPort       = 20 // u.interdomain.port (OUT)
	bindVCPUSize          = 8  // struct evtchn_bind_vcpu
	bindVCPUPort          = 0  // evtchn_port_t port (IN)
	bindVCPUVCPU          = 4  // uint32_t vcpu (IN)
	unmaskSize            = 4  // struct evtchn_unmask {port}
	resetSize             = 2  // struct evtchn_reset {domid_t dom}
	initControlSize       = 24 // struct evtchn_init_control
	expandArraySize       = 8  // struct evtchn_expand_array {uint64 array_gfn}
	setPrioritySize       = 8  // struct evtchn_set_priority {port, priority}
	setPriorityPort       = 0  // evtchn_port_t port (IN)
)
