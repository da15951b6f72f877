/*
 * xen_blkif.h: the Xen virtual block device wire format (io/blkif.h) and
 * the shared ring page layout of io/ring.h as blkif uses it, x86-64 ABI.
 * Offsets are checked against the digest (xen-abi.md section 9.1).
 */
#ifndef GUESTKIT_XEN_BLKIF_H
#define GUESTKIT_XEN_BLKIF_H

#include "guestkit.h"

/* Request operations. */
#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_WRITE_BARRIER 2
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_OP_DISCARD 5
#define BLKIF_OP_INDIRECT 6

/* Response statuses. */
#define BLKIF_RSP_EOPNOTSUPP (-2)
#define BLKIF_RSP_ERROR (-1)
#define BLKIF_RSP_OKAY 0

/* Segments in a direct request; each names 512-byte sectors of one 4 KiB page. */
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define BLKIF_SECTOR_SIZE 512 /* wire sector unit, whatever sector-size says */

/* VDISK_* bits of the backend's "info" key. */
#define VDISK_CDROM 0x1
#define VDISK_REMOVABLE 0x2
#define VDISK_READONLY 0x4

/* blkif_request_segment is one granted page and the sectors used in it. */
struct blkif_request_segment {
	uint32_t gref;      /* grant reference of the data page */
	uint8_t first_sect; /* first 512-byte sector used in the page (0..7) */
	uint8_t last_sect;  /* last sector used, inclusive (first..7) */
	uint16_t pad;
};
_Static_assert(sizeof(struct blkif_request_segment) == 8, "blkif segment size");

/* blkif_request is a READ, WRITE or FLUSH_DISKCACHE request (112 bytes). */
struct blkif_request {
	uint8_t operation;   /* BLKIF_OP_* */
	uint8_t nr_segments; /* 1..11 for READ/WRITE, 0 for a plain flush */
	uint16_t handle;     /* the frontend's device handle */
	uint32_t pad;
	uint64_t id;            /* echoed in the response */
	uint64_t sector_number; /* start, in 512-byte sectors */
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request size");
_Static_assert(offsetof(struct blkif_request, id) == 8, "blkif_request.id");
_Static_assert(offsetof(struct blkif_request, sector_number) == 16, "blkif_request.sector_number");
_Static_assert(offsetof(struct blkif_request, seg) == 24, "blkif_request.seg");

/* Indirect requests: segment pages granted separately, 512 segments per page. */
#define BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST 8
#define BLKIF_SEGS_PER_INDIRECT_FRAME 512

/* blkif_request_indirect is a READ or WRITE whose segments sit in granted pages (64 bytes). */
struct blkif_request_indirect {
	uint8_t operation;    /* BLKIF_OP_INDIRECT */
	uint8_t indirect_op;  /* BLKIF_OP_READ or BLKIF_OP_WRITE */
	uint16_t nr_segments; /* segments in the indirect pages */
	uint32_t pad;
	uint64_t id;            /* echoed in the response */
	uint64_t sector_number; /* start, in 512-byte sectors */
	uint16_t handle;        /* the frontend's device handle */
	uint16_t pad2;
	uint32_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST]; /* pages of segments */
};
_Static_assert(sizeof(struct blkif_request_indirect) == 64, "blkif_request_indirect size");
_Static_assert(offsetof(struct blkif_request_indirect, handle) == 24, "indirect.handle");
_Static_assert(offsetof(struct blkif_request_indirect, indirect_grefs) == 28, "indirect.grefs");

/* blkif_response answers the request with the same id (16 bytes). */
struct blkif_response {
	uint64_t id;       /* the request's id */
	uint8_t operation; /* the request's operation */
	uint8_t pad;
	int16_t status; /* BLKIF_RSP_* */
	uint32_t pad2;
};
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response size");
_Static_assert(offsetof(struct blkif_response, status) == 10, "blkif_response.status");

/* blkif_ring_entry is one ring slot: a request, later overwritten by a response. */
union blkif_ring_entry {
	struct blkif_request req;
	struct blkif_request_indirect ind;
	struct blkif_response rsp;
};

/* BLKIF_RING_SIZE is the slot count of a one-page ring: 2^k <= (4096 - 64) / 112. */
#define BLKIF_RING_SIZE 32

/* blkif_sring is the shared ring page (io/ring.h layout). */
struct blkif_sring {
	uint32_t req_prod;  /* frontend: requests produced (free-running) */
	uint32_t req_event; /* backend: notify when req_prod passes this */
	uint32_t rsp_prod;  /* backend: responses produced */
	uint32_t rsp_event; /* frontend: notify when rsp_prod passes this */
	uint8_t pvt[4];     /* protocol-private; unused by blkif */
	uint8_t pad[44];
	union blkif_ring_entry ring[BLKIF_RING_SIZE];
};
_Static_assert(offsetof(struct blkif_sring, ring) == 64, "blkif_sring.ring");
_Static_assert(sizeof(struct blkif_sring) <= 4096, "blkif_sring fits a page");

#endif /* GUESTKIT_XEN_BLKIF_H */
