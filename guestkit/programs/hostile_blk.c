/*
 * hostile_blk [mode=requests|backwards]: grant and ring abuse against the
 * block backend (vbd 0, served by pvdrivers/blkback through
 * internal/devices.AttachDisk). After a normal blk_open, requests are
 * written straight into the shared ring.
 *
 * mode=requests (default), each answered with BLKIF_RSP_ERROR (-1) unless
 * noted, and the vbd keeps serving:
 *   - a READ whose segment uses a read-only grant (a READ writes guest
 *     memory): ERROR, and the page is unchanged; the same grant for a
 *     WRITE: OKAY;
 *   - a grant to the wrong domain, a grant reference out of range or never
 *     granted, a grant ended before use;
 *   - nr_segments 0 or 12, first_sect > last_sect, last_sect 8;
 *   - sectors beyond the disk, overflowing sector + length, a DISCARD
 *     beyond the disk;
 *   - INDIRECT with 0 or 5000 segments, a bad indirect page grant, or an
 *     indirect page holding bad grants;
 *   - an unknown operation: EOPNOTSUPP (-2) or ERROR;
 *   - a request rewritten after publication and a grant flipped to
 *     another frame or domain while in use: exactly one response each;
 * then the producer index is moved far ahead: the backend stops serving
 * the ring (a later valid request gets no response).
 * mode=backwards: the producer index moves backwards after a valid
 * request; the backend stops serving the ring likewise.
 * mode=reconnect: close and reopen the vbd three times (each time it
 * works again), then reuse the ring's port number for a loopback channel:
 * its sends arrive.
 * Reports metric ring_dead_after_abuse = 1 when no response came.
 */
#include "gk_blk.h"

#define MS 1000000ull
#define NO_RSP 99

static struct blkdev dev;
static uint8_t data[4][4096] __attribute__((aligned(4096)));
static struct blkif_request_segment ind[512] __attribute__((aligned(4096)));
static uint64_t next_id = 1000;

static uint64_t gfn(const void *p)
{
	return (uint64_t)(uintptr_t)p >> 12;
}

/* publish puts e on the ring at the private producer and pushes it. */
static void publish(union blkif_ring_entry *e)
{
	memcpy(&dev.sring->ring[dev.req_prod_pvt % BLKIF_RING_SIZE], e, sizeof *e);
	dev.req_prod_pvt++;
	__atomic_store_n(&dev.sring->req_prod, dev.req_prod_pvt, __ATOMIC_RELEASE);
	evtchn_send(dev.port);
}

/* wait_rsp takes responses until the one for id; returns its status or NO_RSP. */
static int wait_rsp(uint64_t id, uint64_t timeout_ns)
{
	struct blkif_sring *s = dev.sring;
	uint64_t end = xen_system_time_ns() + timeout_ns;
	for (;;) {
		while (dev.rsp_cons != __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE)) {
			struct blkif_response r;
			memcpy(&r, (const void *)&s->ring[dev.rsp_cons % BLKIF_RING_SIZE].rsp, sizeof r);
			dev.rsp_cons++;
			if (r.id == id)
				return r.status;
		}
		__atomic_store_n(&s->rsp_event, dev.rsp_cons + 1, __ATOMIC_SEQ_CST);
		if (dev.rsp_cons != __atomic_load_n(&s->rsp_prod, __ATOMIC_ACQUIRE))
			continue;
		uint64_t now = xen_system_time_ns();
		if (now >= end)
			return NO_RSP;
		xen_wait_until(now + MS < end ? now + MS : end);
	}
}

static uint64_t rsp_timeout = 2000 * MS;

/* rw sends a READ or WRITE of one segment and returns the response status. */
static int rw(uint8_t op, uint8_t nseg, uint64_t sector, uint32_t gref, uint8_t first, uint8_t last)
{
	union blkif_ring_entry e;
	memset(&e, 0, sizeof e);
	e.req.operation = op;
	e.req.nr_segments = nseg;
	e.req.handle = (uint16_t)dev.id;
	e.req.id = next_id++;
	e.req.sector_number = sector;
	for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		e.req.seg[i] = (struct blkif_request_segment){.gref = gref, .first_sect = first,
							      .last_sect = last};
	publish(&e);
	return wait_rsp(e.req.id, rsp_timeout);
}

