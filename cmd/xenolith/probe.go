package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
)

const probeUsage = `Usage: xenolith probe [flags]

Print this host's KVM capabilities, what each one enables in Xenolith, and
whether guest code at CPL0 (guest kernel) and CPL3 (guest user mode) runs
natively or in KVM's instruction emulator. The last part boots the embedded
'spin' guest and reads KVM's binary statistics (insn_emulation) while its
CPL0 boot code and its CPL3 loop run.
`

var probeCaps = []struct {
	cap  kvm.Cap
	what string
}{
	{kvm.CapUserMemory, "guest RAM (required)"},
	{kvm.CapIRQChip, "in-kernel LAPIC/IOAPIC (required)"},
	{kvm.CapIOEventFD, "in-kernel doorbells for event channels (required)"},
	{kvm.CapIRQFD, "upcalls injected without stopping vCPU threads (required)"},
	{kvm.CapSignalMSI, "MSI upcall injection (required)"},
	{kvm.CapImmediateExit, "kicking a running vCPU (required)"},
	{kvm.CapSyncRegs, "hypercall registers without extra ioctls (required)"},
	{kvm.CapX86UserSpaceMSR, "Xen hypercall-page MSR in user space (required)"},
	{kvm.CapExtCPUID, "Xen CPUID leaves (required)"},
	{kvm.CapXenHVM, "KVM's Xen intercept (optional faster path; unused)"},
	{kvm.CapBinaryStatsFD, "per-vCPU exit and emulation counters"},
	{kvm.CapIRQRouting, "MSI routes for irqfd"},
	{kvm.CapHaltPoll, "halt polling control"},
	{kvm.CapTSCControl, "setting the guest TSC frequency"},
	{kvm.CapMaxVCPUs, "largest vCPU count per VM"},
	{kvm.CapNrMemslots, "memory slots per VM"},
}

func cmdProbe(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("probe", probeUsage, stdout)
	iters := fs.Int("iterations", 20_000_000, "iterations of the CPL3 spin loop")
	if err := parseFlags(fs, args, probeUsage, stdout); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("probe: unexpected argument %q", fs.Arg(0))
	}
	sys, err := kvm.Open()
	if err != nil {
		return err
	}
	defer sys.Close()
	fmt.Fprintf(stdout, "KVM capabilities\n")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, c := range probeCaps {
		v := sys.CheckExtension(c.cap)
		state := "no"
		if v > 0 {
			state = fmt.Sprintf("yes (%d)", v)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.cap, state, c.what)
	}
	tw.Flush()
	if err := sys.Require(kvm.MonitorRequirements); err != nil {
		fmt.Fprintf(stdout, "\nXenolith cannot run guests here: %v\n", err)
		return &exitError{1}
	}
	fmt.Fprintf(stdout, "\nGuest execution (embedded 'spin' guest, %d CPL3 iterations)\n", *iters)
	img, err := guestkit.Program("spin")
	if err != nil {
		return err
	}
	var m *vm.VM
	var atMain, atEnd map[string]uint64
	var tMain, tEnd time.Time
	m, err = vm.New(sys, vm.Config{
		Name: "probe", MemBytes: 16 << 20, VCPUs: 1, Kernel: img, Cmdline: fmt.Sprintf("spin %d", *iters),
		OnReport: func(r vm.Report) {
			switch {
			case r.Kind == vm.ReportMark && r.Msg == "main":
				atMain, _ = m.VCPUStats(0)
				tMain = time.Now()
			case r.Kind == vm.ReportMetric && r.Msg == "spin_cycles":
				atEnd, _ = m.VCPUStats(0)
				tEnd = time.Now()
			}
		},
	})
	if err != nil {
		return err
	}
	defer m.Close()
	ctx, cancel := contextWithTimeout(2 * time.Minute)
	defer cancel()
	res, err := m.Run(ctx)
	if err != nil {
		return err
	}
	if atMain == nil || atEnd == nil {
		return fmt.Errorf("probe guest did not report (%s); KVM binary statistics unavailable?", res)
	}
	boot := atMain["insn_emulation"]
	loop := atEnd["insn_emulation"] - atMain["insn_emulation"]
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	cpl0 := "natively"
	if boot > 100 {
		cpl0 = "EMULATED, about one KVM instruction emulation per guest instruction"
	}
	cpl3 := "natively"
	if loop > uint64(*iters)/10 {
		cpl3 = "EMULATED"
	}
	fmt.Fprintf(tw, "  CPL0 boot code (creation to main)\t%s\tinsn_emulation %d, %s\n", cpl0, boot, tMain.Sub(m.Created()).Round(time.Microsecond))
	fmt.Fprintf(tw, "  CPL3 loop (%d iterations)\t%s\tinsn_emulation %d, %s\n", *iters, cpl3, loop, tEnd.Sub(tMain).Round(time.Microsecond))
	tw.Flush()
	if boot > 100 {
		fmt.Fprintf(stdout, "\nThis host runs guest kernel code in KVM's emulator: guestkit keeps hot paths at CPL3.\n")
	}
	return nil
}
