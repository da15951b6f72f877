/*
 * evtchn: event-channel conformance (2-level ABI) with the errno each case
 * gets from Xen (xen/common/event_channel.c), shared_info and time, and
 * upcall delivery: by polling, by SCHEDOP_block, through the upcall
 * interrupt at CPL3 and while idle at CPL0, and (with 2+ vCPUs) to
 * another vCPU. Metrics: upcall_irqs, upcall_irq_latency_median_ns; series
 * upcall_irq_latency_cycles (TSC cycles from the send to the handler).
 */
#include "gk_pv.h"

#define BAD_PORT 4096u
#define NO_VCPU 9999u
#define NO_DOMAIN 0x7fe0u
#define WAIT_NS (2ull * 1000 * 1000 * 1000) /* hang guard for waits */

static volatile uint64_t hits;
static volatile uint64_t hit_tsc;

static void on_event(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
	hit_tsc = rdtsc();
	atomic_add(&hits, 1);
}

/* spin_until spins (no polling, no blocking) until hits reaches want or time runs out. */
static int spin_until(uint64_t want)
{
	uint64_t end = xen_system_time_ns() + WAIT_NS;
	while (atomic_load(&hits) < want)
		if (xen_system_time_ns() > end)
			return 0;
	return 1;
}

static void test_shared_info_and_time(void)
{
	T_EXPECT_EQ(xen_pv_init(), 0);
	T_EXPECT(xen_shared_info != NULL);
	T_EXPECT(xen_vcpu_info_registered(0));
	T_EXPECT(xen_vcpu_info(0) != NULL);
	/* domain.c VCPUOP_register_vcpu_info: once per vCPU (-EBUSY); no such vCPU -ENOENT. */
	uint64_t gpa = (uint64_t)xen_vcpu_info(0);
	struct vcpu_register_vcpu_info r = {.mfn = gpa >> 12, .offset = gpa & 0xfff};
	T_EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &r), -XEN_EBUSY);
	T_EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, NO_VCPU, &r), -XEN_ENOENT);

	/* System time advances, and agrees with HVMOP_get_time. */
	uint64_t t0 = xen_system_time_ns(), t1 = t0;
	for (int i = 0; i < 100000000 && t1 < t0 + 1000000; i++)
		t1 = xen_system_time_ns();
	T_EXPECT(t0 > 0);
	T_EXPECT(t1 >= t0 + 1000000);
	uint64_t now = 0;
	uint64_t before = xen_system_time_ns();
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_get_time, &now), 0);
	uint64_t after = xen_system_time_ns();
	printf("evtchn: system time %lu ns, HVMOP_get_time %lu ns\n", before, now);
	T_EXPECT(now + 5000000 >= before && now <= after + 5000000);

	uint64_t sec;
	uint32_t nsec;
	xen_wallclock(&sec, &nsec);
	printf("evtchn: wallclock %lu.%09u\n", sec, nsec);
	T_EXPECT(sec > 1600000000ull && sec < 5000000000ull);
	T_EXPECT(nsec < 1000000000u);
}

