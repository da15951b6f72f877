/*
 * netip.c: a small IPv4 host over netfront: Ethernet II, ARP (replies,
 * a cache learned from requests, replies and on-link senders, requests),
 * IPv4 without options on send and without fragments (fragments are
 * dropped), ICMP echo replies and UDP with per-port handlers. Every
 * received header is bounds-checked against the frame length before use.
 */
#include "gk_net.h"

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define IPPROTO_ICMP 1
#define IPPROTO_UDP 17
#define ARP_LEN 28
#define IP_HLEN 20
#define UDP_HLEN 8
#define ICMP_ECHO_REPLY 0
#define ICMP_ECHO_REQUEST 8
#define ETH_MIN_FRAME 60

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- checksums: one's-complement sums of little-endian words ---- */

uint64_t net_csum_add(uint64_t sum, const void *p, unsigned len)
{
	const uint8_t *b = p;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		sum += w;
		sum += sum < w;
		b += 8;
		len -= 8;
	}
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, b, 4);
		sum += w;
		sum += sum < w;
		b += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, b, 2);
		sum += w;
		sum += sum < w;
		b += 2;
		len -= 2;
	}
	if (len) {
		sum += *b;
		sum += sum < *b;
	}
	return sum;
}

uint16_t net_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* store_csum writes a checksum computed by net_csum_fold in place (memory order). */
static void store_csum(uint8_t *p, uint16_t c)
{
	memcpy(p, &c, 2);
}

/* pseudo_sum is the UDP pseudo-header sum for len bytes of UDP from src to dst. */
static uint64_t pseudo_sum(uint32_t src, uint32_t dst, unsigned len)
{
	uint8_t ph[12];
	net_wr32(ph, src);
	net_wr32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = IPPROTO_UDP;
	net_wr16(ph + 10, (uint16_t)len);
	return net_csum_add(0, ph, sizeof ph);
}

/* ---- ARP cache ---- */

const uint8_t *net_arp_lookup(struct net_stack *s, uint32_t ip)
{
	if (ip == 0xffffffffu)
		return bcast_mac;
	for (unsigned i = 0; i < NET_ARP_CACHE; i++)
		if (s->arp[i].ip == ip) {
			s->arp[i].used = ++s->arp_clock;
			return s->arp[i].mac;
		}
	return NULL;
}

static void arp_learn(struct net_stack *s, uint32_t ip, const uint8_t *mac)
{
	if (ip == 0 || ip == 0xffffffffu || ip == s->ip || (mac[0] & 1))
		return;
	unsigned victim = 0;
	for (unsigned i = 0; i < NET_ARP_CACHE; i++) {
		if (s->arp[i].ip == ip) {
			victim = i;
			break;
		}
		if (s->arp[i].used < s->arp[victim].used)
			victim = i;
	}
	s->arp[victim].ip = ip;
	memcpy(s->arp[victim].mac, mac, 6);
	s->arp[victim].used = ++s->arp_clock;
}

uint32_t net_next_hop(const struct net_stack *s, uint32_t dst)
{
	if (dst == 0xffffffffu || ((dst ^ s->ip) & s->mask) == 0 || s->gw == 0)
		return dst;
	return s->gw;
}

/* arp_build writes an ARP packet of operation op into buffer b; returns the frame length. */
static unsigned arp_build(struct net_stack *s, uint8_t *b, unsigned op, const uint8_t *dst_mac,
			  const uint8_t *tha, uint32_t tpa)
{
	memcpy(b, dst_mac, 6);
	memcpy(b + 6, s->mac, 6);
	net_wr16(b + 12, ETH_P_ARP);
	uint8_t *a = b + NET_ETH_HLEN;
	net_wr16(a, 1);
	net_wr16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	net_wr16(a + 6, (uint16_t)op);
	memcpy(a + 8, s->mac, 6);
	net_wr32(a + 14, s->ip);
	memcpy(a + 18, tha, 6);
	net_wr32(a + 24, tpa);
	memset(b + NET_ETH_HLEN + ARP_LEN, 0, ETH_MIN_FRAME - NET_ETH_HLEN - ARP_LEN);
	return ETH_MIN_FRAME;
}

