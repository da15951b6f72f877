package xen

import (
	"encoding/binary"
	"errors"
	"testing"
)

// encodeContext writes c in vcpu_hvm_context wire form (mode, pad, then the
// view selected by c.Mode; mode values other than 0 use the 64-bit view).
func encodeContext(c VCPUContext) []byte {
	le := binary.LittleEndian
	b := make([]byte, 128)
	le.PutUint32(b[0:], c.Mode)
	le.PutUint32(b[4:], c.Pad)
	r := b[8:]
	if c.Mode == VCPUHVMMode32 {
		g := c.Regs32
		for i, v := range []uint32{g.EAX, g.ECX, g.EDX, g.EBX, g.ESP, g.EBP, g.ESI, g.EDI,
			g.EIP, g.EFLAGS, g.CR0, g.CR3, g.CR4, g.Pad1} {
			le.PutUint32(r[4*i:], v)
		}
		le.PutUint64(r[56:], g.EFER)
		for i, v := range []uint32{g.CSBase, g.DSBase, g.SSBase, g.ESBase, g.TRBase,
			g.CSLimit, g.DSLimit, g.SSLimit, g.ESLimit, g.TRLimit} {
			le.PutUint32(r[64+4*i:], v)
		}
		for i, v := range []uint16{g.CSAR, g.DSAR, g.SSAR, g.ESAR, g.TRAR, g.Pad2[0], g.Pad2[1], g.Pad2[2]} {
			le.PutUint16(r[104+2*i:], v)
		}
		return b
	}
	g := c.Regs64
	for i, v := range []uint64{g.RAX, g.RCX, g.RDX, g.RBX, g.RSP, g.RBP, g.RSI, g.RDI,
		g.RIP, g.RFLAGS, g.CR0, g.CR3, g.CR4, g.EFER} {
		le.PutUint64(r[8*i:], v)
	}
	return b
}

// flat32 is a valid 32-bit protected-mode context with flat segments.
func flat32() VCPUContext {
	return VCPUContext{Mode: VCPUHVMMode32, Regs32: HVMRegs32{
		EAX: 1, ECX: 2, EDX: 3, EBX: 4, ESP: 0x8000, EBP: 6, ESI: 7, EDI: 8,
		EIP: 0x100000, EFLAGS: 0xffffffff, CR0: 0x11, CR3: 0x5000, CR4: 0,
		CSLimit: 0xfffff, DSLimit: 0xfffff, SSLimit: 0xfffff, ESLimit: 0xfffff, TRLimit: 0x67,
		CSAR: 0xc9a, DSAR: 0xc92, SSAR: 0xc92, ESAR: 0xc92, TRAR: 0x89,
		CSBase: 0, TRBase: 0x3000,
	}}
}

// long64 is a valid 64-bit context.
func long64() VCPUContext {
	return VCPUContext{Mode: VCPUHVMMode64, Regs64: HVMRegs64{
		RAX: 1, RCX: 2, RDX: 3, RBX: 4, RSP: 0xffff800000008000, RBP: 6, RSI: 7, RDI: 8,
		RIP: 0xffffffff81000000, RFLAGS: 0x2, CR0: 0x80000011, CR3: 0x5000, CR4: CR4PAE,
		EFER: EFERLME | EFERNXE,
	}}
}

func TestDecodeVCPUContextRoundTrip(t *testing.T) {
	for _, c := range []VCPUContext{flat32(), long64()} {
		got, err := DecodeVCPUContext(encodeContext(c))
		if err != nil {
			t.Fatal(err)
		}
		if c.Mode == VCPUHVMMode32 && got.Regs32 != c.Regs32 {
			t.Errorf("32-bit view = %+v, want %+v", got.Regs32, c.Regs32)
		}
		if c.Mode == VCPUHVMMode64 && got.Regs64 != c.Regs64 {
			t.Errorf("64-bit view = %+v, want %+v", got.Regs64, c.Regs64)
		}
		if got.Mode != c.Mode || got.Pad != c.Pad {
			t.Errorf("mode/pad = %d/%d", got.Mode, got.Pad)
		}
	}
	if _, err := DecodeVCPUContext(make([]byte, 127)); !errors.Is(err, ErrInvalidContext) {
		t.Errorf("short decode error = %v", err)
	}
}

