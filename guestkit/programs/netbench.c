/*
 * netbench mode=send|sink|rr|rrserver ip=A [mask=M] [peer=P] [dst=D] [port=5001]
 *          [size=1400] [count=N] [rate=PPS] [duration_ms=T] [batch=B] [stream=K]
 *          [spin_us=U] [dev=0]
 *
 * UDP workloads over netfront:
 *   send      a stream of count datagrams of size bytes to dst:port (dst
 *             defaults to peer), paced at rate per second (0: as fast as the
 *             ring allows), stopping after duration_ms; then END markers.
 *   sink      receives a stream on port, verifies every payload (checksum,
 *             sequence numbers) until END, duration_ms or 2 s of silence.
 *   rr        request/response client: count requests of size bytes to
 *             dst:port, one at a time, each answer verified; series "rtt".
 *   rrserver  answers every request on port until END or duration_ms.
 *
 * Payload (little-endian, size >= 32): u32 magic "XBN1", u16 kind (0 data,
 * 1 end, 2 request, 3 response), u16 length, u64 seq, u64 stamp, u32
 * stream, u32 check, then u64 fill words (seq ^ stream << 32) * golden + j
 * (j = word index from 4, the tail truncated). check is payload_hash(),
 * computed with the check field as zero; bench/netpayload.go mirrors it.
 *
 * Marks bench_start/bench_end bracket the measured phase. Metrics: send
 * tx_packets tx_bytes tx_cycles tx_full_waits tx_kicks; sink rx_packets
 * rx_bytes rx_cycles lost corrupt dup reorder expected rx_pps rx_kbps; rr
 * rr_done rr_lost rr_corrupt rtt_p50_ns rtt_p99_ns; rrserver rr_served
 * rr_corrupt.
 */
#include "gk_net.h"

#define MS 1000000ull
#define MAGIC 0x314e4258u /* "XBN1" */
#define KIND_DATA 0
#define KIND_END 1
#define KIND_REQ 2
#define KIND_RSP 3
#define HDR 32
#define GOLDEN 0x9e3779b97f4a7c15ull
#define MAX_RTT 200000
#define TRACK_BITS (1u << 23)

static struct netfront nic;
static struct net_stack st;
static GK_SERIES(rtt, MAX_RTT);
static uint64_t seen[TRACK_BITS / 64];

