package vm

import (
	"fmt"

	"github.com/xenolith/xenolith/hv/boot"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/xen"
)

// Flat segments for the PVH entry state (xen/include/public/arch-x86/hvm/start_info.h,
// docs/misc/pvh.pandoc): 32-bit protected mode, paging off.
var (
	flatCode32 = kvm.Segment{Limit: 0xffffffff, Selector: 0x08, Type: 11, Present: 1, DB: 1, S: 1, G: 1}
	flatData32 = kvm.Segment{Limit: 0xffffffff, Selector: 0x10, Type: 3, Present: 1, DB: 1, S: 1, G: 1}
	flatCode64 = kvm.Segment{Limit: 0xffffffff, Selector: 0x08, Type: 11, Present: 1, L: 1, S: 1, G: 1}
	busyTSS    = kvm.Segment{Limit: 0x67, Selector: 0x18, Type: 11, Present: 1}
	nullLDT    = kvm.Segment{Type: 2, Present: 1, Limit: 0xffff}
)

// setPVHEntry puts the boot vCPU in the PVH entry state.
func (c *vcpu) setPVHEntry(img *boot.Image) error {
	s, err := c.kv.GetSregs()
	if err != nil {
		return err
	}
	s.CS = flatCode32
	s.DS, s.ES, s.FS, s.GS, s.SS = flatData32, flatData32, flatData32, flatData32, flatData32
	s.TR, s.LDT = busyTSS, nullLDT
	s.CR0 = 0x11 // PE | ET
	s.CR3, s.CR4, s.EFER = 0, 0, 0
	s.GDT, s.IDT = kvm.DTable{}, kvm.DTable{}
	if err := c.kv.SetSregs(s); err != nil {
		return err
	}
	return c.kv.SetRegs(kvm.Regs{RIP: uint64(img.Entry), RBX: img.StartInfo, RFLAGS: 2})
}

// applyContext loads a VCPUOP_initialise context (xen/include/public/hvm/hvm_vcpu.h)
// on the vCPU's own thread and makes the vCPU runnable.
func (c *vcpu) applyContext(ctx *xen.VCPUContext) error {
	s, err := c.kv.GetSregs()
	if err != nil {
		return err
	}
	var r kvm.Regs
	switch ctx.Mode {
	case xen.VCPUHVMMode64:
		g := ctx.Regs64
		s.CS = flatCode64
		s.DS, s.ES, s.FS, s.GS, s.SS = flatData32, flatData32, flatData32, flatData32, flatData32
		s.TR, s.LDT = busyTSS, nullLDT
		s.CR0, s.CR3, s.CR4, s.EFER = g.CR0, g.CR3, g.CR4, g.EFER
		if s.EFER&(1<<8) != 0 && s.CR0&(1<<31) != 0 {
			s.EFER |= 1 << 10 // LMA follows LME and PG
		}
		r = kvm.Regs{RAX: g.RAX, RCX: g.RCX, RDX: g.RDX, RBX: g.RBX, RSP: g.RSP, RBP: g.RBP,
			RSI: g.RSI, RDI: g.RDI, RIP: g.RIP, RFLAGS: g.RFLAGS | 2}
	case xen.VCPUHVMMode32:
		g := ctx.Regs32
		s.CS = seg32(g.CSBase, g.CSLimit, g.CSAR, 0x08)
		s.DS = seg32(g.DSBase, g.DSLimit, g.DSAR, 0x10)
		s.SS = seg32(g.SSBase, g.SSLimit, g.SSAR, 0x10)
		s.ES = seg32(g.ESBase, g.ESLimit, g.ESAR, 0x10)
		s.FS, s.GS = s.DS, s.DS
		s.TR = seg32(g.TRBase, g.TRLimit, g.TRAR, 0x18)
		s.LDT = nullLDT
		s.CR0, s.CR3, s.CR4, s.EFER = uint64(g.CR0), uint64(g.CR3), uint64(g.CR4), g.EFER
		r = kvm.Regs{RAX: uint64(g.EAX), RCX: uint64(g.ECX), RDX: uint64(g.EDX), RBX: uint64(g.EBX),
			RSP: uint64(g.ESP), RBP: uint64(g.EBP), RSI: uint64(g.ESI), RDI: uint64(g.EDI),
			RIP: uint64(g.EIP), RFLAGS: uint64(g.EFLAGS) | 2}
	default:
		return fmt.Errorf("vm: vCPU %d: unsupported context mode %d", c.id, ctx.Mode)
	}
	s.GDT, s.IDT = kvm.DTable{}, kvm.DTable{}
	if err := c.kv.SetSregs(s); err != nil {
		return err
	}
	if err := c.kv.SetRegs(r); err != nil {
		return err
	}
	// With an in-kernel irqchip, application processors wait for SIPI.
	return c.kv.SetMPState(kvm.MPStateRunnable)
}

// seg32 builds a segment from Xen's compressed access-rights encoding
// (bits 0-3 type, 4 S, 5-6 DPL, 7 P, 8 AVL, 9 L, 10 D/B, 11 G).
func seg32(base, limit uint32, ar uint16, sel uint16) kvm.Segment {
	return kvm.Segment{
		Base: uint64(base), Limit: limit, Selector: sel,
		Type: uint8(ar & 0xf), S: uint8(ar>>4) & 1, DPL: uint8(ar>>5) & 3, Present: uint8(ar>>7) & 1,
		AVL: uint8(ar>>8) & 1, L: uint8(ar>>9) & 1, DB: uint8(ar>>10) & 1, G: uint8(ar>>11) & 1,
		Unusable: uint8(^ar>>7) & 1,
	}
}
