package xen

// Segment is a segment register as the vCPU is to start with it, in Xen's
// segment_register form.
type Segment struct {
	Selector uint16 // always 0: Xen loads no selectors
	// Attr is the attribute word: bits 0-3 type, 4 s, 5-6 dpl, 7 p, 8 avl,
	// 9 l, 10 db, 11 g.
	Attr  uint16
	Limit uint32 // byte-granular limit as given (g scales it)
	Base  uint64 // linear base
}

// Type returns the descriptor type (attribute bits 0-3).
func (s Segment) Type() uint8 { return uint8(s.Attr & 0xf) }

// S reports a code or data (not system) segment.
func (s Segment) S() bool { return s.Attr&(1<<4) != 0 }

// DPL returns the descriptor privilege level.
func (s Segment) DPL() uint8 { return uint8(s.Attr>>5) & 3 }

// Present reports the present bit.
func (s Segment) Present() bool { return s.Attr&(1<<7) != 0 }

// AVL reports the available-to-software bit.
func (s Segment) AVL() bool { return s.Attr&(1<<8) != 0 }

// L reports a 64-bit code segment.
func (s Segment) L() bool { return s.Attr&(1<<9) != 0 }

// DB reports the default-operand-size / big bit.
func (s Segment) DB() bool { return s.Attr&(1<<10) != 0 }

// G reports 4 KiB limit granularity.
func (s Segment) G() bool { return s.Attr&(1<<11) != 0 }

// segPad reports attribute bits 12-15, which must be zero.
func (s Segment) segPad() uint16 { return s.Attr >> 12 }

// VCPUState is the register state a vCPU starts with after VCPUOP_initialise,
// derived from a valid VCPUContext as arch_set_info_hvm_guest does.
type VCPUState struct {
	RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI uint64  // general registers
	RIP, RFLAGS                            uint64  // RFLAGS reduced to defined bits, bit 1 set
	CR0, CR3, CR4                          uint64  // control registers
	EFER                                   uint64  // LMA set whenever LME is
	CS, DS, SS, ES, TR                     Segment // segment registers
	// All other state (FS, GS, LDTR, GDTR, IDTR, debug registers, MSRs) is
	// the architectural reset state.
}

// seg32 builds a segment from the 32-bit context fields, setting the
// accessed bit of present segments as Xen does.
func seg32(base, limit uint32, ar uint16) Segment {
	s := Segment{Attr: ar, Limit: limit, Base: uint64(base)}
	if s.Present() {
		s.Attr |= 1
	}
	return s
}

// segKind names the register check_segment is checking.
type segKind int

const (
	segCS segKind = iota
	segDS
	segSS
	segES
	segTR
)

// checkSegment mirrors check_segment (xen/arch/x86/hvm/domain.c).
func checkSegment(s Segment, kind segKind) error {
	names := [...]string{"cs", "ds", "ss", "es", "tr"}
	name := names[kind]
	if s.segPad() != 0 {
		return contextError("%s attribute bits 12-15 are not zero", name)
	}
	if s.Attr == 0 {
		if kind != segDS && kind != segES {
			return contextError("null segment attributes for %s", name)
		}
		return nil
	}
	if kind == segTR {
		if s.S() {
			return contextError("code or data segment provided for tr")
		}
		if s.Type() != sysDescTSSBusy {
			return contextError("tr is not a 32-bit tss")
		}
	} else if !s.S() {
		return contextError("system segment provided for %s", name)
	}
	if !s.Present() {
		return contextError("%s not present", name)
	}
	switch kind {
	case segCS:
		if s.Type()&0x8 == 0 {
			return contextError("non-code segment provided for cs")
		}
	case segSS:
		if s.Type()&0x8 != 0 || s.Type()&0x2 == 0 {
			return contextError("non-writeable segment provided for ss")
		}
	case segDS, segES:
		if s.Type()&0x8 != 0 && s.Type()&0x2 == 0 {
			return contextError("non-readable segment provided for %s", name)
		}
	}
	return nil
}

