/*
 * gnttab.c: grant tables, version 1: set-up the PVH way (frames placed on
 * guest pages with XENMEM_add_to_physmap) or the old way (setup_table),
 * a free list of references, and Linux's revocation rule.
 */
#include "gk_pv.h"

#define NR_ENTRIES (GK_GNTTAB_FRAMES * GNTTAB_ENTRIES_PER_FRAME)

static struct grant_entry_v1 table_pages[NR_ENTRIES] __attribute__((aligned(4096)));
static volatile struct grant_entry_v1 *frames[GK_GNTTAB_FRAMES]; /* entries of frame i */
static unsigned nr_frames;                                     /* frames in use */
static int setup_table_used;
static int prefer_setup_table;

/* The free list: a stack of references, guarded by a spinlock. */
static grant_ref_t free_refs[NR_ENTRIES];
static unsigned nr_free;
static volatile uint32_t lock;
static struct gk_once init_once;

static void lock_take(void)
{
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void lock_give(void)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

int gnttab_set_version(uint32_t *version)
{
	struct gnttab_set_version v = {.version = *version};
	long rc = HYPERVISOR_grant_table_op(GNTTABOP_set_version, &v, 1);
	if (rc == 0)
		*version = v.version;
	return (int)rc;
}

int gnttab_get_version(domid_t dom, uint32_t *version)
{
	struct gnttab_get_version v = {.dom = dom};
	long rc = HYPERVISOR_grant_table_op(GNTTABOP_get_version, &v, 1);
	if (rc == 0)
		*version = v.version;
	return (int)rc;
}

int gnttab_query_size(domid_t dom, uint32_t *nr, uint32_t *max, int16_t *status)
{
	struct gnttab_query_size q = {.dom = dom, .status = GNTST_general_error};
	long rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1);
	if (nr)
		*nr = q.nr_frames;
	if (max)
		*max = q.max_nr_frames;
	if (status)
		*status = q.status;
	return (int)rc;
}

int gnttab_setup_table(domid_t dom, uint32_t nr, uint64_t *list, int16_t *status)
{
	struct gnttab_setup_table t = {
		.dom = dom, .nr_frames = nr, .status = GNTST_general_error,
		.frame_list = (uint64_t)list,
	};
	long rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &t, 1);
	if (status)
		*status = t.status;
	return (int)rc;
}

int gnttab_copy(struct gnttab_copy *ops, unsigned count)
{
	return (int)HYPERVISOR_grant_table_op(GNTTABOP_copy, ops, count);
}

/* map_frames places up to want frames on our pages; returns how many. */
static unsigned map_frames(unsigned want)
{
	unsigned i;
	for (i = 0; i < want; i++) {
		struct grant_entry_v1 *page = &table_pages[i * GNTTAB_ENTRIES_PER_FRAME];
		struct xen_add_to_physmap x = {
			.domid = DOMID_SELF,
			.space = XENMAPSPACE_grant_table,
			.idx = i,
			.gpfn = (uint64_t)page >> 12,
		};
		long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &x);
		if (rc < 0) {
			if (i == 0)
				printf("gnttab: add_to_physmap(grant_table, 0) failed: %ld\n", rc);
			break;
		}
		frames[i] = page;
	}
	return i;
}

/* setup_frames asks Xen where the frames are (GNTTABOP_setup_table). */
static unsigned setup_frames(unsigned want)
{
	static uint64_t list[GK_GNTTAB_FRAMES];
	int16_t st;
	long rc = gnttab_setup_table(DOMID_SELF, want, list, &st);
	if (rc < 0 || st != GNTST_okay) {
		printf("gnttab: setup_table(%u) failed: %ld, status %d\n", want, rc, st);
		return 0;
	}
	for (unsigned i = 0; i < want; i++)
		frames[i] = (volatile struct grant_entry_v1 *)(list[i] << 12);
	setup_table_used = 1;
	return want;
}

static int do_init(void)
{
	uint32_t v = 1;
	long rc = gnttab_set_version(&v);
	if (rc < 0 && rc != -XEN_ENOSYS)
		return (int)rc;
	uint32_t cur = 0, max = 0;
	int16_t st;
	rc = gnttab_query_size(DOMID_SELF, &cur, &max, &st);
	if (rc < 0 || st != GNTST_okay)
		max = 1;
	unsigned want = max < GK_GNTTAB_FRAMES ? max : GK_GNTTAB_FRAMES;
	if (want == 0)
		want = 1;
	unsigned got = prefer_setup_table ? 0 : map_frames(want);
	if (got == 0)
		got = setup_frames(want);
	if (got == 0)
		return -XEN_ENOSYS;
	nr_frames = got;
	for (unsigned r = got * GNTTAB_ENTRIES_PER_FRAME; r-- > GNTTAB_NR_RESERVED_ENTRIES;)
		free_refs[nr_free++] = r;
	return 0;
}

int gnttab_init(void)
{
	return gk_once(&init_once, do_init);
}

void gnttab_prefer_setup_table(void)
{
	prefer_setup_table = 1;
}

int gnttab_used_setup_table(void)
{
	return setup_table_used;
}

unsigned gnttab_nr_entries(void)
{
	return nr_frames * GNTTAB_ENTRIES_PER_FRAME;
}

volatile struct grant_entry_v1 *gnttab_entry(grant_ref_t ref)
{
	if (ref >= gnttab_nr_entries())
		return NULL;
	return &frames[ref / GNTTAB_ENTRIES_PER_FRAME][ref % GNTTAB_ENTRIES_PER_FRAME];
}

int gnttab_grant_access(domid_t domid, uint64_t gfn, int readonly)
{
	if (gfn > UINT32_MAX)
		return -XEN_EINVAL;
	lock_take();
	if (nr_free == 0) {
		lock_give();
		return -XEN_ENOSPC;
	}
	grant_ref_t ref = free_refs[--nr_free];
	lock_give();
	volatile struct grant_entry_v1 *e = gnttab_entry(ref);
	e->domid = domid;
	e->frame = (uint32_t)gfn;
	/* The grantee may look as soon as flags say so: domid and frame first. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
			 __ATOMIC_RELEASE);
	return (int)ref;
}

int gnttab_end_access(grant_ref_t ref)
{
	volatile struct grant_entry_v1 *e = gnttab_entry(ref);
	if (!e || ref < GNTTAB_NR_RESERVED_ENTRIES)
		return -XEN_EINVAL;
	uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
	do {
		if (flags & (GTF_reading | GTF_writing))
			return -XEN_EBUSY;
	} while (!__atomic_compare_exchange_n(&e->flags, &flags, 0, 0, __ATOMIC_ACQ_REL,
					      __ATOMIC_ACQUIRE));
	if ((flags & GTF_type_mask) == GTF_invalid)
		return -XEN_EINVAL; /* was not granted */
	lock_take();
	free_refs[nr_free++] = ref;
	lock_give();
	return 0;
}
