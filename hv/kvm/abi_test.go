package kvm

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// abiProbe prints, for each name, the value <linux/kvm.h> gives it.
const abiProbe = `#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>
#define P(n, v) printf("%s %llu\n", n, (unsigned long long)(v))
int main(void) {
P("KVM_GET_API_VERSION", KVM_GET_API_VERSION); P("KVM_CREATE_VM", KVM_CREATE_VM);
P("KVM_CHECK_EXTENSION", KVM_CHECK_EXTENSION); P("KVM_GET_VCPU_MMAP_SIZE", KVM_GET_VCPU_MMAP_SIZE);
P("KVM_GET_SUPPORTED_CPUID", KVM_GET_SUPPORTED_CPUID); P("KVM_CREATE_VCPU", KVM_CREATE_VCPU);
P("KVM_SET_USER_MEMORY_REGION", KVM_SET_USER_MEMORY_REGION); P("KVM_SET_TSS_ADDR", KVM_SET_TSS_ADDR);
P("KVM_SET_IDENTITY_MAP_ADDR", KVM_SET_IDENTITY_MAP_ADDR); P("KVM_CREATE_IRQCHIP", KVM_CREATE_IRQCHIP);
P("KVM_IRQ_LINE", KVM_IRQ_LINE); P("KVM_SET_GSI_ROUTING", KVM_SET_GSI_ROUTING); P("KVM_IRQFD", KVM_IRQFD);
P("KVM_IOEVENTFD", KVM_IOEVENTFD); P("KVM_SET_CLOCK", KVM_SET_CLOCK); P("KVM_GET_CLOCK", KVM_GET_CLOCK);
P("KVM_RUN", KVM_RUN); P("KVM_GET_REGS", KVM_GET_REGS); P("KVM_SET_REGS", KVM_SET_REGS);
P("KVM_GET_SREGS", KVM_GET_SREGS); P("KVM_SET_SREGS", KVM_SET_SREGS); P("KVM_TRANSLATE", KVM_TRANSLATE);
P("KVM_GET_MSRS", KVM_GET_MSRS); P("KVM_SET_MSRS", KVM_SET_MSRS); P("KVM_SET_CPUID2", KVM_SET_CPUID2);
P("KVM_GET_MP_STATE", KVM_GET_MP_STATE); P("KVM_SET_MP_STATE", KVM_SET_MP_STATE);
P("KVM_ENABLE_CAP", KVM_ENABLE_CAP); P("KVM_GET_TSC_KHZ", KVM_GET_TSC_KHZ); P("KVM_SIGNAL_MSI", KVM_SIGNAL_MSI);
P("KVM_GET_STATS_FD", KVM_GET_STATS_FD);
P("sizeof kvm_regs", sizeof(struct kvm_regs)); P("sizeof kvm_sregs", sizeof(struct kvm_sregs));
P("sizeof kvm_segment", sizeof(struct kvm_segment)); P("sizeof kvm_dtable", sizeof(struct kvm_dtable));
P("sizeof kvm_userspace_memory_region", sizeof(struct kvm_userspace_memory_region));
P("sizeof kvm_cpuid2", sizeof(struct kvm_cpuid2)); P("sizeof kvm_cpuid_entry2", sizeof(struct kvm_cpuid_entry2));
P("sizeof kvm_enable_cap", sizeof(struct kvm_enable_cap)); P("sizeof kvm_ioeventfd", sizeof(struct kvm_ioeventfd));
P("sizeof kvm_irqfd", sizeof(struct kvm_irqfd)); P("sizeof kvm_msi", sizeof(struct kvm_msi));
P("sizeof kvm_irq_level", sizeof(struct kvm_irq_level)); P("sizeof kvm_irq_routing", sizeof(struct kvm_irq_routing));
P("sizeof kvm_irq_routing_entry", sizeof(struct kvm_irq_routing_entry)); P("sizeof kvm_mp_state", sizeof(struct kvm_mp_state));
P("sizeof kvm_msrs", sizeof(struct kvm_msrs)); P("sizeof kvm_msr_entry", sizeof(struct kvm_msr_entry));
P("sizeof kvm_translation", sizeof(struct kvm_translation)); P("sizeof kvm_clock_data", sizeof(struct kvm_clock_data));
P("sizeof kvm_stats_header", sizeof(struct kvm_stats_header)); P("sizeof kvm_stats_desc", sizeof(struct kvm_stats_desc));
P("offsetof kvm_run.immediate_exit", offsetof(struct kvm_run, immediate_exit));
P("offsetof kvm_run.exit_reason", offsetof(struct kvm_run, exit_reason));
P("offsetof kvm_run.ready_for_interrupt_injection", offsetof(struct kvm_run, ready_for_interrupt_injection));
P("offsetof kvm_run.if_flag", offsetof(struct kvm_run, if_flag));
P("offsetof kvm_run.io", offsetof(struct kvm_run, io));
P("offsetof kvm_run.io.port", offsetof(struct kvm_run, io.port));
P("offsetof kvm_run.io.data_offset", offsetof(struct kvm_run, io.data_offset));
P("offsetof kvm_run.msr.reason", offsetof(struct kvm_run, msr.reason));
P("offsetof kvm_run.msr.index", offsetof(struct kvm_run, msr.index));
P("offsetof kvm_run.msr.data", offsetof(struct kvm_run, msr.data));
P("offsetof kvm_run.mmio.len", offsetof(struct kvm_run, mmio.len));
P("offsetof kvm_run.internal.data", offsetof(struct kvm_run, internal.data));
P("offsetof kvm_run.kvm_valid_regs", offsetof(struct kvm_run, kvm_valid_regs));
P("offsetof kvm_run.kvm_dirty_regs", offsetof(struct kvm_run, kvm_dirty_regs));
P("offsetof kvm_run.s.regs.regs", offsetof(struct kvm_run, s.regs.regs));
P("offsetof kvm_run.s.regs.sregs", offsetof(struct kvm_run, s.regs.sregs));
P("offsetof kvm_sregs.cr0", offsetof(struct kvm_sregs, cr0));
P("offsetof kvm_sregs.interrupt_bitmap", offsetof(struct kvm_sregs, interrupt_bitmap));
P("KVM_EXIT_IO", KVM_EXIT_IO); P("KVM_EXIT_HLT", KVM_EXIT_HLT); P("KVM_EXIT_MMIO", KVM_EXIT_MMIO);
P("KVM_EXIT_SHUTDOWN", KVM_EXIT_SHUTDOWN); P("KVM_EXIT_FAIL_ENTRY", KVM_EXIT_FAIL_ENTRY);
P("KVM_EXIT_INTERNAL_ERROR", KVM_EXIT_INTERNAL_ERROR); P("KVM_EXIT_SYSTEM_EVENT", KVM_EXIT_SYSTEM_EVENT);
P("KVM_EXIT_X86_RDMSR", KVM_EXIT_X86_RDMSR); P("KVM_EXIT_X86_WRMSR", KVM_EXIT_X86_WRMSR);
P("KVM_EXIT_XEN", KVM_EXIT_XEN); P("KVM_EXIT_INTR", KVM_EXIT_INTR);
P("KVM_CAP_IRQCHIP", KVM_CAP_IRQCHIP); P("KVM_CAP_IOEVENTFD", KVM_CAP_IOEVENTFD); P("KVM_CAP_IRQFD", KVM_CAP_IRQFD);
P("KVM_CAP_IMMEDIATE_EXIT", KVM_CAP_IMMEDIATE_EXIT); P("KVM_CAP_SYNC_REGS", KVM_CAP_SYNC_REGS);
P("KVM_CAP_X86_USER_SPACE_MSR", KVM_CAP_X86_USER_SPACE_MSR); P("KVM_CAP_SIGNAL_MSI", KVM_CAP_SIGNAL_MSI);
P("KVM_CAP_BINARY_STATS_FD", KVM_CAP_BINARY_STATS_FD); P("KVM_CAP_XEN_HVM", KVM_CAP_XEN_HVM);
P("KVM_SYNC_X86_REGS", KVM_SYNC_X86_REGS); P("KVM_SYNC_X86_SREGS", KVM_SYNC_X86_SREGS);
P("KVM_MSR_EXIT_REASON_UNKNOWN", KVM_MSR_EXIT_REASON_UNKNOWN); P("KVM_IOEVENTFD_FLAG_PIO", KVM_IOEVENTFD_FLAG_PIO);
P("KVM_MP_STATE_RUNNABLE", KVM_MP_STATE_RUNNABLE); P("KVM_MP_STATE_HALTED", KVM_MP_STATE_HALTED);
return 0; }
`

