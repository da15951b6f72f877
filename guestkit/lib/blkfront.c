/*
 * blkfront.c: the Xen virtual block device frontend (io/blkif.h) over a
 * shared ring of 2^order pages (io/ring.h front-end rules), polling at CPL3.
 */
#include "gk_blk.h"

#define MS 1000000ull
#define HANDSHAKE_TIMEOUT_NS (10000 * MS)
#define IO_TIMEOUT_NS (30000 * MS)
#define PAGE 4096u

static uint8_t ring_pages[BLK_MAX_DEVICES][BLK_MAX_RING_PAGES * PAGE] __attribute__((aligned(4096)));
static struct blkdev *ring_owner[BLK_MAX_DEVICES];
/* Indirect segment pages: one per ring slot of each device. */
static struct blkif_request_segment ind_pages[BLK_MAX_DEVICES][BLK_MAX_SLOTS]
					      [PAGE / sizeof(struct blkif_request_segment)]
	__attribute__((aligned(4096)));

/*
 * ring_entry is entry idx (free-running) of d's ring. A multi-page ring
 * runs past the one-page ring[] array of struct blkif_sring, so the entry
 * is computed from the ring's base rather than indexed.
 */
static union blkif_ring_entry *ring_entry(struct blkdev *d, uint32_t idx)
{
	uint8_t *base = (uint8_t *)d->sring + offsetof(struct blkif_sring, ring);
	return (union blkif_ring_entry *)base + (idx & (d->ring_size - 1));
}

/* ring_entries is the entry count of a ring of 2^order pages (__CONST_RING_SIZE). */
static unsigned ring_entries(unsigned order)
{
	unsigned n = ((PAGE << order) - offsetof(struct blkif_sring, ring)) / sizeof(union blkif_ring_entry);
	unsigned size = 1;
	while (size * 2 <= n)
		size *= 2;
	return size;
}

/*
 * cmdline_uint returns the decimal value of key (which ends in '=') on the
 * start_info command line, or def without it (Linux module parameters).
 */
static unsigned cmdline_uint(const char *key, unsigned def)
{
	const struct hvm_start_info *si = gk_start_info;
	if (!si || si->magic != XEN_HVM_START_MAGIC_VALUE || !si->cmdline_paddr ||
	    si->cmdline_paddr >= (1ull << 32))
		return def;
	const char *p = (const char *)(uintptr_t)si->cmdline_paddr;
	size_t len = strnlen(p, 4095), k = strlen(key);
	for (size_t i = 0; i + k <= len; i++) {
		if ((i == 0 || p[i - 1] == ' ') && strncmp(p + i, key, k) == 0) {
			unsigned v = 0;
			for (size_t j = i + k; j < len && p[j] >= '0' && p[j] <= '9' && v < 100; j++)
				v = v * 10 + (unsigned)(p[j] - '0');
			return v;
		}
	}
	return def;
}

/* cmdline_ring_order returns xen_blkfront.max_ring_page_order=N, or 0. */
static unsigned cmdline_ring_order(void)
{
	return cmdline_uint("xen_blkfront.max_ring_page_order=", 0);
}

static void on_event(evtchn_port_t port, void *arg)
{
	(void)port;
	((struct blkdev *)arg)->events++;
}

/* read_key reads <dir>/<key> as a decimal; a missing key leaves *v at def. */
static int read_key(const char *dir, const char *key, uint64_t def, uint64_t *v)
{
	char path[192];
	snprintf(path, sizeof path, "%s/%s", dir, key);
	*v = def;
	int rc = xs_read_u64(XBT_NIL, path, v);
	if (rc == -XEN_ENOENT) {
		*v = def;
		return 0;
	}
	return rc < 0 ? rc : 0;
}

static int read_features(struct blkdev *d)
{
	uint64_t v;
	int rc = read_key(d->xb.otherend, "feature-flush-cache", 0, &v);
	d->feature_flush = rc == 0 && v != 0;
	rc = read_key(d->xb.otherend, "feature-discard", 0, &v);
	d->feature_discard = rc == 0 && v != 0;
	rc = read_key(d->xb.otherend, "feature-max-indirect-segments", 0, &v);
	d->max_indirect = rc == 0 ? (uint32_t)v : 0;
	rc = read_key(d->xb.otherend, "max-ring-page-order", 0, &v);
	d->max_ring_order = rc == 0 && v < 32 ? (uint32_t)v : 0;
	rc = read_key(d->xb.otherend, "feature-persistent", 0, &v);
	d->feature_persistent = d->offer_persistent && rc == 0 && v != 0;
	return 0;
}

