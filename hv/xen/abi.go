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
	writeDoorbellStub(page[HypercallEventChannelOp*HypercallSlotSize:][:HypercallSlotSize])
	return nil
}

// DoorbellPort is the port the event_channel_op stub writes a port number
// to for EVTCHNOP_send. The monitor registers an ioeventfd (datamatch = the
// guest port) for each port whose other end is a backend, so those kicks
// never leave the kernel; any other value exits to the monitor, which
// performs the send and returns its result in RAX (docs/guest-abi.md).
const DoorbellPort = 0xcc

// doorbellStub is the event_channel_op slot:
//
//	cmp  $4, %edi          ; EVTCHNOP_send?
//	jne  slow
//	mov  (%rsi), %eax      ; evtchn_send.port
//	out  %eax, $0xcc       ; ioeventfd, or an exit that sets RAX
//	cmp  $0x1000, %rax     ; the monitor's -errno (>= 4096 unsigned)?
//	jae  done
//	xor  %eax, %eax        ; in-kernel doorbell or success: 0
//	done: ret
//	slow: mov $32, %eax; out %eax, $0xc0; ret
//
// Ports are < 4096, so RAX below 0x1000 after the OUT means either the
// untouched port number (in-kernel path) or the monitor's 0.
var doorbellStub = [...]byte{
	0x83, 0xff, 0x04, // cmp $4,%edi
	0x75, 0x0f, // jne +15 (slow)
	0x8b, 0x06, // mov (%rsi),%eax
	0xe7, DoorbellPort, // out %eax,$0xcc
	0x48, 0x3d, 0x00, 0x10, 0x00, 0x00, // cmp $0x1000,%rax
	0x73, 0x02, // jae +2 (done)
	0x31, 0xc0, // xor %eax,%eax
	0xc3,                         // done: ret
	0xb8, 0x20, 0x00, 0x00, 0x00, // slow: mov $32,%eax
	0xe7, HypercallPort, // out %eax,$0xc0
	0xc3, // ret
}

func writeDoorbellStub(slot []byte) {
	copy(slot, doorbellStub[:])
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
