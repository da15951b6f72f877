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
'probe' guest, which runs the same compute loop at CPL0 and at CPL3, and reads
KVM's binary statistics (insn_emulation) around each loop.
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
	iters := fs.Int("iterations", 20_000_000, "iterations of the CPL3 loop (the CPL0 loop runs a thousandth)")
	if err := parseFlags(fs, args, probeUsage, stdout); err != nil {
		return err
	}
	if *iters < 1000 {
		return usagef("probe: --iterations must be at least 1000")
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
	fmt.Fprintf(stdout, "\nGuest execution (embedded 'probe' guest: the same loop at CPL0 and CPL3)\n")
	img, err := guestkit.Program("probe")
	if err != nil {
		return err
	}
	var m *vm.VM
	marks := map[string]map[string]uint64{}
	at := map[string]time.Time{}
	m, err = vm.New(sys, vm.Config{
		Name: "probe", MemBytes: 16 << 20, VCPUs: 1, Kernel: img, Cmdline: fmt.Sprintf("probe %d", *iters),
		OnReport: func(r vm.Report) {
			if r.Kind == vm.ReportMark {
				marks[r.Msg], _ = m.VCPUStats(0)
				at[r.Msg] = r.Time
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
	for _, k := range []string{"cpl0_start", "cpl0_end", "cpl3_end"} {
		if marks[k] == nil {
			return fmt.Errorf("probe guest did not report %s (%s); KVM binary statistics unavailable?", k, res)
		}
	}
	// Each mark is itself one exit, which this host also counts as one
	// emulation; the loops are what remains.
	emu0 := marks["cpl0_end"]["insn_emulation"] - marks["cpl0_start"]["insn_emulation"]
	emu3 := marks["cpl3_end"]["insn_emulation"] - marks["cpl0_end"]["insn_emulation"]
	n0, n3 := uint64(*iters)/1000, uint64(*iters)
	verdict := func(emu, n uint64) string {
		if emu > n {
			return fmt.Sprintf("EMULATED (%.1f emulated instructions per iteration)", float64(emu)/float64(n))
		}
		return "natively"
	}
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  CPL0 (guest kernel), %d iterations\t%s\tinsn_emulation +%d in %s\n", n0, verdict(emu0, n0), emu0,
		at["cpl0_end"].Sub(at["cpl0_start"]).Round(time.Microsecond))
	fmt.Fprintf(tw, "  CPL3 (guest user), %d iterations\t%s\tinsn_emulation +%d in %s\n", n3, verdict(emu3, n3), emu3,
		at["cpl3_end"].Sub(at["cpl0_end"]).Round(time.Microsecond))
	tw.Flush()
	if emu0 > n0 {
		fmt.Fprintf(stdout, "\nThis host runs guest kernel code in KVM's instruction emulator: guestkit keeps hot paths at CPL3.\n")
	}
	return nil
}