static void test_unbound_and_loopback(void)
{
	evtchn_port_t a, b;
	struct evtchn_status st;
	unsigned self = xen_domid();

	T_EXPECT_EQ(evtchn_alloc_unbound(DOMID_SELF, &a), 0);
	T_EXPECT(a > 0 && a < EVTCHN_2L_NR_CHANNELS);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, a, &st), 0);
	T_EXPECT_EQ(st.status, EVTCHNSTAT_unbound);
	T_EXPECT_EQ(st.vcpu, 0);
	/* alloc_unbound: a remote of DOMID_SELF is recorded as the own id. */
	if (self != DOMID_SELF)
		T_EXPECT_EQ(st.u.unbound.dom, self);
	/* event_channel.c evtchn_send: an unbound port drops the event, rc 0. */
	T_EXPECT_EQ(evtchn_send(a), 0);
	T_EXPECT(!evtchn_is_pending(a));

	/* Loopback: bind to our own unbound port. */
	T_EXPECT_EQ(evtchn_bind_interdomain(DOMID_SELF, a, &b), 0);
	T_EXPECT(b != a);
	/* evtchn_bind_interdomain marks the new local port pending. */
	T_EXPECT(evtchn_is_pending(b));
	evtchn_clear_pending(b);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, b, &st), 0);
	T_EXPECT_EQ(st.status, EVTCHNSTAT_interdomain);
	T_EXPECT_EQ(st.u.interdomain.port, a);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, a, &st), 0);
	T_EXPECT_EQ(st.status, EVTCHNSTAT_interdomain);
	T_EXPECT_EQ(st.u.interdomain.port, b);

	/*
	 * Masked: the send sets pending only (no selector, no upcall). Poll
	 * first: VCPUOP_register_vcpu_info leaves upcall_pending and every
	 * selector bit set (Xen's map_vcpu_info: "nothing gets lost").
	 */
	evtchn_poll();
	T_EXPECT(evtchn_is_masked(a));
	T_EXPECT_EQ(evtchn_send(b), 0);
	T_EXPECT(evtchn_is_pending(a));
	T_EXPECT_EQ(xen_vcpu_info(0)->evtchn_upcall_pending, 0);

	/* Installing a handler unmasks; the unmask hypercall re-delivers. */
	hits = 0;
	T_EXPECT_EQ(evtchn_set_handler(a, on_event, NULL), 0);
	T_EXPECT(!evtchn_is_masked(a));
	T_EXPECT_EQ(xen_vcpu_info(0)->evtchn_upcall_pending, 1);
	T_EXPECT_EQ(evtchn_poll(), 1);
	T_EXPECT_EQ(hits, 1);
	T_EXPECT(!evtchn_is_pending(a));

	/* And the other way round. */
	T_EXPECT_EQ(evtchn_set_handler(b, on_event, NULL), 0);
	T_EXPECT_EQ(evtchn_send(a), 0);
	T_EXPECT_EQ(evtchn_poll(), 1);
	T_EXPECT_EQ(hits, 2);
	T_EXPECT_EQ(evtchn_count(b), 1);

	/* bind_interdomain to a port that is no longer unbound: -EINVAL. */
	evtchn_port_t c;
	T_EXPECT_EQ(evtchn_bind_interdomain(DOMID_SELF, a, &c), -XEN_EINVAL);
	/* evtchn_bind_vcpu: unbound/interdomain ports may move (vCPU 0 always exists). */
	T_EXPECT_EQ(evtchn_bind_vcpu(a, 0), 0);
	T_EXPECT_EQ(evtchn_bind_vcpu(a, NO_VCPU), -XEN_ENOENT);

	/* evtchn_close: the peer of a closed interdomain port reverts to unbound. */
	T_EXPECT_EQ(evtchn_close(b), 0);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, a, &st), 0);
	T_EXPECT_EQ(st.status, EVTCHNSTAT_unbound);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, b, &st), 0);
	T_EXPECT_EQ(st.status, EVTCHNSTAT_closed);
	/* A free port: close and send -EINVAL, unmask 0 (valid port, nothing to do). */
	T_EXPECT_EQ(evtchn_close(b), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_send(b), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_unmask(b), 0);
	T_EXPECT_EQ(evtchn_close(a), 0);
}

