/*
 * xen.h: the parts of Xen's public guest ABI that guestkit uses (x86-64).
 *
 * Written for guestkit from the facts in Xen's public headers (xen.h,
 * sched.h, vcpu.h, version.h, memory.h, features.h, hvm/params.h,
 * hvm/hvm_op.h, hvm/hvm_vcpu.h, arch-x86/hvm/start_info.h, errno.h).
 * Every struct carries _Static_asserts on its size and field offsets.
 */
#ifndef GUESTKIT_XEN_H
#define GUESTKIT_XEN_H

#include <stddef.h>
#include <stdint.h>

/* CPUID discovery (arch-x86/cpuid.h). */
#define XEN_CPUID_BASE 0x40000000u
#define XEN_CPUID_SIG_EBX 0x566e6558u /* "XenV" */
#define XEN_CPUID_SIG_ECX 0x65584d4du /* "MMXe" */
#define XEN_CPUID_SIG_EDX 0x4d4d566eu /* "nVMM" */
#define XEN_HVM_CPUID_VCPU_ID_PRESENT (1u << 3) /* leaf base+4 EAX: EBX = vCPU id */
#define XEN_HVM_CPUID_DOMID_PRESENT (1u << 4)   /* leaf base+4 EAX: ECX = domain id */
#define XEN_HVM_CPUID_UPCALL_VECTOR (1u << 6)   /* HVMOP_set_evtchn_upcall_vector works */

/* ELF note type for the PVH 32-bit entry point (elfnote.h). */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* Hypercall numbers (xen.h). */
#define __HYPERVISOR_mmu_update 1
#define __HYPERVISOR_memory_op 12
#define __HYPERVISOR_xen_version 17
#define __HYPERVISOR_console_io 18
#define __HYPERVISOR_vcpu_op 24
#define __HYPERVISOR_sched_op 29
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_hvm_op 34
#define XEN_HYPERCALL_SLOTS 128 /* 32-byte stubs in the 4 KiB hypercall page */

/* Domain ids (xen.h). */
#define DOMID_FIRST_RESERVED 0x7ff0u
#define DOMID_SELF 0x7ff0u

/* Errno values as Xen returns them, negated (errno.h). */
#define XEN_EPERM 1
#define XEN_ENOENT 2
#define XEN_ESRCH 3
#define XEN_EIO 5
#define XEN_ENXIO 6
#define XEN_E2BIG 7
#define XEN_EAGAIN 11
#define XEN_ENOMEM 12
#define XEN_EACCES 13
#define XEN_EFAULT 14
#define XEN_EBUSY 16
#define XEN_EEXIST 17
#define XEN_ENODEV 19
#define XEN_EISDIR 21
#define XEN_EINVAL 22
#define XEN_ENOSPC 28
#define XEN_EROFS 30
#define XEN_ENOSYS 38
#define XEN_ENOTEMPTY 39
#define XEN_ETIME 62
#define XEN_EOPNOTSUPP 95
#define XEN_EISCONN 106
#define XEN_ETIMEDOUT 110

/* console_io commands (xen.h). */
#define CONSOLEIO_write 0
#define CONSOLEIO_read 1

/* xen_version commands (version.h). */
#define XENVER_version 0
#define XENVER_extraversion 1
#define XENVER_compile_info 2
#define XENVER_capabilities 3
#define XENVER_changeset 4
#define XENVER_get_features 6
#define XENVER_pagesize 7

typedef char xen_extraversion_t[16];
typedef char xen_capabilities_info_t[1024];

/* XENVER_compile_info result. */
struct xen_compile_info {
	char compiler[64];       /* compiler name and version */
	char compile_by[16];     /* who built Xen */
	char compile_domain[32]; /* build host's domain */
	char compile_date[32];   /* build date */
};
_Static_assert(sizeof(struct xen_compile_info) == 144, "compile_info size");
_Static_assert(offsetof(struct xen_compile_info, compile_by) == 64, "compile_by");
_Static_assert(offsetof(struct xen_compile_info, compile_domain) == 80, "compile_domain");
_Static_assert(offsetof(struct xen_compile_info, compile_date) == 112, "compile_date");

/* XENVER_get_features argument. */
struct xen_feature_info {
	uint32_t submap_idx; /* in: which 32-bit submap (only 0 exists) */
	uint32_t submap;     /* out: feature bits XENFEAT_* */
};
_Static_assert(sizeof(struct xen_feature_info) == 8, "feature_info size");
_Static_assert(offsetof(struct xen_feature_info, submap) == 4, "feature_info.submap");

/* Feature bits of submap 0 (features.h). */
#define XENFEAT_writable_page_tables 0
#define XENFEAT_auto_translated_physmap 2
#define XENFEAT_hvm_callback_vector 8
#define XENFEAT_hvm_safe_pvclock 9

/* sched_op commands and shutdown reasons (sched.h). */
#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SCHEDOP_shutdown_code 5
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_suspend 2
#define SHUTDOWN_crash 3
#define SHUTDOWN_watchdog 4
#define SHUTDOWN_soft_reset 5
#define SHUTDOWN_MAX 5

