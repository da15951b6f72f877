package xen

import "testing"

// TestWireLayout pins the sizes and offsets the handlers use against the Xen
// public headers (x86-64, checked with gcc's sizeof/offsetof on
// xen/include/public at xen-project/xen c447b7308b13). The expected values
// are written out here, not derived from the constants under test.
func TestWireLayout(t *testing.T) {
	for _, c := range []struct {
		what      string // header: struct.field
		got, want int
	}{
		// version.h
		{"version.h: sizeof(xen_compile_info)", compileInfoSize, 144},
		{"version.h: xen_compile_info.compiler", compileInfoCompiler, 0},
		{"version.h: xen_compile_info.compile_by", compileInfoBy, 64},
		{"version.h: xen_compile_info.compile_domain", compileInfoDomain, 80},
		{"version.h: xen_compile_info.compile_date", compileInfoDate, 112},
		{"version.h: sizeof(compiler)", compileInfoCompilerLen, 64},
		{"version.h: sizeof(compile_by)", compileInfoByLen, 16},
		{"version.h: sizeof(compile_domain)", compileInfoDomainLen, 32},
		{"version.h: sizeof(compile_date)", compileInfoDateLen, 32},
		{"version.h: sizeof(xen_extraversion_t)", extraversionSize, 16},
		{"version.h: sizeof(xen_capabilities_info_t)", capabilitiesSize, 1024},
		{"version.h: sizeof(xen_changeset_info_t)", changesetSize, 64},
		{"version.h: sizeof(xen_commandline_t)", commandlineSize, 1024},
		{"xen.h: sizeof(xen_domain_handle_t)", domainHandleSize, 16},
		{"version.h: sizeof(xen_platform_parameters)", platformParametersSize, 8},
		{"version.h: sizeof(xen_feature_info)", featureInfoSize, 8},
		{"version.h: xen_feature_info.submap_idx", featureInfoSubmapIdx, 0},
		{"version.h: xen_feature_info.submap", featureInfoSubmap, 4},
		{"version.h: xen_varbuf.len", varbufLen, 0},
		{"version.h: xen_varbuf.buf", varbufBuf, 4},
		{"version.h: sizeof(xen_varbuf)", varbufHeaderSize, 4},
		// sched.h
		{"sched.h: sizeof(sched_shutdown)", schedShutdownSize, 4},
		{"sched.h: sizeof(sched_poll)", schedPollSize, 24},
		{"sched.h: sched_poll.ports", schedPollPorts, 0},
		{"sched.h: sched_poll.nr_ports", schedPollNrPorts, 8},
		{"sched.h: sched_poll.timeout", schedPollTimeout, 16},
		{"sched.h: sizeof(sched_remote_shutdown)", schedRemoteShutdownSize, 8},
		{"sched.h: sched_remote_shutdown.domain_id", schedRemoteShutdownDom, 0},
		{"sched.h: sched_remote_shutdown.reason", schedRemoteShutdownRsn, 4},
		{"event_channel.h: sizeof(evtchn_port_t)", evtchnPortSize, 4},
		// hvm/hvm_op.h
		{"hvm_op.h: sizeof(xen_hvm_param)", hvmParamSize, 16},
		{"hvm_op.h: xen_hvm_param.domid", hvmParamDomID, 0},
		{"hvm_op.h: xen_hvm_param.pad", hvmParamPad, 2},
		{"hvm_op.h: xen_hvm_param.index", hvmParamIndex, 4},
		{"hvm_op.h: xen_hvm_param.value", hvmParamValue, 8},
		{"hvm_op.h: sizeof(xen_hvm_pagetable_dying)", hvmPagetableDyingSize, 16},
		{"hvm_op.h: xen_hvm_pagetable_dying.domid", hvmPagetableDyingDomID, 0},
		{"hvm_op.h: xen_hvm_pagetable_dying.gpa", hvmPagetableDyingGPA, 8},
		{"hvm_op.h: sizeof(xen_hvm_get_time)", hvmGetTimeSize, 8},
		{"hvm_op.h: sizeof(xen_hvm_xentrace)", hvmXentraceSize, 32},
		{"hvm_op.h: xen_hvm_xentrace.event", hvmXentraceEvent, 0},
		{"hvm_op.h: xen_hvm_xentrace.extra_bytes", hvmXentraceExtraBytes, 2},
		{"hvm_op.h: sizeof(xen_hvm_xentrace.extra)", hvmXentraceExtraMax, 28},
		// vcpu.h
		{"vcpu.h: sizeof(vcpu_register_runstate_memory_area)", runstateAreaSize, 8},
		// memory.h and the hypervisor's e820.h
		{"memory.h: sizeof(xen_memory_domain)", memoryDomainSize, 2},
		{"memory.h: sizeof(xen_memory_map)", memoryMapSize, 16},
		{"memory.h: xen_memory_map.nr_entries", memoryMapNrEntries, 0},
		{"memory.h: xen_memory_map.buffer", memoryMapBuffer, 8},
		{"e820.h: sizeof(struct e820entry) (packed)", e820EntrySize, 20},
		// hvm/hvm_vcpu.h
		{"hvm_vcpu.h: sizeof(vcpu_hvm_context)", vcpuHVMContextSize, 128},
		{"hvm_vcpu.h: vcpu_hvm_context.mode", vcpuHVMContextMode, 0},
		{"hvm_vcpu.h: vcpu_hvm_context.pad", vcpuHVMContextPad, 4},
		{"hvm_vcpu.h: vcpu_hvm_context.cpu_regs", vcpuHVMContextRegs, 8},
		{"hvm_vcpu.h: sizeof(vcpu_hvm_x86_32)", vcpuHVMX8632Size, 120},
		{"hvm_vcpu.h: sizeof(vcpu_hvm_x86_64)", vcpuHVMX8664Size, 112},
		{"hvm_vcpu.h: vcpu_hvm_x86_32.efer", vcpuHVMX8632EFER, 56},
		{"hvm_vcpu.h: vcpu_hvm_x86_32.cs_base", vcpuHVMX8632Bases, 64},
		{"hvm_vcpu.h: vcpu_hvm_x86_32.cs_limit", vcpuHVMX8632Limits, 84},
		{"hvm_vcpu.h: vcpu_hvm_x86_32.cs_ar", vcpuHVMX8632ARs, 104},
		{"hvm_vcpu.h: vcpu_hvm_x86_32.pad2", vcpuHVMX8632Pad2, 114},
		{"context fits: regs + union", vcpuHVMContextRegs + vcpuHVMX8632Size, 128},
		// limits
		{"sched/core.c do_poll: nr_ports limit", maxPollPorts, 128},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
}
