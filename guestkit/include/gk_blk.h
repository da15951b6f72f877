/*
 * gk_blk.h: blkfront, guestkit's Xen virtual block device frontend
 * (lib/blkfront.c). It runs at CPL3 and polls: a blkif ring of one page,
 * or of 2^order pages (ring-page-order) when the backend offers
 * max-ring-page-order and the command line asks for it with
 * xen_blkfront.max_ring_page_order=N (as Linux's module parameter), granted
 * to the backend; an event channel for kicks both ways; and a request queue
 * of configurable depth (at most the ring's size).
 *
 * Notifications: a polling caller (blk_poll) never asks the backend for
 * an event, so a busy guest costs the backend no upcalls; blk_wait asks for
 * one (rsp_event) only just before it blocks.
 *
 * Data buffers must be 512-byte aligned (any page offset); each page a
 * request touches is granted to the backend for the request's lifetime
 * (read-only for writes) and the grant ended when its response arrives.
 * With persistent grants (io/blkif.h feature-persistent: the frontend
 * offers it when the command line says xen_blkfront.feature_persistent=1,
 * Linux's module parameter, default BLK_PERSISTENT_DEFAULT, and uses it
 * when the backend offers it too), a data page's
 * grant is instead kept in a direct-mapped cache of BLK_PGRANTS entries
 * keyed by (frame, read-only) and reused by later requests until
 * blk_close; a page whose entry holds another frame is granted for its
 * request alone, as without the feature. The backend may keep any grant it
 * saw (up to its bound): such a one-request grant that it still holds at
 * completion is kept aside (at most BLK_KEPT of them) and ended in
 * blk_close instead of counted as a leak.
 * Functions return 0 or a negative Xen errno; a request the backend
 * answered with BLKIF_RSP_ERROR yields -XEN_EIO, BLKIF_RSP_EOPNOTSUPP
 * -XEN_EOPNOTSUPP, and the raw status is kept in blkdev.last_status.
 */
#ifndef GUESTKIT_BLK_H
#define GUESTKIT_BLK_H

#include "gk_pv.h"
#include "xen_blkif.h"

#define BLK_MAX_DEVICES 4 /* open devices at once (static ring pages) */
/* BLK_MAX_SEGMENTS caps an indirect request: one indirect page, 512 KiB of data. */
#define BLK_MAX_SEGMENTS 128
/* BLK_MAX_RING_ORDER caps ring-page-order: 4 pages, 128 requests. */
#define BLK_MAX_RING_ORDER 2
#define BLK_MAX_RING_PAGES (1u << BLK_MAX_RING_ORDER)
/* BLK_MAX_SLOTS is the most requests a ring of BLK_MAX_RING_PAGES holds. */
#define BLK_MAX_SLOTS 128
/* BLK_PGRANTS is the size of the persistent grant cache (a power of two). */
#define BLK_PGRANTS 512
/* BLK_PERSISTENT_DEFAULT is xen_blkfront.feature_persistent without the parameter. */
#ifndef BLK_PERSISTENT_DEFAULT
#define BLK_PERSISTENT_DEFAULT 0
#endif
/* BLK_KEPT bounds the one-request grants the backend kept persistently. */
#define BLK_KEPT 1024

/* blk_slot is the frontend's record of one request in flight. */
struct blk_slot {
	uint8_t busy;        /* the request is on the ring, no response yet */
	uint8_t operation;   /* BLKIF_OP_* sent */
	uint16_t nr_grants;  /* data grants to end on completion (not cached ones) */
	int ind_gref;        /* grant of the indirect page, or -1 */
	uint64_t cookie;     /* the caller's tag, returned by blk_poll */
	uint32_t gref[BLK_MAX_SEGMENTS];
};

/* blk_pgrant is an entry of the persistent grant cache. */
struct blk_pgrant {
	uint64_t key; /* frame << 1 | read-only */
	uint32_t ref; /* the grant kept for it; 0 for an empty entry */
};

/* blk_done is one completed request as blk_poll reports it. */
struct blk_done {
	uint64_t cookie;   /* the tag given to blk_submit */
	uint8_t operation; /* BLKIF_OP_* */
	int16_t status;    /* BLKIF_RSP_* from the backend */
};