// goABI is what this package uses for the same names.
var goABI = map[string]uint64{
	"KVM_GET_API_VERSION": uint64(ioctlGetAPIVersion), "KVM_CREATE_VM": uint64(ioctlCreateVM),
	"KVM_CHECK_EXTENSION": uint64(ioctlCheckExtension), "KVM_GET_VCPU_MMAP_SIZE": uint64(ioctlGetVCPUMmapSize),
	"KVM_GET_SUPPORTED_CPUID": uint64(ioctlGetSupportedCPUID), "KVM_CREATE_VCPU": uint64(ioctlCreateVCPU),
	"KVM_SET_USER_MEMORY_REGION": uint64(ioctlSetUserMemoryRegion), "KVM_SET_TSS_ADDR": uint64(ioctlSetTSSAddr),
	"KVM_SET_IDENTITY_MAP_ADDR": uint64(ioctlSetIdentityMapAddr), "KVM_CREATE_IRQCHIP": uint64(ioctlCreateIRQChip),
	"KVM_IRQ_LINE": uint64(ioctlIRQLine), "KVM_SET_GSI_ROUTING": uint64(ioctlSetGSIRouting), "KVM_IRQFD": uint64(ioctlIRQFD),
	"KVM_IOEVENTFD": uint64(ioctlIOEventFD), "KVM_SET_CLOCK": uint64(ioctlSetClock), "KVM_GET_CLOCK": uint64(ioctlGetClock),
	"KVM_RUN": uint64(ioctlRun), "KVM_GET_REGS": uint64(ioctlGetRegs), "KVM_SET_REGS": uint64(ioctlSetRegs),
	"KVM_GET_SREGS": uint64(ioctlGetSregs), "KVM_SET_SREGS": uint64(ioctlSetSregs), "KVM_TRANSLATE": uint64(ioctlTranslate),
	"KVM_GET_MSRS": uint64(ioctlGetMSRs), "KVM_SET_MSRS": uint64(ioctlSetMSRs), "KVM_SET_CPUID2": uint64(ioctlSetCPUID2),
	"KVM_GET_MP_STATE": uint64(ioctlGetMPState), "KVM_SET_MP_STATE": uint64(ioctlSetMPState),
	"KVM_ENABLE_CAP": uint64(ioctlEnableCap), "KVM_GET_TSC_KHZ": uint64(ioctlGetTSCKHz), "KVM_SIGNAL_MSI": uint64(ioctlSignalMSI),
	"KVM_GET_STATS_FD": uint64(ioctlGetStatsFD),
	"sizeof kvm_regs":  sizeofRegs, "sizeof kvm_sregs": sizeofSregs, "sizeof kvm_segment": sizeofSegment,
	"sizeof kvm_dtable": sizeofDTable, "sizeof kvm_userspace_memory_region": sizeofUserspaceMemRegion,
	"sizeof kvm_cpuid2": sizeofCPUID2Header, "sizeof kvm_cpuid_entry2": sizeofCPUIDEntry2,
	"sizeof kvm_enable_cap": sizeofEnableCap, "sizeof kvm_ioeventfd": sizeofIOEventFD, "sizeof kvm_irqfd": sizeofIRQFD,
	"sizeof kvm_msi": sizeofMSI, "sizeof kvm_irq_level": sizeofIRQLevel, "sizeof kvm_irq_routing": sizeofIRQRoutingHeader,
	"sizeof kvm_irq_routing_entry": sizeofIRQRoutingEntry, "sizeof kvm_mp_state": sizeofMPState,
	"sizeof kvm_msrs": sizeofMSRsHeader, "sizeof kvm_msr_entry": sizeofMSREntry, "sizeof kvm_translation": sizeofTranslation,
	"sizeof kvm_clock_data": sizeofClockData, "sizeof kvm_stats_header": sizeofStatsHeader,
	"sizeof kvm_stats_desc":           sizeofStatsDescHeader,
	"offsetof kvm_run.immediate_exit": runOffImmediateExit, "offsetof kvm_run.exit_reason": runOffExitReason,
	"offsetof kvm_run.ready_for_interrupt_injection": runOffReadyForIRQ, "offsetof kvm_run.if_flag": runOffIFFlag,
	"offsetof kvm_run.io": runOffExit, "offsetof kvm_run.io.port": runOffExit + 2,
	"offsetof kvm_run.io.data_offset": runOffExit + 8, "offsetof kvm_run.msr.reason": runOffExit + 8,
	"offsetof kvm_run.msr.index": runOffExit + 12, "offsetof kvm_run.msr.data": runOffExit + 16,
	"offsetof kvm_run.mmio.len": runOffExit + 16, "offsetof kvm_run.internal.data": runOffExit + 8,
	"offsetof kvm_run.kvm_valid_regs": runOffValidRegs, "offsetof kvm_run.kvm_dirty_regs": runOffDirtyRegs,
	"offsetof kvm_run.s.regs.regs": runOffSyncRegs, "offsetof kvm_run.s.regs.sregs": runOffSyncSregs,
	"offsetof kvm_sregs.cr0": 8*sizeofSegment + 2*sizeofDTable, "offsetof kvm_sregs.interrupt_bitmap": 8*sizeofSegment + 2*sizeofDTable + 56,
	"KVM_EXIT_IO": uint64(ExitIO), "KVM_EXIT_HLT": uint64(ExitHLT), "KVM_EXIT_MMIO": uint64(ExitMMIO),
	"KVM_EXIT_SHUTDOWN": uint64(ExitShutdown), "KVM_EXIT_FAIL_ENTRY": uint64(ExitFailEntry),
	"KVM_EXIT_INTERNAL_ERROR": uint64(ExitInternalError), "KVM_EXIT_SYSTEM_EVENT": uint64(ExitSystemEvent),
	"KVM_EXIT_X86_RDMSR": uint64(ExitX86RDMSR), "KVM_EXIT_X86_WRMSR": uint64(ExitX86WRMSR),
	"KVM_EXIT_XEN": uint64(ExitXen), "KVM_EXIT_INTR": uint64(ExitIntr),
	"KVM_CAP_IRQCHIP": uint64(CapIRQChip), "KVM_CAP_IOEVENTFD": uint64(CapIOEventFD), "KVM_CAP_IRQFD": uint64(CapIRQFD),
	"KVM_CAP_IMMEDIATE_EXIT": uint64(CapImmediateExit), "KVM_CAP_SYNC_REGS": uint64(CapSyncRegs),
	"KVM_CAP_X86_USER_SPACE_MSR": uint64(CapX86UserSpaceMSR), "KVM_CAP_SIGNAL_MSI": uint64(CapSignalMSI),
	"KVM_CAP_BINARY_STATS_FD": uint64(CapBinaryStatsFD), "KVM_CAP_XEN_HVM": uint64(CapXenHVM),
	"KVM_SYNC_X86_REGS": SyncRegs, "KVM_SYNC_X86_SREGS": SyncSregs,
	"KVM_MSR_EXIT_REASON_UNKNOWN": MSRExitUnknown, "KVM_IOEVENTFD_FLAG_PIO": IOEventFDPIO,
	"KVM_MP_STATE_RUNNABLE": MPStateRunnable, "KVM_MP_STATE_HALTED": MPStateHalted,
}

