/*
 * hcbench: per-iteration TSC cost of a raw exit (OUT to port 0xc4) and of a
 * null hypercall (xen_version(XENVER_version) through the page), from CPL3
 * directly and from CPL0 (via SYS_cpl0_bench, N/10 iterations since CPL0 is
 * emulated here). Reports the samples as series and prints medians.
 */
#include "guestkit.h"

#define CAP3 65536 /* most CPL3 samples per series */
#define CAP0 8192  /* most CPL0 samples per series */

static GK_SERIES(cpl3_raw, CAP3);
static GK_SERIES(cpl3_hcall, CAP3);
static GK_SERIES(cpl0_raw, CAP0);
static GK_SERIES(cpl0_hcall, CAP0);

/* median sorts v in place and returns its middle value. */
static uint64_t median(uint64_t *v, uint64_t n)
{
	if (n == 0)
		return 0;
	gk_sort_u64(v, n);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	uint64_t n = 20000;
	if (argc > 1) {
		int ok;
		n = strtou64(argv[1], &ok);
		if (!ok || n == 0) {
			printf("usage: hcbench [iterations]\n");
			return 2;
		}
	}
	if (n > CAP3) {
		printf("hcbench: %lu iterations capped to %u\n", n, CAP3);
		n = CAP3;
	}
	uint64_t n0 = n / 10 ? n / 10 : 1;
	if (n0 > CAP0)
		n0 = CAP0;

	/* Interleaved, so that both see the same host conditions. */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		raw_exit();
		uint64_t t1 = rdtsc();
		HYPERVISOR_xen_version(XENVER_version, NULL);
		uint64_t t2 = rdtsc();
		cpl3_raw.v[i] = t1 - t0;
		cpl3_hcall.v[i] = t2 - t1;
	}
	cpl3_raw.count = cpl3_hcall.count = n;

	if (sys_cpl0_bench(n0, cpl0_raw.v, cpl0_hcall.v) < 0)
		T_ABORT("SYS_cpl0_bench failed");
	cpl0_raw.count = cpl0_hcall.count = n0;

	T_SERIES("cpl3_raw", &cpl3_raw);
	T_SERIES("cpl3_hcall", &cpl3_hcall);
	T_SERIES("cpl0_raw", &cpl0_raw);
	T_SERIES("cpl0_hcall", &cpl0_hcall);

	printf("hcbench: median TSC cycles: cpl3_raw %lu, cpl3_hcall %lu (n=%lu); "
	       "cpl0_raw %lu, cpl0_hcall %lu (n=%lu)\n",
	       median(cpl3_raw.v, n), median(cpl3_hcall.v, n), n, median(cpl0_raw.v, n0),
	       median(cpl0_hcall.v, n0), n0);
	return 0;
}
