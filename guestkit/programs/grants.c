/*
 * grants [setup_table]: grant tables v1 with the status or errno each case
 * gets from Xen (xen/common/grant_table.c): version and size queries,
 * setup_table, the grant allocator and Linux's revocation rule, and
 * GNTTABOP_copy between the guest's own frames and grants. With
 * "setup_table" the frames come from GNTTABOP_setup_table instead of
 * XENMEM_add_to_physmap.
 */
#include "gk_pv.h"

#define NO_DOMAIN 0x7fe0u

static uint8_t src[4096] __attribute__((aligned(4096)));
static uint8_t dst[4096] __attribute__((aligned(4096)));
static int refs[GK_GNTTAB_FRAMES * 512];

static uint64_t gfn_of(const void *p)
{
	return (uint64_t)p >> 12;
}

static void test_version_and_size(void)
{
	uint32_t v = 0;
	T_EXPECT_EQ(gnttab_get_version(DOMID_SELF, &v), 0);
	T_EXPECT_EQ(v, 1);
	v = 1;
	T_EXPECT_EQ(gnttab_set_version(&v), 0);
	T_EXPECT_EQ(v, 1);
	/* gnttab_set_version: v2 on a max-version-1 table -ENOSYS, others -EINVAL. */
	v = 2;
	int rc = gnttab_set_version(&v);
	T_EXPECT(rc == -XEN_ENOSYS || rc == 0);
	if (rc == 0) { /* a v2-capable host: go back to v1 */
		v = 1;
		T_EXPECT_EQ(gnttab_set_version(&v), 0);
	}
	v = 3;
	T_EXPECT_EQ(gnttab_set_version(&v), -XEN_EINVAL);

	uint32_t nr = 0, max = 0;
	int16_t st = 1;
	T_EXPECT_EQ(gnttab_query_size(DOMID_SELF, &nr, &max, &st), 0);
	T_EXPECT_EQ(st, GNTST_okay);
	T_EXPECT(nr >= 1 && max >= nr);
	printf("grants: query_size: %u frames, max %u; %u grants via %s\n", nr, max,
	       gnttab_nr_entries(), gnttab_used_setup_table() ? "setup_table" : "add_to_physmap");
	T_METRIC("gnttab_max_frames", max);
	/* The lookup fails (GNTST_bad_domain); the hypercall itself succeeds. */
	T_EXPECT_EQ(gnttab_query_size(NO_DOMAIN, NULL, NULL, &st), 0);
	T_EXPECT_EQ(st, GNTST_bad_domain);
	/* Batched query_size: count != 1 is -EINVAL. */
	struct gnttab_query_size q[2] = {{.dom = DOMID_SELF}, {.dom = DOMID_SELF}};
	T_EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_query_size, q, 2), -XEN_EINVAL);

	/* setup_table reports where frame 0 is: on HVM, the GFN it was placed at. */
	uint64_t list[2] = {0, 0};
	T_EXPECT_EQ(gnttab_setup_table(DOMID_SELF, 1, list, &st), 0);
	T_EXPECT_EQ(st, GNTST_okay);
	T_EXPECT_EQ(list[0], (uint64_t)gnttab_entry(0) >> 12);
	T_EXPECT_EQ(gnttab_setup_table(DOMID_SELF, max + 1, list, &st), 0);
	T_EXPECT_EQ(st, GNTST_general_error);
	T_EXPECT_EQ(gnttab_setup_table(NO_DOMAIN, 1, list, &st), 0);
	T_EXPECT_EQ(st, GNTST_bad_domain);

	/* hvm_grant_table_op: only the HVM subset exists; the rest -ENOSYS. */
	T_EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_dump_table, q, 1), -XEN_ENOSYS);
	T_EXPECT_EQ(HYPERVISOR_grant_table_op(GNTTABOP_transfer, q, 1), -XEN_ENOSYS);
	T_EXPECT_EQ(HYPERVISOR_grant_table_op(99, q, 1), -XEN_ENOSYS);
}

