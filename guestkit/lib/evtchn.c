/*
 * evtchn.c: 2-level event channels: hypercall wrappers, the per-port
 * handler table, the upcall scan (run by polling at CPL3 or from the
 * upcall interrupt's trampoline), blocking waits and the upcall vector.
 */
#include "gk_pv.h"
#include "kernel.h"

/* handler is one port's entry in the handler table. */
struct handler {
	evtchn_handler_t fn; /* NULL: count and drop */
	void *arg;
};

static struct handler handlers[EVTCHN_2L_NR_CHANNELS];
static uint64_t counts[EVTCHN_2L_NR_CHANNELS];
/*
 * owned[cpu] has bit p set if port p notifies vCPU cpu, as Linux's
 * cpu_evtchn_mask: a vCPU scans only its own ports of a selected word.
 * Every port starts on vCPU 0, as in Xen.
 */
static uint64_t owned[GK_MAX_VCPUS][EVTCHN_2L_WORDS];
static volatile uint32_t owned_ready;

/* busy[cpu] is set while the scan runs on that vCPU (one cache line each). */
static struct {
	volatile uint32_t busy;
	uint8_t pad[60];
} scan_state[GK_MAX_VCPUS];

/* owned_init gives every port to vCPU 0, once (0: not yet, 1: running, 2: done). */
static void owned_init(void)
{
	uint32_t expect = 0;
	if (__atomic_load_n(&owned_ready, __ATOMIC_ACQUIRE) == 2)
		return;
	if (__atomic_compare_exchange_n(&owned_ready, &expect, 1, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		for (unsigned w = 0; w < EVTCHN_2L_WORDS; w++)
			owned[0][w] = ~0ull;
		__atomic_store_n(&owned_ready, 2, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&owned_ready, __ATOMIC_ACQUIRE) != 2)
		cpu_relax();
}

/* set_owner records that port notifies vCPU cpu. */
static void set_owner(evtchn_port_t port, unsigned cpu)
{
	if (port >= EVTCHN_2L_NR_CHANNELS || cpu >= GK_MAX_VCPUS)
		return;
	owned_init();
	uint64_t bit = 1ull << (port % 64);
	for (unsigned c = 0; c < GK_MAX_VCPUS; c++)
		if (c != cpu)
			__atomic_fetch_and(&owned[c][port / 64], ~bit, __ATOMIC_SEQ_CST);
	__atomic_fetch_or(&owned[cpu][port / 64], bit, __ATOMIC_SEQ_CST);
}

/* ---- hypercall wrappers ---- */

int evtchn_alloc_unbound(domid_t remote_dom, evtchn_port_t *port)
{
	struct evtchn_alloc_unbound a = {.dom = DOMID_SELF, .remote_dom = remote_dom};
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &a);
	if (rc == 0) {
		set_owner(a.port, 0);
		*port = a.port;
	}
	return (int)rc;
}

int evtchn_bind_interdomain(domid_t remote_dom, evtchn_port_t remote_port,
			    evtchn_port_t *local_port)
{
	struct evtchn_bind_interdomain b = {.remote_dom = remote_dom, .remote_port = remote_port};
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &b);
	if (rc == 0) {
		set_owner(b.local_port, 0);
		*local_port = b.local_port;
	}
	return (int)rc;
}

int evtchn_bind_virq(uint32_t virq, uint32_t vcpu, evtchn_port_t *port)
{
	struct evtchn_bind_virq b = {.virq = virq, .vcpu = vcpu};
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &b);
	if (rc == 0) {
		set_owner(b.port, vcpu);
		*port = b.port;
	}
	return (int)rc;
}

int evtchn_bind_ipi(uint32_t vcpu, evtchn_port_t *port)
{
	struct evtchn_bind_ipi b = {.vcpu = vcpu};
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &b);
	if (rc == 0) {
		set_owner(b.port, vcpu);
		*port = b.port;
	}
	return (int)rc;
}

int evtchn_send(evtchn_port_t port)
{
	struct evtchn_port_arg a = {.port = port};
	return (int)HYPERVISOR_event_channel_op(EVTCHNOP_send, &a);
}

