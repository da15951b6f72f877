package xen

import (
	"encoding/binary"
	"testing"
)

// FuzzHypercall runs arbitrary calls against arbitrary guest memory: the
// dispatcher must not panic and must answer 0, a positive value, or a
// negative Xen errno. Guest memory is the fuzz bytes mapped at GVA 0 plus a
// zeroed page at argGVA, so small argument values land in fuzzed data.
func FuzzHypercall(f *testing.F) {
	le := binary.LittleEndian
	mem := func(fill func(b []byte)) []byte {
		b := make([]byte, 512)
		fill(b)
		return b
	}
	f.Add(uint64(HypercallXenVersion), uint64(XenverGetFeatures), uint64(0x10), uint64(0), uint64(0), uint64(0), mem(func([]byte) {}))
	f.Add(uint64(HypercallXenVersion), uint64(XenverExtraversion2), uint64(0x20), uint64(0), uint64(0), uint64(0),
		mem(func(b []byte) { le.PutUint32(b[0x20:], 4) }))
	f.Add(uint64(HypercallConsoleIO), uint64(ConsoleIOWrite), uint64(100), uint64(0), uint64(0), uint64(0), mem(func(b []byte) { copy(b, "hello") }))
	f.Add(uint64(HypercallConsoleIO), uint64(ConsoleIORead), uint64(100), uint64(0), uint64(0), uint64(0), mem(func([]byte) {}))
	f.Add(uint64(HypercallSchedOp), uint64(SchedopPoll), uint64(0), uint64(0), uint64(0), uint64(0), mem(func(b []byte) {
		le.PutUint64(b[0:], 0x40)
		le.PutUint32(b[8:], 3)
		le.PutUint32(b[0x44:], 4096)
	}))
	f.Add(uint64(HypercallSchedOp), uint64(SchedopShutdown), uint64(0), uint64(0), uint64(0), uint64(0), mem(func(b []byte) { b[0] = 3 }))
	f.Add(uint64(HypercallSchedOp), uint64(SchedopRemoteShutdown), uint64(0), uint64(0), uint64(0), uint64(0), mem(func([]byte) {}))
	f.Add(uint64(HypercallHVMOp), uint64(HVMOpSetParam), uint64(0), uint64(0), uint64(0), uint64(0), mem(func(b []byte) {
		paramArg(b, DomIDSelf, HVMParamVM86TSSSized, 200<<32)
	}))
	f.Add(uint64(HypercallHVMOp), uint64(HVMOpGetParam), uint64(0), uint64(0), uint64(0), uint64(0), mem(func(b []byte) {
		paramArg(b, DomIDSelf, HVMParamStorePFN, 0)
	}))
	f.Add(uint64(HypercallHVMOp), uint64(HVMOpXentrace), uint64(0), uint64(0), uint64(0), uint64(0), mem(func([]byte) {}))
	f.Add(uint64(HypercallVCPUOp), uint64(VCPUOpInitialise), uint64(1), uint64(0), uint64(0), uint64(0), mem(func(b []byte) {
		copy(b, encodeContext(flat32()))
	}))
	f.Add(uint64(HypercallVCPUOp), uint64(VCPUOpInitialise), uint64(2), uint64(0), uint64(0), uint64(0), mem(func(b []byte) {
		copy(b, encodeContext(long64()))
	}))
	f.Add(uint64(HypercallVCPUOp), uint64(VCPUOpDown), uint64(0), uint64(0), uint64(0), uint64(0), mem(func([]byte) {}))
	f.Add(uint64(HypercallMemoryOp), uint64(XenmemMemoryMap), uint64(0), uint64(0), uint64(0), uint64(0), mem(func(b []byte) {
		le.PutUint32(b[0:], 0xffffffff)
		le.PutUint64(b[8:], 0x40)
	}))
	f.Add(uint64(HypercallMemoryOp), uint64(XenmemCurrentReservation), uint64(0), uint64(0), uint64(0), uint64(0), mem(func(b []byte) {
		le.PutUint16(b, DomIDSelf)
	}))
	f.Add(uint64(99), uint64(0), uint64(0), uint64(0), uint64(0), uint64(0), []byte{})

	f.Fuzz(func(t *testing.T, nr, a0, a1, a2, a3, a4 uint64, data []byte) {
		d := newFakeDomain()
		d.input = []byte("console input")
		v := newFakeVCPU(0)
		if len(data) > 0 {
			v.regions = append(v.regions, region{base: 0, data: data})
		}
		v.mapRegion(argGVA, PageSize)
		x := NewDispatcher(d, Options{Now: func() uint64 { return 1 }})
		ret := x.Hypercall(v, Call{Nr: nr % 64, Args: [5]uint64{a0, a1, a2, a3, a4}})
		if ret < 0 && !IsErrno(ret) {
			t.Fatalf("hypercall %d(%#x, %#x, %#x) = %d: not a Xen errno", nr%64, a0, a1, a2, ret)
		}
		if nr%64 == HypercallConsoleIO && len(d.console) > len(data)+PageSize {
			t.Fatalf("console got %d bytes from %d bytes of guest memory", len(d.console), len(data)+PageSize)
		}
	})
}

// FuzzDecodeVCPUContext checks that any 128 bytes decode, validate and
// convert without panicking, and that an accepted context has the
// properties arch_set_info_hvm_guest guarantees.
func FuzzDecodeVCPUContext(f *testing.F) {
	f.Add(encodeContext(flat32()))
	f.Add(encodeContext(long64()))
	f.Add(make([]byte, 128))
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeVCPUContext(b)
		if err != nil {
			if len(b) >= 128 {
				t.Fatalf("decode of %d bytes failed: %v", len(b), err)
			}
			return
		}
		if c.Validate(DefaultCPUPolicy) != nil {
			_ = c.State()
			return
		}
		st := c.State()
		if c.Pad != 0 || c.Mode > VCPUHVMMode64 {
			t.Fatalf("accepted pad %d mode %d", c.Pad, c.Mode)
		}
		if st.RFLAGS&rflagsMBS == 0 || st.RFLAGS&^uint64(rflagsAll|rflagsMBS) != 0 {
			t.Fatalf("rflags %#x", st.RFLAGS)
		}
		if (st.EFER&EFERLME != 0) != (st.EFER&EFERLMA != 0) {
			t.Fatalf("efer %#x: lme and lma differ", st.EFER)
		}
		if st.CR4&^DefaultCPUPolicy.CR4Valid != 0 {
			t.Fatalf("cr4 %#x beyond policy", st.CR4)
		}
		if c.Mode == VCPUHVMMode64 && (st.CR0&CR0PG == 0 || st.CR4&CR4PAE == 0) {
			t.Fatalf("long mode without paging: cr0 %#x cr4 %#x", st.CR0, st.CR4)
		}
		if c.Mode == VCPUHVMMode32 && (!st.CS.Present() || st.SS.DPL() != st.CS.DPL() || st.TR.Type() != sysDescTSSBusy) {
			t.Fatalf("bad segments accepted: cs %#x ss %#x tr %#x", st.CS.Attr, st.SS.Attr, st.TR.Attr)
		}
	})
}
