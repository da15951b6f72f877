package xen

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Call is one hypercall as decoded from registers (Xen x86-64 convention):
// the number from RAX and the arguments from RDI, RSI, RDX, R10, R8.
type Call struct {
	Nr   uint64    // hypercall number (RAX)
	Args [5]uint64 // RDI, RSI, RDX, R10, R8
}

// VCPU is the calling vCPU as handlers see it.
type VCPU interface {
	// ID returns the vCPU's Xen id (0-based).
	ID() int
	// CopyIn copies guest-virtual memory at gva into dst; any error means
	// -EFAULT to the guest.
	CopyIn(gva uint64, dst []byte) error
	// CopyOut copies src to guest-virtual memory at gva; any error means
	// -EFAULT to the guest.
	CopyOut(gva uint64, src []byte) error
}

// MemmapEntry is one entry of the guest memory map as XENMEM_memory_map
// returns it (an E820 entry).
type MemmapEntry struct {
	Addr uint64 // guest-physical start
	Size uint64 // length in bytes
	Type uint32 // E820 type: 1 RAM, 2 reserved, ...
}

// Domain is what the monitor provides to handlers. Its methods may be called
// concurrently from several vCPU threads.
type Domain interface {
	// DomID returns the domain's id.
	DomID() uint16
	// NumVCPUs returns the number of vCPUs the domain was created with
	// (Xen's max_vcpus); vCPU ids are 0..NumVCPUs()-1.
	NumVCPUs() int
	// MemoryMap returns the guest memory map (XENMEM_memory_map); an empty
	// map makes that call fail with -ENOSYS, as in Xen.
	MemoryMap() []MemmapEntry
	// RAMPages returns the domain's pages, for XENMEM_current_reservation
	// and XENMEM_maximum_reservation.
	RAMPages() uint64
	// ConsoleWrite prints bytes the guest wrote with CONSOLEIO_write
	// (unfiltered; the monitor filters and rate-limits).
	ConsoleWrite(p []byte)
	// ConsoleRead fills p with pending console input and returns the number
	// of bytes copied (0 if none).
	ConsoleRead(p []byte) int
	// Shutdown shuts the domain down with reason (a SHUTDOWN_* value, or any
	// byte the guest chose). The monitor stops all vCPUs after the hypercall
	// returns, so Shutdown must not wait for vCPU threads. It is called at
	// most once until ResetShutdown.
	Shutdown(reason uint32)
	// SetShutdownCode records the code latched by SCHEDOP_shutdown_code; it
	// is called at most once until ResetShutdown.
	SetShutdownCode(code uint32)
	// Yield gives up the host CPU (SCHEDOP_yield).
	Yield(v VCPU)
	// Block blocks the calling vCPU until an event or a kick
	// (SCHEDOP_block).
	Block(v VCPU)
	// Poll blocks the calling vCPU until one of ports is pending, the
	// timeout (absolute Xen system time in ns, 0 = none) passes, or a kick
	// (SCHEDOP_poll). Ports are validated (< NrEventChannels) and at most
	// 128. Returning early is allowed.
	Poll(v VCPU, ports []uint32, timeoutNs uint64)
	// VCPUInitialised reports whether vCPU id has a register state (the boot
	// vCPU always has; others after VCPUOP_initialise).
	VCPUInitialised(id int) bool
	// InitialiseVCPU gives vCPU id its initial state from ctx, already
	// validated (ctx.State() gives the registers to load), and leaves it
	// down. It returns ErrVCPUExists if the vCPU is already initialised.
	InitialiseVCPU(id int, ctx VCPUContext) error
	// UpVCPU starts an initialised vCPU that is down (no-op if it is up);
	// ErrVCPUNotInitialised if it has no state.
	UpVCPU(id int) error
	// DownVCPU takes vCPU id offline (no-op if it is down). It may be the
	// calling vCPU, which then stops after the hypercall returns.
	DownVCPU(id int) error
	// VCPUIsUp reports whether vCPU id is up.
	VCPUIsUp(id int) bool
}

// ParamObserver may be implemented by a Domain that wants to hear about HVM
// parameters the guest sets (for example HVM_PARAM_CALLBACK_IRQ). ParamSet
// is called after the new value is stored.
type ParamObserver interface {
	// ParamSet reports that vCPU v set HVM parameter idx to val (as
	// stored: VM86_TSS is reported as VM86_TSS_SIZED).
	ParamSet(v VCPU, idx uint32, val uint64)
}

