/*
 * netfront.c: the Xen virtual network interface frontend (io/netif.h) over
 * one-page tx and rx rings (io/ring.h front-end rules), polling at CPL3.
 *
 * Every page the backend touches is granted once at open: the two ring
 * pages, NET_RX_RING_SIZE receive pages (writable, reposted in place after
 * each packet) and NET_TX_BUFS / 2 transmit pages holding two 2 KiB
 * buffers each (read-only). Sending a frame is a copy into a free buffer
 * and a ring slot; no grant is made or ended per packet. Backend-written
 * ring entries are copied out once and validated before use.
 */
#include "gk_net.h"

#define MS 1000000ull
#define HANDSHAKE_TIMEOUT_NS (10000 * MS)
#define PAGE 4096u

static uint8_t ring_pages[NET_MAX_DEVICES][2][PAGE] __attribute__((aligned(4096)));
static uint8_t tx_pages[NET_MAX_DEVICES][NET_TX_BUFS][NET_TX_BUF_SIZE]
	__attribute__((aligned(4096)));
static uint8_t rx_pages[NET_MAX_DEVICES][NET_RX_RING_SIZE][PAGE] __attribute__((aligned(4096)));
static struct netfront *owner[NET_MAX_DEVICES];

static void on_event(evtchn_port_t port, void *arg)
{
	(void)port;
	((struct netfront *)arg)->events++;
}

/* read_flag reads a 0/1 key of dir; a missing key is 0. */
static int read_flag(const char *dir, const char *key)
{
	char path[192];
	uint64_t v = 0;
	snprintf(path, sizeof path, "%s/%s", dir, key);
	if (xs_read_u64(XBT_NIL, path, &v) < 0)
		return 0;
	return v != 0;
}

/* read_mac takes the frontend's mac key, or derives a local address. */
static void read_mac(struct netfront *nf)
{
	char path[160], val[32];
	snprintf(path, sizeof path, "%s/mac", nf->xb.nodename);
	int rc = xs_read(XBT_NIL, path, val, sizeof val);
	if (rc > 0 && net_parse_mac(val, nf->mac) == 0)
		return;
	unsigned dom = xen_domid();
	uint8_t def[6] = {0x02, 0, 0, 0, (uint8_t)dom, (uint8_t)nf->id};
	memcpy(nf->mac, def, 6);
}

/* publish writes the ring keys and state Initialised in one transaction. */
static int publish(struct netfront *nf)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		xs_tx_t tx;
		int rc = xs_transaction_start(&tx);
		if (rc < 0)
			return rc;
		struct xenbus_key keys[] = {
			{"tx-ring-ref", (uint64_t)nf->tx_ring_ref},
			{"rx-ring-ref", (uint64_t)nf->rx_ring_ref},
			{nf->split ? "event-channel-tx" : "event-channel", nf->tx_port},
			{"event-channel-rx", nf->rx_port},
			{"request-rx-copy", 1},
			{"feature-rx-notify", 1},
		};
		for (unsigned i = 0; rc == 0 && i < sizeof keys / sizeof keys[0]; i++) {
			char path[160];
			if (!nf->split && i == 3)
				continue;
			snprintf(path, sizeof path, "%s/%s", nf->xb.nodename, keys[i].name);
			rc = xs_printf(tx, path, "%lu", keys[i].value);
		}
		if (rc == 0)
			rc = xenbus_switch_state(&nf->xb, tx, XenbusStateInitialised);
		if (rc < 0) {
			xs_transaction_end(tx, 1);
			return rc;
		}
		rc = xs_transaction_end(tx, 0);
		if (rc != -XEN_EAGAIN)
			return rc;
	}
	return -XEN_EAGAIN;
}

static void end_grant(struct netfront *nf, uint32_t ref)
{
	int rc = -XEN_EBUSY;
	for (int tries = 0; tries < 1000 && rc == -XEN_EBUSY; tries++)
		rc = gnttab_end_access(ref);
	if (rc < 0)
		nf->grant_leaks++;
}