/* read_geometry reads sectors, sector-size and info (all required). */
static int read_geometry(struct blkdev *d)
{
	uint64_t sectors, ssize, info;
	char path[192];
	snprintf(path, sizeof path, "%s/sectors", d->xb.otherend);
	int rc = xs_read_u64(XBT_NIL, path, &sectors);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof path, "%s/sector-size", d->xb.otherend);
	if ((rc = xs_read_u64(XBT_NIL, path, &ssize)) < 0)
		return rc;
	snprintf(path, sizeof path, "%s/info", d->xb.otherend);
	if ((rc = xs_read_u64(XBT_NIL, path, &info)) < 0)
		return rc;
	if (ssize < BLKIF_SECTOR_SIZE || ssize > PAGE || (ssize & (ssize - 1)))
		return -XEN_EINVAL;
	d->sectors = sectors;
	d->sector_size = (uint32_t)ssize;
	d->info = (uint32_t)info;
	return 0;
}

/* publish writes the ring keys and state Initialised in one transaction. */
static int publish(struct blkdev *d)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		xs_tx_t tx;
		char path[160];
		int rc = xs_transaction_start(&tx);
		if (rc < 0)
			return rc;
		if (d->ring_order == 0) {
			snprintf(path, sizeof path, "%s/ring-ref", d->xb.nodename);
			rc = xs_printf(tx, path, "%d", d->ring_ref[0]);
		} else {
			snprintf(path, sizeof path, "%s/ring-page-order", d->xb.nodename);
			rc = xs_printf(tx, path, "%u", d->ring_order);
			for (unsigned i = 0; rc == 0 && i < 1u << d->ring_order; i++) {
				snprintf(path, sizeof path, "%s/ring-ref%u", d->xb.nodename, i);
				rc = xs_printf(tx, path, "%d", d->ring_ref[i]);
			}
		}
		if (rc == 0) {
			snprintf(path, sizeof path, "%s/event-channel", d->xb.nodename);
			rc = xs_printf(tx, path, "%u", d->port);
		}
		if (rc == 0) {
			snprintf(path, sizeof path, "%s/protocol", d->xb.nodename);
			rc = xs_write(tx, path, "x86_64-abi");
		}
		if (rc == 0 && d->offer_persistent) {
			snprintf(path, sizeof path, "%s/feature-persistent", d->xb.nodename);
			rc = xs_write(tx, path, "1");
		}
		if (rc == 0)
			rc = xenbus_switch_state(&d->xb, tx, XenbusStateInitialised);
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

static void release_ring(struct blkdev *d)
{
	if (d->port) {
		evtchn_close(d->port);
		d->port = 0;
	}
	for (unsigned i = 0; i < BLK_MAX_RING_PAGES; i++) {
		if (d->ring_ref[i] >= 0 && gnttab_end_access((grant_ref_t)d->ring_ref[i]) < 0)
			d->grant_leaks++;
		d->ring_ref[i] = -1;
	}
	for (unsigned i = 0; i < BLK_MAX_DEVICES; i++)
		if (ring_owner[i] == d)
			ring_owner[i] = NULL;
	d->sring = NULL;
	d->ind_page = NULL;
}

int blk_open(int id, struct blkdev *d)
{
	return blk_open_order(id, d, cmdline_ring_order());
}

