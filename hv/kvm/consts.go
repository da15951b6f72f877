package kvm

// KVMIO is the ioctl type byte of every KVM ioctl.
const kvmio = 0xAE

const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2
)

// ioc encodes an ioctl request number as <asm-generic/ioctl.h> does.
func ioc(dir, nr, size uintptr) uintptr {
	return dir<<30 | size<<16 | kvmio<<8 | nr
}

// Struct sizes of the ioctl arguments (x86-64 <linux/kvm.h>, <asm/kvm.h>).
const (
	sizeofRegs               = 144
	sizeofSregs              = 312
	sizeofSegment            = 24
	sizeofDTable             = 16
	sizeofUserspaceMemRegion = 32
	sizeofCPUID2Header       = 8
	sizeofCPUIDEntry2        = 40
	sizeofEnableCap          = 104
	sizeofIOEventFD          = 64
	sizeofIRQFD              = 32
	sizeofMSI                = 32
	sizeofIRQLevel           = 8
	sizeofIRQRoutingHeader   = 8
	sizeofIRQRoutingEntry    = 48
	sizeofMPState            = 4
	sizeofMSRsHeader         = 8
	sizeofMSREntry           = 16
	sizeofTranslation        = 24
	sizeofClockData          = 48
	sizeofStatsHeader        = 24
	sizeofStatsDescHeader    = 16
	sizeofSyncRegsArea       = 2048
	sizeofRunHeader          = 32
	sizeofRunExitUnion       = 256
)

// ioctl request numbers.
var (
	ioctlGetAPIVersion       = ioc(iocNone, 0x00, 0)
	ioctlCreateVM            = ioc(iocNone, 0x01, 0)
	ioctlCheckExtension      = ioc(iocNone, 0x03, 0)
	ioctlGetVCPUMmapSize     = ioc(iocNone, 0x04, 0)
	ioctlGetSupportedCPUID   = ioc(iocRead|iocWrite, 0x05, sizeofCPUID2Header)
	ioctlCreateVCPU          = ioc(iocNone, 0x41, 0)
	ioctlSetUserMemoryRegion = ioc(iocWrite, 0x46, sizeofUserspaceMemRegion)
	ioctlSetTSSAddr          = ioc(iocNone, 0x47, 0)
	ioctlSetIdentityMapAddr  = ioc(iocWrite, 0x48, 8)
	ioctlCreateIRQChip       = ioc(iocNone, 0x60, 0)
	ioctlIRQLine             = ioc(iocWrite, 0x61, sizeofIRQLevel)
	ioctlSetGSIRouting       = ioc(iocWrite, 0x6a, sizeofIRQRoutingHeader)
	ioctlIRQFD               = ioc(iocWrite, 0x76, sizeofIRQFD)
	ioctlIOEventFD           = ioc(iocWrite, 0x79, sizeofIOEventFD)
	ioctlSetClock            = ioc(iocWrite, 0x7b, sizeofClockData)
	ioctlGetClock            = ioc(iocRead, 0x7c, sizeofClockData)
	ioctlRun                 = ioc(iocNone, 0x80, 0)
	ioctlGetRegs             = ioc(iocRead, 0x81, sizeofRegs)
	ioctlSetRegs             = ioc(iocWrite, 0x82, sizeofRegs)
	ioctlGetSregs            = ioc(iocRead, 0x83, sizeofSregs)
	ioctlSetSregs            = ioc(iocWrite, 0x84, sizeofSregs)
	ioctlTranslate           = ioc(iocRead|iocWrite, 0x85, sizeofTranslation)
	ioctlGetMSRs             = ioc(iocRead|iocWrite, 0x88, sizeofMSRsHeader)
	ioctlSetMSRs             = ioc(iocWrite, 0x89, sizeofMSRsHeader)
	ioctlSetCPUID2           = ioc(iocWrite, 0x90, sizeofCPUID2Header)
	ioctlGetMPState          = ioc(iocRead, 0x98, sizeofMPState)
	ioctlSetMPState          = ioc(iocWrite, 0x99, sizeofMPState)
	ioctlEnableCap           = ioc(iocWrite, 0xa3, sizeofEnableCap)
	ioctlGetTSCKHz           = ioc(iocNone, 0xa3, 0)
	ioctlSignalMSI           = ioc(iocWrite, 0xa5, sizeofMSI)
	ioctlGetStatsFD          = ioc(iocNone, 0xce, 0)
)