// TestDecodeVCPUContextOffsets puts a distinct value in every field's bytes
// and checks each decoded field against the header's offsets.
func TestDecodeVCPUContextOffsets(t *testing.T) {
	b := make([]byte, 128)
	for i := range b {
		b[i] = byte(i)
	}
	c, _ := DecodeVCPUContext(b)
	le := binary.LittleEndian
	u32 := func(off int) uint32 { return le.Uint32(b[8+off:]) }
	u16 := func(off int) uint16 { return le.Uint16(b[8+off:]) }
	u64 := func(off int) uint64 { return le.Uint64(b[8+off:]) }
	r := c.Regs32
	checks32 := []struct {
		name string
		got  uint64
		want uint64
	}{
		{"eip", uint64(r.EIP), uint64(u32(32))}, {"eflags", uint64(r.EFLAGS), uint64(u32(36))},
		{"cr4", uint64(r.CR4), uint64(u32(48))}, {"pad1", uint64(r.Pad1), uint64(u32(52))},
		{"efer", r.EFER, u64(56)}, {"tr_base", uint64(r.TRBase), uint64(u32(80))},
		{"cs_limit", uint64(r.CSLimit), uint64(u32(84))}, {"tr_limit", uint64(r.TRLimit), uint64(u32(100))},
		{"cs_ar", uint64(r.CSAR), uint64(u16(104))}, {"tr_ar", uint64(r.TRAR), uint64(u16(112))},
		{"pad2[2]", uint64(r.Pad2[2]), uint64(u16(118))},
		{"rip", c.Regs64.RIP, u64(64)}, {"efer64", c.Regs64.EFER, u64(104)},
		{"mode", uint64(c.Mode), uint64(le.Uint32(b[0:]))}, {"pad", uint64(c.Pad), uint64(le.Uint32(b[4:]))},
	}
	for _, ck := range checks32 {
		if ck.got != ck.want {
			t.Errorf("%s = %#x, want %#x", ck.name, ck.got, ck.want)
		}
	}
}