static void test_errors(void)
{
	struct evtchn_status st;
	evtchn_port_t p;

	/* _evtchn_from_port: a port beyond the valid range is -EINVAL everywhere. */
	T_EXPECT_EQ(evtchn_close(BAD_PORT), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_close(0xffffffffu), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_send(BAD_PORT), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_unmask(BAD_PORT), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, BAD_PORT, &st), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_bind_vcpu(BAD_PORT, 0), -XEN_EINVAL);
	/* Port 0 is reserved: close and send -EINVAL, status closed. */
	T_EXPECT_EQ(evtchn_close(0), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_send(0), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, 0, &st), 0);
	T_EXPECT_EQ(st.status, EVTCHNSTAT_closed);
	/* rcu_lock_domain_by_any_id fails: -ESRCH. */
	T_EXPECT_EQ(evtchn_status(NO_DOMAIN, 1, &st), -XEN_ESRCH);
	struct evtchn_alloc_unbound au = {.dom = NO_DOMAIN, .remote_dom = 0};
	T_EXPECT_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au), -XEN_ESRCH);
	T_EXPECT_EQ(evtchn_bind_interdomain(NO_DOMAIN, 1, &p), -XEN_ESRCH);
	/* evtchn_bind_virq: bad VIRQ -EINVAL, no such vCPU -ENOENT, a global
	 * VIRQ on vCPU != 0 -EINVAL, a global VIRQ owned by dom0 -EBUSY. */
	T_EXPECT_EQ(evtchn_bind_virq(NR_VIRQS, 0, &p), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_bind_virq(VIRQ_TIMER, NO_VCPU, &p), -XEN_ENOENT);
	T_EXPECT_EQ(evtchn_bind_virq(VIRQ_DOM_EXC, 1, &p), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_bind_virq(VIRQ_DOM_EXC, 0, &p), -XEN_EBUSY);
	/* evtchn_bind_ipi: no such vCPU -ENOENT. */
	T_EXPECT_EQ(evtchn_bind_ipi(NO_VCPU, &p), -XEN_ENOENT);
	/* The FIFO ABI is not offered: guests fall back to 2-level. */
	struct evtchn_init_control ic = {.control_gfn = 0, .offset = 0, .vcpu = 0};
	T_EXPECT_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_init_control, &ic), -XEN_ENOSYS);
	/* do_event_channel_op: unknown command -ENOSYS; bad argument -EFAULT. */
	T_EXPECT_EQ(HYPERVISOR_event_channel_op(99, &ic), -XEN_ENOSYS);
	T_EXPECT_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_status, (void *)0xdead00000000ull),
		    -XEN_EFAULT);
}

static void test_virq_and_ipi(void)
{
	evtchn_port_t virq, ipi, dup;
	struct evtchn_status st;

	T_EXPECT_EQ(evtchn_bind_virq(VIRQ_DEBUG, 0, &virq), 0);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, virq, &st), 0);
	T_EXPECT_EQ(st.status, EVTCHNSTAT_virq);
	T_EXPECT_EQ(st.u.virq, VIRQ_DEBUG);
	/* A VIRQ is bound once per vCPU: -EEXIST; per-vCPU VIRQs cannot move. */
	T_EXPECT_EQ(evtchn_bind_virq(VIRQ_DEBUG, 0, &dup), -XEN_EEXIST);
	T_EXPECT_EQ(evtchn_bind_vcpu(virq, 0), -XEN_EINVAL);
	T_EXPECT_EQ(evtchn_close(virq), 0);
	/* Closed, it can be bound again. */
	T_EXPECT_EQ(evtchn_bind_virq(VIRQ_DEBUG, 0, &virq), 0);
	T_EXPECT_EQ(evtchn_close(virq), 0);

	T_EXPECT_EQ(evtchn_bind_ipi(0, &ipi), 0);
	T_EXPECT_EQ(evtchn_status(DOMID_SELF, ipi, &st), 0);
	T_EXPECT_EQ(st.status, EVTCHNSTAT_ipi);
	T_EXPECT_EQ(st.vcpu, 0);
	/* IPI ports are bound to their vCPU for good. */
	T_EXPECT_EQ(evtchn_bind_vcpu(ipi, 0), -XEN_EINVAL);

	/* Self-send, polled. */
	hits = 0;
	T_EXPECT_EQ(evtchn_set_handler(ipi, on_event, NULL), 0);
	T_EXPECT_EQ(evtchn_send(ipi), 0);
	T_EXPECT_EQ(evtchn_poll(), 1);
	T_EXPECT_EQ(hits, 1);
	/* Two sends before a poll coalesce into one event. */
	T_EXPECT_EQ(evtchn_send(ipi), 0);
	T_EXPECT_EQ(evtchn_send(ipi), 0);
	T_EXPECT_EQ(evtchn_poll(), 1);
	T_EXPECT_EQ(hits, 2);
	/* Nothing pending: poll returns 0 without touching anything. */
	T_EXPECT_EQ(evtchn_poll(), 0);
	/* SCHEDOP_block returns at once when an event is already pending. */
	T_EXPECT_EQ(evtchn_send(ipi), 0);
	T_EXPECT_EQ(evtchn_wait(), 1);
	T_EXPECT_EQ(hits, 3);
	T_EXPECT_EQ(evtchn_close(ipi), 0);
}