int evtchn_close(evtchn_port_t port)
{
	struct evtchn_port_arg a = {.port = port};
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_close, &a);
	if (rc == 0 && port < EVTCHN_2L_NR_CHANNELS) {
		evtchn_mask(port);
		__atomic_store_n(&handlers[port].fn, NULL, __ATOMIC_RELEASE);
		set_owner(port, 0);
	}
	return (int)rc;
}

int evtchn_unmask(evtchn_port_t port)
{
	struct evtchn_port_arg a = {.port = port};
	return (int)HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &a);
}

int evtchn_status(domid_t dom, evtchn_port_t port, struct evtchn_status *st)
{
	memset(st, 0, sizeof *st);
	st->dom = dom;
	st->port = port;
	return (int)HYPERVISOR_event_channel_op(EVTCHNOP_status, st);
}

int evtchn_bind_vcpu(evtchn_port_t port, uint32_t vcpu)
{
	struct evtchn_bind_vcpu b = {.port = port, .vcpu = vcpu};
	long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu, &b);
	if (rc == 0)
		set_owner(port, vcpu);
	return (int)rc;
}

/* ---- bits in shared_info ---- */

void evtchn_mask(evtchn_port_t port)
{
	struct shared_info *s = xen_shared_info;
	if (s && port < EVTCHN_2L_NR_CHANNELS)
		__atomic_fetch_or(&s->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
}

void evtchn_unmask_local(evtchn_port_t port)
{
	struct shared_info *s = xen_shared_info;
	if (!s || port >= EVTCHN_2L_NR_CHANNELS)
		return;
	uint64_t bit = 1ull << (port % 64);
	/* Clear the mask before looking at pending, or an event could slip by. */
	__atomic_fetch_and(&s->evtchn_mask[port / 64], ~bit, __ATOMIC_SEQ_CST);
	if (!evtchn_is_pending(port))
		return;
	/*
	 * Raised while masked, so no selector bit was set. EVTCHNOP_unmask
	 * re-delivers only if it finds the mask set (evtchn_2l_unmask): mask
	 * again and let Xen unmask, as Linux does on HVM.
	 */
	__atomic_fetch_or(&s->evtchn_mask[port / 64], bit, __ATOMIC_SEQ_CST);
	evtchn_unmask(port);
}

int evtchn_is_pending(evtchn_port_t port)
{
	struct shared_info *s = xen_shared_info;
	if (!s || port >= EVTCHN_2L_NR_CHANNELS)
		return 0;
	return (__atomic_load_n(&s->evtchn_pending[port / 64], __ATOMIC_ACQUIRE) >> (port % 64)) & 1;
}

int evtchn_is_masked(evtchn_port_t port)
{
	struct shared_info *s = xen_shared_info;
	if (!s || port >= EVTCHN_2L_NR_CHANNELS)
		return 1;
	return (__atomic_load_n(&s->evtchn_mask[port / 64], __ATOMIC_ACQUIRE) >> (port % 64)) & 1;
}

void evtchn_clear_pending(evtchn_port_t port)
{
	struct shared_info *s = xen_shared_info;
	if (s && port < EVTCHN_2L_NR_CHANNELS)
		__atomic_fetch_and(&s->evtchn_pending[port / 64], ~(1ull << (port % 64)),
				   __ATOMIC_SEQ_CST);
}

int evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn, void *arg)
{
	if (port == 0 || port >= EVTCHN_2L_NR_CHANNELS)
		return -XEN_EINVAL;
	int rc = xen_pv_init();
	if (rc < 0)
		return rc;
	owned_init();
	if (!fn) {
		evtchn_mask(port);
		__atomic_store_n(&handlers[port].fn, NULL, __ATOMIC_RELEASE);
		return 0;
	}
	__atomic_store_n(&handlers[port].fn, NULL, __ATOMIC_RELEASE);
	handlers[port].arg = arg;
	__atomic_store_n(&handlers[port].fn, fn, __ATOMIC_RELEASE);
	evtchn_unmask_local(port);
	return 0;
}

uint64_t evtchn_count(evtchn_port_t port)
{
	return port < EVTCHN_2L_NR_CHANNELS ? __atomic_load_n(&counts[port], __ATOMIC_RELAXED) : 0;
}

/* ---- the upcall scan ---- */

