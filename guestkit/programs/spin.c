/* spin: a CPL3 compute loop timed with the TSC. argv[1] = iterations. */
#include "guestkit.h"

int main(int argc, char **argv)
{
	uint64_t n = 100000000;
	if (argc > 1) {
		int ok;
		n = strtou64(argv[1], &ok);
		if (!ok || n == 0) {
			printf("usage: spin [iterations]\n");
			return 2;
		}
	}

	uint64_t x = 0;
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++) {
		x += i;
		__asm__ volatile("" : "+r"(x)); /* keep the loop */
	}
	uint64_t cycles = rdtsc() - t0;

	T_METRIC("spin_iters", n);
	T_METRIC("spin_cycles", cycles);
	uint64_t cpi100 = cycles * 100 / n; /* overflows only past ~1.8e17 cycles */
	printf("spin: %lu iterations, %lu cycles, %lu.%02lu cycles/iteration (sum %lu)\n", n,
	       cycles, cpi100 / 100, cpi100 % 100, x);
	return 0;
}
