/*
 * pvtime.c: shared_info and vcpu_info placement, Xen system time and the
 * wallclock, HVM params and the domain id.
 */
#include "gk_pv.h"

/* The shared_info page and the vcpu_info array live in guestkit's .bss. */
static union {
	struct shared_info s;
	uint8_t page[4096];
} shinfo_page __attribute__((aligned(4096)));
static struct vcpu_info vcpu_infos[GK_MAX_VCPUS] __attribute__((aligned(4096)));
_Static_assert(sizeof(vcpu_infos) == 4096, "vcpu_info array is one page");

struct shared_info *volatile xen_shared_info;
static uint8_t registered[GK_MAX_VCPUS]; /* vCPU uses vcpu_infos[], not shared_info */
static struct gk_once init_once;

int hvm_get_param(uint32_t idx, uint64_t *value)
{
	struct xen_hvm_param p = {.domid = DOMID_SELF, .index = idx};
	long rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
	if (rc == 0)
		*value = p.value;
	return (int)rc;
}

int hvm_set_param(uint32_t idx, uint64_t value)
{
	struct xen_hvm_param p = {.domid = DOMID_SELF, .index = idx, .value = value};
	return (int)HYPERVISOR_hvm_op(HVMOP_set_param, &p);
}

static int do_init(void)
{
	struct xen_add_to_physmap xatp = {
		.domid = DOMID_SELF,
		.space = XENMAPSPACE_shared_info,
		.idx = 0,
		.gpfn = (uint64_t)&shinfo_page >> 12, /* identity map: GVA = GPA */
	};
	long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
	if (rc < 0) {
		printf("pv: XENMEM_add_to_physmap(shared_info) failed: %ld\n", rc);
		return (int)rc;
	}
	struct shared_info *s = &shinfo_page.s;

	/* Every port starts masked; evtchn_set_handler unmasks what is used. */
	for (unsigned w = 0; w < EVTCHN_2L_WORDS; w++)
		__atomic_store_n(&s->evtchn_mask[w], ~0ull, __ATOMIC_SEQ_CST);

	unsigned n = gk_nr_vcpus();
	for (unsigned cpu = 0; cpu < n; cpu++) {
		uint64_t gpa = (uint64_t)&vcpu_infos[cpu];
		struct vcpu_register_vcpu_info r = {.mfn = gpa >> 12, .offset = gpa & 0xfff};
		rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, cpu, &r);
		if (rc == 0)
			registered[cpu] = 1;
		else if (cpu >= XEN_LEGACY_MAX_VCPUS)
			printf("pv: VCPUOP_register_vcpu_info(%u) failed: %ld; vCPU has no vcpu_info\n",
			       cpu, rc);
	}
	__atomic_store_n(&xen_shared_info, s, __ATOMIC_RELEASE);
	return 0;
}

int xen_pv_init(void)
{
	return gk_once(&init_once, do_init);
}

struct vcpu_info *xen_vcpu_info(unsigned cpu)
{
	struct shared_info *s = xen_shared_info;
	if (!s || cpu >= GK_MAX_VCPUS)
		return NULL;
	if (registered[cpu])
		return &vcpu_infos[cpu];
	return cpu < XEN_LEGACY_MAX_VCPUS ? &s->vcpu_info[cpu] : NULL;
}

int xen_vcpu_info_registered(unsigned cpu)
{
	return cpu < GK_MAX_VCPUS && registered[cpu];
}

/* rdtsc_ordered keeps the TSC read after the loads before it (Linux does the same). */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

/* pvclock_scale turns a TSC delta into nanoseconds: ((delta << shift) * mul) >> 32. */
static inline uint64_t pvclock_scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift >= 0)
		delta <<= shift;
	else
		delta >>= -shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/*
 * read_time reads this vCPU's vcpu_time_info under its version protocol
 * (odd: being updated; changed: retry) and converts *tsc, or a fresh TSC
 * read if tsc is NULL.
 */
static uint64_t read_time(const uint64_t *tsc)
{
	struct vcpu_info *vi = xen_vcpu_info(this_cpu());
	if (!vi)
		return 0;
	const volatile struct vcpu_time_info *t = &vi->time;
	uint32_t v;
	uint64_t ts, sys, now;
	uint32_t mul;
	int8_t shift;
	do {
		v = t->version;
		__asm__ volatile("" ::: "memory");
		ts = t->tsc_timestamp;
		sys = t->system_time;
		mul = t->tsc_to_system_mul;
		shift = t->tsc_shift;
		now = tsc ? *tsc : rdtsc_ordered();
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != t->version);
	uint64_t delta = now > ts ? now - ts : 0;
	return sys + pvclock_scale(delta, mul, shift);
}

uint64_t xen_system_time_ns(void)
{
	return read_time(NULL);
}

uint64_t xen_time_from_tsc(uint64_t tsc)
{
	return read_time(&tsc);
}

uint64_t xen_tsc_to_ns(uint64_t delta)
{
	struct vcpu_info *vi = xen_vcpu_info(this_cpu());
	if (!vi)
		return 0;
	const volatile struct vcpu_time_info *t = &vi->time;
	return pvclock_scale(delta, t->tsc_to_system_mul, t->tsc_shift);
}

void xen_wallclock(uint64_t *sec, uint32_t *nsec)
{
	const volatile struct shared_info *s = xen_shared_info;
	*sec = 0;
	*nsec = 0;
	if (!s)
		return;
	uint32_t v, lo, hi, ns;
	do {
		v = s->wc_version;
		__asm__ volatile("" ::: "memory");
		lo = s->wc_sec;
		hi = s->wc_sec_hi;
		ns = s->wc_nsec;
		__asm__ volatile("" ::: "memory");
	} while ((v & 1) || v != s->wc_version);
	uint64_t now = xen_system_time_ns();
	uint64_t total_ns = (uint64_t)ns + now % 1000000000ull;
	*sec = ((uint64_t)hi << 32 | lo) + now / 1000000000ull + total_ns / 1000000000ull;
	*nsec = (uint32_t)(total_ns % 1000000000ull);
}

unsigned xen_domid(void)
{
	static unsigned cached;
	if (cached)
		return cached - 1;
	uint32_t r[4];
	sys_cpuid(XEN_CPUID_BASE, 0, r);
	unsigned id = DOMID_SELF;
	if (r[0] >= XEN_CPUID_BASE + 4) {
		sys_cpuid(XEN_CPUID_BASE + 4, 0, r);
		if (r[0] & XEN_HVM_CPUID_DOMID_PRESENT)
			id = r[2] & 0xffff;
	}
	cached = id + 1;
	return id;
}