/* payload_hash hashes p[0..len) with bytes 28..31 (the check field) taken as zero. */
static uint32_t payload_hash(const uint8_t *p, unsigned len)
{
	uint64_t h = 0x243f6a8885a308d3ull ^ len;
	unsigned i = 0;
	for (; i + 8 <= len; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (i == 24)
			w &= 0xffffffffull;
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 31;
	}
	if (i < len) {
		uint64_t w = 0;
		memcpy(&w, p + i, len - i);
		if (i == 24)
			w &= 0xffffffffull;
		h = (h ^ w) * 0x100000001b3ull;
		h ^= h >> 31;
	}
	h ^= h >> 29;
	return (uint32_t)(h ^ (h >> 32));
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* fill builds a payload of len bytes. */
static void fill(uint8_t *p, unsigned len, unsigned kind, uint64_t seq, uint64_t stamp,
		 uint32_t stream)
{
	put32(p, MAGIC);
	put16(p + 4, (uint16_t)kind);
	put16(p + 6, (uint16_t)len);
	put64(p + 8, seq);
	put64(p + 16, stamp);
	put32(p + 24, stream);
	put32(p + 28, 0);
	uint64_t base = (seq ^ (uint64_t)stream << 32) * GOLDEN;
	unsigned j = 4, off = HDR;
	for (; off + 8 <= len; off += 8, j++)
		put64(p + off, base + j);
	if (off < len) {
		uint64_t w = base + j;
		memcpy(p + off, &w, len - off);
	}
	put32(p + 28, payload_hash(p, len));
}

/* check verifies a payload; returns its kind, or -1 if it is corrupt. */
static int check(const uint8_t *p, unsigned len)
{
	if (len < HDR || get32(p) != MAGIC || get16(p + 6) != len)
		return -1;
	if (get32(p + 28) != payload_hash(p, len))
		return -1;
	return get16(p + 4);
}

/* ---- configuration ---- */
static uint32_t dst;
static uint16_t port;
static unsigned size;
static uint64_t count, rate, dur_ns, batch, spin_ns;
static uint32_t stream;

/* ---- sender ---- */
static int do_send(void)
{
	uint64_t sent = 0, waits = 0, t_end = xen_system_time_ns() + dur_ns;
	uint64_t gap = rate ? 1000000000ull / rate : 0, since_push = 0;
	T_MARK("bench_start");
	uint64_t t0 = rdtsc(), start_ns = xen_system_time_ns();
	while (sent < count) {
		if ((sent & 63) == 0) {
			net_poll(&st, 16); /* answer ARP and reap */
			if (xen_system_time_ns() >= t_end)
				break;
		}
		if (gap) {
			uint64_t due = start_ns + sent * gap;
			if (xen_system_time_ns() < due) {
				net_tx_push(&nic);
				since_push = 0;
				while (xen_system_time_ns() < due)
					cpu_relax();
			}
		}
		uint8_t *b;
		int id = net_udp_alloc(&st, &b);
		if (id < 0) {
			net_tx_push(&nic);
			since_push = 0;
			waits++;
			uint64_t until = xen_system_time_ns() + spin_ns;
			while (net_tx_reap(&nic) == 0) {
				if (xen_system_time_ns() >= until) {
					net_idle_wait(&nic, 1, t_end + 1000 * MS);
					until = xen_system_time_ns() + spin_ns;
					if (xen_system_time_ns() >= t_end + 1000 * MS)
						break;
				}
				cpu_relax();
			}
			continue;
		}
		fill(b + NET_UDP_HLEN, size, KIND_DATA, sent, 0, stream);
		int push = ++since_push >= batch;
		if (push)
			since_push = 0;
		int rc = net_udp_commit(&st, id, dst, port, port, size, push);
		if (rc < 0)
			T_ABORT("udp send failed (no ARP entry?)");
		sent++;
	}
	net_tx_push(&nic);
	uint64_t cycles = rdtsc() - t0;
	T_MARK("bench_end");
	/* END markers carry the number of datagrams sent. */
	for (int i = 0; i < 5; i++) {
		uint8_t end[HDR];
		fill(end, HDR, KIND_END, sent, 0, stream);
		net_udp_send(&st, dst, port, port, end, HDR);
		net_wait(&st, 1000, xen_system_time_ns() + 2 * MS);
	}
	uint64_t ns = xen_tsc_to_ns(cycles);
	T_METRIC("tx_packets", sent);
	T_METRIC("tx_bytes", sent * size);
	T_METRIC("tx_cycles", cycles);
	T_METRIC("tx_full_waits", waits);
	T_METRIC("tx_kicks", nic.tx_kicks);
	if (ns)
		T_METRIC("tx_pps", sent * 1000000000ull / ns);
	printf("netbench: sent %lu x %u bytes in %lu us (%lu full waits, %lu kicks, %lu tx errors)\n",
	       sent, size, ns / 1000, waits, nic.tx_kicks, nic.tx_errors);
	T_EXPECT_EQ(nic.tx_errors, 0);
	return 0;
}

/* ---- sink ---- */
static struct {
	uint64_t rx, bytes, corrupt, dup, reorder, next, expected, t_first, t_last;
	int end, started;
} sk;

static void on_sink(struct net_stack *s, const struct net_udp_pkt *p, void *arg)
{
	(void)s;
	(void)arg;
	int kind = check(p->data, p->len);
	if (kind < 0 || get32(p->data + 24) != stream) {
		sk.corrupt++;
		return;
	}
	uint64_t seq = get64(p->data + 8);
	if (kind == KIND_END) {
		sk.end = 1;
		sk.expected = seq;
		return;
	}
	if (kind != KIND_DATA) {
		sk.corrupt++;
		return;
	}
	uint64_t now = rdtsc();
	if (!sk.started) {
		sk.started = 1;
		sk.t_first = now;
		T_MARK("bench_start");
	}
	sk.t_last = now;
	if (seq < TRACK_BITS) {
		uint64_t bit = 1ull << (seq & 63);
		if (seen[seq / 64] & bit) {
			sk.dup++;
			return;
		}
		seen[seq / 64] |= bit;
	}
	if (seq < sk.next)
		sk.reorder++;
	else
		sk.next = seq + 1;
	sk.rx++;
	sk.bytes += p->len;
}

static int do_sink(void)
{
	if (net_udp_bind(&st, port, on_sink, NULL) != 0)
		T_ABORT("bind failed");
	T_MARK("ready");
	uint64_t t_end = xen_system_time_ns() + dur_ns, last = 0, quiet = 2000 * MS;
	uint64_t rx_before = 0;
	while (!sk.end) {
		uint64_t now = xen_system_time_ns();
		if (now >= t_end)
			break;
		if (sk.started && sk.rx != rx_before) {
			rx_before = sk.rx;
			last = now;
		} else if (sk.started && now - last > quiet) {
			break;
		}
		uint64_t wake = now + 100 * MS;
		net_wait(&st, spin_ns, wake < t_end ? wake : t_end);
	}
	T_MARK("bench_end");
	uint64_t expected = sk.end ? sk.expected : sk.next;
	uint64_t lost = expected > sk.rx ? expected - sk.rx : 0;
	uint64_t cycles = sk.t_last - sk.t_first, ns = xen_tsc_to_ns(cycles);
	T_METRIC("rx_packets", sk.rx);
	T_METRIC("rx_bytes", sk.bytes);
	T_METRIC("rx_cycles", cycles);
	T_METRIC("expected", expected);
	T_METRIC("lost", lost);
	T_METRIC("corrupt", sk.corrupt);
	T_METRIC("dup", sk.dup);
	T_METRIC("reorder", sk.reorder);
	T_METRIC("end_seen", sk.end);
	T_METRIC("rx_kicks", nic.rx_kicks);
	uint64_t pps = 0, kbps = 0;
	if (ns && sk.rx > 1) {
		pps = (sk.rx - 1) * 1000000000ull / ns;
		kbps = sk.bytes * 8ull * 1000000ull / ns;
	}
	T_METRIC("rx_pps", pps);
	T_METRIC("rx_kbps", kbps);
	printf("netbench: sink got %lu of %lu (%lu lost, %lu corrupt, %lu dup, %lu reordered) "
	       "%lu pps %lu kbit/s payload; ring drops: errors %lu multi %lu bad %lu\n",
	       sk.rx, expected, lost, sk.corrupt, sk.dup, sk.reorder, pps, kbps, nic.rx_errors,
	       nic.rx_multi_dropped, nic.bad_responses);
	T_EXPECT_EQ(sk.corrupt, 0);
	T_EXPECT_EQ(nic.bad_responses, 0);
	return 0;
}

/* ---- request/response ---- */
static struct {
	uint64_t want, got_at, corrupt, served, late;
	int got, end;
} rr;

static void on_response(struct net_stack *s, const struct net_udp_pkt *p, void *arg)
{
	(void)s;
	(void)arg;
	uint64_t now = rdtsc();
	int kind = check(p->data, p->len);
	if (kind != KIND_RSP || get32(p->data + 24) != stream) {
		rr.corrupt++;
		return;
	}
	if (get64(p->data + 8) != rr.want) {
		rr.late++;
		return;
	}
	rr.got = 1;
	rr.got_at = now;
}

static int do_rr(void)
{
	if (net_udp_bind(&st, port, on_response, NULL) != 0)
		T_ABORT("bind failed");
	static uint8_t req[NET_UDP_MAX];
	uint64_t lost = 0, t_end = xen_system_time_ns() + dur_ns;
	T_MARK("bench_start");
	for (uint64_t i = 0; i < count && xen_system_time_ns() < t_end; i++) {
		rr.want = i;
		rr.got = 0;
		uint64_t t0 = rdtsc();
		fill(req, size, KIND_REQ, i, t0, stream);
		if (net_udp_send(&st, dst, port, port, req, size) < 0) {
			lost++;
			continue;
		}
		uint64_t give_up = xen_system_time_ns() + 200 * MS;
		while (!rr.got && xen_system_time_ns() < give_up)
			net_wait(&st, spin_ns, give_up);
		if (!rr.got) {
			lost++;
			continue;
		}
		if (rtt.count < MAX_RTT)
			rtt.v[rtt.count++] = rr.got_at - t0;
	}
	T_MARK("bench_end");
	for (int i = 0; i < 3; i++) {
		uint8_t end[HDR];
		fill(end, HDR, KIND_END, count, 0, stream);
		net_udp_send(&st, dst, port, port, end, HDR);
		net_wait(&st, 1000, xen_system_time_ns() + 2 * MS);
	}
	T_SERIES("rtt", &rtt);
	T_METRIC("rr_done", rtt.count);
	T_METRIC("rr_lost", lost);
	T_METRIC("rr_corrupt", rr.corrupt);
	if (rtt.count) {
		gk_sort_u64(rtt.v, rtt.count);
		uint64_t p50 = xen_tsc_to_ns(rtt.v[rtt.count / 2]);
		uint64_t p99 = xen_tsc_to_ns(rtt.v[rtt.count * 99 / 100]);
		T_METRIC("rtt_p50_ns", p50);
		T_METRIC("rtt_p99_ns", p99);
		printf("netbench: %lu round trips, %lu lost, rtt p50 %lu ns p99 %lu ns\n", rtt.count,
		       lost, p50, p99);
	}
	T_EXPECT_EQ(rr.corrupt, 0);
	return 0;
}

static void on_request(struct net_stack *s, const struct net_udp_pkt *p, void *arg)
{
	(void)arg;
	int kind = check(p->data, p->len);
	if (kind == KIND_END) {
		rr.end = 1;
		return;
	}
	if (kind != KIND_REQ) {
		rr.corrupt++;
		return;
	}
	uint8_t *b;
	int id = net_udp_alloc(s, &b);
	if (id < 0)
		return;
	uint8_t *q = b + NET_UDP_HLEN;
	memcpy(q, p->data, p->len);
	put16(q + 4, KIND_RSP);
	put32(q + 28, 0);
	put32(q + 28, payload_hash(q, p->len));
	if (net_udp_commit(s, id, p->src, p->dport, p->sport, p->len, 0) == 0)
		rr.served++;
}

static int do_rrserver(void)
{
	if (net_udp_bind(&st, port, on_request, NULL) != 0)
		T_ABORT("bind failed");
	T_MARK("ready");
	uint64_t t_end = xen_system_time_ns() + dur_ns;
	while (!rr.end && xen_system_time_ns() < t_end)
		net_wait(&st, spin_ns, t_end);
	for (int i = 0; i < 100 && net_tx_inflight(&nic); i++)
		net_wait(&st, 1000, xen_system_time_ns() + MS);
	T_METRIC("rr_served", rr.served);
	T_METRIC("rr_corrupt", rr.corrupt);
	printf("netbench: served %lu requests, %lu corrupt\n", rr.served, rr.corrupt);
	T_EXPECT_EQ(rr.corrupt, 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct net_config cfg;
	const char *mode = net_arg_str(argc, argv, "mode", "");
	int cfg_ok = net_config_parse(argc, argv, &cfg) == 0;
	const char *d = net_arg_str(argc, argv, "dst", NULL);
	dst = cfg.peer;
	if (d && net_parse_ip(d, &dst) < 0)
		cfg_ok = 0;
	uint64_t p = gk_arg_u64(argc, argv, "port", 5001);
	uint64_t sz = gk_arg_u64(argc, argv, "size", 1400);
	count = gk_arg_u64(argc, argv, "count", 100000);
	rate = gk_arg_u64(argc, argv, "rate", 0);
	dur_ns = gk_arg_u64(argc, argv, "duration_ms", 30000) * MS;
	batch = gk_arg_u64(argc, argv, "batch", 32);
	stream = (uint32_t)gk_arg_u64(argc, argv, "stream", 1);
	spin_ns = gk_arg_u64(argc, argv, "spin_us", 200) * 1000;
	uint64_t dev = gk_arg_u64(argc, argv, "dev", 0);
	int sender = strcmp(mode, "send") == 0, rrc = strcmp(mode, "rr") == 0;
	if (!cfg_ok || p == 0 || p > 65535 || sz < HDR || sz > NET_UDP_MAX || batch == 0 ||
	    batch > NET_TX_BUFS || ((sender || rrc) && dst == 0) ||
	    (!sender && !rrc && strcmp(mode, "sink") && strcmp(mode, "rrserver"))) {
		printf("usage: netbench mode=send|sink|rr|rrserver ip=A [mask=N] [peer=P] [dst=D] "
		       "[port=N] [size=%u..%u] [count=N] [rate=PPS] [duration_ms=N] [batch=1..%u] "
		       "[stream=K] [spin_us=N] [dev=N]\n",
		       HDR, NET_UDP_MAX, NET_TX_BUFS);
		return 2;
	}
	port = (uint16_t)p;
	size = (unsigned)sz;
	if (xs_init() != 0 || gnttab_init() != 0)
		T_ABORT("xenstore or grant table set-up failed");
	evtchn_poll();
	int rc = net_open((int)dev, 0, &nic);
	if (rc != 0) {
		printf("netbench: net_open(%lu) = %d\n", dev, rc);
		T_ABORT("net_open failed");
	}
	net_stack_init(&st, &nic, &cfg);
	if (sender || rrc) {
		rc = net_arp_resolve(&st, dst, 10000 * MS);
		if (rc != 0)
			T_ABORT("no ARP answer from the destination");
	}
	if (sender)
		rc = do_send();
	else if (rrc)
		rc = do_rr();
	else if (strcmp(mode, "sink") == 0)
		rc = do_sink();
	else
		rc = do_rrserver();
	net_close(&nic);
	printf("netbench: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return rc ? rc : gk_tests_failed ? 1 : 0;
}