// Validate checks the context as arch_set_info_hvm_guest
// (xen/arch/x86/hvm/domain.c) does, in the same order, and returns an error
// wrapping ErrInvalidContext (-EINVAL to the guest) if Xen would reject it.
func (c *VCPUContext) Validate(p CPUPolicy) error {
	if c.Pad != 0 {
		return contextError("pad is not zero")
	}
	switch c.Mode {
	case VCPUHVMMode32:
		r := &c.Regs32
		if r.Pad1 != 0 || r.Pad2 != [3]uint16{} {
			return contextError("32-bit padding is not zero")
		}
		st := c.State()
		// Xen checks all five segments before reporting.
		var first error
		for _, e := range []error{
			checkSegment(st.CS, segCS), checkSegment(st.DS, segDS),
			checkSegment(st.SS, segSS), checkSegment(st.ES, segES),
			checkSegment(st.TR, segTR),
		} {
			if first == nil {
				first = e
			}
		}
		if first != nil {
			return first
		}
		limit := st.CS.Limit
		if st.CS.G() {
			limit = limit<<12 | 0xfff // 32-bit arithmetic, as in Xen
		}
		if r.EIP > limit {
			return contextError("eip %#x outside cs limit %#x", r.EIP, limit)
		}
		if st.SS.DPL() != st.CS.DPL() {
			return contextError("ss.dpl %d differs from cs.dpl %d", st.SS.DPL(), st.CS.DPL())
		}
		if st.DS.Present() && st.DS.DPL() > st.CS.DPL() {
			return contextError("ds.dpl %d greater than cs.dpl %d", st.DS.DPL(), st.CS.DPL())
		}
		if st.ES.Present() && st.ES.DPL() > st.CS.DPL() {
			return contextError("es.dpl %d greater than cs.dpl %d", st.ES.DPL(), st.CS.DPL())
		}
		if r.EFER&EFERLMA != 0 && r.EFER&EFERLME == 0 {
			return contextError("efer.lma set without efer.lme (%#x)", r.EFER)
		}
	case VCPUHVMMode64:
		r := &c.Regs64
		if int64(r.RIP)>>47 != int64(r.RIP)>>63 {
			return contextError("rip %#x is not canonical", r.RIP)
		}
		if r.CR0&CR0PG == 0 {
			return contextError("cr0 %#x does not enable paging", r.CR0)
		}
		if r.CR4&CR4PAE == 0 {
			return contextError("cr4 %#x does not enable pae", r.CR4)
		}
		if r.EFER&EFERLME == 0 {
			return contextError("efer %#x does not enable long mode", r.EFER)
		}
	default:
		return contextError("unknown mode %d", c.Mode)
	}

	st := c.State()
	if bad := st.CR4 &^ p.CR4Valid; bad != 0 {
		return contextError("cr4 %#x has bits %#x the cpu policy rejects", st.CR4, bad)
	}
	return eferValid(st.EFER, p)
}

// eferValid mirrors hvm_efer_valid with cr0_pg unknown (-1, so treated as
// set).
func eferValid(efer uint64, p CPUPolicy) error {
	if efer&^eferKnownMask != 0 {
		return contextError("efer %#x: unknown bits set", efer)
	}
	if unsupported := efer &^ p.EFERValid &^ EFERLMA; unsupported != 0 {
		return contextError("efer %#x: bits %#x without the cpu feature", efer, unsupported)
	}
	if efer&EFERLMA != 0 {
		if efer&EFERLME == 0 {
			return contextError("efer %#x: lma without lme", efer)
		}
		if p.EFERValid&EFERLME == 0 {
			return contextError("efer %#x: lma without long mode", efer)
		}
	}
	return nil
}

// State returns the register state the vCPU starts with, as
// arch_set_info_hvm_guest loads it: general registers zero-extended, RFLAGS
// reduced to its defined bits with bit 1 set, LMA set whenever LME is, and
// for mode 64 flat 64-bit segments (CS attr 0xa9b, data 0xc93, TR 0x8b with
// limit 0x67). Selectors are 0. The result is meaningful only for a context
// that passes Validate.
func (c *VCPUContext) State() VCPUState {
	var st VCPUState
	switch c.Mode {
	case VCPUHVMMode64:
		r := &c.Regs64
		st = VCPUState{
			RAX: r.RAX, RCX: r.RCX, RDX: r.RDX, RBX: r.RBX,
			RSP: r.RSP, RBP: r.RBP, RSI: r.RSI, RDI: r.RDI,
			RIP: r.RIP, RFLAGS: r.RFLAGS&rflagsAll | rflagsMBS,
			CR0: r.CR0, CR3: r.CR3, CR4: r.CR4, EFER: r.EFER,
			CS: Segment{Attr: 0xa9b, Limit: ^uint32(0)},
			DS: Segment{Attr: 0xc93, Limit: ^uint32(0)},
			SS: Segment{Attr: 0xc93, Limit: ^uint32(0)},
			ES: Segment{Attr: 0xc93, Limit: ^uint32(0)},
			TR: Segment{Attr: 0x8b, Limit: 0x67},
		}
	default:
		r := &c.Regs32
		st = VCPUState{
			RAX: uint64(r.EAX), RCX: uint64(r.ECX), RDX: uint64(r.EDX), RBX: uint64(r.EBX),
			RSP: uint64(r.ESP), RBP: uint64(r.EBP), RSI: uint64(r.ESI), RDI: uint64(r.EDI),
			RIP: uint64(r.EIP), RFLAGS: uint64(r.EFLAGS)&rflagsAll | rflagsMBS,
			CR0: uint64(r.CR0), CR3: uint64(r.CR3), CR4: uint64(r.CR4), EFER: r.EFER,
			CS: seg32(r.CSBase, r.CSLimit, r.CSAR),
			DS: seg32(r.DSBase, r.DSLimit, r.DSAR),
			SS: seg32(r.SSBase, r.SSLimit, r.SSAR),
			ES: seg32(r.ESBase, r.ESLimit, r.ESAR),
			// TR gets the busy bit (type 9 -> 11) and is not touched otherwise.
			TR: Segment{Attr: r.TRAR | 2, Limit: r.TRLimit, Base: uint64(r.TRBase)},
		}
	}
	if st.EFER&EFERLME != 0 {
		st.EFER |= EFERLMA
	}
	return st
}
