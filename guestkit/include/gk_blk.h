/*
 * gk_blk.h: blkfront, guestkit's Xen virtual block device frontend
 * (lib/blkfront.c). It runs at CPL3 and polls: a one-page blkif ring
 * granted to the backend, an event channel for kicks both ways, and a
 * request queue of configurable depth (at most BLKIF_RING_SIZE).
 *
 * Data buffers must be 512-byte aligned (any page offset); each page a
 * request touches is granted to the backend for the request's lifetime
 * (read-only for writes) and the grant ended when its response arrives.
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

/* blk_slot is the frontend's record of one request in flight. */
struct blk_slot {
	uint8_t busy;        /* the request is on the ring, no response yet */
	uint8_t operation;   /* BLKIF_OP_* sent */
	uint16_t nr_grants;  /* data grants to end on completion */
	int ind_gref;        /* grant of the indirect page, or -1 */
	uint64_t cookie;     /* the caller's tag, returned by blk_poll */
	uint32_t gref[BLK_MAX_SEGMENTS];
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
	uint32_t max_indirect;   /* feature-max-indirect-segments */
	uint32_t max_segments;   /* segments per request in use: 11, or more with indirect */
	struct blkif_sring *sring; /* the shared ring page */
	int ring_ref;            /* grant of the ring page */
	evtchn_port_t port;      /* event channel to the backend */
	unsigned depth;          /* requests kept in flight at most (1..32) */
	unsigned inflight;       /* requests on the ring without a response */
	uint32_t req_prod_pvt;   /* next request index to fill */
	uint32_t rsp_cons;       /* next response index to consume */
	int16_t last_status;     /* status of the last failed request, or OKAY */
	uint64_t notifies;       /* event-channel kicks sent */
	uint64_t events;         /* events received on the port */
	uint64_t grant_leaks;    /* grants the backend still held at completion */
	uint64_t bad_responses;  /* responses with an unknown id, dropped */
	uint64_t indirect_reqs;  /* BLKIF_OP_INDIRECT requests sent */
	struct blkif_request_segment *ind_page; /* BLKIF_RING_SIZE indirect pages */
	struct blk_slot slot[BLKIF_RING_SIZE];
};

/*
 * blk_open connects device/vbd/<id>: waits for the backend's InitWait,
 * reads its features, grants a ring page and allocates an event channel
 * for the backend's domain, writes ring-ref, event-channel and protocol
 * with state Initialised in one transaction, waits for Connected, reads
 * sectors, sector-size and info, and goes Connected. The queue depth
 * starts at BLKIF_RING_SIZE. Needs xs_init and gnttab_init done.
 */
int blk_open(int id, struct blkdev *d);
/* blk_close waits for requests in flight, closes the xenbus device and frees the ring. */
int blk_close(struct blkdev *d);
/* blk_set_depth limits requests in flight to depth (1..BLKIF_RING_SIZE). */
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
 * blk_poll takes up to max responses off the ring without waiting, ends
 * their grants and reports them in done[]; returns how many.
 */
int blk_poll(struct blkdev *d, struct blk_done *done, unsigned max);
/*
 * blk_wait is blk_poll that waits (polling, then blocking on the event
 * channel) until at least one response came or timeout_ns passed
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
