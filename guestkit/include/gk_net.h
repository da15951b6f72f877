/*
 * gk_net.h: guestkit's network stack. netfront (lib/netfront.c) drives a
 * Xen virtual NIC (io/netif.h) at CPL3 by polling: one-page tx and rx
 * rings, rx buffers granted once and reposted in place, a pool of
 * pre-granted tx buffers that frames are built in (no grant churn per
 * packet), notifications only where the ring rules ask for them. The IP
 * layer (lib/netip.c) adds Ethernet, ARP (reply, cache, request), IPv4
 * without fragmentation (fragments are dropped), ICMP echo replies and UDP
 * with per-port handlers; lib/netcfg.c parses the address arguments.
 *
 * Functions return 0 (or a count) on success and a negative Xen errno on
 * failure. Addresses (uint32_t) are IPv4 in host byte order.
 */
#ifndef GUESTKIT_NET_H
#define GUESTKIT_NET_H

#include "gk_pv.h"
#include "xen_netif.h"

#define NET_MAX_DEVICES 2     /* open NICs at once (static ring and buffer pages) */
#define NET_ETH_HLEN 14       /* Ethernet header */
#define NET_MTU 1500          /* IPv4 packet limit */
#define NET_FRAME_MAX 1514    /* Ethernet frame limit (no FCS) */
#define NET_TX_BUF_SIZE 2048  /* a tx buffer: half a granted page */
#define NET_TX_BUFS NET_TX_RING_SIZE
#define NET_UDP_HLEN 42       /* Ethernet + IPv4 (no options) + UDP headers */
#define NET_UDP_MAX (NET_MTU - 28) /* largest UDP payload */

/* netfront is one open virtual NIC. */
struct netfront {
	struct xenbus_device xb;    /* device/vif/<id> and its backend */
	int id;                     /* the device id */
	uint8_t mac[6];             /* the NIC's address (from xenstore or derived) */
	int split;                  /* separate tx and rx event channels in use */
	struct netif_tx_sring *tx;  /* shared transmit ring */
	struct netif_rx_sring *rx;  /* shared receive ring */
	int tx_ring_ref, rx_ring_ref; /* grants of the ring pages, or -1 */
	evtchn_port_t tx_port;      /* event channel (tx, or the single one) */
	evtchn_port_t rx_port;      /* rx event channel (== tx_port unless split) */
	uint8_t (*txbuf)[NET_TX_BUF_SIZE]; /* NET_TX_BUFS buffers, two per page */
	uint8_t (*rxbuf)[4096];     /* NET_RX_RING_SIZE receive pages */
	uint32_t tx_gref[NET_TX_BUFS / 2];   /* grant of each tx page (read-only) */
	uint32_t rx_gref[NET_RX_RING_SIZE];  /* grant of each rx page (writable) */
	uint16_t tx_free[NET_TX_BUFS];       /* free tx buffer ids (a stack) */
	unsigned tx_nfree;                   /* entries in tx_free */
	uint8_t tx_busy[NET_TX_BUFS];        /* buffer is on the ring awaiting its response */
	uint8_t rx_posted[NET_RX_RING_SIZE]; /* buffer is posted to the backend */
	uint16_t rx_repost[NET_RX_RING_SIZE]; /* consumed buffers to post again */
	unsigned rx_nrepost;                 /* entries in rx_repost */
	uint32_t tx_prod_pvt, tx_cons;       /* next tx request to fill, next tx response */
	uint32_t rx_prod_pvt, rx_cons;       /* next rx request to fill, next rx response */
	/* Counters. */
	uint64_t tx_packets, tx_bytes, tx_errors, tx_kicks, tx_full_waits;
	uint64_t rx_packets, rx_bytes, rx_errors, rx_kicks, rx_multi_dropped;
	uint64_t bad_responses; /* responses with an unknown id or impossible index, dropped */
	uint64_t events;        /* events taken off the port(s) */
	uint64_t grant_leaks;   /* grants the backend still held at close */
};

/* net_rx_fn receives one frame (valid only during the call) with its NETRXF_* flags. */
typedef void (*net_rx_fn)(void *arg, uint8_t *frame, unsigned len, unsigned flags);

/*
 * net_open connects device/vif/<id>: waits for the backend's InitWait,
 * needs its feature-rx-copy, grants the ring pages and all buffers once,
 * allocates one event channel (two if the backend offers
 * feature-split-event-channels and split is set), writes tx-ring-ref,
 * rx-ring-ref, the event channel key(s), request-rx-copy=1 and
 * feature-rx-notify=1 with state Initialised in one transaction, waits
 * for Connected, goes Connected and posts every rx buffer. The MAC comes
 * from <frontend>/mac, else 02:00:00:00:<domid>:<id>. Needs xs_init and
 * gnttab_init done.
 */