static void test_grant_and_end(void)
{
	int ref = gnttab_grant_access(0, gfn_of(src), 1);
	T_EXPECT(ref >= GNTTAB_NR_RESERVED_ENTRIES);
	if (ref < 0)
		return;
	volatile struct grant_entry_v1 *e = gnttab_entry((grant_ref_t)ref);
	T_EXPECT_EQ(e->flags, GTF_permit_access | GTF_readonly);
	T_EXPECT_EQ(e->domid, 0);
	T_EXPECT_EQ(e->frame, gfn_of(src));
	T_EXPECT_EQ(gnttab_end_access((grant_ref_t)ref), 0);
	T_EXPECT_EQ(e->flags, 0);
	T_EXPECT_EQ(gnttab_end_access((grant_ref_t)ref), -XEN_EINVAL);

	/* Linux's rule: no revocation while the grantee reads or writes. */
	ref = gnttab_grant_access(0, gfn_of(src), 0);
	e = gnttab_entry((grant_ref_t)ref);
	static const uint16_t busy[] = {GTF_reading, GTF_writing, GTF_reading | GTF_writing};
	for (unsigned i = 0; i < 3; i++) {
		__atomic_fetch_or(&e->flags, busy[i], __ATOMIC_SEQ_CST);
		T_EXPECT_EQ(gnttab_end_access((grant_ref_t)ref), -XEN_EBUSY);
		T_EXPECT_EQ(e->flags, GTF_permit_access | busy[i]);
		__atomic_fetch_and(&e->flags, (uint16_t)~busy[i], __ATOMIC_SEQ_CST);
	}
	T_EXPECT_EQ(gnttab_end_access((grant_ref_t)ref), 0);

	/* The allocator hands out every unreserved entry once, then -ENOSPC. */
	unsigned n = 0;
	int r;
	while ((r = gnttab_grant_access(0, gfn_of(src), 1)) >= 0 && n < sizeof refs / sizeof refs[0])
		refs[n++] = r;
	T_EXPECT_EQ(r, -XEN_ENOSPC);
	T_EXPECT_EQ(n, gnttab_nr_entries() - GNTTAB_NR_RESERVED_ENTRIES);
	unsigned ended = 0;
	for (unsigned i = 0; i < n; i++)
		ended += gnttab_end_access((grant_ref_t)refs[i]) == 0;
	T_EXPECT_EQ(ended, n);
	T_EXPECT(gnttab_grant_access(0, gfn_of(src), 1) >= 0);
}

/* copy1 runs one GNTTABOP_copy entry and returns its status. */
static int16_t copy1(uint64_t s, domid_t sdom, uint16_t soff, uint64_t d, domid_t ddom,
		     uint16_t doff, uint16_t len, uint16_t flags)
{
	struct gnttab_copy op = {
		.source = {.domid = sdom, .offset = soff},
		.dest = {.domid = ddom, .offset = doff},
		.len = len,
		.flags = flags,
		.status = 1,
	};
	if (flags & GNTCOPY_source_gref)
		op.source.u.ref = (grant_ref_t)s;
	else
		op.source.u.gmfn = s;
	if (flags & GNTCOPY_dest_gref)
		op.dest.u.ref = (grant_ref_t)d;
	else
		op.dest.u.gmfn = d;
	int rc = gnttab_copy(&op, 1);
	T_EXPECT_EQ(rc, 0);
	return op.status;
}

static void fill(void)
{
	for (unsigned i = 0; i < sizeof src; i++)
		src[i] = (uint8_t)(i * 7 + 1);
	memset(dst, 0, sizeof dst);
}

