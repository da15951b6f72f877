package vm

import (
	"time"

	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// handle answers one exit on the vCPU thread.
func (c *vcpu) handle(e kvm.Exit) {
	switch e.Reason {
	case kvm.ExitIO:
		c.handleIO(e.IO)
	case kvm.ExitX86WRMSR:
		c.handleWRMSR(e.MSR)
	case kvm.ExitX86RDMSR:
		// The hypercall MSR reads as 0; any other unknown MSR raises #GP,
		// as it would on KVM without user-space MSR exits.
		c.kv.CompleteMSR(0, e.MSR.Index != xen.HypercallMSR)
	case kvm.ExitHLT:
		// Only without an in-kernel irqchip; treat as a block.
		c.block()
	case kvm.ExitShutdown:
		c.vm.destroy("triple fault on vCPU %d at rip %#x", c.id, c.kv.SyncReg(kvm.RegRIP))
	case kvm.ExitInternalError:
		c.vm.destroy("KVM internal error on vCPU %d at rip %#x (suberror %d: %s, data %#x)",
			c.id, c.kv.SyncReg(kvm.RegRIP), e.Suberror, internalErrorName(e.Suberror), e.Data)
	case kvm.ExitFailEntry:
		c.vm.destroy("KVM entry failure on vCPU %d (hardware reason %#x)", c.id, e.Data[0])
	case kvm.ExitSystemEvent:
		c.vm.destroy("KVM system event %d on vCPU %d", e.Suberror, c.id)
	case kvm.ExitMMIO:
		c.vm.guestFault("MMIO access outside RAM", "vcpu", c.id, "gpa", e.MMIO.PhysAddr, "write", e.MMIO.IsWrite)
		if !e.MMIO.IsWrite {
			c.kv.CompleteMMIORead([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		}
	default:
		c.vm.destroy("unexpected exit %s on vCPU %d", e, c.id)
	}
}

func internalErrorName(sub uint32) string {
	switch sub {
	case 1:
		return "emulation failure"
	case 2:
		return "simultaneous exceptions"
	case 3:
		return "delivery event error"
	}
	return "unknown"
}

func (c *vcpu) handleIO(io kvm.IOExit) {
	switch {
	case io.Port == xen.HypercallPort && !io.In:
		c.hypercall()
	case io.Port == xen.DoorbellPort && !io.In && io.Size == 4:
		c.doorbellExit()
	case io.Port == xen.RawPort && !io.In:
		// The benchmark floor: nothing to do.
	case io.Port == xen.TestPort && !io.In:
		c.testReport()
		c.kv.SetSyncRAX(0)
	case io.Port == xen.DebugConsolePort && !io.In:
		if data, err := c.kv.IOData(io); err == nil {
			c.vm.consoleWrite(data)
		}
	default:
		c.vm.guestFault("access to unknown port", "vcpu", c.id, "port", io.Port, "in", io.In)
		if io.In {
			if data, err := c.kv.IOData(io); err == nil {
				for i := range data {
					data[i] = 0xff
				}
			}
		}
	}
}

// hypercall decodes the Xen 64-bit register convention from the sync area
// and writes the result to RAX.
func (c *vcpu) hypercall() {
	k := c.kv
	call := xen.Call{Nr: k.SyncReg(kvm.RegRAX) & 0xffffffff, Args: [5]uint64{
		k.SyncReg(kvm.RegRDI), k.SyncReg(kvm.RegRSI), k.SyncReg(kvm.RegRDX),
		k.SyncReg(kvm.RegR10), k.SyncReg(kvm.RegR8)}}
	if hypercallDelay > 0 {
		spinFor(hypercallDelay)
	}
	ret := c.vm.xen.Hypercall(c, call)
	if c.vm.stopping() {
		return
	}
	k.SetSyncRAX(uint64(ret))
}

// handleWRMSR installs the hypercall page when the guest writes its GPA to
// the hypercall MSR; any other MSR write raises #GP.
func (c *vcpu) handleWRMSR(m kvm.MSRExit) {
	if m.Index != xen.HypercallMSR {
		c.kv.CompleteMSR(0, true)
		return
	}
	gpa, ok := xen.ParseHypercallMSR(m.Data)
	if !ok {
		c.kv.CompleteMSR(0, true)
		return
	}
	page, err := c.vm.mem.Slice(mem.GPA(gpa), 4096)
	if err != nil {
		c.vm.guestFault("hypercall page outside RAM", "vcpu", c.id, "gpa", gpa)
		c.kv.CompleteMSR(0, true)
		return
	}
	xen.WriteHypercallPage(page)
	c.kv.CompleteMSR(0, false)
}

// testReport decodes a guestkit test-protocol report (docs/guest-abi.md).
func (c *vcpu) testReport() {
	k := c.kv
	if k.SyncReg(kvm.RegRAX)&0xffffffff != 1 {
		c.vm.guestFault("unknown test-port operation", "vcpu", c.id)
		return
	}
	r := Report{
		Kind: ReportKind(k.SyncReg(kvm.RegRDI)),
		VCPU: c.id,
		Line: k.SyncReg(kvm.RegRDX),
		Time: time.Now(),
	}
	r.File = c.guestString(k.SyncReg(kvm.RegRSI), maxReportFile)
	r.Msg = c.guestString(k.SyncReg(kvm.RegR10), maxReportMsg)
	switch r.Kind {
	case ReportMetric:
		r.Value = k.SyncReg(kvm.RegR8)
	case ReportSeries:
		r.Series = c.guestSeries(k.SyncReg(kvm.RegR8))
	}
	if c.vm.cfg.OnReport != nil {
		c.vm.cfg.OnReport(r)
	}
	if r.Kind == ReportAbort {
		c.vm.destroy("guest test aborted at %s:%d: %s", r.File, r.Line, r.Msg)
	}
}

// guestString reads a NUL-terminated string of at most max bytes; a bad
// address yields "<bad address>".
func (c *vcpu) guestString(gva uint64, max int) string {
	return readGuestString(c.CopyIn, gva, max)
}

// guestSeries reads struct { u64 count; u64 v[count]; }; a bad one is a
// guest fault and yields nil.
func (c *vcpu) guestSeries(gva uint64) []uint64 {
	v, fault := readGuestSeries(c.CopyIn, gva)
	if fault != "" {
		c.vm.guestFault(fault, "vcpu", c.id)
	}
	return v
}
