/*
 * evbench: event-channel costs, timed with the TSC at CPL3.
 *
 *   evbench backend port=P sink=Q [n=N]
 *       P is bound to a monitor endpoint that echoes every kick, Q to one
 *       that only drains. Series: "exit_floor" (OUT to the raw port, a user-
 *       space exit), "ioeventfd_floor" (OUT of port 4095 to the doorbell
 *       port, answered in the kernel), "notify" (EVTCHNOP_send on Q through
 *       the hypercall page), "rtt" (send on P, poll shared_info until P is
 *       pending again). Marks "notify_start"/"notify_end" bracket the notify
 *       loop so the monitor can count exits in it.
 *   evbench echo port=P [n=N]     answer N pings on port P (allocated by
 *                                 the monitor as unbound for the peer)
 *   evbench ping peer=D port=P [n=N]
 *       bind to domain D's port P and time N round trips ("rtt").
 *
 * Structures are Xen's (event_channel.h, memory.h, xen.h), declared here
 * under local names.
 */
#include "guestkit.h"

#define CAP 65536

struct evb_send {
	uint32_t port;
};
struct evb_bind_interdomain {
	uint16_t remote_dom;
	uint16_t pad;
	uint32_t remote_port;
	uint32_t local_port;
};
struct evb_add_to_physmap {
	uint16_t domid, size;
	uint32_t space;
	uint64_t idx, gpfn;
};
_Static_assert(sizeof(struct evb_bind_interdomain) == 12, "bind_interdomain");
_Static_assert(sizeof(struct evb_add_to_physmap) == 24, "add_to_physmap");

static GK_SERIES(exit_floor, CAP);
static GK_SERIES(ioeventfd_floor, CAP);
static GK_SERIES(notify, CAP);
static GK_SERIES(rtt, CAP);

static uint8_t shared_info[4096] __attribute__((aligned(4096)));

static long evtchn_op(int cmd, void *arg)
{
	return _hypercall2(32, cmd, arg);
}

static void map_shared_info(void)
{
	struct evb_add_to_physmap a = {.domid = 0x7ff0, .space = 0, .idx = 0,
				       .gpfn = (uint64_t)(uintptr_t)shared_info >> 12};
	long rc = HYPERVISOR_memory_op(7, &a);
	if (rc != 0)
		T_ABORT("add_to_physmap(shared_info) failed");
}

static volatile uint64_t *pending_word(uint32_t port)
{
	return (volatile uint64_t *)(shared_info + 0x800) + port / 64;
}

/* wait_pending spins until port is pending, then clears it. */
static void wait_pending(uint32_t port)
{
	volatile uint64_t *w = pending_word(port);
	uint64_t bit = 1ull << (port % 64);
	while (!(*w & bit))
		__asm__ volatile("pause");
	__atomic_fetch_and((uint64_t *)w, ~bit, __ATOMIC_SEQ_CST);
}

static void send(uint32_t port)
{
	struct evb_send s = {.port = port};
	evtchn_op(4, &s);
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

static int backend(uint32_t p, uint32_t q, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		raw_exit();
		exit_floor.v[i] = rdtsc() - t0;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		outl(0xcc, 4095);
		ioeventfd_floor.v[i] = rdtsc() - t0;
	}
	T_MARK("notify_start");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		send(q);
		notify.v[i] = rdtsc() - t0;
	}
	T_MARK("notify_end");
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		send(p);
		wait_pending(p);
		rtt.v[i] = rdtsc() - t0;
	}
	exit_floor.count = ioeventfd_floor.count = notify.count = rtt.count = n;
	T_SERIES("exit_floor", &exit_floor);
	T_SERIES("ioeventfd_floor", &ioeventfd_floor);
	T_SERIES("notify", &notify);
	T_SERIES("rtt", &rtt);
	printf("evbench: %lu iterations of each loop\n", n);
	return 0;
}

static int echo(uint32_t port, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		wait_pending(port);
		send(port);
	}
	printf("evbench: echoed %lu pings on port %u\n", n, port);
	return 0;
}

static int ping(uint16_t peer, uint32_t rport, uint64_t n)
{
	struct evb_bind_interdomain b = {.remote_dom = peer, .remote_port = rport};
	long rc;
	/* The echo side may not have allocated its port yet. */
	for (int tries = 0; (rc = evtchn_op(0, &b)) != 0; tries++) {
		if (tries > 2000000)
			T_ABORT("bind_interdomain kept failing");
		__asm__ volatile("pause");
	}
	uint32_t p = b.local_port;
	*pending_word(p) &= ~(1ull << (p % 64)); /* bind marks the port pending */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		send(p);
		wait_pending(p);
		rtt.v[i] = rdtsc() - t0;
	}
	rtt.count = n;
	T_SERIES("rtt", &rtt);
	printf("evbench: %lu round trips to domain %u\n", n, peer);
	return 0;
}

int main(int argc, char **argv)
{
	uint64_t n = arg(argc, argv, "n", 10000);
	if (n == 0 || n > CAP) {
		printf("evbench: n must be 1..%u\n", CAP);
		return 2;
	}
	map_shared_info();
	if (argc > 1 && strcmp(argv[1], "backend") == 0)
		return backend(arg(argc, argv, "port", 0), arg(argc, argv, "sink", 0), n);
	if (argc > 1 && strcmp(argv[1], "echo") == 0)
		return echo(arg(argc, argv, "port", 0), n);
	if (argc > 1 && strcmp(argv[1], "ping") == 0)
		return ping(arg(argc, argv, "peer", 0), arg(argc, argv, "port", 0), n);
	printf("usage: evbench backend port=P sink=Q | echo port=P | ping peer=D port=P [n=N]\n");
	return 2;
}
