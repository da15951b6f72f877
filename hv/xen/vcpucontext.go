package xen

import (
	"encoding/binary"
	"fmt"
)

// vcpu_hvm_context modes (xen/include/public/hvm/hvm_vcpu.h).
const (
	VCPUHVMMode32 = 0 // 32-bit fields of the context are used
	VCPUHVMMode64 = 1 // 64-bit fields are used; the vCPU starts in long mode
)

// Control register, EFER and RFLAGS bits the context checks use (Intel SDM
// vol. 3; Xen's x86-defns.h and msr-index.h).
const (
	CR0PG          = 1 << 31
	CR4VME         = 1 << 0
	CR4PVI         = 1 << 1
	CR4TSD         = 1 << 2
	CR4DE          = 1 << 3
	CR4PSE         = 1 << 4
	CR4PAE         = 1 << 5
	CR4MCE         = 1 << 6
	CR4PGE         = 1 << 7
	CR4PCE         = 1 << 8
	CR4OSFXSR      = 1 << 9
	CR4OSXMMEXCPT  = 1 << 10
	CR4UMIP        = 1 << 11
	CR4VMXE        = 1 << 13
	CR4FSGSBASE    = 1 << 16
	CR4PCIDE       = 1 << 17
	CR4OSXSAVE     = 1 << 18
	CR4SMEP        = 1 << 20
	CR4SMAP        = 1 << 21
	CR4PKE         = 1 << 22
	CR4CET         = 1 << 23
	CR4PKS         = 1 << 24
	EFERSCE        = 1 << 0
	EFERLME        = 1 << 8
	EFERLMA        = 1 << 10
	EFERNXE        = 1 << 11
	EFERSVME       = 1 << 12
	EFERFFXSE      = 1 << 14
	EFERAIBRSE     = 1 << 21
	eferKnownMask  = EFERSCE | EFERLME | EFERLMA | EFERNXE | EFERSVME | EFERFFXSE | EFERAIBRSE
	rflagsMBS      = 1 << 1   // reserved bit 1, always set
	rflagsAll      = 0x3f7fd5 // X86_EFLAGS_ALL: CF PF AF ZF SF TF IF DF OF IOPL NT RF VM AC VIF VIP ID
	sysDescTSSBusy = 11       // SYS_DESC_tss_busy
)

// CPUPolicy is the part of the domain's CPU policy that VCPUOP_initialise
// checks a context against (hvm_cr4_guest_valid_bits, hvm_efer_valid).
type CPUPolicy struct {
	// CR4Valid holds the CR4 bits a guest may set.
	CR4Valid uint64
	// EFERValid holds the EFER bits the CPU supports, among SCE, LME, LMA,
	// NXE, SVME, FFXSE and AIBRSE (LMA goes with LME).
	EFERValid uint64
}

// DefaultCPUPolicy describes a generic x86-64 CPU without nested
// virtualisation: the CR4 bits Xen lets an HVM guest set on such a CPU, and
// SYSCALL, long mode and NX in EFER. The monitor should narrow it to the
// host's CPUID.
var DefaultCPUPolicy = CPUPolicy{
	CR4Valid: CR4VME | CR4PVI | CR4TSD | CR4DE | CR4PSE | CR4PAE | CR4MCE |
		CR4PGE | CR4PCE | CR4OSFXSR | CR4OSXMMEXCPT | CR4FSGSBASE | CR4PCIDE |
		CR4OSXSAVE | CR4SMEP | CR4SMAP,
	EFERValid: EFERSCE | EFERLME | EFERLMA | EFERNXE,
}

// HVMRegs32 is struct vcpu_hvm_x86_32: the state of a vCPU started in
// 32-bit (protected or compatibility) mode.
type HVMRegs32 struct {
	EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI uint32 // general registers
	EIP, EFLAGS                            uint32 // instruction pointer, flags
	CR0, CR3, CR4                          uint32 // control registers
	Pad1                                   uint32 // must be zero
	EFER                                   uint64 // only NXE, or LME/LMA for compatibility mode
	CSBase, DSBase, SSBase, ESBase, TRBase uint32 // segment bases
	CSLimit, DSLimit, SSLimit, ESLimit     uint32 // segment limits
	TRLimit                                uint32 //
	// CSAR..TRAR are segment attributes: bits 0-3 type, 4 s, 5-6 dpl, 7 p,
	// 8 avl, 9 l, 10 db, 11 g, 12-15 must be zero.
	CSAR, DSAR, SSAR, ESAR, TRAR uint16
	Pad2                         [3]uint16 // must be zero
}

