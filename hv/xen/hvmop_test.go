package xen

import (
	"encoding/binary"
	"testing"
)

// paramArg writes a xen_hvm_param into a.
func paramArg(a []byte, dom uint16, idx uint32, val uint64) {
	le := binary.LittleEndian
	le.PutUint16(a[0:], dom)
	le.PutUint16(a[2:], 0)
	le.PutUint32(a[4:], idx)
	le.PutUint64(a[8:], val)
}

func TestHVMSetParam(t *testing.T) {
	tests := []struct {
		name   string
		dom    uint16
		idx    uint32
		val    uint64
		arg    uint64
		want   int64
		stored uint32 // index expected to hold the value on success
		expect uint64 // value expected there
	}{
		{name: "callback irq", dom: DomIDSelf, idx: HVMParamCallbackIRQ, val: 0x02000000000000f3, stored: HVMParamCallbackIRQ, expect: 0x02000000000000f3},
		{name: "callback irq own domid", dom: 1, idx: HVMParamCallbackIRQ, val: 1, stored: HVMParamCallbackIRQ, expect: 1},
		{name: "store evtchn settable", dom: DomIDSelf, idx: HVMParamStoreEvtchn, val: 5, stored: HVMParamStoreEvtchn, expect: 5},
		{name: "console evtchn settable", dom: DomIDSelf, idx: HVMParamConsoleEvtchn, val: 6, stored: HVMParamConsoleEvtchn, expect: 6},
		{name: "vm generation id", dom: DomIDSelf, idx: HVMParamVMGenerationIDAddr, val: 0x1234, stored: HVMParamVMGenerationIDAddr, expect: 0x1234},
		{name: "x87 fip width 4", dom: DomIDSelf, idx: HVMParamX87FIPWidth, val: 4, stored: HVMParamX87FIPWidth, expect: 4},
		{name: "x87 fip width 0", dom: DomIDSelf, idx: HVMParamX87FIPWidth, val: 0, stored: HVMParamX87FIPWidth, expect: 0},
		{name: "x87 fip width bad", dom: DomIDSelf, idx: HVMParamX87FIPWidth, val: 2, want: -22},
		{name: "vm86 tss", dom: DomIDSelf, idx: HVMParamVM86TSS, val: 0xfeff0000, stored: HVMParamVM86TSSSized, expect: 1<<63 | 128<<32 | 0xfeff0000},
		{name: "vm86 tss zero", dom: DomIDSelf, idx: HVMParamVM86TSS, val: 0, stored: HVMParamVM86TSSSized, expect: 0},
		{name: "vm86 tss too big", dom: DomIDSelf, idx: HVMParamVM86TSS, val: 1 << 32, want: -22},
		{name: "vm86 tss sized", dom: DomIDSelf, idx: HVMParamVM86TSSSized, val: 200<<32 | 0x1000, stored: HVMParamVM86TSSSized, expect: 1<<63 | 200<<32 | 0x1000},
		{name: "vm86 tss sized capped", dom: DomIDSelf, idx: HVMParamVM86TSSSized, val: 0xffff<<32 | 0x1000, stored: HVMParamVM86TSSSized, expect: 1<<63 | 8329<<32 | 0x1000},
		{name: "vm86 tss sized too small", dom: DomIDSelf, idx: HVMParamVM86TSSSized, val: 103 << 32, want: -22},
		{name: "acpi ioports no pm timer", dom: DomIDSelf, idx: HVMParamACPIIOPortsLocation, val: 1, want: -19},
		{name: "store pfn not settable", dom: DomIDSelf, idx: HVMParamStorePFN, val: 1, want: -1},
		{name: "console pfn not settable", dom: DomIDSelf, idx: HVMParamConsolePFN, val: 1, want: -1},
		{name: "ident pt not settable", dom: DomIDSelf, idx: HVMParamIdentPT, val: 1, want: -1},
		{name: "acpi s state not settable", dom: DomIDSelf, idx: HVMParamACPISState, val: 3, want: -1},
		{name: "triple fault reason not settable", dom: DomIDSelf, idx: HVMParamTripleFaultReason, val: 1, want: -1},
		{name: "mca cap not settable", dom: DomIDSelf, idx: HVMParamMCACap, val: 1, want: -1},
		{name: "altp2m read-only", dom: DomIDSelf, idx: HVMParamAltP2M, val: 1, want: -17},
		{name: "deprecated pae", dom: DomIDSelf, idx: HVMParamPAEEnabled, val: 1, want: -22},
		{name: "deprecated dm domain", dom: DomIDSelf, idx: HVMParamDMDomain, val: DomIDSelf, want: -22},
		{name: "deprecated memory event msr", dom: DomIDSelf, idx: HVMParamMemoryEventMSR, val: 1, want: -22},
		{name: "deprecated bufioreq evtchn", dom: DomIDSelf, idx: HVMParamBufIOReqEvtchn, val: 1, want: -22},
		{name: "index too big", dom: DomIDSelf, idx: HVMNrParams, val: 1, want: -22},
		{name: "index too big before domain", dom: 9, idx: 1000, val: 1, want: -22},
		{name: "backend domain", dom: 0, idx: HVMParamCallbackIRQ, val: 1, want: -1},
		{name: "unknown domain", dom: 9, idx: HVMParamCallbackIRQ, val: 1, want: -3},
		{name: "reserved domid", dom: 0x7ff1, idx: HVMParamCallbackIRQ, val: 1, want: -3},
		{name: "fault", arg: badGVA, want: -14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, d, v, arg, _ := newTest(Options{})
			paramArg(arg, tt.dom, tt.idx, tt.val)
			gva := tt.arg
			if gva == 0 {
				gva = argGVA
			}
			before := x.Param(tt.idx)
			got := x.Hypercall(v, Call{Nr: HypercallHVMOp, Args: [5]uint64{HVMOpSetParam, gva}})
			if got != tt.want {
				t.Fatalf("set_param(%d) = %d, want %d", tt.idx, got, tt.want)
			}
			if got != 0 {
				if x.Param(tt.idx) != before || len(d.paramsSet) != 0 {
					t.Errorf("failed set changed state: %#x -> %#x, observer %v", before, x.Param(tt.idx), d.paramsSet)
				}
				return
			}
			if g := x.Param(tt.stored); g != tt.expect {
				t.Errorf("param %d = %#x, want %#x", tt.stored, g, tt.expect)
			}
			if len(d.paramsSet) != 1 || d.paramsSet[0] != [2]uint64{uint64(tt.stored), tt.expect} {
				t.Errorf("observer saw %v", d.paramsSet)
			}
		})
	}
}