/* SCHEDOP_shutdown and SCHEDOP_shutdown_code argument. */
struct sched_shutdown {
	uint32_t reason; /* SHUTDOWN_* */
};
_Static_assert(sizeof(struct sched_shutdown) == 4, "sched_shutdown size");

/* SCHEDOP_poll argument. */
struct sched_poll {
	uint64_t ports;    /* guest address of an evtchn_port_t (uint32_t) array */
	uint32_t nr_ports; /* entries in ports; Xen refuses more than 128 */
	uint32_t pad;      /* implicit padding in Xen's layout */
	uint64_t timeout;  /* absolute system time in ns, 0 = none */
};
_Static_assert(sizeof(struct sched_poll) == 24, "sched_poll size");
_Static_assert(offsetof(struct sched_poll, nr_ports) == 8, "sched_poll.nr_ports");
_Static_assert(offsetof(struct sched_poll, timeout) == 16, "sched_poll.timeout");

/* vcpu_op commands (vcpu.h). */
#define VCPUOP_initialise 0
#define VCPUOP_up 1
#define VCPUOP_down 2
#define VCPUOP_is_up 3

/* hvm_vcpu.h: context given to VCPUOP_initialise by PVH guests. */
#define VCPU_HVM_MODE_32B 0
#define VCPU_HVM_MODE_64B 1

/* 32-bit register block of vcpu_hvm_context. */
struct vcpu_hvm_x86_32 {
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi; /* general registers */
	uint32_t eip;    /* entry point */
	uint32_t eflags; /* initial flags */
	uint32_t cr0, cr3, cr4; /* control registers */
	uint32_t pad1;   /* must be zero */
	uint64_t efer;   /* EFER (NXE, or LME/LMA for compatibility mode) */
	uint32_t cs_base, ds_base, ss_base, es_base, tr_base;      /* segment bases */
	uint32_t cs_limit, ds_limit, ss_limit, es_limit, tr_limit; /* segment limits */
	uint16_t cs_ar, ds_ar, ss_ar, es_ar, tr_ar; /* access rights, Xen's packed form */
	uint16_t pad2[3]; /* must be zero */
};
_Static_assert(sizeof(struct vcpu_hvm_x86_32) == 120, "vcpu_hvm_x86_32 size");
_Static_assert(offsetof(struct vcpu_hvm_x86_32, eip) == 32, "x86_32.eip");
_Static_assert(offsetof(struct vcpu_hvm_x86_32, cr0) == 40, "x86_32.cr0");
_Static_assert(offsetof(struct vcpu_hvm_x86_32, efer) == 56, "x86_32.efer");
_Static_assert(offsetof(struct vcpu_hvm_x86_32, cs_base) == 64, "x86_32.cs_base");
_Static_assert(offsetof(struct vcpu_hvm_x86_32, cs_limit) == 84, "x86_32.cs_limit");
_Static_assert(offsetof(struct vcpu_hvm_x86_32, cs_ar) == 104, "x86_32.cs_ar");
_Static_assert(offsetof(struct vcpu_hvm_x86_32, pad2) == 114, "x86_32.pad2");

/* 64-bit register block of vcpu_hvm_context; segments become flat 64-bit. */
struct vcpu_hvm_x86_64 {
	uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi; /* general registers */
	uint64_t rip;    /* entry point, canonical */
	uint64_t rflags; /* initial flags */
	uint64_t cr0;    /* must have PG */
	uint64_t cr3;    /* page-table root */
	uint64_t cr4;    /* must have PAE */
	uint64_t efer;   /* must have LME */
};
_Static_assert(sizeof(struct vcpu_hvm_x86_64) == 112, "vcpu_hvm_x86_64 size");
_Static_assert(offsetof(struct vcpu_hvm_x86_64, rsp) == 32, "x86_64.rsp");
_Static_assert(offsetof(struct vcpu_hvm_x86_64, rdi) == 56, "x86_64.rdi");
_Static_assert(offsetof(struct vcpu_hvm_x86_64, rip) == 64, "x86_64.rip");
_Static_assert(offsetof(struct vcpu_hvm_x86_64, rflags) == 72, "x86_64.rflags");
_Static_assert(offsetof(struct vcpu_hvm_x86_64, cr0) == 80, "x86_64.cr0");
_Static_assert(offsetof(struct vcpu_hvm_x86_64, cr3) == 88, "x86_64.cr3");
_Static_assert(offsetof(struct vcpu_hvm_x86_64, cr4) == 96, "x86_64.cr4");
_Static_assert(offsetof(struct vcpu_hvm_x86_64, efer) == 104, "x86_64.efer");