int net_open(int id, int split, struct netfront *nf);
/* net_close goes Closing/Closed, then revokes the grants and closes the channels. */
int net_close(struct netfront *nf);

/*
 * net_tx_get returns a free tx buffer id, taking tx responses off the
 * ring first if none is free; -XEN_EAGAIN if every buffer is in flight.
 */
int net_tx_get(struct netfront *nf);
/* net_tx_buf is the NET_TX_BUF_SIZE-byte buffer of id. */
static inline uint8_t *net_tx_buf(struct netfront *nf, int id)
{
	return nf->txbuf[id];
}
/*
 * net_tx_queue puts buffer id with len bytes (14..NET_FRAME_MAX) on the
 * ring without publishing it; net_tx_push publishes what was queued and
 * kicks the backend if its req_event asks for it.
 */
void net_tx_queue(struct netfront *nf, int id, unsigned len);
void net_tx_push(struct netfront *nf);
/* net_send copies a frame into a free buffer, queues and pushes it (-XEN_EAGAIN: ring full). */
int net_send(struct netfront *nf, const void *frame, unsigned len);
/* net_tx_reap takes tx responses off the ring and frees their buffers; returns how many. */
unsigned net_tx_reap(struct netfront *nf);
/* net_tx_inflight is how many tx buffers await their response. */
static inline unsigned net_tx_inflight(const struct netfront *nf)
{
	return NET_TX_BUFS - nf->tx_nfree;
}

/*
 * net_rx_poll hands up to budget received frames to fn, then posts their
 * buffers again (one push, a kick if the backend asked). Multi-slot
 * packets (not negotiated) and error responses are counted and dropped.
 * Returns the frames delivered.
 */
unsigned net_rx_poll(struct netfront *nf, net_rx_fn fn, void *arg, unsigned budget);
/* net_rx_pending reports whether rx responses wait on the ring. */
int net_rx_pending(const struct netfront *nf);
/*
 * net_idle_wait is the final check before sleeping: it asks for an event
 * at the next rx response (and at the next tx response when tx buffers
 * are in flight and tx is set), re-checks, and only then blocks until an
 * event or system time deadline_ns (0: no deadline). Returns 1 if work
 * was found instead of sleeping, else 0.
 */
int net_idle_wait(struct netfront *nf, int tx, uint64_t deadline_ns);

/* ---- configuration (lib/netcfg.c) ---- */

/* net_config is an interface's addresses. */
struct net_config {
	uint32_t ip;      /* our address (ip=a.b.c.d) */
	uint32_t mask;    /* netmask (mask=24 or mask=255.255.255.0; default /24) */
	uint32_t peer;    /* the host we talk to (peer=a.b.c.d; 0 if absent) */
	uint32_t gw;      /* next hop off the subnet (gw=a.b.c.d; 0: none) */
	uint8_t mac[6];   /* mac=aa:bb:cc:dd:ee:ff */
	int have_mac;     /* mac was given */
};

/* net_parse_ip parses dotted-quad s into *ip; -XEN_EINVAL on junk. */
int net_parse_ip(const char *s, uint32_t *ip);
/* net_parse_mac parses aa:bb:cc:dd:ee:ff into mac; -XEN_EINVAL on junk. */
int net_parse_mac(const char *s, uint8_t mac[6]);
/* net_config_parse reads ip=, mask=, peer=, gw= and mac= from argv; ip= is required. */
int net_config_parse(int argc, char **argv, struct net_config *c);
/* net_fmt_ip formats ip into buf (at least 16 bytes) and returns buf. */
char *net_fmt_ip(uint32_t ip, char *buf);
/* net_arg_str returns the value of the first "key=value" argument, or def. */
const char *net_arg_str(int argc, char **argv, const char *key, const char *def);

/* ---- IPv4 stack (lib/netip.c) ---- */

#define NET_ARP_CACHE 16  /* neighbours remembered */
#define NET_UDP_PORTS 8   /* UDP ports bound at once */

/* net_udp_pkt is one received UDP datagram (data valid only during the handler). */
struct net_udp_pkt {
	uint32_t src, dst;     /* IPv4 addresses */
	uint16_t sport, dport; /* UDP ports */
	const uint8_t *data;   /* payload */
	unsigned len;          /* payload bytes */
	const uint8_t *src_mac; /* the sender's Ethernet address */
};