// Cap is a KVM capability number (KVM_CAP_*).
type Cap int

// Capabilities Xenolith checks or uses.
const (
	CapIRQChip         Cap = 0
	CapUserMemory      Cap = 3
	CapSetTSSAddr      Cap = 4
	CapExtCPUID        Cap = 7
	CapNrMemslots      Cap = 10
	CapIRQRouting      Cap = 25
	CapIRQFD           Cap = 32
	CapIOEventFD       Cap = 36
	CapXenHVM          Cap = 38
	CapSignalMSI       Cap = 77
	CapMaxVCPUs        Cap = 66
	CapImmediateExit   Cap = 136
	CapSyncRegs        Cap = 74
	CapHaltPoll        Cap = 182
	CapX86UserSpaceMSR Cap = 188
	CapX86MSRFilter    Cap = 189
	CapBinaryStatsFD   Cap = 203
	CapGetTSCKHz       Cap = 61
	CapTSCControl      Cap = 60
	CapAdjustClock     Cap = 39
	CapX86DisableExits Cap = 143
	CapSplitIRQChip    Cap = 121
	CapX2APICAPI       Cap = 129
)

var capNames = map[Cap]string{
	CapIRQChip: "KVM_CAP_IRQCHIP", CapUserMemory: "KVM_CAP_USER_MEMORY",
	CapSetTSSAddr: "KVM_CAP_SET_TSS_ADDR", CapExtCPUID: "KVM_CAP_EXT_CPUID",
	CapNrMemslots: "KVM_CAP_NR_MEMSLOTS", CapIRQRouting: "KVM_CAP_IRQ_ROUTING",
	CapIRQFD: "KVM_CAP_IRQFD", CapIOEventFD: "KVM_CAP_IOEVENTFD", CapXenHVM: "KVM_CAP_XEN_HVM",
	CapSignalMSI: "KVM_CAP_SIGNAL_MSI", CapMaxVCPUs: "KVM_CAP_MAX_VCPUS",
	CapImmediateExit: "KVM_CAP_IMMEDIATE_EXIT", CapSyncRegs: "KVM_CAP_SYNC_REGS",
	CapHaltPoll: "KVM_CAP_HALT_POLL", CapX86UserSpaceMSR: "KVM_CAP_X86_USER_SPACE_MSR",
	CapX86MSRFilter: "KVM_CAP_X86_MSR_FILTER", CapBinaryStatsFD: "KVM_CAP_BINARY_STATS_FD",
	CapGetTSCKHz: "KVM_CAP_GET_TSC_KHZ", CapTSCControl: "KVM_CAP_TSC_CONTROL",
	CapAdjustClock: "KVM_CAP_ADJUST_CLOCK", CapX86DisableExits: "KVM_CAP_X86_DISABLE_EXITS",
	CapSplitIRQChip: "KVM_CAP_SPLIT_IRQCHIP", CapX2APICAPI: "KVM_CAP_X2APIC_API",
}

// String returns the capability's <linux/kvm.h> name.
func (c Cap) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return "KVM_CAP_" + itoa(int(c))
}

// ExitReason is kvm_run.exit_reason (KVM_EXIT_*).
type ExitReason uint32