// TestHVMSetParamCrash checks that the VM86 TSS values Xen answers with
// domain_crash shut the domain down with SHUTDOWN_crash.
func TestHVMSetParamCrash(t *testing.T) {
	for _, tc := range []struct {
		idx uint32
		val uint64
	}{{HVMParamVM86TSS, 1 << 32}, {HVMParamVM86TSSSized, 0}} {
		x, d, v, arg, _ := newTest(Options{})
		paramArg(arg, DomIDSelf, tc.idx, tc.val)
		if got := x.Hypercall(v, Call{Nr: HypercallHVMOp, Args: [5]uint64{HVMOpSetParam, argGVA}}); got != -22 {
			t.Errorf("set_param(%d, %#x) = %d", tc.idx, tc.val, got)
		}
		if len(d.shutdowns) != 1 || d.shutdowns[0] != ShutdownCrash {
			t.Errorf("set_param(%d, %#x): shutdowns %v", tc.idx, tc.val, d.shutdowns)
		}
	}
}

func TestHVMGetParam(t *testing.T) {
	tests := []struct {
		name string
		dom  uint16
		idx  uint32
		arg  uint64
		want int64
		val  uint64
	}{
		{name: "store pfn", dom: DomIDSelf, idx: HVMParamStorePFN, val: 0xfeff9},
		{name: "store evtchn", dom: DomIDSelf, idx: HVMParamStoreEvtchn, val: 1},
		{name: "console pfn", dom: 1, idx: HVMParamConsolePFN, val: 0xfeff8},
		{name: "console evtchn", dom: DomIDSelf, idx: HVMParamConsoleEvtchn, val: 2},
		{name: "callback irq", dom: DomIDSelf, idx: HVMParamCallbackIRQ, val: 0},
		{name: "altp2m", dom: DomIDSelf, idx: HVMParamAltP2M, val: 0},
		{name: "x87 fip width default", dom: DomIDSelf, idx: HVMParamX87FIPWidth, val: 8},
		{name: "vm86 tss from sized", dom: DomIDSelf, idx: HVMParamVM86TSS, val: 0xfeff0000},
		{name: "vm86 tss sized", dom: DomIDSelf, idx: HVMParamVM86TSSSized, val: 128<<32 | 0xfeff0000},
		{name: "acpi ioports", dom: DomIDSelf, idx: HVMParamACPIIOPortsLocation, val: 0},
		{name: "vm generation id", dom: DomIDSelf, idx: HVMParamVMGenerationIDAddr, val: 0},
		{name: "ioreq pfn not readable", dom: DomIDSelf, idx: HVMParamIOReqPFN, want: -1},
		{name: "triple fault reason not readable", dom: DomIDSelf, idx: HVMParamTripleFaultReason, want: -1},
		{name: "timer mode not readable", dom: DomIDSelf, idx: HVMParamTimerMode, want: -1},
		{name: "deprecated nested hvm", dom: DomIDSelf, idx: HVMParamNestedHVM, want: -22},
		{name: "index too big", dom: DomIDSelf, idx: 39, want: -22},
		{name: "index huge", dom: DomIDSelf, idx: 0xffffffff, want: -22},
		{name: "backend domain", dom: 0, idx: HVMParamStorePFN, want: -1},
		{name: "unknown domain", dom: 2, idx: HVMParamStorePFN, want: -3},
		{name: "fault", arg: badGVA, want: -14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, _, v, arg, _ := newTest(Options{})
			for i := range uint32(HVMNrParams) {
				if i != HVMParamX87FIPWidth {
					_ = x.SetParam(i, 0)
				}
			}
			_ = x.SetParam(HVMParamStorePFN, 0xfeff9)
			_ = x.SetParam(HVMParamStoreEvtchn, 1)
			_ = x.SetParam(HVMParamConsolePFN, 0xfeff8)
			_ = x.SetParam(HVMParamConsoleEvtchn, 2)
			_ = x.SetParam(HVMParamVM86TSSSized, 1<<63|128<<32|0xfeff0000)
			_ = x.SetParam(HVMParamIOReqPFN, 7)
			paramArg(arg, tt.dom, tt.idx, 0xdeadbeef)
			gva := tt.arg
			if gva == 0 {
				gva = argGVA
			}
			got := x.Hypercall(v, Call{Nr: HypercallHVMOp, Args: [5]uint64{HVMOpGetParam, gva}})
			if got != tt.want {
				t.Fatalf("get_param(%d) = %d, want %d", tt.idx, got, tt.want)
			}
			g := binary.LittleEndian.Uint64(arg[8:])
			if got == 0 && g != tt.val {
				t.Errorf("value = %#x, want %#x", g, tt.val)
			}
			if got != 0 && g != 0xdeadbeef {
				t.Errorf("failed get wrote value %#x", g)
			}
		})
	}
}

