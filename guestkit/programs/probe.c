/*
 * probe: the same compute loop at CPL0 (through a system call) and at CPL3,
 * between marks, so that the monitor can read KVM's insn_emulation counter
 * around each and tell whether that privilege level runs natively.
 * argv[1] = CPL3 iterations (default 10000000); CPL0 runs a thousandth.
 */
#include "guestkit.h"

int main(int argc, char **argv)
{
	uint64_t n = 10000000;
	if (argc > 1) {
		int ok;
		n = strtou64(argv[1], &ok);
		if (!ok || n < 1000) {
			printf("usage: probe [iterations >= 1000]\n");
			return 2;
		}
	}
	uint64_t n0 = n / 1000;

	T_MARK("cpl0_start");
	uint64_t c0 = sys_cpl0_spin(n0);
	T_MARK("cpl0_end");

	uint64_t x = 0, t0 = rdtsc();
	for (uint64_t i = 0; i < n; i++) {
		x += i;
		__asm__ volatile("" : "+r"(x));
	}
	uint64_t c3 = rdtsc() - t0;
	T_MARK("cpl3_end");

	T_METRIC("cpl0_iters", n0);
	T_METRIC("cpl0_cycles", c0);
	T_METRIC("cpl3_iters", n);
	T_METRIC("cpl3_cycles", c3);
	printf("probe: CPL0 %lu iterations in %lu cycles, CPL3 %lu iterations in %lu cycles (%lu)\n",
	       n0, c0, n, c3, x);
	return 0;
}
