/*
 * shutdown: ends the domain the way argv[1] names:
 * poweroff|reboot|suspend|crash|watchdog|soft_reset -> SCHEDOP_shutdown(reason),
 * triplefault -> empty IDT and a fault, halt -> cli;hlt at CPL0 on every vCPU.
 * argv[2] "code=N" makes a SCHEDOP_shutdown_code(N) call first.
 */
#include "guestkit.h"

static const struct {
	const char *name;
	int reason; /* SHUTDOWN_*, or -1 / -2 for triplefault / halt */
} reasons[] = {
	{"poweroff", SHUTDOWN_poweroff}, {"reboot", SHUTDOWN_reboot},
	{"suspend", SHUTDOWN_suspend},   {"crash", SHUTDOWN_crash},
	{"watchdog", SHUTDOWN_watchdog}, {"soft_reset", SHUTDOWN_soft_reset},
	{"triplefault", -1},             {"halt", -2},
};

static volatile uint64_t halting;

static void halt_cpu(unsigned cpu)
{
	(void)cpu;
	atomic_add(&halting, 1);
	sys_halt();
}

static int usage(void)
{
	printf("usage: shutdown poweroff|reboot|suspend|crash|watchdog|soft_reset|triplefault|halt"
	       " [code=N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	int reason = -3;
	for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		if (strcmp(argv[1], reasons[i].name) == 0)
			reason = reasons[i].reason;
	if (reason == -3)
		return usage();

	printf("shutdown: %s\n", argv[1]);

	if (argc > 2) {
		int ok;
		if (strncmp(argv[2], "code=", 5) != 0)
			return usage();
		uint64_t code = strtou64(argv[2] + 5, &ok);
		if (!ok || code > 0xffffffffu)
			return usage();
		struct sched_shutdown sc = {.reason = (uint32_t)code};
		long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown_code, &sc);
		if (rc < 0)
			printf("shutdown: SCHEDOP_shutdown_code(%lu) = %ld\n", code, rc);
	}

	if (reason == -1)
		sys_triple_fault();
	if (reason == -2) {
		long n = smp_start(halt_cpu);
		if (n < 0)
			T_ABORT("smp_start failed");
		while (atomic_load(&halting) < (uint64_t)n - 1)
			cpu_relax();
		sys_halt();
	}

	struct sched_shutdown sd = {.reason = (uint32_t)reason};
	long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
	/* Only suspend returns on Xen (0 after resume, 1 if cancelled). */
	printf("shutdown: SCHEDOP_shutdown(%s) returned %ld\n", argv[1], rc);
	return reason == SHUTDOWN_suspend && rc >= 0 ? 0 : 1;
}
