/*
 * hostile_evtchn [neighbour=D] [storm=N]: event-channel abuse.
 *   - ports out of range (0, max, 2^12, 2^31, 2^32-1) for send, close,
 *     unmask, status, bind_vcpu: -EINVAL (bind_vcpu's vCPU out of range:
 *     -ENOENT), as Xen;
 *   - other domains' ports: bind_interdomain to domain D's ports or the
 *     backend's (domain 0) is refused (-EINVAL when the port is not unbound
 *     for us, -ESRCH if D does not exist yet); status and reset of another
 *     domain: -EPERM or -ESRCH;
 *   - send storms: N sends on a loopback interdomain pair and on an IPI;
 *   - exhaustion: alloc_unbound until -ENOSPC (the per-domain port cap).
 * Then it reports mark "exhausted" and blocks for good, holding every
 * port, until the host stops it; the neighbour allocates meanwhile.
 */
#include "gk_pv.h"

static volatile uint64_t got;

static void on_event(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
	got++;
}

static void out_of_range(void)
{
	static const uint32_t bad[] = {0, 1023, 1024, 4095, 4096, 0x80000000u, 0xffffffffu};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		evtchn_port_t p = bad[i];
		struct evtchn_status st = {.dom = DOMID_SELF, .port = p};
		if (p == 1023) {
			/* In range but never allocated: closed, or not yet valid (Xen
			 * validates ports a bucket at a time); send and close refuse it. */
			int rc = HYPERVISOR_event_channel_op(EVTCHNOP_status, &st);
			T_EXPECT(rc == -XEN_EINVAL || (rc == 0 && st.status == EVTCHNSTAT_closed));
		} else if (p != 0) {
			T_EXPECT_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_status, &st), -XEN_EINVAL);
		}
		T_EXPECT_EQ(evtchn_send(p), -XEN_EINVAL);
		T_EXPECT_EQ(evtchn_close(p), -XEN_EINVAL);
		T_EXPECT(evtchn_unmask(p) == -XEN_EINVAL || (p == 0 || p == 1023));
		T_EXPECT(evtchn_bind_vcpu(p, 0) < 0);
	}
	evtchn_port_t p;
	T_EXPECT_EQ(evtchn_bind_ipi(5000, &p), -XEN_ENOENT);
	T_EXPECT_EQ(evtchn_bind_virq(VIRQ_TIMER, 5000, &p), -XEN_ENOENT);
	T_EXPECT_EQ(evtchn_bind_virq(1000, 0, &p), -XEN_EINVAL);
	T_EXPECT(evtchn_bind_virq(0xffffffffu, 0, &p) < 0);
}

static void others(unsigned neighbour)
{
	evtchn_port_t p;
	unsigned refused = 0, tried = 0;
	for (evtchn_port_t rp = 0; rp < 70; rp++) {
		int rc = evtchn_bind_interdomain((domid_t)neighbour, rp, &p);
		tried++;
		if (rc == -XEN_EINVAL || rc == -XEN_ESRCH)
			refused++;
		else
			printf("hostile_evtchn: bind to domain %u port %u: %d\n", neighbour, rp, rc);
		rc = evtchn_bind_interdomain(0, rp, &p);
		tried++;
		if (rc == -XEN_EINVAL)
			refused++;
		else
			printf("hostile_evtchn: bind to domain 0 port %u: %d\n", rp, rc);
	}
	T_EXPECT_EQ(refused, tried);
	T_EXPECT_EQ(evtchn_bind_interdomain(0x1234, 1, &p), -XEN_ESRCH);
	T_EXPECT_EQ(evtchn_bind_interdomain(DOMID_FIRST_RESERVED + 1, 1, &p), -XEN_ESRCH);
	struct evtchn_status st = {.dom = (domid_t)neighbour, .port = 1};
	int rc = HYPERVISOR_event_channel_op(EVTCHNOP_status, &st);
	T_EXPECT(rc == -XEN_EPERM || rc == -XEN_ESRCH);
	st.dom = 0;
	T_EXPECT_EQ(HYPERVISOR_event_channel_op(EVTCHNOP_status, &st), -XEN_EPERM);
	uint16_t dom = (uint16_t)neighbour;
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_reset, &dom);
	T_EXPECT(rc == -XEN_EPERM || rc == -XEN_ESRCH || rc == -XEN_ENOSYS);
	/* An unbound port offered to a domain that does not exist. */
	struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = 0x1234};
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
	T_EXPECT(rc == 0 || rc == -XEN_ESRCH);
	if (rc == 0)
		T_EXPECT_EQ(evtchn_close(au.port), 0);
	/* Allocating in another domain's table. */
	au.dom = (domid_t)neighbour;
	au.remote_dom = DOMID_SELF;
	rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
	T_EXPECT(rc == -XEN_EPERM || rc == -XEN_ESRCH);
}

static void storms(uint64_t n)
{
	evtchn_port_t a, b, ipi;
	T_EXPECT_EQ(evtchn_alloc_unbound(DOMID_SELF, &a), 0);
	T_EXPECT_EQ(evtchn_bind_interdomain(DOMID_SELF, a, &b), 0);
	T_EXPECT_EQ(evtchn_set_handler(a, on_event, NULL), 0);
	T_EXPECT_EQ(evtchn_bind_ipi(0, &ipi), 0);
	uint64_t fails = 0;
	for (uint64_t i = 0; i < n; i++) {
		if (evtchn_send(b) != 0)
			fails++;
		if ((i & 7) == 0 && evtchn_send(ipi) != 0)
			fails++;
	}
	evtchn_poll();
	T_EXPECT_EQ(fails, 0);
	T_EXPECT(got >= 1); /* events coalesce: at least one arrived */
	/* Close one end while the other storms on. */
	T_EXPECT_EQ(evtchn_close(a), 0);
	for (uint64_t i = 0; i < n / 8; i++)
		evtchn_send(b);
	T_EXPECT_EQ(evtchn_close(b), 0);
	T_EXPECT_EQ(evtchn_close(ipi), 0);
	T_METRIC("storm_sends", n + n / 8 + n / 8);
}

static unsigned exhaust(void)
{
	unsigned n = 0;
	evtchn_port_t p;
	int rc;
	while ((rc = evtchn_alloc_unbound(DOMID_SELF, &p)) == 0 && n < 100000)
		n++;
	T_EXPECT_EQ(rc, -XEN_ENOSPC);
	T_EXPECT(n > 900 && n < 1024);
	T_METRIC("ports_allocated", n);
	return n;
}

int main(int argc, char **argv)
{
	unsigned neighbour = (unsigned)gk_arg_u64(argc, argv, "neighbour", 1);
	uint64_t storm = gk_arg_u64(argc, argv, "storm", 5000);
	T_EXPECT_EQ(xen_pv_init(), 0);
	evtchn_poll();
	out_of_range();
	others(neighbour);
	storms(storm);
	unsigned n = exhaust();
	printf("hostile_evtchn: holding %u ports; %lu passed, %lu failed\n", n, gk_tests_passed,
	       gk_tests_failed);
	T_MARK("exhausted");
	for (;;)
		sys_block();
}
