/*
 * xen_event.h: the Xen ABI for shared_info, vcpu_info, time, event
 * channels, vCPU timers and the upcall vector (x86-64).
 *
 * Written for guestkit from the facts in Xen's public headers (xen.h,
 * arch-x86/xen.h, arch-x86/xen-x86_64.h, event_channel.h, vcpu.h,
 * memory.h, hvm/hvm_op.h, hvm/params.h). Every struct carries
 * _Static_asserts on its size and field offsets.
 */
#ifndef GUESTKIT_XEN_EVENT_H
#define GUESTKIT_XEN_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "xen.h"

typedef uint32_t evtchn_port_t;
typedef uint16_t domid_t;

/* Hypercall numbers used here (xen.h). */
#define __HYPERVISOR_set_timer_op 15
#define __HYPERVISOR_grant_table_op 20

/* ---- time (xen.h) ---- */

/* vcpu_time_info: what a guest needs to turn its TSC into Xen system time. */
struct vcpu_time_info {
	uint32_t version;           /* odd while the hypervisor updates the fields */
	uint32_t pad0;              /* unused */
	uint64_t tsc_timestamp;     /* TSC when system_time was sampled */
	uint64_t system_time;       /* ns since the domain's time base, at tsc_timestamp */
	uint32_t tsc_to_system_mul; /* 32.32 fixed-point ns per (shifted) tick */
	int8_t tsc_shift;           /* shift of the TSC delta: left if >= 0, else right */
	uint8_t flags;              /* XEN_PVCLOCK_* */
	uint8_t pad1[2];            /* unused */
};
_Static_assert(sizeof(struct vcpu_time_info) == 32, "vcpu_time_info size");
_Static_assert(offsetof(struct vcpu_time_info, tsc_timestamp) == 8, "time.tsc_timestamp");
_Static_assert(offsetof(struct vcpu_time_info, system_time) == 16, "time.system_time");
_Static_assert(offsetof(struct vcpu_time_info, tsc_to_system_mul) == 24, "time.mul");
_Static_assert(offsetof(struct vcpu_time_info, tsc_shift) == 28, "time.tsc_shift");
_Static_assert(offsetof(struct vcpu_time_info, flags) == 29, "time.flags");
#define XEN_PVCLOCK_TSC_STABLE_BIT (1u << 0)
#define XEN_PVCLOCK_GUEST_STOPPED (1u << 1)

/* arch_vcpu_info for x86-64. */
struct arch_vcpu_info {
	uint64_t cr2; /* PV only */
	uint64_t pad; /* unused */
};

/* vcpu_info: one vCPU's event flags and time (64 bytes). */
struct vcpu_info {
	uint8_t evtchn_upcall_pending; /* set by Xen when an event needs attention */
	uint8_t evtchn_upcall_mask;    /* PV only: HVM/PVH delivery is gated by RFLAGS.IF */
	uint8_t pad0[6];               /* unused */
	uint64_t evtchn_pending_sel;   /* bit w: word w of evtchn_pending has work */
	struct arch_vcpu_info arch;    /* PV only */
	struct vcpu_time_info time;    /* pvclock */
};
_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info size");
_Static_assert(offsetof(struct vcpu_info, evtchn_upcall_mask) == 1, "vcpu_info.mask");
_Static_assert(offsetof(struct vcpu_info, evtchn_pending_sel) == 8, "vcpu_info.pending_sel");
_Static_assert(offsetof(struct vcpu_info, arch) == 16, "vcpu_info.arch");
_Static_assert(offsetof(struct vcpu_info, time) == 32, "vcpu_info.time");

#define XEN_LEGACY_MAX_VCPUS 32
#define EVTCHN_2L_WORDS 64 /* 64 x 64 bits = 4096 ports */
#define EVTCHN_2L_NR_CHANNELS (EVTCHN_2L_WORDS * 64)

/* arch_shared_info for x86-64: PV only, zero for PVH. */
struct arch_shared_info {
	uint64_t max_pfn;                  /* PV p2m size */
	uint64_t pfn_to_mfn_frame_list_list; /* PV p2m frames */
	uint64_t nmi_reason;               /* PV NMI reason */
	uint64_t p2m_cr3;                  /* PV linear p2m */
	uint64_t p2m_vaddr;                /* PV linear p2m */
	uint64_t p2m_generation;           /* PV linear p2m */
};

