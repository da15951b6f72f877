package vm

import (
	"github.com/xenolith/xenolith/hv/boot"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/xen"
)

// Flat segments for the PVH entry state (xen/include/public/arch-x86/hvm/start_info.h,
// docs/misc/pvh.pandoc): 32-bit protected mode, paging off.
var (
	flatCode32 = kvm.Segment{Limit: 0xffffffff, Selector: 0x08, Type: 11, Present: 1, DB: 1, S: 1, G: 1}
	flatData32 = kvm.Segment{Limit: 0xffffffff, Selector: 0x10, Type: 3, Present: 1, DB: 1, S: 1, G: 1}
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

// applyContext loads a VCPUOP_initialise context (xen/include/public/hvm/hvm_vcpu.h),
// already validated by hv/xen, on the vCPU's own thread and makes the vCPU
// runnable. The register state is the one arch_set_info_hvm_guest derives.
func (c *vcpu) applyContext(ctx *xen.VCPUContext) error {
	st := ctx.State()
	s, err := c.kv.GetSregs()
	if err != nil {
		return err
	}
	s.CS, s.DS, s.SS, s.ES, s.TR = xenSeg(st.CS), xenSeg(st.DS), xenSeg(st.SS), xenSeg(st.ES), xenSeg(st.TR)
	s.FS, s.GS = s.DS, s.DS
	s.LDT = nullLDT
	s.CR0, s.CR3, s.CR4, s.EFER = st.CR0, st.CR3, st.CR4, st.EFER
	s.GDT, s.IDT = kvm.DTable{}, kvm.DTable{}
	if err := c.kv.SetSregs(s); err != nil {
		return err
	}
	r := kvm.Regs{RAX: st.RAX, RCX: st.RCX, RDX: st.RDX, RBX: st.RBX, RSP: st.RSP, RBP: st.RBP,
		RSI: st.RSI, RDI: st.RDI, RIP: st.RIP, RFLAGS: st.RFLAGS}
	if err := c.kv.SetRegs(r); err != nil {
		return err
	}
	// With an in-kernel irqchip, application processors wait for SIPI.
	return c.kv.SetMPState(kvm.MPStateRunnable)
}

// xenSeg converts Xen's segment_register form to KVM's.
func xenSeg(x xen.Segment) kvm.Segment {
	s := kvm.Segment{Base: x.Base, Limit: x.Limit, Selector: x.Selector, Type: x.Type(), DPL: x.DPL()}
	b := func(v bool) uint8 {
		if v {
			return 1
		}
		return 0
	}
	s.S, s.Present, s.AVL, s.L, s.DB, s.G = b(x.S()), b(x.Present()), b(x.AVL()), b(x.L()), b(x.DB()), b(x.G())
	s.Unusable = 1 - s.Present
	return s
}