// HVMRegs64 is struct vcpu_hvm_x86_64: the state of a vCPU started in long
// mode; segments are implied (flat 64-bit).
type HVMRegs64 struct {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI uint64 // general registers
	RIP, RFLAGS                            uint64 // instruction pointer, flags
	CR0, CR3, CR4, EFER                    uint64 // control registers, EFER
}

// VCPUContext is a decoded struct vcpu_hvm_context. Both views of the
// register union are decoded from the same bytes; Mode says which one is
// meant.
type VCPUContext struct {
	Mode   uint32    // VCPUHVMMode32 or VCPUHVMMode64
	Pad    uint32    // must be zero
	Regs32 HVMRegs32 // meaningful when Mode == VCPUHVMMode32
	Regs64 HVMRegs64 // meaningful when Mode == VCPUHVMMode64
}

// DecodeVCPUContext decodes a vcpu_hvm_context from its 128 wire bytes. It
// fails only if b is shorter than that; the values are checked by Validate.
func DecodeVCPUContext(b []byte) (VCPUContext, error) {
	if len(b) < vcpuHVMContextSize {
		return VCPUContext{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidContext, len(b), vcpuHVMContextSize)
	}
	le := binary.LittleEndian
	c := VCPUContext{Mode: le.Uint32(b[vcpuHVMContextMode:]), Pad: le.Uint32(b[vcpuHVMContextPad:])}
	r := b[vcpuHVMContextRegs:vcpuHVMContextSize]

	u32 := func(i int) uint32 { return le.Uint32(r[4*i:]) }
	c.Regs32 = HVMRegs32{
		EAX: u32(0), ECX: u32(1), EDX: u32(2), EBX: u32(3),
		ESP: u32(4), EBP: u32(5), ESI: u32(6), EDI: u32(7),
		EIP: u32(8), EFLAGS: u32(9), CR0: u32(10), CR3: u32(11), CR4: u32(12),
		Pad1: u32(13), EFER: le.Uint64(r[vcpuHVMX8632EFER:]),
	}
	base := func(i int) uint32 { return le.Uint32(r[vcpuHVMX8632Bases+4*i:]) }
	limit := func(i int) uint32 { return le.Uint32(r[vcpuHVMX8632Limits+4*i:]) }
	ar := func(i int) uint16 { return le.Uint16(r[vcpuHVMX8632ARs+2*i:]) }
	c.Regs32.CSBase, c.Regs32.DSBase, c.Regs32.SSBase, c.Regs32.ESBase, c.Regs32.TRBase =
		base(0), base(1), base(2), base(3), base(4)
	c.Regs32.CSLimit, c.Regs32.DSLimit, c.Regs32.SSLimit, c.Regs32.ESLimit, c.Regs32.TRLimit =
		limit(0), limit(1), limit(2), limit(3), limit(4)
	c.Regs32.CSAR, c.Regs32.DSAR, c.Regs32.SSAR, c.Regs32.ESAR, c.Regs32.TRAR =
		ar(0), ar(1), ar(2), ar(3), ar(4)
	for i := range c.Regs32.Pad2 {
		c.Regs32.Pad2[i] = le.Uint16(r[vcpuHVMX8632Pad2+2*i:])
	}

	u64 := func(i int) uint64 { return le.Uint64(r[8*i:]) }
	c.Regs64 = HVMRegs64{
		RAX: u64(0), RCX: u64(1), RDX: u64(2), RBX: u64(3),
		RSP: u64(4), RBP: u64(5), RSI: u64(6), RDI: u64(7),
		RIP: u64(8), RFLAGS: u64(9), CR0: u64(10), CR3: u64(11), CR4: u64(12),
		EFER: u64(13),
	}
	return c, nil
}
