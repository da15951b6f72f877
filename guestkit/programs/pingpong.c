/*
 * pingpong server peer=D [rounds=N] [spin_us=U] | client peer=D [rounds=N] [spin_us=U]
 *
 * Two domains in one monitor exchange N events each way over an
 * interdomain event channel. The server allocates an unbound port for D
 * and publishes it at <its home>/data/pingpong-port, readable by D only
 * (permissions "n<self>", "r<D>"); the client watches that node, binds the
 * port and sends; each side answers every event it gets. Both wait by
 * polling at CPL3 for U microseconds (default 50), then block in
 * SCHEDOP_block until the next event. The client reports series "rtt"
 * (TSC cycles per round trip) and metric rtt_median_ns; both report
 * pingpong_sent and pingpong_received.
 */
#include "gk_pv.h"

#define MS 1000000ull
#define SPIN_NS 50000ull              /* default: poll this long before blocking */
#define WAIT_NS (10000 * MS)          /* hang guard */
#define MAX_ROUNDS 100000
#define KEY "data/pingpong-port"

static volatile uint64_t received;
static uint64_t spin_ns = SPIN_NS;
static GK_SERIES(rtt, MAX_ROUNDS);

static void on_event(evtchn_port_t port, void *arg)
{
	(void)port;
	(void)arg;
	received++;
}

/* wait_for waits until received reaches n; 0 on timeout. */
static int wait_for(uint64_t n)
{
	uint64_t end = xen_system_time_ns() + WAIT_NS;
	while (received < n) {
		if (xen_system_time_ns() > end)
			return 0;
		evtchn_wait_spin(spin_ns);
	}
	return 1;
}

static int server(unsigned peer, uint64_t rounds)
{
	unsigned self = xen_domid();
	evtchn_port_t port;
	char path[96], owner[16], reader[16];

	T_EXPECT_EQ(evtchn_alloc_unbound((domid_t)peer, &port), 0);
	T_EXPECT_EQ(evtchn_set_handler(port, on_event, NULL), 0);
	/* Publish the port: write, then restrict to us and the peer. */
	T_EXPECT(xs_get_domain_path(self, path, sizeof path) > 0);
	snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", KEY);
	snprintf(owner, sizeof owner, "n%u", self);
	snprintf(reader, sizeof reader, "r%u", peer);
	const char *perms[] = {owner, reader};
	xs_tx_t tx;
	int rc;
	do {
		T_EXPECT_EQ(xs_transaction_start(&tx), 0);
		T_EXPECT_EQ(xs_printf(tx, path, "%u", port), 0);
		T_EXPECT_EQ(xs_set_perms(tx, path, perms, 2), 0);
		rc = xs_transaction_end(tx, 0);
	} while (rc == -XEN_EAGAIN);
	T_EXPECT_EQ(rc, 0);
	printf("pingpong: server domain %u: port %u for domain %u at %s\n", self, port, peer,
	       path);

	uint64_t sent = 0;
	for (uint64_t i = 1; i <= rounds; i++) {
		if (!wait_for(i)) {
			printf("pingpong: server got %lu of %lu pings\n", received, rounds);
			break;
		}
		if (evtchn_send(port) == 0)
			sent++;
	}
	T_METRIC("pingpong_sent", sent);
	T_METRIC("pingpong_received", received);
	T_EXPECT_EQ(received, rounds);
	T_EXPECT_EQ(sent, rounds);
	/* The client may still be reading its last pong: leave the port open. */
	return 0;
}

/* lookup_port reads the server's port, watching the node until it is readable. */
static int lookup_port(unsigned peer, evtchn_port_t *port)
{
	char path[96];
	uint64_t v;
	T_EXPECT(xs_get_domain_path(peer, path, sizeof path) > 0);
	snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", KEY);
	int rc = xs_watch(path, "pingpong");
	if (rc < 0)
		return rc;
	uint64_t end = xen_system_time_ns() + WAIT_NS;
	for (;;) {
		rc = xs_read_u64(XBT_NIL, path, &v);
		/* Not there yet, or not yet readable by us. */
		if (rc != -XEN_ENOENT && rc != -XEN_EACCES)
			break;
		uint64_t now = xen_system_time_ns();
		if (now >= end)
			break;
		xs_read_watch("pingpong", NULL, 0, end - now);
	}
	xs_unwatch(path, "pingpong");
	if (rc == 0)
		*port = (evtchn_port_t)v;
	return rc;
}

static int client(unsigned peer, uint64_t rounds)
{
	evtchn_port_t rport = 0, port = 0;
	int rc = lookup_port(peer, &rport);
	T_EXPECT_EQ(rc, 0);
	if (rc < 0)
		T_ABORT("the server's port never appeared");
	T_EXPECT_EQ(evtchn_bind_interdomain((domid_t)peer, rport, &port), 0);
	/* Binding marks our end pending: not a pong. */
	evtchn_clear_pending(port);
	T_EXPECT_EQ(evtchn_set_handler(port, on_event, NULL), 0);
	printf("pingpong: client: bound local port %u to domain %u port %u\n", port, peer, rport);

	uint64_t sent = 0;
	for (uint64_t i = 1; i <= rounds; i++) {
		uint64_t t0 = rdtsc();
		if (evtchn_send(port) == 0)
			sent++;
		if (!wait_for(i)) {
			printf("pingpong: client got %lu of %lu pongs\n", received, rounds);
			break;
		}
		rtt.v[rtt.count++] = rdtsc() - t0;
	}
	T_METRIC("pingpong_sent", sent);
	T_METRIC("pingpong_received", received);
	T_EXPECT_EQ(received, rounds);
	T_SERIES("rtt", &rtt);
	if (rtt.count) {
		gk_sort_u64(rtt.v, rtt.count); /* reported already: sort in place */
		uint64_t med = xen_tsc_to_ns(rtt.v[rtt.count / 2]);
		T_METRIC("rtt_median_ns", med);
		printf("pingpong: %lu round trips, median %lu ns, p90 %lu ns\n", rtt.count, med,
		       xen_tsc_to_ns(rtt.v[rtt.count * 9 / 10]));
	}
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t peer = gk_arg_u64(argc, argv, "peer", DOMID_SELF);
	uint64_t rounds = gk_arg_u64(argc, argv, "rounds", 1000);
	spin_ns = gk_arg_u64(argc, argv, "spin_us", SPIN_NS / 1000) * 1000;
	if (argc < 2 || peer >= DOMID_FIRST_RESERVED || rounds == 0 || rounds > MAX_ROUNDS) {
		printf("usage: pingpong server|client peer=DOMID [rounds=1..%u]\n", MAX_ROUNDS);
		return 2;
	}
	if (xs_init() != 0)
		T_ABORT("no xenstore");
	evtchn_poll(); /* the spurious event of vcpu_info registration */
	int rc;
	if (strcmp(argv[1], "server") == 0)
		rc = server((unsigned)peer, rounds);
	else if (strcmp(argv[1], "client") == 0)
		rc = client((unsigned)peer, rounds);
	else {
		printf("pingpong: unknown role %s\n", argv[1]);
		return 2;
	}
	printf("pingpong: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return rc ? rc : gk_tests_failed ? 1 : 0;
}