func TestSetParamMonitor(t *testing.T) {
	x := NewDispatcher(newFakeDomain(), Options{})
	if err := x.SetParam(HVMParamStorePFN, 0x1234); err != nil {
		t.Fatal(err)
	}
	if got := x.Param(HVMParamStorePFN); got != 0x1234 {
		t.Errorf("Param = %#x", got)
	}
	if err := x.SetParam(HVMNrParams, 1); err == nil {
		t.Error("SetParam(HVMNrParams) succeeded")
	}
	if got := x.Param(HVMNrParams); got != 0 {
		t.Errorf("Param(HVMNrParams) = %d", got)
	}
}

func TestHVMOpOthers(t *testing.T) {
	le := binary.LittleEndian
	tests := []struct {
		name  string
		opts  Options
		op    uint64
		arg   uint64
		setup func([]byte)
		want  int64
		check func(*testing.T, []byte)
	}{
		{name: "get_time", opts: Options{Now: func() uint64 { return 123456789 }}, op: HVMOpGetTime, arg: argGVA,
			check: func(t *testing.T, a []byte) {
				if g := le.Uint64(a); g != 123456789 {
					t.Errorf("now = %d", g)
				}
			}},
		{name: "get_time fault", opts: Options{Now: func() uint64 { return 1 }}, op: HVMOpGetTime, arg: badGVA, want: -14},
		{name: "get_time without clock", op: HVMOpGetTime, arg: argGVA, want: -38},
		{name: "pagetable_dying self", op: HVMOpPagetableDying, arg: argGVA,
			setup: func(a []byte) { le.PutUint16(a, DomIDSelf) }, want: -22},
		{name: "pagetable_dying backend", op: HVMOpPagetableDying, arg: argGVA,
			setup: func(a []byte) { le.PutUint16(a, 0) }, want: -95},
		{name: "pagetable_dying unknown", op: HVMOpPagetableDying, arg: argGVA,
			setup: func(a []byte) { le.PutUint16(a, 5) }, want: -3},
		{name: "pagetable_dying fault", op: HVMOpPagetableDying, arg: badGVA, want: -14},
		{name: "xentrace ok", op: HVMOpXentrace, arg: argGVA,
			setup: func(a []byte) { le.PutUint16(a, 0xfff); le.PutUint16(a[2:], 28) }},
		{name: "xentrace unaligned", op: HVMOpXentrace, arg: argGVA,
			setup: func(a []byte) { le.PutUint16(a[2:], 3) }, want: -22},
		{name: "xentrace too long", op: HVMOpXentrace, arg: argGVA,
			setup: func(a []byte) { le.PutUint16(a[2:], 32) }, want: -22},
		{name: "xentrace subclass", op: HVMOpXentrace, arg: argGVA,
			setup: func(a []byte) { le.PutUint16(a, 0x1000) }, want: -22},
		{name: "xentrace fault", op: HVMOpXentrace, arg: badGVA, want: -14},
		{name: "guest_request_vm_event", op: HVMOpGuestRequestVMEvent},
		{name: "guest_request_vm_event non-null", op: HVMOpGuestRequestVMEvent, arg: argGVA, want: -22},
		{name: "altp2m", op: HVMOpAltP2M, arg: argGVA, want: -95},
		{name: "set_evtchn_upcall_vector", op: HVMOpSetEvtchnUpcallVector, arg: argGVA, want: -38},
		{name: "flush_tlbs", op: HVMOpFlushTLBs, want: -38},
		{name: "get_mem_type", op: HVMOpGetMemType, arg: argGVA, want: -38},
		{name: "unknown", op: 26, want: -38},
		{name: "op not truncated", op: 1<<32 | HVMOpGetParam, arg: argGVA, want: -38},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, _, v, arg, _ := newTest(tt.opts)
			if tt.setup != nil {
				tt.setup(arg)
			}
			got := x.Hypercall(v, Call{Nr: HypercallHVMOp, Args: [5]uint64{tt.op, tt.arg}})
			if got != tt.want {
				t.Fatalf("hvm_op(%d) = %d, want %d", tt.op, got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, arg)
			}
		})
	}
}