int blk_open_order(int id, struct blkdev *d, unsigned order)
{
	char node[64];
	memset(d, 0, sizeof *d);
	d->id = id;
	d->offer_persistent =
		cmdline_uint("xen_blkfront.feature_persistent=", BLK_PERSISTENT_DEFAULT) != 0;
	for (unsigned i = 0; i < BLK_MAX_RING_PAGES; i++)
		d->ring_ref[i] = -1;
	snprintf(node, sizeof node, "device/vbd/%d", id);
	int rc = xenbus_device_init(&d->xb, node);
	if (rc < 0)
		return rc;
	int st = xenbus_wait_otherend(&d->xb, 1u << XenbusStateInitWait | 1u << XenbusStateConnected,
				      HANDSHAKE_TIMEOUT_NS);
	if (st < 0) {
		rc = st;
		goto fail;
	}
	read_features(d);

	for (unsigned i = 0; i < BLK_MAX_DEVICES && !d->sring; i++)
		if (!ring_owner[i]) {
			ring_owner[i] = d;
			d->sring = (struct blkif_sring *)ring_pages[i];
			d->ind_page = ind_pages[i][0];
		}
	if (!d->sring) {
		rc = -XEN_ENOSPC;
		goto fail;
	}
	if (order > d->max_ring_order)
		order = d->max_ring_order;
	if (order > BLK_MAX_RING_ORDER)
		order = BLK_MAX_RING_ORDER;
	d->ring_order = order;
	d->ring_size = ring_entries(order);
	d->depth = d->ring_size;
	memset(d->sring, 0, PAGE << order);
	d->sring->req_event = 1;
	d->sring->rsp_event = 1;
	for (unsigned i = 0; i < 1u << order; i++) {
		rc = gnttab_grant_access((domid_t)d->xb.otherend_id,
					 ((uint64_t)(uintptr_t)d->sring >> 12) + i, 0);
		if (rc < 0)
			goto fail;
		d->ring_ref[i] = rc;
	}
	if ((rc = evtchn_alloc_unbound((domid_t)d->xb.otherend_id, &d->port)) < 0)
		goto fail;
	if ((rc = evtchn_set_handler(d->port, on_event, d)) < 0)
		goto fail;
	if ((rc = publish(d)) < 0)
		goto fail;
	st = xenbus_wait_otherend(&d->xb, 1u << XenbusStateConnected | 1u << XenbusStateClosing |
						  1u << XenbusStateClosed,
				  HANDSHAKE_TIMEOUT_NS);
	if (st != XenbusStateConnected) {
		rc = st < 0 ? st : -XEN_EIO;
		goto fail;
	}
	read_features(d); /* a backend may publish them late; Linux re-reads */
	blk_set_indirect(d, 1);
	if ((rc = read_geometry(d)) < 0)
		goto fail;
	if ((rc = xenbus_switch_state(&d->xb, XBT_NIL, XenbusStateConnected)) < 0)
		goto fail;
	if (d->ring_order)
		printf("blkfront: vbd %d: ring of %u pages, %u entries\n", id, 1u << d->ring_order,
		       d->ring_size);
	return 0;
fail:
	release_ring(d);
	xenbus_device_free(&d->xb);
	return rc;
}

int blk_set_depth(struct blkdev *d, unsigned depth)
{
	if (depth < 1 || depth > d->ring_size)
		return -XEN_EINVAL;
	d->depth = depth;
	return 0;
}

