package xen

// Ports and MSRs of the Xenolith guest ABI (docs/guest-abi.md).
const (
	// HypercallMSR is the MSR a guest writes with the GPA of the page to fill
	// with hypercall stubs (CPUID leaf 0x40000002 EBX).
	HypercallMSR = 0x40000000
	// HypercallPort is the I/O port the stubs write EAX (the hypercall
	// number) to; arguments are in RDI, RSI, RDX, R10, R8, the result goes
	// to RAX.
	HypercallPort = 0xc0
	// RawPort is the benchmark floor: the monitor does nothing and resumes.
	RawPort = 0xc4
	// TestPort carries the guestkit test protocol.
	TestPort = 0xc8
	// DebugConsolePort is Xen's HVM debug console (XEN_HVM_DEBUGCONS_IOPORT):
	// every byte written to it is printed.
	DebugConsolePort = 0xe9
)

// Hypercall page layout.
const (
	// PageSize is the size of a guest page and of the hypercall page.
	PageSize = 4096
	// HypercallSlotSize is the size of one stub in the hypercall page.
	HypercallSlotSize = 32
	// HypercallSlots is the number of stubs in the hypercall page.
	HypercallSlots = PageSize / HypercallSlotSize
	// hypercallPageFill is the byte (int3) that fills the page outside the
	// stubs.
	hypercallPageFill = 0xcc
)

// WriteHypercallPage fills the first 4096 bytes of page with the hypercall
// stubs: slot n (32 bytes) starts with "mov $n, %eax; out %eax, $0xc0; ret"
// (b8 n n n n e7 c0 c3) and every other byte is int3 (cc). It returns
// ErrShortPage if page is shorter than 4096 bytes.
func WriteHypercallPage(page []byte) error {
	if len(page) < PageSize {
		return ErrShortPage
	}
	page = page[:PageSize]
	for i := range page {
		page[i] = hypercallPageFill
	}
	for n := 0; n < HypercallSlots; n++ {
		s := page[n*HypercallSlotSize:]
		s[0] = 0xb8 // mov $imm32, %eax
		s[1] = byte(n)
		s[2] = byte(n >> 8)
		s[3] = byte(n >> 16)
		s[4] = byte(n >> 24)
		s[5] = 0xe7 // out %eax, $imm8
		s[6] = HypercallPort
		s[7] = 0xc3 // ret
	}
	return nil
}

// ParseHypercallMSR decodes a value written to HypercallMSR. Bits 0..11 are
// the index of the hypercall page to fill; only page 0 exists (CPUID
// 0x40000002 EAX = 1), so ok is false (the monitor injects #GP) when any of
// them is set, as Xen's guest_wrmsr_xen does. Otherwise gpa is the
// page-aligned guest-physical address of the page.
func ParseHypercallMSR(value uint64) (gpa uint64, ok bool) {
	if value&(PageSize-1) != 0 {
		return 0, false
	}
	return value, true
}
