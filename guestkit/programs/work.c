/*
 * work: the "cpu" workload of the density benchmark. A CPL3 compute loop
 * adds one to a 64-bit progress counter after every work unit (1000 loop
 * iterations); the counter's address is reported as metric "counter_gpa"
 * (guestkit maps memory 1:1), so the monitor reads the rate from guest
 * memory without any exit. Runs until the monitor stops it.
 */
#include "guestkit.h"

static volatile uint64_t counter __attribute__((aligned(64)));

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	T_METRIC("counter_gpa", (uint64_t)(uintptr_t)&counter);
	uint64_t x = 0;
	for (;;) {
		for (int i = 0; i < 1000; i++) {
			x += (uint64_t)i * 2654435761u;
			__asm__ volatile("" : "+r"(x));
		}
		counter = counter + 1;
	}
}
