/*
 * gk_pv.h: the Xen PV plumbing for guestkit programs: shared_info and
 * time, event channels and upcalls, vCPU timers, grant tables, xenstore,
 * xenbus frontends and the PV console ring. Everything here runs at CPL3
 * and talks to Xen through the hypercall page and shared memory; the CPL0
 * kernel is entered only to block, to idle or for the local APIC.
 *
 * Functions return 0 (or a count, length or reference) on success and a
 * negative Xen errno (-XEN_E*) on failure, unless they say otherwise.
 * Waiting is done by polling shared memory at CPL3 and, when there is
 * nothing to do, SCHEDOP_block from the kernel (the vCPU sleeps until an
 * event is pending for it). Upcall interrupts are optional: see
 * evtchn_upcall_init.
 */
#ifndef GUESTKIT_PV_H
#define GUESTKIT_PV_H

#include "guestkit.h"
#include "xen_event.h"
#include "xen_grant.h"
#include "xen_io.h"

/* ---- hypercalls ---- */
static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_event_channel_op, cmd, arg);
}
static inline long HYPERVISOR_grant_table_op(int cmd, void *arg, unsigned count)
{
	return _hypercall3(__HYPERVISOR_grant_table_op, cmd, arg, count);
}
/* HYPERVISOR_set_timer_op arms this vCPU's single-shot timer (absolute ns; 0 stops it). */
static inline long HYPERVISOR_set_timer_op(uint64_t timeout_abs_ns)
{
	return _hypercall1(__HYPERVISOR_set_timer_op, timeout_abs_ns);
}

/* hvm_get_param reads HVM param idx of this domain into *value. */
int hvm_get_param(uint32_t idx, uint64_t *value);
/* hvm_set_param writes HVM param idx of this domain. */
int hvm_set_param(uint32_t idx, uint64_t value);

/* ---- shared_info, vcpu_info and time (lib/pvtime.c) ---- */

/* xen_shared_info is the mapped shared_info page, NULL before xen_pv_init. */
extern struct shared_info *volatile xen_shared_info;

/*
 * xen_pv_init maps shared_info on a page of guestkit's .bss
 * (XENMEM_add_to_physmap), registers a vcpu_info for every vCPU
 * (VCPUOP_register_vcpu_info, one page-aligned array; the shared_info
 * slots stay in use if that fails) and masks every event channel. It runs
 * once; later calls, from any vCPU, wait for the first and return its result.
 */
int xen_pv_init(void);
/* xen_vcpu_info returns the vcpu_info in use for vCPU cpu (NULL before init). */
struct vcpu_info *xen_vcpu_info(unsigned cpu);
/* xen_vcpu_info_registered reports whether cpu's vcpu_info was moved off shared_info. */
int xen_vcpu_info_registered(unsigned cpu);
/* xen_system_time_ns is Xen system time from this vCPU's pvclock, without exiting. */
uint64_t xen_system_time_ns(void);
/* xen_time_from_tsc converts a TSC value taken on this vCPU to Xen system time. */
uint64_t xen_time_from_tsc(uint64_t tsc);
/* xen_tsc_to_ns converts a TSC delta to nanoseconds with this vCPU's pvclock scale. */
uint64_t xen_tsc_to_ns(uint64_t delta);
/* xen_wallclock returns the wall-clock time now (shared_info's base + system time). */
void xen_wallclock(uint64_t *sec, uint32_t *nsec);
/* xen_domid is this domain's id (CPUID leaf 0x40000004 ECX), or DOMID_SELF if not offered. */
unsigned xen_domid(void);

/* ---- event channels, 2-level (lib/evtchn.c) ---- */

/* evtchn_handler_t runs for each event on a port, at CPL3; it must not wait. */
typedef void (*evtchn_handler_t)(evtchn_port_t port, void *arg);

/* Hypercall wrappers (EVTCHNOP_*); out-parameters are written on success. */
int evtchn_alloc_unbound(domid_t remote_dom, evtchn_port_t *port);
int evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port,
			    evtchn_port_t *local_port);
int evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port);
int evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t *port);
int evtchn_send(evtchn_port_t port);
int evtchn_close(evtchn_port_t port);
int evtchn_unmask(evtchn_port_t port);
int evtchn_status(domid_t dom, evtchn_port_t port, struct evtchn_status *st);
int evtchn_bind_vcpu(evtchn_port_t port, uint32_t vcpu);

/* evtchn_mask sets the port's mask bit (guest-owned, no hypercall). */
void evtchn_mask(evtchn_port_t port);
/*
 * evtchn_unmask_local clears the mask bit; if the port is pending it masks
 * it again and lets EVTCHNOP_unmask re-deliver it, as Linux does on HVM.
 */
void evtchn_unmask_local(evtchn_port_t port);
/* evtchn_is_pending and evtchn_is_masked read the port's bits in shared_info. */
int evtchn_is_pending(evtchn_port_t port);
int evtchn_is_masked(evtchn_port_t port);
/* evtchn_clear_pending clears the port's pending bit. */
void evtchn_clear_pending(evtchn_port_t port);

/*
 * evtchn_set_handler installs fn(port, arg) for port and unmasks it; a NULL
 * fn masks the port again. Events on a port without a handler are counted
 * and dropped. The port's events are scanned on the vCPU it notifies
 * (vCPU 0 unless bound otherwise through these wrappers).
 */
int evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn, void *arg);
/* evtchn_count is how many events the scan has taken off port. */
uint64_t evtchn_count(evtchn_port_t port);

/*
 * evtchn_poll is the upcall handler run by polling: if this vCPU's
 * evtchn_upcall_pending is set it clears it, takes evtchn_pending_sel,
 * clears and dispatches every pending unmasked port of the selected words
 * that this vCPU owns, and repeats until nothing is pending. Returns the
 * events dispatched. The interrupt path runs the same code.
 */
unsigned evtchn_poll(void);
/* evtchn_wait polls; while nothing came, blocks (SCHEDOP_block) and polls again. */
unsigned evtchn_wait(void);
/* evtchn_wait_spin polls for up to spin_ns of system time, then waits as evtchn_wait. */
unsigned evtchn_wait_spin(uint64_t spin_ns);
/* evtchn_wait_idle is evtchn_wait idling with sti; hlt (needs evtchn_upcall_init). */
unsigned evtchn_wait_idle(void);

/*
 * evtchn_upcall_init turns on upcall interrupts for the calling vCPU:
 * software-enables its local APIC and sets GK_UPCALL_VECTOR with
 * HVMOP_set_evtchn_upcall_vector. CPL3 code is still not interrupted until
 * evtchn_irq_enable(1); the idle path (evtchn_wait_idle) is.
 */
int evtchn_upcall_init(void);
/* evtchn_set_callback_vector sets HVM_PARAM_CALLBACK_IRQ to the vector (all vCPUs). */
int evtchn_set_callback_vector(void);
/* evtchn_irq_enable turns upcall interrupts at CPL3 on or off for this vCPU; returns the old setting. */
long evtchn_irq_enable(int on);
/* evtchn_upcall_interrupts counts upcall interrupts taken on this vCPU. */
uint64_t evtchn_upcall_interrupts(void);

/* ---- vCPU timers (lib/timer.c), all on the calling vCPU ---- */

/*
 * xen_timer_init binds VIRQ_TIMER on this vCPU (once) with a handler that
 * counts expiries, records the system time of the last one and calls the
 * callback set with xen_timer_set_callback.
 */
int xen_timer_init(void);
/* xen_timer_port is this vCPU's VIRQ_TIMER port (0 before xen_timer_init). */
evtchn_port_t xen_timer_port(void);
/* xen_timer_set arms VCPUOP_set_singleshot_timer at absolute time deadline_ns. */
int xen_timer_set(uint64_t deadline_ns, uint32_t flags);
/* xen_timer_stop is VCPUOP_stop_singleshot_timer. */
int xen_timer_stop(void);
/* xen_timer_set_periodic is VCPUOP_set_periodic_timer. */
int xen_timer_set_periodic(uint64_t period_ns);
/* xen_timer_stop_periodic is VCPUOP_stop_periodic_timer. */
int xen_timer_stop_periodic(void);
/* xen_timer_set_callback sets what the VIRQ_TIMER handler calls (NULL: nothing). */
void xen_timer_set_callback(void (*fn)(uint64_t now_ns, void *arg), void *arg);
/* xen_timer_fired counts VIRQ_TIMER events on this vCPU. */
uint64_t xen_timer_fired(void);
/* xen_timer_last_ns is the system time at which the handler last ran. */
uint64_t xen_timer_last_ns(void);
/*
 * xen_wait_until waits for events until system time deadline_ns, with the
 * single-shot timer armed at it so the vCPU blocks meanwhile. Returns the
 * events handled.
 */