int net_arp_request(struct net_stack *s, uint32_t ip)
{
	int id = net_tx_get(s->nf);
	if (id < 0) {
		s->drop_tx_full++;
		return id;
	}
	static const uint8_t zero[6];
	unsigned len = arp_build(s, net_tx_buf(s->nf, id), 1, bcast_mac, zero, ip);
	net_tx_queue(s->nf, id, len);
	net_tx_push(s->nf);
	s->arp_requests++;
	return 0;
}

int net_arp_resolve(struct net_stack *s, uint32_t ip, uint64_t timeout_ns)
{
	uint32_t nh = net_next_hop(s, ip);
	uint64_t now = xen_system_time_ns(), end = now + timeout_ns;
	while (!net_arp_lookup(s, nh)) {
		if (now >= end)
			return -XEN_ETIMEDOUT;
		net_arp_request(s, nh);
		uint64_t retry = now + 100 * 1000000ull; /* ask again every 100 ms */
		net_wait(s, 20000, retry < end ? retry : end);
		now = xen_system_time_ns();
	}
	return 0;
}

static void arp_input(struct net_stack *s, const uint8_t *f, unsigned len)
{
	if (len < NET_ETH_HLEN + ARP_LEN) {
		s->drop_short++;
		return;
	}
	const uint8_t *a = f + NET_ETH_HLEN;
	if (net_rd16(a) != 1 || net_rd16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4) {
		s->drop_proto++;
		return;
	}
	s->arp_rx++;
	unsigned op = net_rd16(a + 6);
	uint32_t spa = net_rd32(a + 14), tpa = net_rd32(a + 24);
	uint8_t sha[6];
	memcpy(sha, a + 8, 6);
	if (tpa == s->ip || net_arp_lookup(s, spa))
		arp_learn(s, spa, sha);
	if (op != 1 || tpa != s->ip || s->ip == 0)
		return;
	int id = net_tx_get(s->nf);
	if (id < 0) {
		s->drop_tx_full++;
		return;
	}
	unsigned n = arp_build(s, net_tx_buf(s->nf, id), 2, sha, sha, spa);
	net_tx_queue(s->nf, id, n);
	s->arp_replies++;
}

/* ip_header writes a 20-byte IPv4 header for payload bytes of proto at p. */
static void ip_header(struct net_stack *s, uint8_t *p, unsigned payload, unsigned proto,
		      uint32_t dst)
{
	p[0] = 0x45;
	p[1] = 0;
	net_wr16(p + 2, (uint16_t)(IP_HLEN + payload));
	net_wr16(p + 4, s->ip_id++);
	net_wr16(p + 6, 0x4000); /* don't fragment */
	p[8] = 64;
	p[9] = (uint8_t)proto;
	p[10] = p[11] = 0;
	net_wr32(p + 12, s->ip);
	net_wr32(p + 16, dst);
	store_csum(p + 10, net_csum_fold(net_csum_add(0, p, IP_HLEN)));
}

static void icmp_input(struct net_stack *s, const uint8_t *f, const uint8_t *ip, unsigned hl,
		       unsigned tot)
{
	const uint8_t *ic = ip + hl;
	unsigned n = tot - hl;
	if (n < 8 || NET_ETH_HLEN + IP_HLEN + n > NET_FRAME_MAX) {
		s->drop_short++;
		return;
	}
	if (net_csum_fold(net_csum_add(0, ic, n)) != 0) {
		s->drop_bad_csum++;
		return;
	}
	if (ic[0] != ICMP_ECHO_REQUEST || ic[1] != 0)
		return;
	int id = net_tx_get(s->nf);
	if (id < 0) {
		s->drop_tx_full++;
		return;
	}
	uint8_t *b = net_tx_buf(s->nf, id);
	memcpy(b, f + 6, 6); /* answer the sender's Ethernet address */
	memcpy(b + 6, s->mac, 6);
	net_wr16(b + 12, ETH_P_IP);
	uint8_t *r = b + NET_ETH_HLEN + IP_HLEN;
	memcpy(r, ic, n);
	r[0] = ICMP_ECHO_REPLY;
	r[2] = r[3] = 0;
	store_csum(r + 2, net_csum_fold(net_csum_add(0, r, n)));
	ip_header(s, b + NET_ETH_HLEN, n, IPPROTO_ICMP, net_rd32(ip + 12));
	net_tx_queue(s->nf, id, NET_ETH_HLEN + IP_HLEN + n);
	s->icmp_echoes++;
}