// Options configures a Dispatcher. The zero value gives Xen 4.19 defaults.
type Options struct {
	// Major and Minor are the version reported by XENVER_version (and by
	// Dispatcher.CPUIDLeaves); both zero means 4.19.
	Major, Minor uint16
	// Extraversion is XENVER_extraversion (at most 15 bytes are reported);
	// empty means ".0-xenolith".
	Extraversion string
	// Changeset is XENVER_changeset (at most 63 bytes); empty means
	// "unavailable", as a Xen built outside a repository.
	Changeset string
	// Capabilities is XENVER_capabilities; empty means "hvm-3.0-x86_64",
	// the only guest kind whose hypercall ABI the port-I/O stubs carry.
	Capabilities string
	// Compiler, CompileBy, CompileDomain and CompileDate fill
	// XENVER_compile_info; empty fields get runtime.Version(), "xenolith",
	// "" and "".
	Compiler, CompileBy, CompileDomain, CompileDate string
	// Features is XENVER_get_features submap 0 (bit n = XENFEAT n); zero
	// means DefaultFeatures. (Xen always gives a PVH domain at least
	// writable_page_tables and auto_translated_physmap, so an empty set is
	// never correct.)
	Features uint32
	// GuestHandle is the domain's UUID, returned by XENVER_guest_handle.
	GuestHandle [16]byte
	// DenyConsoleIO makes console_io fail with -EPERM, as a release Xen does
	// for a domU that is not the console domain (xsm_console_io). By default
	// both write and read are allowed.
	DenyConsoleIO bool
	// BackendDomID is the id of the one other domain that exists from the
	// guest's point of view (the monitor acting as dom0). Operations naming
	// it fail with -EPERM (the XSM check an unprivileged caller fails);
	// operations naming any other foreign id fail with -ESRCH.
	BackendDomID uint16
	// Now returns Xen system time in ns, for HVMOP_get_time; nil makes that
	// call -ENOSYS.
	Now func() uint64
	// CPU is the CPU policy VCPUOP_initialise checks contexts against; the
	// zero value means DefaultCPUPolicy.
	CPU CPUPolicy

	// Hooks let the monitor answer calls whose state lives outside this
	// package (event channels, grant tables, timers, shared pages). A hook
	// takes precedence over the built-in handling of the same call.
	//
	// Handlers answers whole hypercall numbers (e.g. event_channel_op).
	Handlers map[uint64]Handler
	// MemoryOps answers memory_op sub-commands, keyed by cmd & MemopCmdMask
	// (e.g. XENMEM_add_to_physmap); the Call carries the raw arguments.
	MemoryOps map[uint64]Handler
	// VCPUOps answers vcpu_op sub-commands after the vcpuid range check
	// (e.g. timers, register_vcpu_info).
	VCPUOps map[int32]Handler
	// HVMOps answers hvm_op sub-commands (e.g. set_evtchn_upcall_vector).
	HVMOps map[uint64]Handler
}

// Handler answers one hypercall (or sub-command) for vCPU v; it returns the
// value for RAX.
type Handler func(v VCPU, c Call) int64

// DefaultFeatures is the XENFEAT submap 0 given by default:
// writable_page_tables (0) and auto_translated_physmap (2). Xen also gives a
// PVH domU hvm_callback_vector (8), hvm_safe_pvclock (9) and others; they
// come with event channels and time.
const DefaultFeatures = 1<<XenfeatWritablePageTables | 1<<XenfeatAutoTranslatedPhysmap

// Dispatcher answers hypercalls for one domain. It is safe for concurrent
// use by several vCPU threads:
//   - hypercall counters and HVM params are atomics (lock-free);
//   - vcpuMu serialises VCPUOP_initialise/up/down (Xen's domain_lock);
//   - shutMu guards the shutdown latch;
//   - runMu guards the registered runstate areas.
//
// Domain methods are never called with shutMu or runMu held. VCPUInitialised,
// InitialiseVCPU, UpVCPU, DownVCPU and VCPUIsUp may be called with vcpuMu
// held, so they must not wait for another vCPU's hypercall to finish.
type Dispatcher struct {
	dom  Domain
	opts Options

	counts [NumHypercallSlots]atomic.Uint64 // per hypercall number
	other  atomic.Uint64                    // numbers >= NumHypercallSlots
	faults atomic.Uint64                    // hypercalls answered -EFAULT

	params [HVMNrParams]atomic.Uint64 // HVM params, Xen's d->arch.hvm.params

	vcpuMu sync.Mutex // serialises vCPU state changes (domain_lock)

	shutMu       sync.Mutex
	shutdownCode uint32 // latched code, shutdownCodeInvalid if none; shutMu
	shuttingDown bool   // Shutdown was called; shutMu

	runMu    sync.Mutex
	runstate map[int]uint64 // vCPU id -> runstate area GVA; runMu

	bufPool sync.Pool // *[PageSize]byte scratch for console I/O
}

// shutdownCodeInvalid is Xen's SHUTDOWN_CODE_INVALID (~0u): no code latched.
const shutdownCodeInvalid = ^uint32(0)