unsigned xen_wait_until(uint64_t deadline_ns);

/* ---- grant tables v1 (lib/gnttab.c) ---- */

#define GK_GNTTAB_FRAMES 4 /* frames guestkit maps: 2048 grants */

/*
 * gnttab_init selects version 1, asks query_size, and places the frames
 * on guestkit pages with XENMEM_add_to_physmap(XENMAPSPACE_grant_table);
 * if that is refused it falls back to GNTTABOP_setup_table. Runs once.
 */
int gnttab_init(void);
/* gnttab_prefer_setup_table makes a later gnttab_init use GNTTABOP_setup_table only. */
void gnttab_prefer_setup_table(void);
/* gnttab_used_setup_table reports whether gnttab_init took the setup_table path. */
int gnttab_used_setup_table(void);
/* gnttab_nr_entries is the number of grant references available. */
unsigned gnttab_nr_entries(void);
/* gnttab_entry returns the entry of ref (NULL if out of range or before init). */
volatile struct grant_entry_v1 *gnttab_entry(grant_ref_t ref);
/* gnttab_grant_access grants domid access to frame gfn; returns the ref or -XEN_ENOSPC. */
int gnttab_grant_access(domid_t domid, uint64_t gfn, int readonly);
/*
 * gnttab_end_access revokes ref unless the grantee is using it: the flags
 * go to 0 with a compare-exchange that fails while GTF_reading or
 * GTF_writing is set (-XEN_EBUSY; the grant stays). On success the ref is
 * free for reuse.
 */
int gnttab_end_access(grant_ref_t ref);
int gnttab_set_version(uint32_t *version);
int gnttab_get_version(domid_t dom, uint32_t *version);
/* gnttab_query_size returns the hypercall's result; *status is the entry's GNTST_*. */
int gnttab_query_size(domid_t dom, uint32_t *nr_frames, uint32_t *max_frames, int16_t *status);
int gnttab_setup_table(domid_t dom, uint32_t nr_frames, uint64_t *frames, int16_t *status);
/* gnttab_copy runs GNTTABOP_copy on count entries (each gets its own status). */
int gnttab_copy(struct gnttab_copy *ops, unsigned count);

/* ---- xenstore (lib/xenstore.c, lib/xs_ops.c) ---- */

typedef uint32_t xs_tx_t;
#define XBT_NIL 0 /* no transaction */
#define XS_WATCH_QUEUE 32 /* watch events kept before the oldest is dropped */

/*
 * xs_init finds the ring and port (HVM_PARAM_STORE_PFN/EVTCHN). Runs once.
 * Requests may come from any vCPU, one at a time; the store port follows
 * the caller (EVTCHNOP_bind_vcpu) so that it can block while it waits.
 */
int xs_init(void);
/*
 * xs_read reads path into buf (NUL-terminated, truncated to size - 1) and
 * returns the value's full length.
 */