/* Upcall interrupts: at CPL3 (IF=1) and while idle at CPL0. */
static void test_upcall_interrupts(void)
{
	evtchn_port_t ipi;
	int rc = evtchn_upcall_init();
	T_EXPECT_EQ(rc, 0);
	if (rc != 0)
		return;
	T_EXPECT_EQ(evtchn_bind_ipi(0, &ipi), 0);
	T_EXPECT_EQ(evtchn_set_handler(ipi, on_event, NULL), 0);

	/* CPL3 with interrupts on: the handler runs without any poll. */
	static GK_SERIES(lat, 64);
	uint64_t irq0 = evtchn_upcall_interrupts();
	T_EXPECT_EQ(evtchn_irq_enable(1), 0);
	hits = 0;
	for (unsigned i = 0; i < 64; i++) {
		uint64_t t0 = rdtsc();
		evtchn_send(ipi);
		if (!spin_until(i + 1))
			break;
		lat.v[lat.count++] = hit_tsc - t0;
	}
	T_EXPECT_EQ(evtchn_irq_enable(0), 1);
	T_EXPECT_EQ(hits, 64);
	uint64_t irqs = evtchn_upcall_interrupts() - irq0;
	T_EXPECT(irqs >= 64);
	T_SERIES("upcall_irq_latency_cycles", &lat);
	if (lat.count) {
		gk_sort_u64(lat.v, lat.count);
		uint64_t med = xen_tsc_to_ns(lat.v[lat.count / 2]);
		T_METRIC("upcall_irq_latency_median_ns", med);
		printf("evtchn: send to handler by upcall interrupt at CPL3: %lu interrupts, median %lu ns\n",
		       irqs, med);
	}

	/* Interrupts off again: a send stays pending until polled. */
	uint64_t before = evtchn_upcall_interrupts();
	hits = 0;
	evtchn_send(ipi);
	for (volatile int i = 0; i < 1000000; i++)
		;
	T_EXPECT_EQ(hits, 0);
	T_EXPECT_EQ(evtchn_poll(), 1);
	T_EXPECT_EQ(hits, 1);

	/* Idle at CPL0 (sti; hlt): a timer wakes the vCPU through the vector. */
	T_EXPECT_EQ(xen_timer_init(), 0);
	uint64_t fired = xen_timer_fired();
	T_EXPECT_EQ(xen_timer_set(xen_system_time_ns() + 2000000, 0), 0);
	uint64_t end = xen_system_time_ns() + WAIT_NS;
	while (xen_timer_fired() == fired && xen_system_time_ns() < end)
		evtchn_wait_idle();
	T_EXPECT(xen_timer_fired() > fired);
	T_EXPECT(evtchn_upcall_interrupts() > before);
	T_METRIC("upcall_irqs", evtchn_upcall_interrupts());
	T_EXPECT_EQ(evtchn_close(ipi), 0);

	/* HVM_PARAM_CALLBACK_IRQ, type 2 (vector): set and read back. */
	T_EXPECT_EQ(evtchn_set_callback_vector(), 0);
	uint64_t via = 0;
	T_EXPECT_EQ(hvm_get_param(HVM_PARAM_CALLBACK_IRQ, &via), 0);
	T_EXPECT_EQ(via, (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | GK_UPCALL_VECTOR);
	/* hvm.c: HVMOP_set_evtchn_upcall_vector refuses vectors below 0x10 and unknown vCPUs. */
	struct xen_hvm_evtchn_upcall_vector uv = {.vcpu = 0, .vector = 0x0f};
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv), -XEN_EINVAL);
	uv = (struct xen_hvm_evtchn_upcall_vector){.vcpu = NO_VCPU, .vector = GK_UPCALL_VECTOR};
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv), -XEN_ENOENT);
}