/* shared_info: the page shared by a domain and Xen (XENMAPSPACE_shared_info). */
struct shared_info {
	struct vcpu_info vcpu_info[XEN_LEGACY_MAX_VCPUS]; /* vCPUs without VCPUOP_register_vcpu_info */
	uint64_t evtchn_pending[EVTCHN_2L_WORDS]; /* bit p: port p pending (Xen sets, guest clears) */
	uint64_t evtchn_mask[EVTCHN_2L_WORDS];    /* bit p: port p masked (guest-owned) */
	uint32_t wc_version;                      /* wallclock seqlock, odd while updating */
	uint32_t wc_sec;                          /* wallclock seconds at system time 0 (low) */
	uint32_t wc_nsec;                         /* wallclock nanoseconds part */
	uint32_t wc_sec_hi;                       /* wallclock seconds (high 32 bits) */
	struct arch_shared_info arch;             /* PV only */
};
_Static_assert(offsetof(struct shared_info, evtchn_pending) == 0x800, "shared_info.pending");
_Static_assert(offsetof(struct shared_info, evtchn_mask) == 0xa00, "shared_info.mask");
_Static_assert(offsetof(struct shared_info, wc_version) == 0xc00, "shared_info.wc_version");
_Static_assert(offsetof(struct shared_info, wc_sec_hi) == 0xc0c, "shared_info.wc_sec_hi");
_Static_assert(offsetof(struct shared_info, arch) == 0xc10, "shared_info.arch");
_Static_assert(sizeof(struct shared_info) <= 4096, "shared_info fits a page");

/* ---- memory_op XENMEM_add_to_physmap (memory.h) ---- */
#define XENMEM_add_to_physmap 7
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1

/* XENMEM_add_to_physmap argument. */
struct xen_add_to_physmap {
	uint16_t domid; /* DOMID_SELF */
	uint16_t size;  /* XENMAPSPACE_gmfn_range only */
	uint32_t space; /* XENMAPSPACE_* */
	uint64_t idx;   /* index in the space (shared_info: 0; grant table: frame) */
	uint64_t gpfn;  /* guest frame where the page appears */
};
_Static_assert(sizeof(struct xen_add_to_physmap) == 24, "add_to_physmap size");
_Static_assert(offsetof(struct xen_add_to_physmap, space) == 4, "add_to_physmap.space");
_Static_assert(offsetof(struct xen_add_to_physmap, idx) == 8, "add_to_physmap.idx");
_Static_assert(offsetof(struct xen_add_to_physmap, gpfn) == 16, "add_to_physmap.gpfn");

/* ---- vcpu_op: vcpu_info placement and timers (vcpu.h) ---- */
#define VCPUOP_set_periodic_timer 6
#define VCPUOP_stop_periodic_timer 7
#define VCPUOP_set_singleshot_timer 8
#define VCPUOP_stop_singleshot_timer 9
#define VCPUOP_register_vcpu_info 10

/* VCPUOP_register_vcpu_info argument. */
struct vcpu_register_vcpu_info {
	uint64_t mfn;    /* frame of the new vcpu_info (a GFN on PVH) */
	uint32_t offset; /* offset in that frame; the struct must not cross the page */
	uint32_t rsvd;   /* zero */
};
_Static_assert(sizeof(struct vcpu_register_vcpu_info) == 16, "register_vcpu_info size");
_Static_assert(offsetof(struct vcpu_register_vcpu_info, offset) == 8, "register_vcpu_info.offset");

/* VCPUOP_set_periodic_timer argument. */
struct vcpu_set_periodic_timer {
	uint64_t period_ns; /* period of VIRQ_TIMER */
};
_Static_assert(sizeof(struct vcpu_set_periodic_timer) == 8, "set_periodic_timer size");

/* VCPUOP_set_singleshot_timer argument. */
struct vcpu_set_singleshot_timer {
	uint64_t timeout_abs_ns; /* absolute Xen system time */
	uint32_t flags;          /* VCPU_SSHOTTMR_* */
	uint32_t pad;            /* implicit padding in Xen's layout */
};
_Static_assert(sizeof(struct vcpu_set_singleshot_timer) == 16, "set_singleshot_timer size");
_Static_assert(offsetof(struct vcpu_set_singleshot_timer, flags) == 8, "singleshot.flags");
#define VCPU_SSHOTTMR_future (1u << 0) /* -ETIME if the timeout is already past */

/* ---- upcall vector (hvm/hvm_op.h, hvm/params.h) ---- */
#define HVMOP_get_time 10
#define HVMOP_set_evtchn_upcall_vector 23

/* HVMOP_set_evtchn_upcall_vector argument. */
struct xen_hvm_evtchn_upcall_vector {
	uint32_t vcpu;  /* vCPU id */
	uint8_t vector; /* IDT vector, >= 0x10 */
	uint8_t pad[3]; /* implicit padding in Xen's layout */
};
_Static_assert(sizeof(struct xen_hvm_evtchn_upcall_vector) == 8, "upcall_vector size");
_Static_assert(offsetof(struct xen_hvm_evtchn_upcall_vector, vector) == 4, "upcall_vector.vector");