func TestVCPUContextValidate(t *testing.T) {
	type mod func(*VCPUContext)
	tests := []struct {
		name  string
		base  func() VCPUContext
		mod   mod
		valid bool
	}{
		{"flat32", flat32, nil, true},
		{"long64", long64, nil, true},
		{"pad", long64, func(c *VCPUContext) { c.Pad = 1 }, false},
		{"bad mode", long64, func(c *VCPUContext) { c.Mode = 2 }, false},
		{"pad1", flat32, func(c *VCPUContext) { c.Regs32.Pad1 = 1 }, false},
		{"pad2", flat32, func(c *VCPUContext) { c.Regs32.Pad2[1] = 1 }, false},
		{"cs attr pad bits", flat32, func(c *VCPUContext) { c.Regs32.CSAR |= 0x1000 }, false},
		{"null cs", flat32, func(c *VCPUContext) { c.Regs32.CSAR = 0 }, false},
		{"null ss", flat32, func(c *VCPUContext) { c.Regs32.SSAR = 0 }, false},
		{"null ds ok", flat32, func(c *VCPUContext) { c.Regs32.DSAR = 0 }, true},
		{"null es ok", flat32, func(c *VCPUContext) { c.Regs32.ESAR = 0 }, true},
		{"null tr", flat32, func(c *VCPUContext) { c.Regs32.TRAR = 0 }, false},
		{"tr code segment", flat32, func(c *VCPUContext) { c.Regs32.TRAR = 0x99 }, false},
		{"tr 16-bit tss", flat32, func(c *VCPUContext) { c.Regs32.TRAR = 0x81 }, false},
		{"tr not present", flat32, func(c *VCPUContext) { c.Regs32.TRAR = 0x09 }, false},
		{"system cs", flat32, func(c *VCPUContext) { c.Regs32.CSAR = 0xc8b }, false},
		{"cs not present", flat32, func(c *VCPUContext) { c.Regs32.CSAR = 0xc1a }, false},
		{"data cs", flat32, func(c *VCPUContext) { c.Regs32.CSAR = 0xc92 }, false},
		{"code ss", flat32, func(c *VCPUContext) { c.Regs32.SSAR = 0xc9a }, false},
		{"read-only ss", flat32, func(c *VCPUContext) { c.Regs32.SSAR = 0xc90 }, false},
		{"execute-only ds", flat32, func(c *VCPUContext) { c.Regs32.DSAR = 0xc98 }, false},
		{"readable code ds ok", flat32, func(c *VCPUContext) { c.Regs32.DSAR = 0xc9a }, true},
		{"execute-only es", flat32, func(c *VCPUContext) { c.Regs32.ESAR = 0xc98 }, false},
		{"eip at limit", flat32, func(c *VCPUContext) { c.Regs32.EIP = 0xffffffff }, true},
		{"eip beyond byte limit", flat32, func(c *VCPUContext) {
			c.Regs32.CSAR &^= 0x800
			c.Regs32.EIP = 0x100000
		}, false},
		{"eip within byte limit", flat32, func(c *VCPUContext) {
			c.Regs32.CSAR &^= 0x800
			c.Regs32.EIP = 0xffff0
		}, true},
		{"ss dpl differs", flat32, func(c *VCPUContext) { c.Regs32.SSAR |= 3 << 5 }, false},
		{"ds dpl above cs", flat32, func(c *VCPUContext) { c.Regs32.DSAR |= 3 << 5 }, false},
		{"es dpl above cs", flat32, func(c *VCPUContext) { c.Regs32.ESAR |= 1 << 5 }, false},
		{"ds not present", flat32, func(c *VCPUContext) { c.Regs32.DSAR = 0x70 | 0x2 | 0x10 }, false},
		{"lma without lme 32", flat32, func(c *VCPUContext) { c.Regs32.EFER = EFERLMA }, false},
		{"compat mode lme", flat32, func(c *VCPUContext) { c.Regs32.EFER = EFERLME }, true},
		{"nx 32", flat32, func(c *VCPUContext) { c.Regs32.EFER = EFERNXE }, true},
		{"bad cr4 32", flat32, func(c *VCPUContext) { c.Regs32.CR4 = 1 << 13 }, false},
		{"unknown efer 32", flat32, func(c *VCPUContext) { c.Regs32.EFER = 1 << 1 }, false},
		{"non-canonical rip", long64, func(c *VCPUContext) { c.Regs64.RIP = 0x0000800000000000 }, false},
		{"canonical top", long64, func(c *VCPUContext) { c.Regs64.RIP = 0x00007fffffffffff }, true},
		{"no paging", long64, func(c *VCPUContext) { c.Regs64.CR0 = 0x11 }, false},
		{"no pae", long64, func(c *VCPUContext) { c.Regs64.CR4 = 0 }, false},
		{"no lme", long64, func(c *VCPUContext) { c.Regs64.EFER = EFERNXE }, false},
		{"la57 rejected", long64, func(c *VCPUContext) { c.Regs64.CR4 |= 1 << 12 }, false},
		{"svme rejected", long64, func(c *VCPUContext) { c.Regs64.EFER |= EFERSVME }, false},
		{"ffxse without feature", long64, func(c *VCPUContext) { c.Regs64.EFER |= EFERFFXSE }, false},
		{"efer unknown bit", long64, func(c *VCPUContext) { c.Regs64.EFER |= 1 << 40 }, false},
		{"sce ok", long64, func(c *VCPUContext) { c.Regs64.EFER |= EFERSCE }, true},
		{"cr4 osxsave ok", long64, func(c *VCPUContext) { c.Regs64.CR4 |= CR4OSXSAVE | CR4OSFXSR }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.base()
			if tt.mod != nil {
				tt.mod(&c)
			}
			// Go through the wire form so decoding is covered too.
			d, err := DecodeVCPUContext(encodeContext(c))
			if err != nil {
				t.Fatal(err)
			}
			err = d.Validate(DefaultCPUPolicy)
			if (err == nil) != tt.valid {
				t.Fatalf("Validate = %v, want valid=%v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, ErrInvalidContext) {
				t.Errorf("error %v does not wrap ErrInvalidContext", err)
			}
		})
	}
}