static int indirect(uint8_t op, uint16_t nseg, uint32_t ind_gref)
{
	union blkif_ring_entry e;
	memset(&e, 0, sizeof e);
	e.ind.operation = BLKIF_OP_INDIRECT;
	e.ind.indirect_op = op;
	e.ind.nr_segments = nseg;
	e.ind.id = next_id++;
	e.ind.handle = (uint16_t)dev.id;
	for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
		e.ind.indirect_grefs[i] = ind_gref;
	publish(&e);
	return wait_rsp(e.ind.id, 2000 * MS);
}

static int grant(domid_t dom, const void *p, int ro)
{
	int ref = gnttab_grant_access(dom, gfn(p), ro);
	T_EXPECT(ref > 0);
	return ref;
}

static void end(int ref)
{
	T_EXPECT_EQ(gnttab_end_access((grant_ref_t)ref), 0);
}

/* frames: the grant-table frame cap (32 frames, as Xen's default). */
static void frames(void)
{
	uint32_t nr = 0, max = 0;
	int16_t st = 0;
	T_EXPECT_EQ(gnttab_query_size(DOMID_SELF, &nr, &max, &st), 0);
	T_EXPECT_EQ(max, 32);
	T_METRIC("gnttab_max_frames", max);
	static uint64_t list[64];
	T_EXPECT_EQ(gnttab_setup_table(DOMID_SELF, max + 1, list, &st), 0);
	T_EXPECT_EQ(st, GNTST_general_error);
	T_EXPECT_EQ(gnttab_setup_table(DOMID_SELF, 0xffffffffu, list, &st), 0);
	T_EXPECT_EQ(st, GNTST_general_error);
	struct xen_add_to_physmap x = {.domid = DOMID_SELF, .space = XENMAPSPACE_grant_table,
				       .idx = max, .gpfn = gfn(data[3])};
	T_EXPECT_EQ(HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x), -XEN_EINVAL);
	x.idx = 0xffffffffffull;
	T_EXPECT_EQ(HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x), -XEN_EINVAL);
	/* A frame placed outside RAM. */
	x.idx = 0;
	x.gpfn = 0xc0000;
	int rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x);
	T_EXPECT(rc < 0 && rc >= -4095);
}

static void grants(void)
{
	domid_t be = (domid_t)dev.xb.otherend_id;
	/* A read-only grant used for a READ: refused, the page untouched. */
	memset(data[0], 0xaa, sizeof data[0]);
	int ro = grant(be, data[0], 1);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, ro, 0, 7), BLKIF_RSP_ERROR);
	int same = 1;
	for (unsigned i = 0; i < sizeof data[0]; i++)
		same &= data[0][i] == 0xaa;
	T_EXPECT(same);
	T_EXPECT_EQ(rw(BLKIF_OP_WRITE, 1, 0, ro, 0, 7), BLKIF_RSP_OKAY);
	end(ro);
	/* A grant to another domain, out of range, never granted, ended. */
	int wrong = grant(7, data[1], 0);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, wrong, 0, 7), BLKIF_RSP_ERROR);
	end(wrong);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, 1u << 20, 0, 7), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, 0xffffffffu, 0, 7), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, gnttab_nr_entries() - 1, 0, 7), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, 0, 0, 7), BLKIF_RSP_ERROR); /* reserved ref 0 */
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, wrong, 0, 7), BLKIF_RSP_ERROR);
}