/* release revokes every grant, closes the channels and frees the slot. */
static void release(struct netfront *nf, unsigned ntx, unsigned nrx)
{
	if (nf->rx_port && nf->rx_port != nf->tx_port)
		evtchn_close(nf->rx_port);
	if (nf->tx_port)
		evtchn_close(nf->tx_port);
	nf->tx_port = nf->rx_port = 0;
	for (unsigned i = 0; i < ntx; i++)
		end_grant(nf, nf->tx_gref[i]);
	for (unsigned i = 0; i < nrx; i++)
		end_grant(nf, nf->rx_gref[i]);
	if (nf->tx_ring_ref >= 0)
		end_grant(nf, (uint32_t)nf->tx_ring_ref);
	if (nf->rx_ring_ref >= 0)
		end_grant(nf, (uint32_t)nf->rx_ring_ref);
	nf->tx_ring_ref = nf->rx_ring_ref = -1;
	for (unsigned i = 0; i < NET_MAX_DEVICES; i++)
		if (owner[i] == nf)
			owner[i] = NULL;
	nf->tx = NULL;
	nf->rx = NULL;
}

/* grant_all grants the rings and buffers; *ntx and *nrx count the buffer grants made. */
static int grant_all(struct netfront *nf, unsigned *ntx, unsigned *nrx)
{
	domid_t be = (domid_t)nf->xb.otherend_id;
	int rc = gnttab_grant_access(be, (uint64_t)(uintptr_t)nf->tx >> 12, 0);
	if (rc < 0)
		return rc;
	nf->tx_ring_ref = rc;
	if ((rc = gnttab_grant_access(be, (uint64_t)(uintptr_t)nf->rx >> 12, 0)) < 0)
		return rc;
	nf->rx_ring_ref = rc;
	for (unsigned i = 0; i < NET_TX_BUFS / 2; i++) {
		rc = gnttab_grant_access(be, (uint64_t)(uintptr_t)nf->txbuf[2 * i] >> 12, 1);
		if (rc < 0)
			return rc;
		nf->tx_gref[i] = (uint32_t)rc;
		*ntx = i + 1;
	}
	for (unsigned i = 0; i < NET_RX_RING_SIZE; i++) {
		rc = gnttab_grant_access(be, (uint64_t)(uintptr_t)nf->rxbuf[i] >> 12, 0);
		if (rc < 0)
			return rc;
		nf->rx_gref[i] = (uint32_t)rc;
		*nrx = i + 1;
	}
	return 0;
}