void blk_set_indirect(struct blkdev *d, int on)
{
	d->max_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST;
	if (on && d->max_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		d->max_segments = d->max_indirect < BLK_MAX_SEGMENTS ? d->max_indirect
								     : BLK_MAX_SEGMENTS;
}

uint32_t blk_max_sectors(const struct blkdev *d, const void *buf)
{
	uint32_t off = (uint32_t)((uintptr_t)buf & (PAGE - 1));
	uint32_t segs = d->max_segments ? d->max_segments : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	return (segs * PAGE - off) / BLKIF_SECTOR_SIZE;
}

/* push publishes the private producer index and kicks the backend if it asked. */
static void push(struct blkdev *d)
{
	struct blkif_sring *s = d->sring;
	uint32_t new = d->req_prod_pvt;
	uint32_t old = __atomic_load_n(&s->req_prod, __ATOMIC_RELAXED);
	/* The entries are written before the index moves (release). */
	__atomic_store_n(&s->req_prod, new, __ATOMIC_RELEASE);
	/* The index store is ordered before the req_event load (full fence). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	uint32_t ev = __atomic_load_n(&s->req_event, __ATOMIC_ACQUIRE);
	if ((uint32_t)(new - ev) < (uint32_t)(new - old)) {
		evtchn_send(d->port);
		d->notifies++;
	}
}

/* end_grant revokes ref, retrying while the backend still holds it. */
static void end_grant(struct blkdev *d, uint32_t ref)
{
	int rc = -XEN_EBUSY;
	for (int tries = 0; tries < 1000 && rc == -XEN_EBUSY; tries++)
		rc = gnttab_end_access(ref);
	if (rc < 0)
		d->grant_leaks++;
}

/*
 * end_data_grant ends a one-request data grant; under feature-persistent
 * one the backend still holds was kept by it and is ended in blk_close.
 */
static void end_data_grant(struct blkdev *d, uint32_t ref)
{
	if (!d->feature_persistent) {
		end_grant(d, ref);
		return;
	}
	int rc = -XEN_EBUSY;
	for (int tries = 0; tries < 1000 && rc == -XEN_EBUSY; tries++)
		rc = gnttab_end_access(ref);
	if (rc == -XEN_EBUSY && d->nkept < BLK_KEPT)
		d->kept[d->nkept++] = ref;
	else if (rc < 0)
		d->grant_leaks++;
}

static void end_grants(struct blkdev *d, struct blk_slot *sl)
{
	for (unsigned i = 0; i < sl->nr_grants; i++)
		end_data_grant(d, sl->gref[i]);
	sl->nr_grants = 0;
	if (sl->ind_gref >= 0)
		end_grant(d, (uint32_t)sl->ind_gref);
	sl->ind_gref = -1;
}

/*
 * data_grant returns a grant of frame for d's backend (read-only if ro): a
 * persistent one from the cache when the backend keeps grants (*cached set;
 * never ended while connected), else a fresh one to end on completion.
 */
static int data_grant(struct blkdev *d, uint64_t frame, int ro, int *cached)
{
	*cached = 0;
	if (d->feature_persistent) {
		uint64_t key = frame << 1 | (uint64_t)(ro != 0);
		struct blk_pgrant *pg = &d->pgrant[(frame ^ (frame >> 9) ^ (uint64_t)ro * (BLK_PGRANTS / 2)) &
						    (BLK_PGRANTS - 1)];
		if (pg->ref && pg->key == key) {
			*cached = 1;
			d->pgrant_hits++;
			return (int)pg->ref;
		}
		if (!pg->ref) {
			int ref = gnttab_grant_access((domid_t)d->xb.otherend_id, frame, ro);
			if (ref <= 0)
				return ref < 0 ? ref : -XEN_EINVAL;
			pg->key = key;
			pg->ref = (uint32_t)ref;
			*cached = 1;
			return ref;
		}
	}
	return gnttab_grant_access((domid_t)d->xb.otherend_id, frame, ro);
}

/* end_pgrants ends every persistent grant (once the backend let them go). */
static void end_pgrants(struct blkdev *d)
{
	for (unsigned i = 0; i < BLK_PGRANTS; i++) {
		if (d->pgrant[i].ref)
			end_grant(d, d->pgrant[i].ref);
		d->pgrant[i].ref = 0;
	}
	for (unsigned i = 0; i < d->nkept; i++)
		end_grant(d, d->kept[i]);
	d->nkept = 0;
}

void blk_push(struct blkdev *d)
{
	if (d->sring && __atomic_load_n(&d->sring->req_prod, __ATOMIC_RELAXED) != d->req_prod_pvt)
		push(d);
}

int blk_submit(struct blkdev *d, int op, uint64_t sector, void *buf, uint32_t nsectors,
	       uint64_t cookie)
{
	int rc = blk_queue(d, op, sector, buf, nsectors, cookie);
	if (rc == 0)
		push(d);
	return rc;
}

int blk_queue(struct blkdev *d, int op, uint64_t sector, void *buf, uint32_t nsectors,
	      uint64_t cookie)
{
	if (!d->sring)
		return -XEN_EINVAL;
	if (d->inflight >= d->depth)
		return -XEN_EAGAIN;
	uintptr_t a = (uintptr_t)buf;
	if (op == BLKIF_OP_FLUSH_DISKCACHE) {
		if (nsectors != 0)
			return -XEN_EINVAL;
		if (!d->feature_flush)
			return -XEN_EOPNOTSUPP;
	} else if (op == BLKIF_OP_READ || op == BLKIF_OP_WRITE) {
		if (nsectors == 0 || (a & (BLKIF_SECTOR_SIZE - 1)) ||
		    nsectors > blk_max_sectors(d, buf))
			return -XEN_EINVAL;
	} else {
		return -XEN_EINVAL;
	}
	unsigned id = 0;
	while (id < d->ring_size && d->slot[id].busy)
		id++;
	if (id == d->ring_size || d->req_prod_pvt - d->rsp_cons >= d->ring_size)
		return -XEN_EAGAIN;
	struct blk_slot *sl = &d->slot[id];
	struct blkif_request_segment segs[BLK_MAX_SEGMENTS];
	sl->nr_grants = 0;
	sl->ind_gref = -1;
	unsigned nseg = 0;
	uint32_t left = nsectors;
	while (left) {
		uint32_t first = (uint32_t)(a & (PAGE - 1)) / BLKIF_SECTOR_SIZE;
		uint32_t n = PAGE / BLKIF_SECTOR_SIZE - first;
		if (n > left)
			n = left;
		int cached;
		int ref = data_grant(d, a >> 12, op == BLKIF_OP_WRITE, &cached);
		if (ref < 0) {
			end_grants(d, sl);
			return ref == -XEN_ENOSPC && d->inflight ? -XEN_EAGAIN : ref;
		}
		struct blkif_request_segment *seg = &segs[nseg++];
		seg->gref = (uint32_t)ref;
		seg->first_sect = (uint8_t)first;
		seg->last_sect = (uint8_t)(first + n - 1);
		seg->pad = 0;
		if (!cached)
			sl->gref[sl->nr_grants++] = (uint32_t)ref;
		left -= n;
		a = (a & ~(uintptr_t)(PAGE - 1)) + PAGE;
	}
	union blkif_ring_entry e;
	memset(&e, 0, sizeof e);
	if (nseg <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
		e.req.operation = (uint8_t)op;
		e.req.nr_segments = (uint8_t)nseg;
		e.req.handle = (uint16_t)d->id;
		e.req.id = id;
		e.req.sector_number = sector;
		memcpy(e.req.seg, segs, nseg * sizeof segs[0]);
	} else {
		struct blkif_request_segment *ind = d->ind_page + (size_t)id * (PAGE / sizeof *ind);
		memcpy(ind, segs, nseg * sizeof segs[0]);
		int ref = gnttab_grant_access((domid_t)d->xb.otherend_id,
					      (uint64_t)(uintptr_t)ind >> 12, 1);
		if (ref < 0) {
			end_grants(d, sl);
			return ref == -XEN_ENOSPC && d->inflight ? -XEN_EAGAIN : ref;
		}
		sl->ind_gref = ref;
		e.ind.operation = BLKIF_OP_INDIRECT;
		e.ind.indirect_op = (uint8_t)op;
		e.ind.nr_segments = (uint16_t)nseg;
		e.ind.id = id;
		e.ind.sector_number = sector;
		e.ind.handle = (uint16_t)d->id;
		e.ind.indirect_grefs[0] = (uint32_t)ref;
		d->indirect_reqs++;
	}
	sl->busy = 1;
	sl->operation = (uint8_t)op;
	sl->cookie = cookie;
	memcpy(ring_entry(d, d->req_prod_pvt), &e, sizeof e);
	d->req_prod_pvt++;
	d->inflight++;
	return 0;
}

int blk_poll(struct blkdev *d, struct blk_done *done, unsigned max)
{
	struct blkif_sring *s = d->sring;
	unsigned n = 0;
	if (!s)
		return 0;
	while (n < max) {
		uint32_t rp = __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE);
		if (rp == d->rsp_cons)
			break;
		if (rp - d->rsp_cons > d->req_prod_pvt - d->rsp_cons) {
			d->bad_responses++; /* the backend claims more than we asked */
			return n ? (int)n : -XEN_EIO;
		}
		while (d->rsp_cons != rp && n < max) {
			struct blkif_response rsp;
			memcpy(&rsp, (const void *)&ring_entry(d, d->rsp_cons)->rsp, sizeof rsp);
			d->rsp_cons++;
			if (rsp.id >= d->ring_size || !d->slot[rsp.id].busy) {
				d->bad_responses++;
				continue;
			}
			struct blk_slot *sl = &d->slot[rsp.id];
			end_grants(d, sl);
			sl->busy = 0;
			d->inflight--;
			done[n].cookie = sl->cookie;
			done[n].operation = sl->operation;
			done[n].status = rsp.status;
			n++;
		}
	}
	return (int)n;
}

int blk_wait(struct blkdev *d, struct blk_done *done, unsigned max, uint64_t timeout_ns)
{
	uint64_t deadline = xen_system_time_ns() + timeout_ns;
	for (;;) {
		int n = blk_poll(d, done, max);
		if (n != 0 || d->inflight == 0)
			return n;
		if (xen_system_time_ns() >= deadline)
			return -XEN_ETIMEDOUT;
		/* Final check: ask for an event at the next response, then look
		 * again before blocking (RING_FINAL_CHECK_FOR_RESPONSES). */
		__atomic_store_n(&d->sring->rsp_event, d->rsp_cons + 1, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		if (__atomic_load_n(&d->sring->rsp_prod, __ATOMIC_ACQUIRE) != d->rsp_cons)
			continue;
		evtchn_wait_spin(20000);
	}
}

static int status_errno(struct blkdev *d, int16_t st)
{
	if (st == BLKIF_RSP_OKAY)
		return 0;
	d->last_status = st;
	return st == BLKIF_RSP_EOPNOTSUPP ? -XEN_EOPNOTSUPP : -XEN_EIO;
}

/* drain waits for every request in flight; returns the first error seen. */
static int drain(struct blkdev *d, int err)
{
	struct blk_done done[BLK_MAX_SLOTS];
	while (d->inflight) {
		int n = blk_wait(d, done, BLK_MAX_SLOTS, IO_TIMEOUT_NS);
		if (n < 0)
			return n; /* timed out: the slots stay busy */
		for (int i = 0; i < n; i++) {
			int rc = status_errno(d, done[i].status);
			if (err == 0)
				err = rc;
		}
	}
	return err;
}

static int rw(struct blkdev *d, int op, uint64_t sector, uint8_t *buf, uint32_t nsectors)
{
	int err = drain(d, 0);
	if (err < 0)
		return err;
	d->last_status = BLKIF_RSP_OKAY;
	while (nsectors && err == 0) {
		uint32_t n = blk_max_sectors(d, buf);
		if (n > nsectors)
			n = nsectors;
		int rc = blk_submit(d, op, sector, buf, n, sector);
		if (rc == -XEN_EAGAIN) {
			struct blk_done done[BLK_MAX_SLOTS];
			rc = blk_wait(d, done, BLK_MAX_SLOTS, IO_TIMEOUT_NS);
			for (int i = 0; i < rc; i++)
				if (err == 0)
					err = status_errno(d, done[i].status);
			if (rc < 0)
				return rc;
			continue;
		}
		if (rc < 0) {
			err = rc;
			break;
		}
		sector += n;
		buf += (size_t)n * BLKIF_SECTOR_SIZE;
		nsectors -= n;
	}
	return drain(d, err);
}

int blk_read(struct blkdev *d, uint64_t sector, void *buf, uint32_t nsectors)
{
	return rw(d, BLKIF_OP_READ, sector, buf, nsectors);
}

int blk_write(struct blkdev *d, uint64_t sector, const void *buf, uint32_t nsectors)
{
	return rw(d, BLKIF_OP_WRITE, sector, (uint8_t *)(uintptr_t)buf, nsectors);
}

int blk_flush(struct blkdev *d)
{
	int err = drain(d, 0);
	if (err < 0)
		return err;
	d->last_status = BLKIF_RSP_OKAY;
	int rc = blk_submit(d, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0, 0);
	if (rc < 0)
		return rc;
	return drain(d, 0);
}

int blk_close(struct blkdev *d)
{
	int err = drain(d, 0);
	int rc = xenbus_frontend_close(&d->xb, HANDSHAKE_TIMEOUT_NS);
	/* The backend drops its persistent holds before it reports Closed. */
	end_pgrants(d);
	xenbus_device_free(&d->xb);
	release_ring(d);
	return err < 0 ? err : rc;
}
