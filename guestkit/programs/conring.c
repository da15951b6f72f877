/*
 * conring [lines=N]: console output through the PV console ring
 * (HVM_PARAM_CONSOLE_PFN/EVTCHN, io/console.h). Prints N numbered lines
 * (default 100) "conring: line <i> of <N>", then a line longer than the
 * ring ("conring: long line" + 3000 '=' + "end"), waits for the backend to
 * drain, and goes back to console_io for a last line.
 */
#include "gk_pv.h"

static char longline[3100];

int main(int argc, char **argv)
{
	uint64_t lines = gk_arg_u64(argc, argv, "lines", 100);
	int rc = console_use_ring();
	T_EXPECT_EQ(rc, 0);
	if (rc != 0)
		T_ABORT("no PV console ring");
	T_EXPECT(console_ring_active());

	uint64_t t0 = rdtsc();
	for (uint64_t i = 1; i <= lines; i++)
		printf("conring: line %lu of %lu\n", i, lines);
	uint64_t cycles = rdtsc() - t0;

	size_t n = 0;
	memcpy(longline, "conring: long line ", 19);
	n = 19;
	memset(longline + n, '=', 3000);
	n += 3000;
	memcpy(longline + n, " end\n", 5);
	n += 5;
	T_EXPECT_EQ(console_write(longline, n), 0);

	T_EXPECT_EQ(console_flush(), 0);
	T_METRIC("conring_cycles_per_line", lines ? cycles / lines : 0);
	printf("conring: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	console_use_hypercall();
	printf("conring: back on console_io\n");
	return gk_tests_failed ? 1 : 0;
}