// TestABIAgainstKernelHeaders compiles a C program against <linux/kvm.h>
// and checks every ioctl number, struct size and offset used here.
func TestABIAgainstKernelHeaders(t *testing.T) {
	if _, err := os.Stat("/usr/include/linux/kvm.h"); err != nil {
		t.Skip("skipping: /usr/include/linux/kvm.h not installed (package linux-libc-dev)")
	}
	cc, err := exec.LookPath("gcc")
	if err != nil {
		t.Skip("skipping: gcc not found")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "probe.c")
	if err := os.WriteFile(src, []byte(abiProbe), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "probe")
	if out, err := exec.Command(cc, "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("compile probe: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatalf("run probe: %v", err)
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		name, val := line[:i], line[i+1:]
		want, err := strconv.ParseUint(val, 10, 64)
		if err != nil {
			t.Fatalf("bad probe line %q", line)
		}
		got, ok := goABI[name]
		if !ok {
			t.Errorf("%s: no Go value", name)
			continue
		}
		seen[name] = true
		if got != want {
			t.Errorf("%s = %d (%#x) in Go, %d (%#x) in <linux/kvm.h>", name, got, got, want, want)
		}
	}
	for name := range goABI {
		if !seen[name] {
			t.Errorf("%s: not checked by the C probe", name)
		}
	}
}