struct net_stack;
/* net_udp_fn handles a datagram for a bound port; it may send. */
typedef void (*net_udp_fn)(struct net_stack *s, const struct net_udp_pkt *p, void *arg);

/* net_arp_entry is one neighbour. */
struct net_arp_entry {
	uint32_t ip;     /* 0: unused */
	uint8_t mac[6];
	uint64_t used;   /* last use, for replacement */
};

/* net_stack is an IPv4 host on one netfront. */
struct net_stack {
	struct netfront *nf;
	uint8_t mac[6];
	uint32_t ip, mask, gw;
	struct net_arp_entry arp[NET_ARP_CACHE];
	uint64_t arp_clock;
	struct {
		uint16_t port;
		net_udp_fn fn;
		void *arg;
	} udp[NET_UDP_PORTS];
	uint16_t ip_id; /* next IPv4 identification */
	/* Counters. */
	uint64_t arp_rx, arp_replies, arp_requests, icmp_echoes, udp_rx, udp_tx;
	uint64_t drop_short, drop_not_us, drop_bad_csum, drop_frag, drop_proto, drop_no_port,
		drop_no_arp, drop_tx_full;
};

/* net_stack_init binds s to nf with c's addresses (c->mac, if set, overrides the NIC's). */
int net_stack_init(struct net_stack *s, struct netfront *nf, const struct net_config *c);
/* net_input handles one received Ethernet frame. */
void net_input(struct net_stack *s, uint8_t *frame, unsigned len, unsigned flags);
/*
 * net_poll receives up to budget frames into the stack, pushes anything the
 * handlers queued and reaps tx completions; returns the frames handled.
 */
unsigned net_poll(struct net_stack *s, unsigned budget);
/*
 * net_wait polls for spin_ns, then sleeps (net_idle_wait) until a frame or
 * an event arrives or system time deadline_ns passes; returns frames handled.
 */
unsigned net_wait(struct net_stack *s, uint64_t spin_ns, uint64_t deadline_ns);
/* net_udp_bind routes datagrams for port to fn (NULL unbinds). */
int net_udp_bind(struct net_stack *s, uint16_t port, net_udp_fn fn, void *arg);
/* net_arp_lookup returns the cached MAC of ip, or NULL. */
const uint8_t *net_arp_lookup(struct net_stack *s, uint32_t ip);
/* net_arp_request broadcasts a who-has for ip. */
int net_arp_request(struct net_stack *s, uint32_t ip);
/* net_arp_resolve asks for ip's MAC until it is cached or timeout_ns passes (-XEN_ETIMEDOUT). */
int net_arp_resolve(struct net_stack *s, uint32_t ip, uint64_t timeout_ns);
/* net_next_hop is the neighbour a packet for dst goes to. */
uint32_t net_next_hop(const struct net_stack *s, uint32_t dst);

/*
 * net_udp_alloc gets a tx buffer for a datagram and returns it through
 * *buf; the payload goes at (*buf + NET_UDP_HLEN), at most NET_UDP_MAX
 * bytes. -XEN_EAGAIN when every buffer is in flight.
 */
int net_udp_alloc(struct net_stack *s, uint8_t **buf);
/*
 * net_udp_commit fills the headers of buffer id (from net_udp_alloc) for
 * len payload bytes to dst:dport from sport and queues it; push publishes
 * it at once. If the next hop is not in the ARP cache the buffer carries
 * an ARP request instead and the result is -XEN_ENXIO (datagram lost).
 */
int net_udp_commit(struct net_stack *s, int id, uint32_t dst, uint16_t sport, uint16_t dport,
		   unsigned len, int push);
/* net_udp_send copies data into a datagram and sends it (commit with push). */
int net_udp_send(struct net_stack *s, uint32_t dst, uint16_t sport, uint16_t dport,
		 const void *data, unsigned len);

/* net_csum_add adds len bytes at p to a one's-complement running sum. */
uint64_t net_csum_add(uint64_t sum, const void *p, unsigned len);
/* net_csum_fold folds a running sum to the 16-bit Internet checksum (complemented). */
uint16_t net_csum_fold(uint64_t sum);

/* Byte order helpers. */
static inline uint16_t net_htons(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}
static inline uint32_t net_htonl(uint32_t v)
{
	return __builtin_bswap32(v);
}
/* net_rd16/net_rd32 read big-endian fields; net_wr16/net_wr32 write them. */
static inline uint16_t net_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t net_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void net_wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void net_wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* GUESTKIT_NET_H */