static void test_copy(void)
{
	domid_t self = (domid_t)xen_domid();

	/* Frame to frame, both DOMID_SELF. */
	fill();
	T_EXPECT_EQ(copy1(gfn_of(src), DOMID_SELF, 10, gfn_of(dst), DOMID_SELF, 20, 100, 0),
		    GNTST_okay);
	T_EXPECT_EQ(memcmp(dst + 20, src + 10, 100), 0);
	T_EXPECT_EQ(dst[19], 0);
	T_EXPECT_EQ(dst[120], 0);
	/* gnttab_copy_lock_domain: only DOMID_SELF may name a frame. */
	if (self != DOMID_SELF)
		T_EXPECT_EQ(copy1(gfn_of(src), self, 0, gfn_of(dst), DOMID_SELF, 0, 8, 0),
			    GNTST_permission_denied);
	/* gnttab_copy_buf: beyond the page. */
	T_EXPECT_EQ(copy1(gfn_of(src), DOMID_SELF, 4000, gfn_of(dst), DOMID_SELF, 0, 200, 0),
		    GNTST_bad_copy_arg);
	/* len 0 does nothing. */
	T_EXPECT_EQ(copy1(gfn_of(src), DOMID_SELF, 0, gfn_of(dst), DOMID_SELF, 0, 0, 0),
		    GNTST_okay);

	/* From a grant the guest gave itself (the grantee is the copying domain). */
	int rs = gnttab_grant_access(self, gfn_of(src), 1);
	int rd = gnttab_grant_access(self, gfn_of(dst), 0);
	int rro = gnttab_grant_access(self, gfn_of(dst), 1);
	int rother = gnttab_grant_access(0, gfn_of(src), 0);
	T_EXPECT(rs > 0 && rd > 0 && rro > 0 && rother > 0);
	fill();
	T_EXPECT_EQ(copy1((uint64_t)rs, DOMID_SELF, 0, gfn_of(dst), DOMID_SELF, 0, 4096,
			  GNTCOPY_source_gref),
		    GNTST_okay);
	T_EXPECT_EQ(memcmp(dst, src, 4096), 0);
	/* The grant is released after the copy: no GTF_reading left behind. */
	T_EXPECT_EQ(gnttab_entry((grant_ref_t)rs)->flags, GTF_permit_access | GTF_readonly);
	/* Grant to grant. */
	fill();
	T_EXPECT_EQ(copy1((uint64_t)rs, DOMID_SELF, 100, (uint64_t)rd, DOMID_SELF, 200, 300,
			  GNTCOPY_source_gref | GNTCOPY_dest_gref),
		    GNTST_okay);
	T_EXPECT_EQ(memcmp(dst + 200, src + 100, 300), 0);
	T_EXPECT_EQ(gnttab_entry((grant_ref_t)rd)->flags, GTF_permit_access);
	/* _set_status_v1: writing through a read-only grant, or using a grant
	 * made out to another domain: GNTST_general_error. */
	T_EXPECT_EQ(copy1(gfn_of(src), DOMID_SELF, 0, (uint64_t)rro, DOMID_SELF, 0, 8,
			  GNTCOPY_dest_gref),
		    GNTST_general_error);
	T_EXPECT_EQ(copy1((uint64_t)rother, DOMID_SELF, 0, gfn_of(dst), DOMID_SELF, 0, 8,
			  GNTCOPY_source_gref),
		    GNTST_general_error);
	/* acquire_grant_for_copy: a reference beyond the table. */
	T_EXPECT_EQ(copy1(100000, DOMID_SELF, 0, gfn_of(dst), DOMID_SELF, 0, 8,
			  GNTCOPY_source_gref),
		    GNTST_bad_gntref);
	/* No such domain. */
	T_EXPECT_EQ(copy1((uint64_t)rs, NO_DOMAIN, 0, gfn_of(dst), DOMID_SELF, 0, 8,
			  GNTCOPY_source_gref),
		    GNTST_bad_domain);

	/* A batch: each entry gets its own status. */
	struct gnttab_copy ops[2] = {
		{.source = {.u.gmfn = gfn_of(src), .domid = DOMID_SELF},
		 .dest = {.u.gmfn = gfn_of(dst), .domid = DOMID_SELF, .offset = 1000},
		 .len = 16, .status = 1},
		{.source = {.u.gmfn = gfn_of(src), .domid = DOMID_SELF, .offset = 4090},
		 .dest = {.u.gmfn = gfn_of(dst), .domid = DOMID_SELF},
		 .len = 16, .status = 1},
	};
	T_EXPECT_EQ(gnttab_copy(ops, 2), 0);
	T_EXPECT_EQ(ops[0].status, GNTST_okay);
	T_EXPECT_EQ(ops[1].status, GNTST_bad_copy_arg);

	T_EXPECT_EQ(gnttab_end_access((grant_ref_t)rs), 0);
	T_EXPECT_EQ(gnttab_end_access((grant_ref_t)rd), 0);
	T_EXPECT_EQ(gnttab_end_access((grant_ref_t)rro), 0);
	T_EXPECT_EQ(gnttab_end_access((grant_ref_t)rother), 0);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "setup_table") == 0)
		gnttab_prefer_setup_table();
	int rc = gnttab_init();
	T_EXPECT_EQ(rc, 0);
	if (rc != 0)
		T_ABORT("gnttab_init failed");
	test_version_and_size();
	test_grant_and_end();
	test_copy();
	printf("grants: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
