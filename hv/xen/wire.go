package xen

// Sizes and field offsets of the wire structs the handlers decode and
// encode, from the Xen public headers (x86-64). layout_test.go pins each
// number against the header it comes from.
const (
	// xen_compile_info (version.h): four NUL-padded strings.
	compileInfoSize         = 144
	compileInfoCompiler     = 0  // char compiler[64]
	compileInfoCompilerLen  = 64 //
	compileInfoBy           = 64 // char compile_by[16]
	compileInfoByLen        = 16 //
	compileInfoDomain       = 80 // char compile_domain[32]
	compileInfoDomainLen    = 32 //
	compileInfoDate         = 112
	compileInfoDateLen      = 32
	extraversionSize        = 16   // xen_extraversion_t
	capabilitiesSize        = 1024 // xen_capabilities_info_t
	changesetSize           = 64   // xen_changeset_info_t
	commandlineSize         = 1024 // xen_commandline_t
	domainHandleSize        = 16   // xen_domain_handle_t
	platformParametersSize  = 8    // xen_platform_parameters {xen_ulong_t virt_start}
	featureInfoSize         = 8    // xen_feature_info
	featureInfoSubmapIdx    = 0    // uint32 submap_idx (IN)
	featureInfoSubmap       = 4    // uint32 submap (OUT)
	varbufLen               = 0    // xen_varbuf: uint32 len (IN)
	varbufBuf               = 4    // unsigned char buf[] (OUT)
	varbufHeaderSize        = 4    //
	schedShutdownSize       = 4    // sched_shutdown {uint32 reason}
	schedPollSize           = 24   // sched_poll
	schedPollPorts          = 0    // guest handle of evtchn_port_t[]
	schedPollNrPorts        = 8    // uint32 nr_ports
	schedPollTimeout        = 16   // uint64 timeout (absolute system time, 0 = none)
	schedRemoteShutdownSize = 8    // sched_remote_shutdown
	schedRemoteShutdownDom  = 0    // domid_t domain_id
	schedRemoteShutdownRsn  = 4    // uint32 reason
	hvmParamSize            = 16   // xen_hvm_param
	hvmParamDomID           = 0    // domid_t domid
	hvmParamPad             = 2    // uint16 pad
	hvmParamIndex           = 4    // uint32 index
	hvmParamValue           = 8    // uint64 value
	hvmPagetableDyingSize   = 16   // xen_hvm_pagetable_dying
	hvmPagetableDyingDomID  = 0    // domid_t domid
	hvmPagetableDyingGPA    = 8    // uint64 gpa
	hvmGetTimeSize          = 8    // xen_hvm_get_time {uint64 now}
	hvmXentraceSize         = 32   // xen_hvm_xentrace
	hvmXentraceEvent        = 0    // uint16 event
	hvmXentraceExtraBytes   = 2    // uint16 extra_bytes
	hvmXentraceExtraMax     = 28   // uint8 extra[TRACE_EXTRA_MAX * 4]
	runstateAreaSize        = 8    // vcpu_register_runstate_memory_area {handle/paddr addr}
	memoryDomainSize        = 2    // xen_memory_domain {domid_t domid}
	memoryMapSize           = 16   // xen_memory_map
	memoryMapNrEntries      = 0    // unsigned int nr_entries (IN capacity, OUT count)
	memoryMapBuffer         = 8    // guest handle of the entries
	e820EntrySize           = 20   // struct e820entry, packed: u64 addr, u64 size, u32 type
	vcpuHVMContextSize      = 128  // vcpu_hvm_context
	vcpuHVMContextMode      = 0    // uint32 mode
	vcpuHVMContextPad       = 4    // uint32 pad
	vcpuHVMContextRegs      = 8    // union cpu_regs
	vcpuHVMX8632Size        = 120  // vcpu_hvm_x86_32
	vcpuHVMX8664Size        = 112  // vcpu_hvm_x86_64
	vcpuHVMX8632EFER        = 56   // uint64 efer (after uint32 pad1)
	vcpuHVMX8632Bases       = 64   // uint32 {cs,ds,ss,es,tr}_base
	vcpuHVMX8632Limits      = 84   // uint32 {cs,ds,ss,es,tr}_limit
	vcpuHVMX8632ARs         = 104  // uint16 {cs,ds,ss,es,tr}_ar
	vcpuHVMX8632Pad2        = 114  // uint16 pad2[3]
	maxPollPorts            = 128  // do_poll's "fairly arbitrary limit"
	evtchnPortSize          = 4    // evtchn_port_t
)
