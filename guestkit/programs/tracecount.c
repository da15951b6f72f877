/*
 * tracecount: a known number of exits of each kind, for checking tracers.
 *
 *   tracecount [hc=N] [raw=R] [db=M] [up=K]
 *
 * Between the marks "start" and "end" the guest makes, at CPL3, exactly
 * N xen_version hypercalls (OUT to port 0xc0, each a userspace exit), R raw
 * exits (port 0xc4), M doorbell writes of port 4095 to port 0xcc (answered
 * in the kernel when the monitor registers an ioeventfd for 4095) and K
 * EVTCHNOP_send on an IPI channel to itself (each an exit on port 0xcc and
 * one upcall interrupt, waited for before the next send). The "end" mark is
 * one more exit on port 0xc8. Metric "upcalls": handler runs in the loop.
 */
#include "gk_pv.h"

#define WAIT_NS (2ull * 1000 * 1000 * 1000)

static volatile uint64_t hits;

static void on_event(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
	atomic_add(&hits, 1);
}

static uint64_t arg(int argc, char **argv, const char *key, uint64_t def)
{
	size_t k = strlen(key);
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') {
			int ok;
			uint64_t v = strtou64(argv[i] + k + 1, &ok);
			if (ok)
				return v;
		}
	}
	return def;
}

int main(int argc, char **argv)
{
	uint64_t hc = arg(argc, argv, "hc", 1000);
	uint64_t raw = arg(argc, argv, "raw", 0);
	uint64_t db = arg(argc, argv, "db", 0);
	uint64_t up = arg(argc, argv, "up", 0);
	evtchn_port_t ipi = 0;

	if (up) {
		if (xen_pv_init() != 0 || evtchn_upcall_init() != 0 || evtchn_bind_ipi(0, &ipi) != 0 ||
		    evtchn_set_handler(ipi, on_event, NULL) != 0)
			T_ABORT("event channel setup failed");
		/* register_vcpu_info leaves upcall_pending set: clear it first. */
		evtchn_poll();
		evtchn_irq_enable(1);
	}
	hits = 0;
	T_MARK("start");
	for (uint64_t i = 0; i < hc; i++)
		HYPERVISOR_xen_version(XENVER_version, NULL);
	for (uint64_t i = 0; i < raw; i++)
		raw_exit();
	for (uint64_t i = 0; i < db; i++)
		outl(0xcc, 4095);
	for (uint64_t i = 0; i < up; i++) {
		evtchn_send(ipi);
		uint64_t end = xen_system_time_ns() + WAIT_NS;
		while (atomic_load(&hits) < i + 1)
			if (xen_system_time_ns() > end)
				T_ABORT("upcall did not arrive");
	}
	T_MARK("end");
	if (up)
		evtchn_irq_enable(0);
	T_METRIC("upcalls", hits);
	printf("tracecount: hc=%lu raw=%lu db=%lu up=%lu upcalls=%lu\n", hc, raw, db, up, hits);
	return 0;
}