/* post_rx queues every buffer in rx_repost on the rx ring and publishes them. */
static void post_rx(struct netfront *nf)
{
	if (nf->rx_nrepost == 0)
		return;
	struct netif_rx_sring *s = nf->rx;
	for (unsigned i = 0; i < nf->rx_nrepost; i++) {
		uint16_t id = nf->rx_repost[i];
		struct netif_rx_request r = {.id = id, .pad = 0, .gref = nf->rx_gref[id]};
		memcpy((void *)&s->ring[nf->rx_prod_pvt % NET_RX_RING_SIZE].req, &r, sizeof r);
		nf->rx_posted[id] = 1;
		nf->rx_prod_pvt++;
	}
	nf->rx_nrepost = 0;
	uint32_t new = nf->rx_prod_pvt;
	uint32_t old = __atomic_load_n(&s->req_prod, __ATOMIC_RELAXED);
	__atomic_store_n(&s->req_prod, new, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t ev = __atomic_load_n(&s->req_event, __ATOMIC_ACQUIRE);
	if ((uint32_t)(new - ev) < (uint32_t)(new - old)) {
		evtchn_send(nf->rx_port);
		nf->rx_kicks++;
	}
}

int net_open(int id, int split, struct netfront *nf)
{
	char node[64];
	unsigned ntx = 0, nrx = 0;
	memset(nf, 0, sizeof *nf);
	nf->id = id;
	nf->tx_ring_ref = nf->rx_ring_ref = -1;
	snprintf(node, sizeof node, "device/vif/%d", id);
	int rc = xenbus_device_init(&nf->xb, node);
	if (rc < 0)
		return rc;
	if ((rc = xen_timer_init()) < 0)
		goto out_dev;
	int st = xenbus_wait_otherend(&nf->xb, 1u << XenbusStateInitWait | 1u << XenbusStateConnected,
				      HANDSHAKE_TIMEOUT_NS);
	if (st < 0) {
		rc = st;
		goto out_dev;
	}
	if (!read_flag(nf->xb.otherend, "feature-rx-copy")) {
		rc = -XEN_EOPNOTSUPP; /* the only receive mode there is today */
		goto out_dev;
	}
	nf->split = split && read_flag(nf->xb.otherend, "feature-split-event-channels");
	read_mac(nf);

	unsigned slot = NET_MAX_DEVICES;
	for (unsigned i = 0; i < NET_MAX_DEVICES && slot == NET_MAX_DEVICES; i++)
		if (!owner[i]) {
			owner[i] = nf;
			slot = i;
		}
	if (slot == NET_MAX_DEVICES) {
		rc = -XEN_ENOSPC;
		goto out_dev;
	}
	nf->tx = (struct netif_tx_sring *)ring_pages[slot][0];
	nf->rx = (struct netif_rx_sring *)ring_pages[slot][1];
	nf->txbuf = tx_pages[slot];
	nf->rxbuf = rx_pages[slot];
	memset(nf->tx, 0, PAGE);
	memset(nf->rx, 0, PAGE);
	nf->tx->req_event = nf->tx->rsp_event = 1;
	nf->rx->req_event = nf->rx->rsp_event = 1;
	for (unsigned i = 0; i < NET_TX_BUFS; i++)
		nf->tx_free[i] = (uint16_t)(NET_TX_BUFS - 1 - i);
	nf->tx_nfree = NET_TX_BUFS;
	if ((rc = grant_all(nf, &ntx, &nrx)) < 0)
		goto out;
	domid_t be = (domid_t)nf->xb.otherend_id;
	if ((rc = evtchn_alloc_unbound(be, &nf->tx_port)) < 0)
		goto out;
	nf->rx_port = nf->tx_port;
	if (nf->split && (rc = evtchn_alloc_unbound(be, &nf->rx_port)) < 0) {
		nf->rx_port = 0;
		goto out;
	}
	if ((rc = evtchn_set_handler(nf->tx_port, on_event, nf)) < 0)
		goto out;
	if (nf->split && (rc = evtchn_set_handler(nf->rx_port, on_event, nf)) < 0)
		goto out;
	if ((rc = publish(nf)) < 0)
		goto out;
	st = xenbus_wait_otherend(&nf->xb, 1u << XenbusStateConnected | 1u << XenbusStateClosing |
						   1u << XenbusStateClosed,
				  HANDSHAKE_TIMEOUT_NS);
	if (st != XenbusStateConnected) {
		rc = st < 0 ? st : -XEN_EIO;
		goto out;
	}
	if ((rc = xenbus_switch_state(&nf->xb, XBT_NIL, XenbusStateConnected)) < 0)
		goto out;
	for (unsigned i = 0; i < NET_RX_RING_SIZE; i++)
		nf->rx_repost[nf->rx_nrepost++] = (uint16_t)i;
	post_rx(nf);
	return 0;
out:
	release(nf, ntx, nrx);
out_dev:
	xenbus_device_free(&nf->xb);
	return rc;
}

int net_close(struct netfront *nf)
{
	if (!nf->tx)
		return -XEN_EINVAL;
	int rc = xenbus_frontend_close(&nf->xb, HANDSHAKE_TIMEOUT_NS);
	xenbus_device_free(&nf->xb);
	release(nf, NET_TX_BUFS / 2, NET_RX_RING_SIZE);
	return rc;
}

unsigned net_tx_reap(struct netfront *nf)
{
	struct netif_tx_sring *s = nf->tx;
	unsigned n = 0;
	uint32_t rp = __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE);
	if (rp - nf->tx_cons > nf->tx_prod_pvt - nf->tx_cons) {
		nf->bad_responses++; /* more responses than requests: ignore the index */
		return 0;
	}
	while (nf->tx_cons != rp) {
		struct netif_tx_response r;
		memcpy(&r, (const void *)&s->ring[nf->tx_cons % NET_TX_RING_SIZE].rsp, sizeof r);
		nf->tx_cons++;
		if (r.id >= NET_TX_BUFS || !nf->tx_busy[r.id]) {
			nf->bad_responses++;
			continue;
		}
		if (r.status != NETIF_RSP_OKAY)
			nf->tx_errors++;
		nf->tx_busy[r.id] = 0;
		nf->tx_free[nf->tx_nfree++] = r.id;
		n++;
	}
	return n;
}

int net_tx_get(struct netfront *nf)
{
	if (nf->tx_nfree == 0 && net_tx_reap(nf) == 0)
		return -XEN_EAGAIN;
	if (nf->tx_nfree == 0)
		return -XEN_EAGAIN;
	return nf->tx_free[--nf->tx_nfree];
}

