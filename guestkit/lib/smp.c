/* smp.c: vCPU discovery and bring-up the PVH way (VCPUOP_initialise + up). */
#include "guestkit.h"
#include "kernel.h"

static unsigned nr_vcpus_cache;
static void (*volatile ap_fn)(unsigned cpu);

uint64_t gk_user_stack_top(unsigned cpu)
{
	if (cpu == 0)
		return (uint64_t)(gk_ustack0 + GK_USTACK0_SIZE);
	return (uint64_t)(gk_ustacks + (uint64_t)cpu * GK_USTACK_SIZE);
}

unsigned gk_nr_vcpus(void)
{
	if (nr_vcpus_cache)
		return nr_vcpus_cache;
	unsigned n = 1;
	while (n < GK_MAX_VCPUS && HYPERVISOR_vcpu_op(VCPUOP_is_up, n, NULL) >= 0)
		n++;
	nr_vcpus_cache = n;
	return n;
}

long smp_start(void (*fn)(unsigned cpu))
{
	unsigned n = gk_nr_vcpus();

	ap_fn = fn;
	for (unsigned cpu = 1; cpu < n; cpu++) {
		struct vcpu_hvm_context ctx;
		memset(&ctx, 0, sizeof ctx);
		ctx.mode = VCPU_HVM_MODE_64B;
		ctx.cpu_regs.x86_64.rip = (uint64_t)gk_ap_entry64;
		ctx.cpu_regs.x86_64.rsp = (uint64_t)(gk_kstacks + (cpu + 1) * GK_KSTACK_SIZE);
		ctx.cpu_regs.x86_64.rdi = cpu;
		ctx.cpu_regs.x86_64.rflags = 0x2;
		ctx.cpu_regs.x86_64.cr0 = GK_CR0;
		ctx.cpu_regs.x86_64.cr3 = (uint64_t)gk_pml4;
		ctx.cpu_regs.x86_64.cr4 = GK_CR4;
		ctx.cpu_regs.x86_64.efer = GK_EFER;
		long rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, cpu, &ctx);
		if (rc < 0) {
			printf("smp: VCPUOP_initialise(%u) failed: %ld\n", cpu, rc);
			return rc;
		}
		rc = HYPERVISOR_vcpu_op(VCPUOP_up, cpu, NULL);
		if (rc < 0) {
			printf("smp: VCPUOP_up(%u) failed: %ld\n", cpu, rc);
			return rc;
		}
	}
	return n;
}

/* gk_ap_user_start is the first CPL3 code on a secondary vCPU. */
void gk_ap_user_start(uint64_t cpu)
{
	void (*fn)(unsigned) = ap_fn;
	if (fn)
		fn((unsigned)cpu);
	for (;;)
		sys_block();
}