/* VCPUOP_initialise argument for HVM/PVH vCPUs. */
struct vcpu_hvm_context {
	uint32_t mode; /* VCPU_HVM_MODE_* */
	uint32_t pad;  /* must be zero */
	union {
		struct vcpu_hvm_x86_32 x86_32;
		struct vcpu_hvm_x86_64 x86_64;
	} cpu_regs; /* register block selected by mode */
};
_Static_assert(sizeof(struct vcpu_hvm_context) == 128, "vcpu_hvm_context size");
_Static_assert(offsetof(struct vcpu_hvm_context, cpu_regs) == 8, "vcpu_hvm_context.cpu_regs");

/* memory_op commands (memory.h). */
#define XENMEM_memory_map 9

/* XENMEM_memory_map argument. */
struct xen_memory_map {
	uint32_t nr_entries; /* in: capacity of buffer; out: entries written */
	uint32_t pad;        /* implicit padding in Xen's layout */
	uint64_t buffer;     /* guest address of an array of struct xen_e820_entry */
};
_Static_assert(sizeof(struct xen_memory_map) == 16, "xen_memory_map size");
_Static_assert(offsetof(struct xen_memory_map, buffer) == 8, "xen_memory_map.buffer");

/* One E820 entry as XENMEM_memory_map writes it: 20 bytes, packed. */
struct __attribute__((packed)) xen_e820_entry {
	uint64_t addr; /* start of the range */
	uint64_t size; /* length in bytes */
	uint32_t type; /* E820_RAM, E820_RESERVED, ... */
};
_Static_assert(sizeof(struct xen_e820_entry) == 20, "e820 entry size");
_Static_assert(offsetof(struct xen_e820_entry, type) == 16, "e820 entry.type");
#define E820_RAM 1
#define E820_RESERVED 2

/* hvm_op commands and params (hvm/hvm_op.h, hvm/params.h). */
#define HVMOP_set_param 0
#define HVMOP_get_param 1
#define HVM_PARAM_CALLBACK_IRQ 0
#define HVM_PARAM_STORE_PFN 1
#define HVM_PARAM_STORE_EVTCHN 2
#define HVM_PARAM_CONSOLE_PFN 17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define HVM_NR_PARAMS 39
#define HVM_PARAM_CALLBACK_TYPE_VECTOR 2ull /* in bits 63:56 of CALLBACK_IRQ */

/* HVMOP_set_param / HVMOP_get_param argument. */
struct xen_hvm_param {
	uint16_t domid; /* DOMID_SELF */
	uint16_t pad;   /* zero */
	uint32_t index; /* HVM_PARAM_* */
	uint64_t value; /* in for set, out for get */
};
_Static_assert(sizeof(struct xen_hvm_param) == 16, "xen_hvm_param size");
_Static_assert(offsetof(struct xen_hvm_param, index) == 4, "xen_hvm_param.index");
_Static_assert(offsetof(struct xen_hvm_param, value) == 8, "xen_hvm_param.value");

/* PVH boot information (arch-x86/hvm/start_info.h). */
#define XEN_HVM_START_MAGIC_VALUE 0x336ec578u

/* hvm_start_info: handed to the PVH entry point in EBX. */
struct hvm_start_info {
	uint32_t magic;          /* XEN_HVM_START_MAGIC_VALUE */
	uint32_t version;        /* 1 includes the memory map fields */
	uint32_t flags;          /* SIF_* */
	uint32_t nr_modules;     /* entries at modlist_paddr */
	uint64_t modlist_paddr;  /* struct hvm_modlist_entry[] */
	uint64_t cmdline_paddr;  /* NUL-terminated command line, 0 = none */
	uint64_t rsdp_paddr;     /* ACPI RSDP, 0 = none */
	uint64_t memmap_paddr;   /* struct hvm_memmap_table_entry[] (version >= 1) */
	uint32_t memmap_entries; /* entries at memmap_paddr */
	uint32_t reserved;       /* zero */
};
_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info size");
_Static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 16, "start_info.modlist_paddr");
_Static_assert(offsetof(struct hvm_start_info, cmdline_paddr) == 24, "start_info.cmdline_paddr");
_Static_assert(offsetof(struct hvm_start_info, rsdp_paddr) == 32, "start_info.rsdp_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 40, "start_info.memmap_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 48, "start_info.memmap_entries");

/* One module of hvm_start_info. */
struct hvm_modlist_entry {
	uint64_t paddr;         /* module start */
	uint64_t size;          /* module length */
	uint64_t cmdline_paddr; /* module command line, 0 = none */
	uint64_t reserved;      /* zero */
};
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry size");

/* One memory map entry of hvm_start_info. */
struct hvm_memmap_table_entry {
	uint64_t addr;     /* start of the range */
	uint64_t size;     /* length in bytes */
	uint32_t type;     /* XEN_HVM_MEMMAP_TYPE_* (E820 numbering) */
	uint32_t reserved; /* zero */
};
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry size");
_Static_assert(offsetof(struct hvm_memmap_table_entry, type) == 16, "memmap_entry.type");
#define XEN_HVM_MEMMAP_TYPE_RAM 1
#define XEN_HVM_MEMMAP_TYPE_RESERVED 2

#endif /* GUESTKIT_XEN_H */