static void udp_input(struct net_stack *s, const uint8_t *f, const uint8_t *ip, unsigned hl,
		      unsigned tot, unsigned flags)
{
	const uint8_t *u = ip + hl;
	unsigned n = tot - hl;
	if (n < UDP_HLEN) {
		s->drop_short++;
		return;
	}
	unsigned ulen = net_rd16(u + 4);
	if (ulen < UDP_HLEN || ulen > n) {
		s->drop_short++;
		return;
	}
	uint32_t src = net_rd32(ip + 12), dst = net_rd32(ip + 16);
	if (net_rd16(u + 6) != 0 && !(flags & (NETRXF_data_validated | NETRXF_csum_blank))) {
		if (net_csum_fold(net_csum_add(pseudo_sum(src, dst, ulen), u, ulen)) != 0) {
			s->drop_bad_csum++;
			return;
		}
	}
	uint16_t dport = net_rd16(u + 2);
	for (unsigned i = 0; i < NET_UDP_PORTS; i++)
		if (s->udp[i].fn && s->udp[i].port == dport) {
			struct net_udp_pkt p = {
				.src = src, .dst = dst, .sport = net_rd16(u), .dport = dport,
				.data = u + UDP_HLEN, .len = ulen - UDP_HLEN, .src_mac = f + 6,
			};
			s->udp_rx++;
			s->udp[i].fn(s, &p, s->udp[i].arg);
			return;
		}
	s->drop_no_port++;
}

static void ip_input(struct net_stack *s, const uint8_t *f, unsigned len, unsigned flags)
{
	const uint8_t *ip = f + NET_ETH_HLEN;
	unsigned n = len - NET_ETH_HLEN;
	if (n < IP_HLEN || (ip[0] >> 4) != 4) {
		s->drop_short++;
		return;
	}
	unsigned hl = (ip[0] & 15u) * 4, tot = net_rd16(ip + 2);
	if (hl < IP_HLEN || tot < hl || tot > n) {
		s->drop_short++;
		return;
	}
	if (net_csum_fold(net_csum_add(0, ip, hl)) != 0) {
		s->drop_bad_csum++;
		return;
	}
	if (net_rd16(ip + 6) & 0x3fff) { /* more-fragments or an offset */
		s->drop_frag++;
		return;
	}
	uint32_t dst = net_rd32(ip + 16), src = net_rd32(ip + 12);
	uint32_t subnet_bcast = (s->ip & s->mask) | ~s->mask;
	if (dst != s->ip && dst != 0xffffffffu && dst != subnet_bcast) {
		s->drop_not_us++;
		return;
	}
	if (((src ^ s->ip) & s->mask) == 0 && !net_arp_lookup(s, src))
		arp_learn(s, src, f + 6);
	if (ip[9] == IPPROTO_UDP)
		udp_input(s, f, ip, hl, tot, flags);
	else if (ip[9] == IPPROTO_ICMP && dst == s->ip)
		icmp_input(s, f, ip, hl, tot);
	else
		s->drop_proto++;
}

void net_input(struct net_stack *s, uint8_t *frame, unsigned len, unsigned flags)
{
	if (len < NET_ETH_HLEN) {
		s->drop_short++;
		return;
	}
	if (memcmp(frame, s->mac, 6) != 0 && memcmp(frame, bcast_mac, 6) != 0) {
		s->drop_not_us++;
		return;
	}
	switch (net_rd16(frame + 12)) {
	case ETH_P_IP:
		ip_input(s, frame, len, flags);
		break;
	case ETH_P_ARP:
		arp_input(s, frame, len);
		break;
	default:
		s->drop_proto++;
	}
}

static void input_cb(void *arg, uint8_t *frame, unsigned len, unsigned flags)
{
	net_input(arg, frame, len, flags);
}

int net_stack_init(struct net_stack *s, struct netfront *nf, const struct net_config *c)
{
	memset(s, 0, sizeof *s);
	s->nf = nf;
	s->ip = c->ip;
	s->mask = c->mask;
	s->gw = c->gw;
	memcpy(s->mac, c->have_mac ? c->mac : nf->mac, 6);
	s->ip_id = (uint16_t)rdtsc();
	return 0;
}

