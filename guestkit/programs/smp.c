/*
 * smp: brings up every vCPU the PVH way; each prints "vcpu <id> up" and
 * counts itself in; vCPU 0 waits for all of them.
 */
#include "guestkit.h"

#define WAIT_CYCLES (60ull * 1000 * 1000 * 1000) /* ~20 s at 3 GHz: a hang guard */

static volatile uint64_t arrived;

static void report(unsigned cpu)
{
	uint32_t r[4];

	/* Leaf base+4 carries the vCPU id when bit 3 of EAX says so. */
	sys_cpuid(XEN_CPUID_BASE + 4, 0, r);
	if (r[0] & XEN_HVM_CPUID_VCPU_ID_PRESENT)
		T_EXPECT_EQ(r[1], cpu);
	T_EXPECT_EQ(this_cpu(), cpu);
	printf("vcpu %u up\n", cpu);
	atomic_add(&arrived, 1);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	long n = smp_start(report);
	if (n < 0)
		T_ABORT("smp_start failed");
	report(0);

	uint64_t start = rdtsc();
	while (atomic_load(&arrived) < (uint64_t)n) {
		if (rdtsc() - start > WAIT_CYCLES) {
			printf("smp: only %lu of %ld vcpus reported\n", atomic_load(&arrived), n);
			T_ABORT("timed out waiting for vCPUs");
		}
		cpu_relax();
	}
	printf("smp: %ld vcpus ok\n", n);
	return 0;
}
