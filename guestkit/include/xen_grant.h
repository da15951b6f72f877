/*
 * xen_grant.h: the Xen grant table ABI, version 1 (grant_table.h), x86-64.
 * Every struct carries _Static_asserts on its size and field offsets.
 */
#ifndef GUESTKIT_XEN_GRANT_H
#define GUESTKIT_XEN_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include "xen_event.h"

typedef uint32_t grant_ref_t;

/* grant_entry_v1: one grant, written by the granting domain. */
struct grant_entry_v1 {
	uint16_t flags; /* GTF_*: type and status bits; written last when granting */
	domid_t domid;  /* domain allowed to use the grant */
	uint32_t frame; /* guest frame number shared */
};
_Static_assert(sizeof(struct grant_entry_v1) == 8, "grant_entry_v1 size");
_Static_assert(offsetof(struct grant_entry_v1, domid) == 2, "grant_entry_v1.domid");
_Static_assert(offsetof(struct grant_entry_v1, frame) == 4, "grant_entry_v1.frame");

#define GNTTAB_ENTRIES_PER_FRAME (4096 / sizeof(struct grant_entry_v1))
#define GNTTAB_NR_RESERVED_ENTRIES 8 /* 0: console, 1: xenstore, the rest unused */

/* Flags (type in bits 0-1). */
#define GTF_invalid 0
#define GTF_permit_access 1
#define GTF_accept_transfer 2
#define GTF_transitive 3
#define GTF_type_mask 3
#define GTF_readonly (1u << 2) /* guest: grantee may only read */
#define GTF_reading (1u << 3)  /* hypervisor/backend: in use for reading */
#define GTF_writing (1u << 4)  /* hypervisor/backend: in use for writing */

/* grant_table_op commands. */
#define GNTTABOP_map_grant_ref 0
#define GNTTABOP_unmap_grant_ref 1
#define GNTTABOP_setup_table 2
#define GNTTABOP_dump_table 3
#define GNTTABOP_transfer 4
#define GNTTABOP_copy 5
#define GNTTABOP_query_size 6
#define GNTTABOP_unmap_and_replace 7
#define GNTTABOP_set_version 8
#define GNTTABOP_get_status_frames 9
#define GNTTABOP_get_version 10
#define GNTTABOP_swap_grant_ref 11

/* Per-entry status codes (GNTST_*). */
#define GNTST_okay 0
#define GNTST_general_error (-1)
#define GNTST_bad_domain (-2)
#define GNTST_bad_gntref (-3)
#define GNTST_bad_handle (-4)
#define GNTST_bad_virt_addr (-5)
#define GNTST_bad_dev_addr (-6)
#define GNTST_no_device_space (-7)
#define GNTST_permission_denied (-8)
#define GNTST_bad_page (-9)
#define GNTST_bad_copy_arg (-10)
#define GNTST_address_too_big (-11)
#define GNTST_eagain (-12)
#define GNTST_no_space (-13)

/* GNTTABOP_setup_table argument. */
struct gnttab_setup_table {
	domid_t dom;         /* in: DOMID_SELF */
	uint16_t pad0;       /* implicit padding */
	uint32_t nr_frames;  /* in: frames wanted */
	int16_t status;      /* out: GNTST_* */
	uint16_t pad1[3];    /* implicit padding */
	uint64_t frame_list; /* in: address of a uint64_t[nr_frames] (out: frame numbers) */
};
_Static_assert(sizeof(struct gnttab_setup_table) == 24, "setup_table size");
_Static_assert(offsetof(struct gnttab_setup_table, nr_frames) == 4, "setup_table.nr_frames");
_Static_assert(offsetof(struct gnttab_setup_table, status) == 8, "setup_table.status");
_Static_assert(offsetof(struct gnttab_setup_table, frame_list) == 16, "setup_table.frame_list");

/* GNTTABOP_query_size argument. */
struct gnttab_query_size {
	domid_t dom;            /* in: DOMID_SELF */
	uint16_t pad;           /* implicit padding */
	uint32_t nr_frames;     /* out: current table size */
	uint32_t max_nr_frames; /* out: maximum table size */
	int16_t status;         /* out: GNTST_* */
	uint16_t pad1;          /* implicit padding */
};
_Static_assert(sizeof(struct gnttab_query_size) == 16, "query_size size");
_Static_assert(offsetof(struct gnttab_query_size, max_nr_frames) == 8, "query_size.max");
_Static_assert(offsetof(struct gnttab_query_size, status) == 12, "query_size.status");

/* GNTTABOP_set_version argument. */
struct gnttab_set_version {
	uint32_t version; /* in: 1 or 2; out: the version in force */
};

/* GNTTABOP_get_version argument. */
struct gnttab_get_version {
	domid_t dom;      /* in: DOMID_SELF */
	uint16_t pad;     /* zero */
	uint32_t version; /* out */
};
_Static_assert(sizeof(struct gnttab_get_version) == 8, "get_version size");

/* One side of a GNTTABOP_copy. */
struct gnttab_copy_ptr {
	union {
		grant_ref_t ref; /* with GNTCOPY_*_gref */
		uint64_t gmfn;   /* otherwise: a frame of domid */
	} u;
	domid_t domid;   /* owner of the grant or frame */
	uint16_t offset; /* byte offset in the page */
	uint32_t pad;    /* implicit padding */
};
_Static_assert(sizeof(struct gnttab_copy_ptr) == 16, "gnttab_copy_ptr size");
_Static_assert(offsetof(struct gnttab_copy_ptr, domid) == 8, "copy_ptr.domid");
_Static_assert(offsetof(struct gnttab_copy_ptr, offset) == 10, "copy_ptr.offset");

/* GNTTABOP_copy argument (one element of the array). */
struct gnttab_copy {
	struct gnttab_copy_ptr source; /* in */
	struct gnttab_copy_ptr dest;   /* in */
	uint16_t len;                  /* in: bytes, within one page on each side */
	uint16_t flags;                /* in: GNTCOPY_* */
	int16_t status;                /* out: GNTST_* */
	uint16_t pad;                  /* implicit padding */
};
_Static_assert(sizeof(struct gnttab_copy) == 40, "gnttab_copy size");
_Static_assert(offsetof(struct gnttab_copy, dest) == 16, "gnttab_copy.dest");
_Static_assert(offsetof(struct gnttab_copy, len) == 32, "gnttab_copy.len");
_Static_assert(offsetof(struct gnttab_copy, flags) == 34, "gnttab_copy.flags");
_Static_assert(offsetof(struct gnttab_copy, status) == 36, "gnttab_copy.status");
#define GNTCOPY_source_gref (1u << 0)
#define GNTCOPY_dest_gref (1u << 1)

#endif /* GUESTKIT_XEN_GRANT_H */
