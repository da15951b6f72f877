/*
 * netprobe ip=A peer=R [mask=16] [port=7] [gap_us=10000] [spin_us=100]
 *          [timeout_ms=100] [dev=0]
 *
 * The per-VM probe of the density benchmark's "net" profile. Sends one UDP
 * request of 16 bytes (u32 magic "XNP1", u32 zero, u64 sequence number) to
 * R:port, waits for the echo of the same bytes (polling at CPL3 for
 * spin_us, then blocking on the event channel), then sleeps gap_us on the
 * vCPU's timer, forever. Each round trip's latency in TSC cycles goes into
 * a ring of LAT_SLOTS values in guest memory, the same layout as
 * blkprobe's: u64 seq (requests finished), then u64 v[LAT_SLOTS]; request
 * i is in v[i % LAT_SLOTS], written before seq becomes i + 1. A request
 * without an answer within timeout_ms stores 0. The ring's address is
 * reported once as metric "lat_ring_gpa" (guestkit maps memory 1:1), so
 * the monitor samples latencies without any exit.
 */
#include "gk_net.h"

#define LAT_SLOTS 4096
#define MAGIC 0x31504e58u /* "XNP1" */
#define REQ_LEN 16
#define MS 1000000ull

static struct {
	volatile uint64_t seq;
	volatile uint64_t v[LAT_SLOTS];
} ring __attribute__((aligned(64)));

static struct netfront nic;
static struct net_stack st;

/* The request in flight and its answer. */
static struct {
	uint64_t want;   /* sequence number awaited */
	uint64_t got_at; /* TSC when it came */
	int got;         /* it came */
	uint64_t stray;  /* late, duplicate or malformed answers */
} cur;

static void on_answer(struct net_stack *s, const struct net_udp_pkt *p, void *arg)
{
	(void)s;
	(void)arg;
	uint64_t now = rdtsc();
	uint32_t magic;
	uint64_t seq;
	if (p->len != REQ_LEN) {
		cur.stray++;
		return;
	}
	memcpy(&magic, p->data, 4);
	memcpy(&seq, p->data + 8, 8);
	if (magic != MAGIC || seq != cur.want || cur.got) {
		cur.stray++;
		return;
	}
	cur.got = 1;
	cur.got_at = now;
}

int main(int argc, char **argv)
{
	struct net_config cfg;
	int cfg_ok = net_config_parse(argc, argv, &cfg) == 0;
	uint64_t port = gk_arg_u64(argc, argv, "port", 7);
	uint64_t gap_ns = gk_arg_u64(argc, argv, "gap_us", 10000) * 1000;
	uint64_t spin_ns = gk_arg_u64(argc, argv, "spin_us", 100) * 1000;
	uint64_t timeout_ns = gk_arg_u64(argc, argv, "timeout_ms", 100) * MS;
	uint64_t dev = gk_arg_u64(argc, argv, "dev", 0);
	if (!cfg_ok || cfg.peer == 0 || port == 0 || port > 65535 || timeout_ns == 0) {
		printf("usage: netprobe ip=A peer=R [mask=N] [port=N] [gap_us=N] [spin_us=N] "
		       "[timeout_ms=N] [dev=N]\n");
		return 2;
	}
	if (xs_init() != 0 || gnttab_init() != 0)
		T_ABORT("xenstore or grant table set-up failed");
	if (xen_timer_init() != 0)
		T_ABORT("timer set-up failed");
	evtchn_poll();
	if (net_open((int)dev, 0, &nic) != 0)
		T_ABORT("net_open failed (attach a vif)");
	net_stack_init(&st, &nic, &cfg);
	if (net_udp_bind(&st, (uint16_t)port, on_answer, NULL) != 0)
		T_ABORT("bind failed");
	if (net_arp_resolve(&st, cfg.peer, 10000 * MS) != 0)
		T_ABORT("no ARP answer from the responder");
	T_METRIC("lat_ring_gpa", (uint64_t)(uintptr_t)&ring);
	uint8_t req[REQ_LEN];
	uint32_t magic = MAGIC, zero = 0;
	memcpy(req, &magic, 4);
	memcpy(req + 4, &zero, 4);
	for (uint64_t i = 1;; i++) {
		cur.want = i;
		cur.got = 0;
		memcpy(req + 8, &i, 8);
		uint64_t t0 = rdtsc();
		uint64_t lat = 0;
		if (net_udp_send(&st, cfg.peer, (uint16_t)port, (uint16_t)port, req, REQ_LEN) == 0) {
			uint64_t give_up = xen_system_time_ns() + timeout_ns;
			while (!cur.got && xen_system_time_ns() < give_up)
				net_wait(&st, spin_ns, give_up);
			if (cur.got)
				lat = cur.got_at - t0;
		}
		uint64_t s = ring.seq;
		ring.v[s % LAT_SLOTS] = lat;
		__asm__ volatile("" ::: "memory");
		ring.seq = s + 1;
		/* Sleep until the next request, answering ARP and dropping strays. */
		uint64_t due = xen_system_time_ns() + gap_ns;
		while (xen_system_time_ns() < due)
			net_wait(&st, 0, due);
	}
}