// NewDispatcher returns a dispatcher for domain d.
func NewDispatcher(d Domain, opts Options) *Dispatcher {
	if opts.Major == 0 && opts.Minor == 0 {
		opts.Major, opts.Minor = DefaultVersionMajor, DefaultVersionMinor
	}
	if opts.Extraversion == "" {
		opts.Extraversion = ".0-xenolith"
	}
	if opts.Changeset == "" {
		opts.Changeset = "unavailable"
	}
	if opts.Capabilities == "" {
		opts.Capabilities = "hvm-3.0-x86_64"
	}
	if opts.Compiler == "" {
		opts.Compiler = runtime.Version()
	}
	if opts.CompileBy == "" {
		opts.CompileBy = "xenolith"
	}
	if opts.Features == 0 {
		opts.Features = DefaultFeatures
	}
	if opts.CPU == (CPUPolicy{}) {
		opts.CPU = DefaultCPUPolicy
	}
	x := &Dispatcher{
		dom:          d,
		opts:         opts,
		shutdownCode: shutdownCodeInvalid,
		runstate:     make(map[int]uint64),
	}
	x.bufPool.New = func() any { return new([PageSize]byte) }
	// Xen sets x87_fip_width to 8 on CPUs that do not save the FPU CS/DS
	// selectors (all current ones): arch_domain_create.
	x.params[HVMParamX87FIPWidth].Store(8)
	return x
}

// Hypercall executes call c for vCPU v and returns the value for RAX: 0 or a
// positive result, or a negative Xen errno.
func (x *Dispatcher) Hypercall(v VCPU, c Call) int64 {
	if c.Nr < NumHypercallSlots {
		x.counts[c.Nr].Add(1)
	} else {
		x.other.Add(1)
	}
	var ret int64
	if h, ok := x.opts.Handlers[c.Nr]; ok {
		ret = h(v, c)
		if ret == EFAULT.Ret() {
			x.faults.Add(1)
		}
		return ret
	}
	switch c.Nr {
	case HypercallMemoryOp:
		if h, ok := x.opts.MemoryOps[c.Args[0]&MemopCmdMask]; ok {
			ret = h(v, c)
		} else {
			ret = x.memoryOp(v, c.Args[0], c.Args[1])
		}
	case HypercallXenVersion:
		ret = x.xenVersion(v, int32(c.Args[0]), c.Args[1])
	case HypercallConsoleIO:
		ret = x.consoleIO(v, uint32(c.Args[0]), uint32(c.Args[1]), c.Args[2])
	case HypercallVCPUOp:
		if h, ok := x.opts.VCPUOps[int32(c.Args[0])]; ok {
			if uint64(uint32(c.Args[1])) >= uint64(max(x.dom.NumVCPUs(), 0)) {
				ret = ENOENT.Ret()
			} else {
				ret = h(v, c)
			}
		} else {
			ret = x.vcpuOp(v, int32(c.Args[0]), uint32(c.Args[1]), c.Args[2])
		}
	case HypercallSchedOp:
		ret = x.schedOp(v, int32(c.Args[0]), c.Args[1])
	case HypercallHVMOp:
		if h, ok := x.opts.HVMOps[c.Args[0]]; ok {
			ret = h(v, c)
		} else {
			ret = x.hvmOp(v, c.Args[0], c.Args[1])
		}
	default:
		ret = ENOSYS.Ret()
	}
	if ret == EFAULT.Ret() {
		x.faults.Add(1)
	}
	return ret
}

// Counts returns the number of hypercalls made so far, by name
// (HypercallName), omitting numbers never called; numbers >= 64 are summed
// under "other".
func (x *Dispatcher) Counts() map[string]uint64 {
	m := make(map[string]uint64)
	for nr := range x.counts {
		if n := x.counts[nr].Load(); n != 0 {
			m[HypercallName(uint64(nr))] = n
		}
	}
	if n := x.other.Load(); n != 0 {
		m["other"] = n
	}
	return m
}

// Count returns the number of calls of hypercall nr so far (for nr >= 64,
// of all such numbers).
func (x *Dispatcher) Count(nr uint64) uint64 {
	if nr < NumHypercallSlots {
		return x.counts[nr].Load()
	}
	return x.other.Load()
}

// Faults returns the number of hypercalls answered -EFAULT: guest-caused
// faults, for the monitor to report.
func (x *Dispatcher) Faults() uint64 { return x.faults.Load() }

// copyIn copies len(dst) bytes from the guest, reporting success. An empty
// copy always succeeds, as Xen's copy_from_guest of nothing.
func copyIn(v VCPU, gva uint64, dst []byte) bool {
	return len(dst) == 0 || v.CopyIn(gva, dst) == nil
}

// copyOut copies src to the guest, reporting success. An empty copy always
// succeeds.
func copyOut(v VCPU, gva uint64, src []byte) bool {
	return len(src) == 0 || v.CopyOut(gva, src) == nil
}