unsigned net_poll(struct net_stack *s, unsigned budget)
{
	unsigned n = net_rx_poll(s->nf, input_cb, s, budget);
	net_tx_push(s->nf);
	if (net_tx_inflight(s->nf))
		net_tx_reap(s->nf);
	return n;
}

unsigned net_wait(struct net_stack *s, uint64_t spin_ns, uint64_t deadline_ns)
{
	uint64_t now = xen_system_time_ns(), until = now + spin_ns;
	if (deadline_ns && until > deadline_ns)
		until = deadline_ns;
	for (;;) {
		unsigned n = net_poll(s, 64);
		if (n)
			return n;
		if (xen_system_time_ns() >= until)
			break;
		cpu_relax();
	}
	if (deadline_ns && xen_system_time_ns() >= deadline_ns)
		return 0;
	net_idle_wait(s->nf, 1, deadline_ns);
	return net_poll(s, 64);
}

int net_udp_bind(struct net_stack *s, uint16_t port, net_udp_fn fn, void *arg)
{
	int free_slot = -1;
	for (unsigned i = 0; i < NET_UDP_PORTS; i++) {
		if (s->udp[i].fn && s->udp[i].port == port) {
			s->udp[i].fn = fn;
			s->udp[i].arg = arg;
			return 0;
		}
		if (!s->udp[i].fn && free_slot < 0)
			free_slot = (int)i;
	}
	if (!fn)
		return 0;
	if (free_slot < 0)
		return -XEN_ENOSPC;
	s->udp[free_slot].port = port;
	s->udp[free_slot].arg = arg;
	s->udp[free_slot].fn = fn;
	return 0;
}

int net_udp_alloc(struct net_stack *s, uint8_t **buf)
{
	int id = net_tx_get(s->nf);
	if (id < 0) {
		s->drop_tx_full++;
		return id;
	}
	*buf = net_tx_buf(s->nf, id);
	return id;
}

int net_udp_commit(struct net_stack *s, int id, uint32_t dst, uint16_t sport, uint16_t dport,
		   unsigned len, int push)
{
	uint8_t *b = net_tx_buf(s->nf, id);
	if (len > NET_UDP_MAX) {
		s->nf->tx_free[s->nf->tx_nfree++] = (uint16_t)id;
		return -XEN_EINVAL;
	}
	uint32_t nh = net_next_hop(s, dst);
	const uint8_t *mac = net_arp_lookup(s, nh);
	if (!mac) {
		/* Use the buffer to ask for the next hop instead; the datagram is lost. */
		static const uint8_t zero[6];
		unsigned n = arp_build(s, b, 1, bcast_mac, zero, nh);
		net_tx_queue(s->nf, id, n);
		net_tx_push(s->nf);
		s->arp_requests++;
		s->drop_no_arp++;
		return -XEN_ENXIO;
	}
	memcpy(b, mac, 6);
	memcpy(b + 6, s->mac, 6);
	net_wr16(b + 12, ETH_P_IP);
	uint8_t *u = b + NET_ETH_HLEN + IP_HLEN;
	unsigned ulen = UDP_HLEN + len;
	net_wr16(u, sport);
	net_wr16(u + 2, dport);
	net_wr16(u + 4, (uint16_t)ulen);
	u[6] = u[7] = 0;
	uint16_t c = net_csum_fold(net_csum_add(pseudo_sum(s->ip, dst, ulen), u, ulen));
	if (c == 0)
		c = 0xffff; /* zero means "no checksum" in UDP */
	store_csum(u + 6, c);
	ip_header(s, b + NET_ETH_HLEN, ulen, IPPROTO_UDP, dst);
	net_tx_queue(s->nf, id, NET_UDP_HLEN + len);
	if (push)
		net_tx_push(s->nf);
	s->udp_tx++;
	return 0;
}

int net_udp_send(struct net_stack *s, uint32_t dst, uint16_t sport, uint16_t dport,
		 const void *data, unsigned len)
{
	if (len > NET_UDP_MAX)
		return -XEN_EINVAL;
	uint8_t *b;
	int id = net_udp_alloc(s, &b);
	if (id < 0)
		return id;
	memcpy(b + NET_UDP_HLEN, data, len);
	return net_udp_commit(s, id, dst, sport, dport, len, 1);
}
