package xen

// CPUID leaves by which a guest discovers Xen (xen/include/public/arch-x86/cpuid.h).
const (
	// CPUIDBase is the first Xen leaf; EBX, ECX, EDX carry the signature.
	CPUIDBase = 0x40000000
	// CPUIDMaxLeaf is the highest Xen leaf offered (EAX of CPUIDBase).
	CPUIDMaxLeaf = CPUIDBase + 4
	// CPUIDSignatureEBX, CPUIDSignatureECX and CPUIDSignatureEDX spell
	// "XenVMMXenVMM".
	CPUIDSignatureEBX = 0x566e6558 // "XenV"
	CPUIDSignatureECX = 0x65584d4d // "MMXe"
	CPUIDSignatureEDX = 0x4d4d566e // "nVMM"

	// CPUIDHVMVCPUIDPresent (XEN_HVM_CPUID_VCPU_ID_PRESENT) in leaf base+4
	// EAX says EBX holds the vCPU id.
	CPUIDHVMVCPUIDPresent = 1 << 3
	// CPUIDHVMDomIDPresent (XEN_HVM_CPUID_DOMID_PRESENT) in leaf base+4 EAX
	// says ECX holds the domain id.
	CPUIDHVMDomIDPresent = 1 << 4
)

// Default version reported by CPUID leaf base+1 and XENVER_version.
const (
	DefaultVersionMajor = 4
	DefaultVersionMinor = 19
)

// CPUIDLeaf is one CPUID result: the registers returned for EAX=Function,
// ECX=Index.
type CPUIDLeaf struct {
	Function uint32 // EAX input
	Index    uint32 // ECX input (subleaf); meaningful only if Indexed
	// Indexed says the result depends on Index (KVM's
	// KVM_CPUID_FLAG_SIGNIFCANT_INDEX): true for the time leaf (base+3) and
	// the HVM leaf (base+4).
	Indexed            bool
	EAX, EBX, ECX, EDX uint32 // outputs
}

// CPUIDLeaves returns the Xen leaves 0x40000000..0x40000004 for vCPU vcpuID
// of domain domID, with version DefaultVersionMajor.DefaultVersionMinor.
func CPUIDLeaves(vcpuID int, domID uint16) []CPUIDLeaf {
	return cpuidLeaves(vcpuID, domID, DefaultVersionMajor, DefaultVersionMinor)
}

// CPUIDLeaves returns the Xen CPUID leaves for vCPU vcpuID of the dispatcher's
// domain, reporting the configured version.
func (x *Dispatcher) CPUIDLeaves(vcpuID int) []CPUIDLeaf {
	return cpuidLeaves(vcpuID, x.dom.DomID(), x.opts.Major, x.opts.Minor)
}

func cpuidLeaves(vcpuID int, domID uint16, major, minor uint16) []CPUIDLeaf {
	return []CPUIDLeaf{
		{Function: CPUIDBase, EAX: CPUIDMaxLeaf,
			EBX: CPUIDSignatureEBX, ECX: CPUIDSignatureECX, EDX: CPUIDSignatureEDX},
		{Function: CPUIDBase + 1, EAX: uint32(major)<<16 | uint32(minor)},
		// One hypercall page, its MSR, no PV feature flags.
		{Function: CPUIDBase + 2, EAX: 1, EBX: HypercallMSR},
		// Time leaf: nothing advertised yet (TSC not emulated, mode 0).
		{Function: CPUIDBase + 3, Index: 0, Indexed: true},
		{Function: CPUIDBase + 3, Index: 1, Indexed: true},
		{Function: CPUIDBase + 3, Index: 2, Indexed: true},
		{Function: CPUIDBase + 4, Index: 0, Indexed: true,
			EAX: CPUIDHVMVCPUIDPresent | CPUIDHVMDomIDPresent,
			EBX: uint32(vcpuID), ECX: uint32(domID)},
	}
}