static void shapes(void)
{
	domid_t be = (domid_t)dev.xb.otherend_id;
	int g = grant(be, data[1], 0);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, g, 0, 7), BLKIF_RSP_OKAY); /* control */
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 0, 0, g, 0, 7), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 12, 0, g, 0, 7), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 255, 0, g, 0, 7), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, g, 5, 2), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, g, 0, 8), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, g, 200, 255), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_WRITE, 1, dev.sectors, g, 0, 0), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_WRITE, 1, dev.sectors - 1, g, 0, 1), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 1ull << 63, g, 0, 7), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0xfffffffffffffffcull, g, 0, 7), BLKIF_RSP_ERROR);
	int st = rw(99, 1, 0, g, 0, 7);
	T_EXPECT(st == BLKIF_RSP_EOPNOTSUPP || st == BLKIF_RSP_ERROR);
	st = rw(BLKIF_OP_WRITE_BARRIER, 1, 0, g, 0, 7);
	T_EXPECT(st == BLKIF_RSP_EOPNOTSUPP || st == BLKIF_RSP_ERROR || st == BLKIF_RSP_OKAY);
	/* DISCARD beyond the disk (its request reuses the segment area). */
	union blkif_ring_entry e;
	memset(&e, 0, sizeof e);
	e.req.operation = BLKIF_OP_DISCARD;
	e.req.id = next_id++;
	e.req.sector_number = dev.sectors - 8;
	uint64_t nr = 1ull << 40;
	memcpy(&e.req.seg[0], &nr, sizeof nr);
	publish(&e);
	st = wait_rsp(e.req.id, 2000 * MS);
	T_EXPECT(st == BLKIF_RSP_ERROR || st == BLKIF_RSP_EOPNOTSUPP);
	/* Indirect requests. */
	int ig = grant(be, ind, 1);
	for (unsigned i = 0; i < 512; i++)
		ind[i] = (struct blkif_request_segment){.gref = (uint32_t)g, .first_sect = 0,
							.last_sect = 7};
	T_EXPECT_EQ(indirect(BLKIF_OP_READ, 2, ig), BLKIF_RSP_OKAY); /* control */
	T_EXPECT_EQ(indirect(BLKIF_OP_READ, 0, ig), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(indirect(BLKIF_OP_READ, 5000, ig), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(indirect(BLKIF_OP_READ, 2, 0xffffffu), BLKIF_RSP_ERROR);
	T_EXPECT_EQ(indirect(BLKIF_OP_INDIRECT, 2, ig), BLKIF_RSP_ERROR);
	ind[1].gref = 0xfffffff0u;
	T_EXPECT_EQ(indirect(BLKIF_OP_READ, 2, ig), BLKIF_RSP_ERROR);
	ind[1].gref = (uint32_t)g;
	ind[1].first_sect = 7;
	ind[1].last_sect = 0;
	T_EXPECT_EQ(indirect(BLKIF_OP_WRITE, 2, ig), BLKIF_RSP_ERROR);
	end(ig);
	end(g);
}

/* races: requests changed after publication and grants changed while in use. */
static void races(void)
{
	domid_t be = (domid_t)dev.xb.otherend_id;
	int g = grant(be, data[2], 0);
	for (int i = 0; i < 20; i++) {
		union blkif_ring_entry e;
		memset(&e, 0, sizeof e);
		e.req.operation = BLKIF_OP_READ;
		e.req.nr_segments = 1;
		e.req.id = next_id++;
		e.req.seg[0] = (struct blkif_request_segment){.gref = (uint32_t)g, .last_sect = 7};
		publish(&e);
		/* Rewrite the published entry: operation, count and grant. */
		volatile union blkif_ring_entry *slot =
			&dev.sring->ring[(dev.req_prod_pvt - 1) % BLKIF_RING_SIZE];
		slot->req.operation = (uint8_t)(i & 1 ? 99 : BLKIF_OP_WRITE);
		slot->req.nr_segments = (uint8_t)(i * 37);
		slot->req.seg[0].gref = 0xffffffffu;
		/* Flip the grant's frame and flags while the backend may hold it. */
		volatile struct grant_entry_v1 *ge = gnttab_entry((grant_ref_t)g);
		ge->frame = (uint32_t)gfn(data[3]);
		ge->domid = (uint16_t)(i & 2 ? 7 : be);
		/* One response comes back, in the request's slot (whose id the
		 * rewrite above may itself have garbled). */
		uint64_t until = xen_system_time_ns() + 2000 * MS;
		while (__atomic_load_n(&dev.sring->rsp_prod, __ATOMIC_ACQUIRE) != dev.req_prod_pvt &&
		       xen_system_time_ns() < until)
			xen_wait_until(xen_system_time_ns() + MS);
		T_EXPECT_EQ(__atomic_load_n(&dev.sring->rsp_prod, __ATOMIC_ACQUIRE), dev.req_prod_pvt);
		dev.rsp_cons = dev.req_prod_pvt;
		ge->frame = (uint32_t)gfn(data[2]);
		ge->domid = be;
	}
	end(g);
	/* The vbd still works. */
	static uint8_t buf[4096] __attribute__((aligned(4096)));
	T_EXPECT_EQ(blk_write(&dev, 8, buf, 8), 0);
	T_EXPECT_EQ(blk_read(&dev, 8, buf, 8), 0);
}

/* kill_ring moves req_prod by delta and checks the backend stops serving the ring. */
static void kill_ring(int32_t delta)
{
	domid_t be = (domid_t)dev.xb.otherend_id;
	int g = grant(be, data[1], 0);
	T_EXPECT_EQ(rw(BLKIF_OP_READ, 1, 0, g, 0, 7), BLKIF_RSP_OKAY);
	__atomic_store_n(&dev.sring->req_prod, dev.req_prod_pvt + (uint32_t)delta, __ATOMIC_RELEASE);
	evtchn_send(dev.port);
	xen_wait_until(xen_system_time_ns() + 20 * MS);
	/* Put the index back and send a valid request: nobody serves it
	 * (a live backend answers within microseconds; 200 ms is ample). */
	rsp_timeout = 200 * MS;
	int st = rw(BLKIF_OP_READ, 1, 0, g, 0, 7);
	T_EXPECT_EQ(st, NO_RSP);
	T_METRIC("ring_dead_after_abuse", st == NO_RSP);
	char state[16] = "";
	char path[160];
	snprintf(path, sizeof path, "%s/state", dev.xb.otherend);
	xs_read(XBT_NIL, path, state, sizeof state);
	printf("hostile_blk: backend state after the abuse: %s\n", state);
	/* The grant may stay held: the backend never answered. */
	gnttab_end_access((grant_ref_t)g);
}

/*
 * reconnect closes the vbd and opens it again (the backend binds the new
 * event channel, possibly the same port number), then closes the ring's
 * port behind the backend's back and reuses the number for a loopback
 * channel: sends on it must reach this domain, not the old backend.
 */
static void reconnect(void)
{
	static uint8_t buf[4096] __attribute__((aligned(4096)));
	for (int round = 0; round < 3; round++) {
		printf("hostile_blk: reconnect %d: write\n", round);
		T_EXPECT_EQ(blk_write(&dev, 16, buf, 8), 0);
		evtchn_port_t old = dev.port;
		printf("hostile_blk: reconnect %d: close\n", round);
		T_EXPECT_EQ(blk_close(&dev), 0);
		printf("hostile_blk: reconnect %d: open\n", round);
		int rc = blk_open(0, &dev);
		T_EXPECT_EQ(rc, 0);
		if (rc != 0) {
			char err[256] = "", path[160];
			snprintf(path, sizeof path, "/local/domain/0/backend/vbd/%u/0/error", xen_domid());
			xs_read(XBT_NIL, path, err, sizeof err);
			printf("hostile_blk: reconnect %d failed: %d; backend error: %s\n", round, rc, err);
			return;
		}
		printf("hostile_blk: reconnect %d: port %u, was %u\n", round, dev.port, old);
		T_EXPECT_EQ(blk_read(&dev, 16, buf, 8), 0);
	}
	evtchn_port_t p = dev.port, a, b;
	T_EXPECT_EQ(evtchn_close(p), 0);
	T_EXPECT_EQ(evtchn_alloc_unbound(DOMID_SELF, &a), 0);
	T_EXPECT_EQ(evtchn_bind_interdomain(DOMID_SELF, a, &b), 0);
	T_EXPECT(a == p || b == p);
	evtchn_port_t sender = a == p ? a : b, receiver = a == p ? b : a;
	evtchn_clear_pending(receiver);
	T_EXPECT_EQ(evtchn_send(sender), 0);
	T_EXPECT(evtchn_is_pending(receiver));
}

int main(int argc, char **argv)
{
	const char *mode = "requests";
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "mode=", 5) == 0)
			mode = argv[i] + 5;
	if (xs_init() != 0 || gnttab_init() != 0)
		T_ABORT("no xenstore or grant table");
	evtchn_poll();
	printf("hostile_blk: %s: open\n", mode);
	int rc = blk_open(0, &dev);
	T_EXPECT_EQ(rc, 0);
	if (rc != 0)
		T_ABORT("blk_open");
	if (strcmp(mode, "backwards") == 0) {
		kill_ring(-3);
	} else if (strcmp(mode, "reconnect") == 0) {
		reconnect();
	} else {
		frames();
		grants();
		shapes();
		races();
		kill_ring(1000);
	}
	printf("hostile_blk: %s: %lu passed, %lu failed\n", mode, gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
