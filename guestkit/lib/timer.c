/*
 * timer.c: the calling vCPU's Xen timers (vcpu.h single-shot and periodic
 * timers, set_timer_op), all raising VIRQ_TIMER on that vCPU.
 */
#include "gk_pv.h"

/* timer_state is one vCPU's VIRQ_TIMER binding (one cache line). */
static struct {
	evtchn_port_t port;                    /* VIRQ_TIMER port, 0 if unbound */
	uint32_t pad;                          /* unused */
	volatile uint64_t fired;               /* VIRQ_TIMER events handled */
	volatile uint64_t last_ns;             /* system time when the handler last ran */
	void (*fn)(uint64_t now_ns, void *arg); /* callback, NULL: none */
	void *arg;                             /* callback argument */
	uint8_t pad2[24];                      /* to 64 bytes */
} timers[GK_MAX_VCPUS];

static void timer_handler(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
	unsigned cpu = this_cpu();
	uint64_t now = xen_system_time_ns();
	timers[cpu].last_ns = now;
	timers[cpu].fired++;
	void (*fn)(uint64_t, void *) = timers[cpu].fn;
	if (fn)
		fn(now, timers[cpu].arg);
}

int xen_timer_init(void)
{
	unsigned cpu = this_cpu();
	if (timers[cpu].port)
		return 0;
	int rc = xen_pv_init();
	if (rc < 0)
		return rc;
	evtchn_port_t port;
	rc = evtchn_bind_virq(VIRQ_TIMER, cpu, &port);
	if (rc < 0)
		return rc;
	timers[cpu].port = port;
	return evtchn_set_handler(port, timer_handler, NULL);
}

evtchn_port_t xen_timer_port(void)
{
	return timers[this_cpu()].port;
}

int xen_timer_set(uint64_t deadline_ns, uint32_t flags)
{
	struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = deadline_ns, .flags = flags};
	return (int)HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, this_cpu(), &t);
}

int xen_timer_stop(void)
{
	return (int)HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, this_cpu(), NULL);
}

int xen_timer_set_periodic(uint64_t period_ns)
{
	struct vcpu_set_periodic_timer t = {.period_ns = period_ns};
	return (int)HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, this_cpu(), &t);
}

int xen_timer_stop_periodic(void)
{
	return (int)HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, this_cpu(), NULL);
}

void xen_timer_set_callback(void (*fn)(uint64_t now_ns, void *arg), void *arg)
{
	unsigned cpu = this_cpu();
	timers[cpu].fn = NULL;
	timers[cpu].arg = arg;
	timers[cpu].fn = fn;
}

uint64_t xen_timer_fired(void)
{
	return timers[this_cpu()].fired;
}

uint64_t xen_timer_last_ns(void)
{
	return timers[this_cpu()].last_ns;
}

unsigned xen_wait_until(uint64_t deadline_ns)
{
	unsigned n = 0;
	if (xen_timer_init() < 0)
		return 0;
	while (xen_system_time_ns() < deadline_ns) {
		if (xen_timer_set(deadline_ns, 0) < 0)
			return n;
		n += evtchn_wait();
	}
	return n;
}