/* Cross-vCPU: vCPU 1 blocks in evtchn_wait; vCPU 0 sends on an IPI port bound to it. */
static volatile uint64_t ap_hits, ap_stop;
static evtchn_port_t ap_port;

static void on_ap_event(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
	T_EXPECT_EQ(this_cpu(), 1);
	atomic_add(&ap_hits, 1);
}

static volatile uint64_t ap_phase; /* 0: block in evtchn_wait; 1: spin with upcalls on */
static volatile uint64_t ap_ready;

static void ap_main(unsigned cpu)
{
	if (cpu != 1)
		return;
	while (!atomic_load(&ap_stop) && atomic_load(&ap_phase) == 0)
		evtchn_wait();
	if (atomic_load(&ap_stop))
		return;
	/* Phase 1: the per-vCPU vector of vCPU 1, taken at CPL3 while it spins. */
	T_EXPECT_EQ(evtchn_upcall_init(), 0);
	evtchn_irq_enable(1);
	atomic_add(&ap_ready, 1);
	while (!atomic_load(&ap_stop))
		cpu_relax();
	evtchn_irq_enable(0);
	T_EXPECT(evtchn_upcall_interrupts() > 0);
}

static void test_other_vcpu(void)
{
	if (gk_nr_vcpus() < 2) {
		T_SKIP("cross-vCPU events need 2 vCPUs");
		return;
	}
	T_EXPECT_EQ(evtchn_bind_ipi(1, &ap_port), 0);
	T_EXPECT_EQ(evtchn_set_handler(ap_port, on_ap_event, NULL), 0);
	T_EXPECT(smp_start(ap_main) >= 2);
	for (uint64_t i = 1; i <= 10; i++) {
		T_EXPECT_EQ(evtchn_send(ap_port), 0);
		uint64_t end = xen_system_time_ns() + WAIT_NS;
		while (atomic_load(&ap_hits) < i && xen_system_time_ns() < end)
			cpu_relax();
	}
	T_EXPECT_EQ(ap_hits, 10);
	/* vCPU 0's scan does not take vCPU 1's port. */
	T_EXPECT_EQ(evtchn_poll(), 0);

	/* Now vCPU 1 spins at CPL3 with its upcall vector on: interrupts only. */
	ap_phase = 1;
	evtchn_send(ap_port); /* wakes it from the block */
	uint64_t end = xen_system_time_ns() + WAIT_NS;
	while (!atomic_load(&ap_ready) && xen_system_time_ns() < end)
		cpu_relax();
	uint64_t base = atomic_load(&ap_hits);
	for (uint64_t i = 1; i <= 10; i++) {
		T_EXPECT_EQ(evtchn_send(ap_port), 0);
		end = xen_system_time_ns() + WAIT_NS;
		while (atomic_load(&ap_hits) < base + i && xen_system_time_ns() < end)
			cpu_relax();
	}
	T_EXPECT_EQ(ap_hits, base + 10);
	ap_stop = 1;
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_shared_info_and_time();
	test_unbound_and_loopback();
	test_errors();
	test_virq_and_ipi();
	test_upcall_interrupts();
	test_other_vcpu();
	printf("evtchn: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