/* ---- event_channel_op (event_channel.h) ---- */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_bind_pirq 2
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_bind_vcpu 8
#define EVTCHNOP_unmask 9
#define EVTCHNOP_reset 10
#define EVTCHNOP_init_control 11
#define EVTCHNOP_expand_array 12
#define EVTCHNOP_set_priority 13

/* EVTCHNOP_alloc_unbound argument. */
struct evtchn_alloc_unbound {
	domid_t dom;        /* in: DOMID_SELF */
	domid_t remote_dom; /* in: who may bind */
	evtchn_port_t port; /* out */
};
_Static_assert(sizeof(struct evtchn_alloc_unbound) == 8, "alloc_unbound size");

/* EVTCHNOP_bind_interdomain argument. */
struct evtchn_bind_interdomain {
	domid_t remote_dom;        /* in */
	uint16_t pad;              /* implicit padding in Xen's layout */
	evtchn_port_t remote_port; /* in: unbound port of remote_dom */
	evtchn_port_t local_port;  /* out */
};
_Static_assert(sizeof(struct evtchn_bind_interdomain) == 12, "bind_interdomain size");
_Static_assert(offsetof(struct evtchn_bind_interdomain, remote_port) == 4, "bind_interdomain.rport");

/* EVTCHNOP_bind_virq argument. */
struct evtchn_bind_virq {
	uint32_t virq;      /* in: VIRQ_* */
	uint32_t vcpu;      /* in */
	evtchn_port_t port; /* out */
};
_Static_assert(sizeof(struct evtchn_bind_virq) == 12, "bind_virq size");

/* EVTCHNOP_bind_ipi argument. */
struct evtchn_bind_ipi {
	uint32_t vcpu;      /* in: vCPU notified */
	evtchn_port_t port; /* out */
};
_Static_assert(sizeof(struct evtchn_bind_ipi) == 8, "bind_ipi size");

/* EVTCHNOP_close, EVTCHNOP_send and EVTCHNOP_unmask argument. */
struct evtchn_port_arg {
	evtchn_port_t port; /* in */
};
_Static_assert(sizeof(struct evtchn_port_arg) == 4, "evtchn port arg size");

/* EVTCHNOP_status argument. */
struct evtchn_status {
	domid_t dom;        /* in: DOMID_SELF */
	uint16_t pad;       /* implicit padding */
	evtchn_port_t port; /* in */
	uint32_t status;    /* out: EVTCHNSTAT_* */
	uint32_t vcpu;      /* out: notified vCPU */
	union {
		struct {
			domid_t dom; /* peer allowed to bind */
		} unbound;
		struct {
			domid_t dom;        /* peer domain */
			uint16_t pad;       /* implicit padding */
			evtchn_port_t port; /* peer port */
		} interdomain;
		uint32_t pirq; /* EVTCHNSTAT_pirq */
		uint32_t virq; /* EVTCHNSTAT_virq */
	} u; /* out, by status */
};
_Static_assert(sizeof(struct evtchn_status) == 24, "evtchn_status size");
_Static_assert(offsetof(struct evtchn_status, port) == 4, "status.port");
_Static_assert(offsetof(struct evtchn_status, status) == 8, "status.status");
_Static_assert(offsetof(struct evtchn_status, vcpu) == 12, "status.vcpu");
_Static_assert(offsetof(struct evtchn_status, u) == 16, "status.u");
_Static_assert(offsetof(struct evtchn_status, u.interdomain.port) == 20, "status.u.port");
#define EVTCHNSTAT_closed 0
#define EVTCHNSTAT_unbound 1
#define EVTCHNSTAT_interdomain 2
#define EVTCHNSTAT_pirq 3
#define EVTCHNSTAT_virq 4
#define EVTCHNSTAT_ipi 5

/* EVTCHNOP_bind_vcpu argument. */
struct evtchn_bind_vcpu {
	evtchn_port_t port; /* in */
	uint32_t vcpu;      /* in */
};
_Static_assert(sizeof(struct evtchn_bind_vcpu) == 8, "bind_vcpu size");

/* EVTCHNOP_init_control argument (FIFO ABI). */
struct evtchn_init_control {
	uint64_t control_gfn; /* in */
	uint32_t offset;      /* in */
	uint32_t vcpu;        /* in */
	uint8_t link_bits;    /* out */
	uint8_t pad[7];       /* unused */
};
_Static_assert(sizeof(struct evtchn_init_control) == 24, "init_control size");

/* VIRQs (xen.h). */
#define VIRQ_TIMER 0
#define VIRQ_DEBUG 1
#define VIRQ_CONSOLE 2
#define VIRQ_DOM_EXC 3
#define NR_VIRQS 24

#endif /* GUESTKIT_XEN_EVENT_H */