/* blkdev is an open virtual block device. */
struct blkdev {
	struct xenbus_device xb; /* device/vbd/<id> and its backend */
	int id;                  /* the device id; also the requests' handle */
	uint64_t sectors;        /* size in 512-byte sectors */
	uint32_t sector_size;    /* the backend's logical sector size */
	uint32_t info;           /* VDISK_* bits */
	int feature_flush;       /* feature-flush-cache */
	int feature_discard;     /* feature-discard */
	int offer_persistent;    /* feature-persistent offered (xen_blkfront.feature_persistent) */
	int feature_persistent;  /* feature-persistent in use: both ends offered it */
	uint32_t max_indirect;   /* feature-max-indirect-segments */
	uint32_t max_segments;   /* segments per request in use: 11, or more with indirect */
	struct blkif_sring *sring; /* the shared ring (ring_pages pages) */
	unsigned ring_order;     /* ring-page-order in use */
	unsigned ring_size;      /* entries in the ring: BLKIF_RING_SIZE for one page */
	int ring_ref[BLK_MAX_RING_PAGES]; /* grants of the ring pages, -1 if none */
	evtchn_port_t port;      /* event channel to the backend */
	unsigned depth;          /* requests kept in flight at most (1..ring_size) */
	unsigned inflight;       /* requests on the ring without a response */
	uint32_t req_prod_pvt;   /* next request index to fill */
	uint32_t rsp_cons;       /* next response index to consume */
	int16_t last_status;     /* status of the last failed request, or OKAY */
	uint64_t notifies;       /* event-channel kicks sent */
	uint64_t events;         /* events received on the port */
	uint64_t grant_leaks;    /* grants the backend still held at completion */
	uint64_t bad_responses;  /* responses with an unknown id, dropped */
	uint64_t indirect_reqs;  /* BLKIF_OP_INDIRECT requests sent */
	uint32_t max_ring_order; /* the backend's max-ring-page-order */
	uint64_t pgrant_hits;    /* data pages served by a persistent grant */
	struct blk_pgrant pgrant[BLK_PGRANTS]; /* persistent grants, by key */
	unsigned nkept;          /* entries of kept[] in use */
	uint32_t kept[BLK_KEPT]; /* one-request grants the backend kept, ended in blk_close */
	struct blkif_request_segment *ind_page; /* BLK_MAX_SLOTS indirect pages */
	struct blk_slot slot[BLK_MAX_SLOTS];
};

/*
 * blk_open connects device/vbd/<id>: waits for the backend's InitWait,
 * reads its features, grants the ring pages and allocates an event channel
 * for the backend's domain, writes ring-ref (or ring-page-order and
 * ring-ref0..), event-channel and protocol with state Initialised in one
 * transaction, waits for Connected, reads sectors, sector-size and info,
 * and goes Connected. The ring has 2^order pages, order the smaller of the
 * backend's max-ring-page-order, BLK_MAX_RING_ORDER and the command line's
 * xen_blkfront.max_ring_page_order (default 0). The queue depth starts at
 * the ring's size. Needs xs_init and gnttab_init done.
 */
int blk_open(int id, struct blkdev *d);
/* blk_open_order is blk_open asking for a ring of 2^order pages (capped as above). */
int blk_open_order(int id, struct blkdev *d, unsigned order);
/* blk_close waits for requests in flight, closes the xenbus device and frees the ring. */
int blk_close(struct blkdev *d);
/* blk_set_depth limits requests in flight to depth (1..ring_size). */
int blk_set_depth(struct blkdev *d, unsigned depth);
/*
 * blk_set_indirect turns indirect requests on (the default when the
 * backend offers more than 11 segments: up to min(its limit,
 * BLK_MAX_SEGMENTS) pages per request) or off (11 pages).
 */
void blk_set_indirect(struct blkdev *d, int on);
/* blk_readonly reports whether the backend marked the disk read-only. */
static inline int blk_readonly(const struct blkdev *d)
{
	return (d->info & VDISK_READONLY) != 0;
}

/*
 * blk_submit queues one request: BLKIF_OP_READ or BLKIF_OP_WRITE of
 * nsectors at sector from/to buf (512-aligned, spanning at most 11 pages),
 * or BLKIF_OP_FLUSH_DISKCACHE (buf NULL, nsectors 0). Up to 11 pages go
 * in the request, more (up to max_segments) through an indirect page. It
 * pushes the request and kicks the backend if the ring says so.
 * -XEN_EAGAIN when depth requests are in flight or grants ran out while
 * some are; -XEN_EINVAL for a bad shape.
 */
int blk_submit(struct blkdev *d, int op, uint64_t sector, void *buf, uint32_t nsectors,
	       uint64_t cookie);
/*
 * blk_queue is blk_submit without the push: the request is on the ring but
 * the backend sees it only at the next blk_push (or blk_submit), so that a
 * batch of requests costs the backend one look and the guest at most one
 * kick.
 */
int blk_queue(struct blkdev *d, int op, uint64_t sector, void *buf, uint32_t nsectors,
	      uint64_t cookie);
/* blk_push publishes queued requests and kicks the backend if it asked. */
void blk_push(struct blkdev *d);
/*
 * blk_poll takes up to max responses off the ring without waiting, ends
 * their grants and reports them in done[]; returns how many.
 */
int blk_poll(struct blkdev *d, struct blk_done *done, unsigned max);
/*
 * blk_wait is blk_poll that waits (polling, then, after asking for an
 * event, blocking on the event channel) until at least one response came
 * or timeout_ns passed
 * (-XEN_ETIMEDOUT). Returns 0 at once if nothing is in flight.
 */
int blk_wait(struct blkdev *d, struct blk_done *done, unsigned max, uint64_t timeout_ns);
/* blk_max_sectors is how many sectors one request of d can carry from buf. */
uint32_t blk_max_sectors(const struct blkdev *d, const void *buf);

/*
 * blk_read and blk_write move nsectors at sector synchronously, split into
 * requests of up to max_segments pages kept in flight up to the queue depth.
 */
int blk_read(struct blkdev *d, uint64_t sector, void *buf, uint32_t nsectors);
int blk_write(struct blkdev *d, uint64_t sector, const void *buf, uint32_t nsectors);
/* blk_flush sends FLUSH_DISKCACHE and waits (-XEN_EOPNOTSUPP without feature-flush-cache). */
int blk_flush(struct blkdev *d);

#endif /* GUESTKIT_BLK_H */