static void dispatch(evtchn_port_t port)
{
	__atomic_add_fetch(&counts[port], 1, __ATOMIC_RELAXED);
	evtchn_handler_t fn = __atomic_load_n(&handlers[port].fn, __ATOMIC_ACQUIRE);
	if (fn)
		fn(port, handlers[port].arg);
}

/*
 * scan is the 2-level upcall loop for vCPU cpu: clear upcall_pending,
 * take the selector, and for each selected word take the pending,
 * unmasked, owned ports one by one, clearing each pending bit before its
 * handler runs (an event raised meanwhile is seen on the next pass).
 */
static unsigned scan(unsigned cpu, struct vcpu_info *vi)
{
	struct shared_info *s = xen_shared_info;
	unsigned n = 0;
	while (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
		uint64_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
		while (sel) {
			unsigned w = (unsigned)__builtin_ctzll(sel);
			sel &= sel - 1;
			for (;;) {
				uint64_t bits = __atomic_load_n(&s->evtchn_pending[w], __ATOMIC_ACQUIRE) &
						~__atomic_load_n(&s->evtchn_mask[w], __ATOMIC_ACQUIRE) &
						__atomic_load_n(&owned[cpu][w], __ATOMIC_RELAXED);
				if (!bits)
					break;
				uint64_t bit = bits & -bits;
				if (__atomic_fetch_and(&s->evtchn_pending[w], ~bit, __ATOMIC_SEQ_CST) & bit) {
					dispatch(w * 64 + (unsigned)__builtin_ctzll(bit));
					n++;
				}
			}
		}
	}
	return n;
}

/*
 * do_upcall runs the scan unless it already runs on this vCPU (an upcall
 * interrupt that hit a polling loop): then the running scan sees the new
 * upcall_pending and goes round again.
 */
static unsigned do_upcall(void)
{
	unsigned cpu = this_cpu();
	struct vcpu_info *vi = xen_vcpu_info(cpu);
	if (!vi)
		return 0;
	owned_init();
	volatile uint32_t *busy = &scan_state[cpu].busy;
	unsigned n = 0;
	for (;;) {
		if (__atomic_exchange_n(busy, 1, __ATOMIC_ACQUIRE))
			return n;
		n += scan(cpu, vi);
		__atomic_store_n(busy, 0, __ATOMIC_RELEASE);
		if (!__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE))
			return n;
	}
}

unsigned evtchn_poll(void)
{
	if (!xen_shared_info)
		return 0;
	struct vcpu_info *vi = xen_vcpu_info(this_cpu());
	if (!vi || !__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE))
		return 0;
	return do_upcall();
}

unsigned evtchn_wait(void)
{
	for (;;) {
		unsigned n = evtchn_poll();
		if (n)
			return n;
		/* Returns at once if upcall_pending was set after the poll. */
		sys_block();
	}
}

unsigned evtchn_wait_spin(uint64_t spin_ns)
{
	uint64_t until = xen_system_time_ns() + spin_ns;
	do {
		unsigned n = evtchn_poll();
		if (n)
			return n;
		cpu_relax();
	} while (xen_system_time_ns() < until);
	return evtchn_wait();
}

unsigned evtchn_wait_idle(void)
{
	for (;;) {
		unsigned n = evtchn_poll();
		if (n)
			return n;
		sys_idle();
	}
}

/* ---- upcall interrupts ---- */

static void upcall_from_interrupt(void)
{
	do_upcall();
}

int evtchn_upcall_init(void)
{
	int rc = xen_pv_init();
	if (rc < 0)
		return rc;
	gk_upcall_fn = upcall_from_interrupt;
	sys_lapic_enable();
	struct xen_hvm_evtchn_upcall_vector a = {.vcpu = this_cpu(), .vector = GK_UPCALL_VECTOR};
	return (int)HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &a);
}

int evtchn_set_callback_vector(void)
{
	int rc = xen_pv_init();
	if (rc < 0)
		return rc;
	gk_upcall_fn = upcall_from_interrupt;
	sys_lapic_enable();
	return hvm_set_param(HVM_PARAM_CALLBACK_IRQ,
			     (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | GK_UPCALL_VECTOR);
}

long evtchn_irq_enable(int on)
{
	return sys_set_if(on);
}

uint64_t evtchn_upcall_interrupts(void)
{
	uint64_t v;
	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(v) : "i"(GK_PCPU_UPCALLS));
	return v;
}
