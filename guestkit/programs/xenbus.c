/*
 * xenbus [dev=device/vtest/0]: the frontend side of the xenbus handshake
 * against the monitor's test backend. The backend goes InitWait; the
 * frontend grants a ring page, allocates an event channel, writes
 * ring-ref and event-channel and goes Initialised (one transaction); the
 * backend goes Connected, the frontend Connected; each side sends one
 * event on the channel; then the frontend goes Closing and Closed.
 */
#include "gk_pv.h"

#define MS 1000000ull
#define TIMEOUT_NS (5000 * MS)

static uint8_t ring_page[4096] __attribute__((aligned(4096)));
static volatile uint64_t events;

static void on_event(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
	events++;
}

int main(int argc, char **argv)
{
	const char *node = "device/vtest/0";
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "dev=", 4) == 0)
			node = argv[i] + 4;

	T_EXPECT_EQ(xs_init(), 0);
	T_EXPECT_EQ(gnttab_init(), 0);
	evtchn_poll(); /* the spurious event of vcpu_info registration */

	struct xenbus_device dev;
	int rc = xenbus_device_init(&dev, node);
	if (rc == -XEN_ENOENT) {
		printf("xenbus: %s has no backend (%s)\n", node, xs_errno_name(rc));
		T_SKIP("no test backend at device/vtest/0");
		printf("xenbus: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
		return 0;
	}
	T_EXPECT_EQ(rc, 0);
	if (rc < 0)
		T_ABORT("xenbus_device_init failed");
	printf("xenbus: %s: backend %s (domain %u), state %d\n", node, dev.otherend,
	       dev.otherend_id, xenbus_read_state(dev.otherend));

	int ref = gnttab_grant_access((domid_t)dev.otherend_id, (uint64_t)ring_page >> 12, 0);
	T_EXPECT(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	evtchn_port_t port = 0;
	T_EXPECT_EQ(evtchn_alloc_unbound((domid_t)dev.otherend_id, &port), 0);
	T_EXPECT_EQ(evtchn_set_handler(port, on_event, NULL), 0);

	const struct xenbus_key keys[] = {
		{"ring-ref", (uint64_t)ref},
		{"event-channel", port},
	};
	rc = xenbus_frontend_connect(&dev, keys, 2, TIMEOUT_NS);
	T_EXPECT_EQ(rc, 0);
	T_EXPECT_EQ(xenbus_read_state(dev.nodename), XenbusStateConnected);
	T_EXPECT_EQ(xenbus_read_state(dev.otherend), XenbusStateConnected);
	if (rc == 0) {
		/* The backend bound our port: one event each way. */
		struct evtchn_status st;
		T_EXPECT_EQ(evtchn_status(DOMID_SELF, port, &st), 0);
		T_EXPECT_EQ(st.status, EVTCHNSTAT_interdomain);
		T_EXPECT_EQ(evtchn_send(port), 0);
		uint64_t end = xen_system_time_ns() + TIMEOUT_NS;
		while (events == 0 && xen_system_time_ns() < end)
			evtchn_wait_spin(50000);
		T_EXPECT_EQ(events, 1);
		printf("xenbus: connected; %lu event(s) from the backend\n", events);
	}

	rc = xenbus_frontend_close(&dev, TIMEOUT_NS);
	T_EXPECT_EQ(rc, 0);
	T_EXPECT_EQ(xenbus_read_state(dev.nodename), XenbusStateClosed);
	xenbus_device_free(&dev);
	T_EXPECT_EQ(evtchn_close(port), 0);
	if (ref >= 0)
		T_EXPECT_EQ(gnttab_end_access((grant_ref_t)ref), 0);
	printf("xenbus: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