func TestVCPUContextPolicy(t *testing.T) {
	c := long64()
	c.Regs64.EFER |= EFERFFXSE
	if err := c.Validate(CPUPolicy{CR4Valid: DefaultCPUPolicy.CR4Valid, EFERValid: DefaultCPUPolicy.EFERValid | EFERFFXSE}); err != nil {
		t.Errorf("FFXSE with the feature: %v", err)
	}
	c = long64()
	if err := c.Validate(CPUPolicy{CR4Valid: DefaultCPUPolicy.CR4Valid, EFERValid: EFERNXE}); err == nil {
		t.Error("long mode accepted without the lm feature")
	}
}

func TestVCPUContextState(t *testing.T) {
	s := long64()
	st := s.State()
	want64 := VCPUState{
		RAX: 1, RCX: 2, RDX: 3, RBX: 4, RSP: 0xffff800000008000, RBP: 6, RSI: 7, RDI: 8,
		RIP: 0xffffffff81000000, RFLAGS: 0x2, CR0: 0x80000011, CR3: 0x5000, CR4: CR4PAE,
		EFER: EFERLME | EFERLMA | EFERNXE,
		CS:   Segment{Attr: 0xa9b, Limit: 0xffffffff},
		DS:   Segment{Attr: 0xc93, Limit: 0xffffffff},
		SS:   Segment{Attr: 0xc93, Limit: 0xffffffff},
		ES:   Segment{Attr: 0xc93, Limit: 0xffffffff},
		TR:   Segment{Attr: 0x8b, Limit: 0x67},
	}
	if st != want64 {
		t.Errorf("64-bit state = %+v\nwant %+v", st, want64)
	}
	if !st.CS.L() || st.CS.DB() || !st.CS.G() || !st.CS.Present() || st.CS.DPL() != 0 || st.CS.Type() != 0xb || !st.CS.S() {
		t.Errorf("cs attribute accessors wrong for %#x", st.CS.Attr)
	}
	if st.TR.S() || st.TR.Type() != 11 || st.TR.AVL() {
		t.Errorf("tr attribute accessors wrong for %#x", st.TR.Attr)
	}

	c := flat32()
	st = c.State()
	want32 := VCPUState{
		RAX: 1, RCX: 2, RDX: 3, RBX: 4, RSP: 0x8000, RBP: 6, RSI: 7, RDI: 8,
		RIP: 0x100000, RFLAGS: 0x3f7fd7, CR0: 0x11, CR3: 0x5000,
		CS: Segment{Attr: 0xc9b, Limit: 0xfffff},
		DS: Segment{Attr: 0xc93, Limit: 0xfffff},
		SS: Segment{Attr: 0xc93, Limit: 0xfffff},
		ES: Segment{Attr: 0xc93, Limit: 0xfffff},
		TR: Segment{Attr: 0x8b, Limit: 0x67, Base: 0x3000},
	}
	if st != want32 {
		t.Errorf("32-bit state = %+v\nwant %+v", st, want32)
	}
	// A non-present data segment does not get the accessed bit.
	c.Regs32.DSAR = 0
	if st := c.State(); st.DS.Attr != 0 {
		t.Errorf("null ds attr = %#x", st.DS.Attr)
	}
}