int xs_read(xs_tx_t tx, const char *path, char *buf, size_t size);
/* xs_read_u64 reads a decimal value. */
int xs_read_u64(xs_tx_t tx, const char *path, uint64_t *value);
int xs_write(xs_tx_t tx, const char *path, const char *value);
/* xs_printf writes a formatted value. */
int xs_printf(xs_tx_t tx, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int xs_mkdir(xs_tx_t tx, const char *path);
int xs_rm(xs_tx_t tx, const char *path);
/* xs_directory lists path's children into buf as NUL-separated names; returns the count. */
int xs_directory(xs_tx_t tx, const char *path, char *buf, size_t size);
/* xs_get_perms lists path's permissions ("b0", "r5", ...) NUL-separated; returns the count. */
int xs_get_perms(xs_tx_t tx, const char *path, char *buf, size_t size);
/* xs_set_perms sets n permissions; perms[0] names the owner and the default. */
int xs_set_perms(xs_tx_t tx, const char *path, const char *const *perms, unsigned n);
int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
/*
 * xs_read_watch takes the oldest queued watch event for token (any token
 * if NULL), waiting until timeout_ns of system time have passed (0: do not
 * wait); the event's path goes to path. -XEN_ETIMEDOUT if none came. While
 * it blocks, the calling vCPU's single-shot timer is armed at the deadline.
 */
int xs_read_watch(const char *token, char *path, size_t size, uint64_t timeout_ns);
/* xs_watch_dropped counts watch events dropped because the queue was full. */
uint64_t xs_watch_dropped(void);
int xs_transaction_start(xs_tx_t *tx);
/* xs_transaction_end commits (abort = 0) or aborts; -XEN_EAGAIN: retry the transaction. */
int xs_transaction_end(xs_tx_t tx, int abort);
int xs_get_domain_path(unsigned domid, char *buf, size_t size);
/* xs_errno_name names a negative Xen errno as xenstore does ("EACCES"), or "E?". */
const char *xs_errno_name(int err);
/* xs_errno_parse maps a xenstore error name to a negative Xen errno (-XEN_EIO if unknown). */
int xs_errno_parse(const char *name);

/* ---- xenbus frontend (lib/xenbus.c) ---- */

/* xenbus_device is one frontend and the backend it talks to. */
struct xenbus_device {
	char nodename[64];     /* frontend directory, e.g. "device/vtest/0" */
	char otherend[128];    /* backend directory, from <nodename>/backend */
	unsigned otherend_id;  /* backend domain, from <nodename>/backend-id (0 if absent) */
	char token[24];        /* watch token for <otherend>/state */
};

/* xenbus_read_state reads <dir>/state; a missing node is XenbusStateUnknown. */
int xenbus_read_state(const char *dir);
/*
 * xenbus_device_init reads the backend path and id and watches the
 * backend's state node.
 */
int xenbus_device_init(struct xenbus_device *dev, const char *nodename);
/* xenbus_switch_state writes the frontend's state (in tx, or alone if XBT_NIL). */
int xenbus_switch_state(struct xenbus_device *dev, xs_tx_t tx, enum xenbus_state state);
/*
 * xenbus_wait_otherend waits until the backend's state is one of mask
 * (bit per state) and returns it, or -XEN_ETIMEDOUT after timeout_ns.
 */
int xenbus_wait_otherend(struct xenbus_device *dev, unsigned mask, uint64_t timeout_ns);
/* xenbus_key is one key the frontend publishes under its directory. */
struct xenbus_key {
	const char *name;  /* e.g. "ring-ref" */
	uint64_t value;    /* written in decimal */
};
/*
 * xenbus_frontend_connect runs the frontend's side of the handshake: wait
 * for the backend's InitWait (or Connected), write keys and state
 * Initialised in one transaction (retried on EAGAIN), wait for the
 * backend's Connected, then switch to Connected.
 */
int xenbus_frontend_connect(struct xenbus_device *dev, const struct xenbus_key *keys,
			    unsigned n, uint64_t timeout_ns);
/* xenbus_frontend_close goes Closing, waits for the backend to close, then Closed. */
int xenbus_frontend_close(struct xenbus_device *dev, uint64_t timeout_ns);
/* xenbus_device_free removes the watch. */
void xenbus_device_free(struct xenbus_device *dev);

/* ---- PV console ring (lib/console.c) ---- */

/*
 * console_use_ring sends console_write (and so printf) to the PV console
 * ring of HVM_PARAM_CONSOLE_PFN/EVTCHN from now on; until then, or if it
 * fails, output goes through console_io. exit() flushes the ring.
 */
int console_use_ring(void);
/* console_use_hypercall sends console output through console_io again. */
void console_use_hypercall(void);
/* console_ring_active reports whether console_write uses the ring. */
int console_ring_active(void);
/* console_flush waits until the backend has consumed the ring's output. */
int console_flush(void);

#endif /* GUESTKIT_PV_H */
