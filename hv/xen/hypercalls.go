package xen

import "strconv"

// Hypercall numbers (__HYPERVISOR_* in xen/include/public/xen.h, x86-64).
const (
	HypercallSetTrapTable               = 0
	HypercallMMUUpdate                  = 1
	HypercallSetGDT                     = 2
	HypercallStackSwitch                = 3
	HypercallSetCallbacks               = 4
	HypercallFPUTaskswitch              = 5
	HypercallSchedOpCompat              = 6
	HypercallPlatformOp                 = 7
	HypercallSetDebugreg                = 8
	HypercallGetDebugreg                = 9
	HypercallUpdateDescriptor           = 10
	HypercallMemoryOp                   = 12
	HypercallMulticall                  = 13
	HypercallUpdateVAMapping            = 14
	HypercallSetTimerOp                 = 15
	HypercallEventChannelOpCompat       = 16
	HypercallXenVersion                 = 17
	HypercallConsoleIO                  = 18
	HypercallPhysdevOpCompat            = 19
	HypercallGrantTableOp               = 20
	HypercallVMAssist                   = 21
	HypercallUpdateVAMappingOtherdomain = 22
	HypercallIret                       = 23
	HypercallVCPUOp                     = 24
	HypercallSetSegmentBase             = 25
	HypercallMMUExtOp                   = 26
	HypercallXSMOp                      = 27
	HypercallNMIOp                      = 28
	HypercallSchedOp                    = 29
	HypercallCallbackOp                 = 30
	HypercallXenoprofOp                 = 31
	HypercallEventChannelOp             = 32
	HypercallPhysdevOp                  = 33
	HypercallHVMOp                      = 34
	HypercallSysctl                     = 35
	HypercallDomctl                     = 36
	HypercallKexecOp                    = 37
	HypercallTmemOp                     = 38
	HypercallArgoOp                     = 39
	HypercallXenPMUOp                   = 40
	HypercallDMOp                       = 41
	HypercallHypfsOp                    = 42
	HypercallArch0                      = 48
	HypercallArch1                      = 49
	HypercallArch2                      = 50
	HypercallArch3                      = 51
	HypercallArch4                      = 52
	HypercallArch5                      = 53
	HypercallArch6                      = 54
	HypercallArch7                      = 55
)

// NumHypercallSlots is the number of hypercall numbers tracked by name and
// counted individually (0..63); larger numbers share one "other" counter.
const NumHypercallSlots = 64

// hypercallNames holds the xen.h name (without __HYPERVISOR_) of every
// defined number.
var hypercallNames = [NumHypercallSlots]string{
	HypercallSetTrapTable:               "set_trap_table",
	HypercallMMUUpdate:                  "mmu_update",
	HypercallSetGDT:                     "set_gdt",
	HypercallStackSwitch:                "stack_switch",
	HypercallSetCallbacks:               "set_callbacks",
	HypercallFPUTaskswitch:              "fpu_taskswitch",
	HypercallSchedOpCompat:              "sched_op_compat",
	HypercallPlatformOp:                 "platform_op",
	HypercallSetDebugreg:                "set_debugreg",
	HypercallGetDebugreg:                "get_debugreg",
	HypercallUpdateDescriptor:           "update_descriptor",
	HypercallMemoryOp:                   "memory_op",
	HypercallMulticall:                  "multicall",
	HypercallUpdateVAMapping:            "update_va_mapping",
	HypercallSetTimerOp:                 "set_timer_op",
	HypercallEventChannelOpCompat:       "event_channel_op_compat",
	HypercallXenVersion:                 "xen_version",
	HypercallConsoleIO:                  "console_io",
	HypercallPhysdevOpCompat:            "physdev_op_compat",
	HypercallGrantTableOp:               "grant_table_op",
	HypercallVMAssist:                   "vm_assist",
	HypercallUpdateVAMappingOtherdomain: "update_va_mapping_otherdomain",
	HypercallIret:                       "iret",
	HypercallVCPUOp:                     "vcpu_op",
	HypercallSetSegmentBase:             "set_segment_base",
	HypercallMMUExtOp:                   "mmuext_op",
	HypercallXSMOp:                      "xsm_op",
	HypercallNMIOp:                      "nmi_op",
	HypercallSchedOp:                    "sched_op",
	HypercallCallbackOp:                 "callback_op",
	HypercallXenoprofOp:                 "xenoprof_op",
	HypercallEventChannelOp:             "event_channel_op",
	HypercallPhysdevOp:                  "physdev_op",
	HypercallHVMOp:                      "hvm_op",
	HypercallSysctl:                     "sysctl",
	HypercallDomctl:                     "domctl",
	HypercallKexecOp:                    "kexec_op",
	HypercallTmemOp:                     "tmem_op",
	HypercallArgoOp:                     "argo_op",
	HypercallXenPMUOp:                   "xenpmu_op",
	HypercallDMOp:                       "dm_op",
	HypercallHypfsOp:                    "hypfs_op",
	HypercallArch0:                      "arch_0",
	HypercallArch1:                      "arch_1",
	HypercallArch2:                      "arch_2",
	HypercallArch3:                      "arch_3",
	HypercallArch4:                      "arch_4",
	HypercallArch5:                      "arch_5",
	HypercallArch6:                      "arch_6",
	HypercallArch7:                      "arch_7",
}

// HypercallName returns the xen.h name of hypercall nr ("sched_op"), or
// "hypercall_<nr>" for a number Xen does not define.
func HypercallName(nr uint64) string {
	if nr < NumHypercallSlots && hypercallNames[nr] != "" {
		return hypercallNames[nr]
	}
	return "hypercall_" + strconv.FormatUint(nr, 10)
}