void net_tx_queue(struct netfront *nf, int id, unsigned len)
{
	struct netif_tx_request r = {
		.gref = nf->tx_gref[id / 2],
		.offset = (uint16_t)((id & 1) * NET_TX_BUF_SIZE),
		.flags = 0,
		.id = (uint16_t)id,
		.size = (uint16_t)len,
	};
	memcpy((void *)&nf->tx->ring[nf->tx_prod_pvt % NET_TX_RING_SIZE].req, &r, sizeof r);
	nf->tx_busy[id] = 1;
	nf->tx_prod_pvt++;
	nf->tx_packets++;
	nf->tx_bytes += len;
}

void net_tx_push(struct netfront *nf)
{
	struct netif_tx_sring *s = nf->tx;
	uint32_t new = nf->tx_prod_pvt;
	uint32_t old = __atomic_load_n(&s->req_prod, __ATOMIC_RELAXED);
	if (new == old)
		return;
	__atomic_store_n(&s->req_prod, new, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t ev = __atomic_load_n(&s->req_event, __ATOMIC_ACQUIRE);
	if ((uint32_t)(new - ev) < (uint32_t)(new - old)) {
		evtchn_send(nf->tx_port);
		nf->tx_kicks++;
	}
}

int net_send(struct netfront *nf, const void *frame, unsigned len)
{
	if (len < NET_ETH_HLEN || len > NET_FRAME_MAX)
		return -XEN_EINVAL;
	int id = net_tx_get(nf);
	if (id < 0)
		return id;
	memcpy(net_tx_buf(nf, id), frame, len);
	net_tx_queue(nf, id, len);
	net_tx_push(nf);
	return 0;
}

int net_rx_pending(const struct netfront *nf)
{
	return __atomic_load_n(&nf->rx->rsp_prod, __ATOMIC_ACQUIRE) != nf->rx_cons;
}

unsigned net_rx_poll(struct netfront *nf, net_rx_fn fn, void *arg, unsigned budget)
{
	struct netif_rx_sring *s = nf->rx;
	unsigned n = 0;
	uint32_t rp = __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE);
	if (rp - nf->rx_cons > nf->rx_prod_pvt - nf->rx_cons) {
		nf->bad_responses++;
		return 0;
	}
	int skipping = 0; /* inside a multi-slot packet being dropped */
	while (nf->rx_cons != rp && (n < budget || skipping)) {
		struct netif_rx_response r;
		memcpy(&r, (const void *)&s->ring[nf->rx_cons % NET_RX_RING_SIZE].rsp, sizeof r);
		nf->rx_cons++;
		if (r.id >= NET_RX_RING_SIZE || !nf->rx_posted[r.id]) {
			nf->bad_responses++;
			continue;
		}
		nf->rx_posted[r.id] = 0;
		nf->rx_repost[nf->rx_nrepost++] = r.id;
		int more = (r.flags & NETRXF_more_data) != 0;
		if (skipping || more || (r.flags & NETRXF_extra_info)) {
			/* Not negotiated (no feature-sg, no GSO): drop the packet whole. */
			if (!skipping)
				nf->rx_multi_dropped++;
			skipping = more;
			continue;
		}
		if (r.status < 0 || (unsigned)r.status < NET_ETH_HLEN ||
		    (unsigned)r.offset + (unsigned)r.status > PAGE) {
			nf->rx_errors++;
			continue;
		}
		nf->rx_packets++;
		nf->rx_bytes += (unsigned)r.status;
		n++;
		fn(arg, nf->rxbuf[r.id] + r.offset, (unsigned)r.status, r.flags);
	}
	post_rx(nf);
	return n;
}

int net_idle_wait(struct netfront *nf, int tx, uint64_t deadline_ns)
{
	__atomic_store_n(&nf->rx->rsp_event, nf->rx_cons + 1, __ATOMIC_RELAXED);
	int want_tx = tx && net_tx_inflight(nf) > 0;
	if (want_tx)
		__atomic_store_n(&nf->tx->rsp_event, nf->tx_cons + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (net_rx_pending(nf))
		return 1;
	if (want_tx && __atomic_load_n(&nf->tx->rsp_prod, __ATOMIC_ACQUIRE) != nf->tx_cons)
		return 1;
	if (deadline_ns) {
		if (xen_system_time_ns() >= deadline_ns)
			return 0;
		xen_timer_set(deadline_ns, 0);
	}
	evtchn_wait();
	return 0;
}