// Exit reasons the monitor handles.
const (
	ExitUnknown       ExitReason = 0
	ExitException     ExitReason = 1
	ExitIO            ExitReason = 2
	ExitHypercall     ExitReason = 3
	ExitDebug         ExitReason = 4
	ExitHLT           ExitReason = 5
	ExitMMIO          ExitReason = 6
	ExitIRQWindowOpen ExitReason = 7
	ExitShutdown      ExitReason = 8
	ExitFailEntry     ExitReason = 9
	ExitIntr          ExitReason = 10
	ExitSetTPR        ExitReason = 11
	ExitTPRAccess     ExitReason = 12
	ExitNMI           ExitReason = 16
	ExitInternalError ExitReason = 17
	ExitSystemEvent   ExitReason = 24
	ExitIOAPICEOI     ExitReason = 26
	ExitX86RDMSR      ExitReason = 29
	ExitX86WRMSR      ExitReason = 30
	ExitXen           ExitReason = 34
	ExitMemoryFault   ExitReason = 39
	// ExitInterrupted is not a KVM exit reason: Run returns it when KVM_RUN
	// failed with EINTR (a kick or a signal). Its value is outside KVM's range.
	ExitInterrupted ExitReason = 0x10000
)

var exitNames = map[ExitReason]string{
	ExitUnknown: "UNKNOWN", ExitException: "EXCEPTION", ExitIO: "IO", ExitHypercall: "HYPERCALL",
	ExitDebug: "DEBUG", ExitHLT: "HLT", ExitMMIO: "MMIO", ExitIRQWindowOpen: "IRQ_WINDOW_OPEN",
	ExitShutdown: "SHUTDOWN", ExitFailEntry: "FAIL_ENTRY", ExitIntr: "INTR", ExitSetTPR: "SET_TPR",
	ExitTPRAccess: "TPR_ACCESS", ExitNMI: "NMI", ExitInternalError: "INTERNAL_ERROR",
	ExitSystemEvent: "SYSTEM_EVENT", ExitIOAPICEOI: "IOAPIC_EOI", ExitX86RDMSR: "X86_RDMSR",
	ExitX86WRMSR: "X86_WRMSR", ExitXen: "XEN", ExitMemoryFault: "MEMORY_FAULT",
	ExitInterrupted: "INTERRUPTED",
}

// String returns the exit reason's name without the KVM_EXIT_ prefix.
func (r ExitReason) String() string {
	if n, ok := exitNames[r]; ok {
		return n
	}
	return "EXIT_" + itoa(int(r))
}

// Sync register set bits for kvm_run.kvm_valid_regs / kvm_dirty_regs.
const (
	SyncRegs   = 1 << 0 // KVM_SYNC_X86_REGS
	SyncSregs  = 1 << 1 // KVM_SYNC_X86_SREGS
	SyncEvents = 1 << 2 // KVM_SYNC_X86_EVENTS
)

// MP states (KVM_MP_STATE_*).
const (
	MPStateRunnable      = 0
	MPStateUninitialized = 1
	MPStateInitReceived  = 2
	MPStateHalted        = 3
	MPStateSIPIReceived  = 4
)

// KVM_X86_USER_SPACE_MSR reasons (KVM_MSR_EXIT_REASON_*).
const (
	MSRExitInval   = 1 << 0
	MSRExitUnknown = 1 << 1
	MSRExitFilter  = 1 << 2
)

// Memory region flags (KVM_MEM_*).
const (
	MemLogDirtyPages = 1 << 0
	MemReadonly      = 1 << 1
)

// Ioeventfd flags (KVM_IOEVENTFD_FLAG_*).
const (
	IOEventFDDatamatch = 1 << 0
	IOEventFDPIO       = 1 << 1
	IOEventFDDeassign  = 1 << 2
)

// IRQ routing entry types.
const (
	IRQRoutingIRQChip = 1
	IRQRoutingMSI     = 2
)

// Offsets inside the kvm_run page (x86-64).
const (
	runOffRequestIRQWindow = 0
	runOffImmediateExit    = 1
	runOffExitReason       = 8
	runOffReadyForIRQ      = 12
	runOffIFFlag           = 13
	runOffExit             = 32 // the exit union
	runOffValidRegs        = 288
	runOffDirtyRegs        = 296
	runOffSyncRegs         = 304
	runOffSyncSregs        = runOffSyncRegs + sizeofRegs
)

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
