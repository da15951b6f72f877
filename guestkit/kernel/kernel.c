/*
 * kernel.c: the CPL0 part of guestkit. Boot, per-vCPU setup, Xen discovery,
 * system calls and exception reports. Keep every path here short: on the
 * development host each CPL0 instruction is emulated.
 */
#include <stddef.h>
#include <stdint.h>

#include "gk_arch.h"
#include "gk_layout.h"
#include "guestkit.h"
#include "kernel.h"
#include "xen.h"

#define MSR_GS_BASE 0xc0000101u

struct gk_percpu gk_percpu[GK_MAX_VCPUS];
void (*volatile gk_upcall_fn)(void);
static int hypercalls_ready;

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* kputs prints at CPL0: console_io once the page exists, else port 0xe9. */
static void kputs(const char *s)
{
	size_t n = strlen(s);
	if (hypercalls_ready) {
		_hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, n, s);
		return;
	}
	for (size_t i = 0; i < n; i++)
		outb(XENOLITH_PORT_DEBUGCON, (uint8_t)s[i]);
}

static void shutdown(unsigned reason)
{
	struct sched_shutdown sd = {.reason = reason};
	_hypercall2(__HYPERVISOR_sched_op, SCHEDOP_shutdown, &sd);
}

/* cpu_init loads this vCPU's IDT, TSS and GS base. */
static void cpu_init(unsigned cpu)
{
	struct gk_percpu *p = &gk_percpu[cpu];

	p->self = p;
	p->id = cpu;
	__asm__ volatile("lidt %0" ::"m"(*(const uint8_t(*)[10])gk_idt_desc));
	__asm__ volatile("ltr %w0" ::"r"(GK_SEL_TSS0 + 16 * cpu));
	wrmsr(MSR_GS_BASE, (uint64_t)p);
}

/* gk_kernel_boot runs on the boot vCPU right after the switch to long mode. */
__attribute__((noreturn)) void gk_kernel_boot(uint32_t start_info)
{
	uint32_t r[4];

	cpu_init(0);
	cpuid(XEN_CPUID_BASE, 0, r);
	if (r[1] != XEN_CPUID_SIG_EBX || r[2] != XEN_CPUID_SIG_ECX || r[3] != XEN_CPUID_SIG_EDX ||
	    r[0] < XEN_CPUID_BASE + 2) {
		kputs("guestkit: no Xen signature (XenVMMXenVMM) at CPUID 0x40000000; halting\n");
		halt_forever();
	}
	cpuid(XEN_CPUID_BASE + 2, 0, r);
	wrmsr(r[1], (uint64_t)hypercall_page);
	hypercalls_ready = 1;
	gk_enter_user((uint64_t)gk_user_start, (uint64_t)(gk_ustack0 + GK_USTACK0_SIZE),
		      start_info, 0);
}

/* gk_kernel_ap runs on a secondary vCPU after gk_ap_entry64 loaded the GDT. */
__attribute__((noreturn)) void gk_kernel_ap(uint64_t cpu)
{
	cpu_init((unsigned)cpu);
	gk_enter_user((uint64_t)gk_ap_user_start, gk_user_stack_top((unsigned)cpu), cpu, 0);
}

/* cpl0_bench times the raw exit and the null hypercall at CPL0. */
static long cpl0_bench(uint64_t n, uint64_t *raw, uint64_t *hcall)
{
	/* Interleaved, so that both see the same host conditions. */
	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = rdtsc();
		raw_exit();
		uint64_t t1 = rdtsc();
		_hypercall2(__HYPERVISOR_xen_version, XENVER_version, 0);
		uint64_t t2 = rdtsc();
		raw[i] = t1 - t0;
		hcall[i] = t2 - t1;
	}
	return 0;
}

/*
 * set_user_if sets RFLAGS.IF in the interrupt frame of the calling CPL3
 * code, at the top of this vCPU's kernel stack (TSS.RSP0), and returns
 * the old value. CPL3 cannot do it itself: CLI/STI need IOPL 3, which
 * kvm_pvm drops.
 */
static long set_user_if(int on)
{
	uint64_t cpu;
	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(cpu) : "i"(GK_PCPU_ID));
	struct gk_iret_frame *f =
		(struct gk_iret_frame *)(gk_kstacks + (cpu + 1) * GK_KSTACK_SIZE) - 1;
	if (f->cs != GK_SEL_UCODE)
		return -XEN_EINVAL;
	long old = (f->rflags >> 9) & 1;
	if (on)
		f->rflags |= 1u << 9;
	else
		f->rflags &= ~(uint64_t)(1u << 9);
	return old;
}

/* gk_syscall handles every system call but SYS_hypercall (entry.S does that). */
long gk_syscall(uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5, uint64_t nr)
{
	(void)a4;
	(void)a5;
	switch (nr) {
	case GK_SYS_block:
		return _hypercall2(__HYPERVISOR_sched_op, SCHEDOP_block, 0);
	case GK_SYS_exit:
		/* A nonzero exit status is a crash. Not SCHEDOP_shutdown_code: in
		 * Xen that latches a reason which replaces the crash. */
		shutdown(a1 == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
		halt_forever();
	case GK_SYS_cpl0_bench:
		return cpl0_bench(a1, (uint64_t *)a2, (uint64_t *)a3);
	case GK_SYS_halt:
		halt_forever();
	case GK_SYS_cpl0_spin: {
		uint64_t x = 0, t0 = rdtsc();
		for (uint64_t i = 0; i < a1; i++) {
			x += i;
			__asm__ volatile("" : "+r"(x));
		}
		return (long)(rdtsc() - t0);
	}
	case GK_SYS_triple_fault:
		__asm__ volatile("lidt %0; ud2" ::"m"(*(const uint8_t(*)[10])gk_empty_idt_desc));
		halt_forever();
	case GK_SYS_lapic_enable:
		/* xAPIC spurious-interrupt vector register: APIC on, vector 0xff. */
		*(volatile uint32_t *)GK_LAPIC_SVR = 0x1ff;
		return 0;
	case GK_SYS_set_if:
		return set_user_if(a1 != 0);
	case GK_SYS_idle:
		/* STI's one-instruction shadow covers HLT: no wake-up is lost. */
		__asm__ volatile("sti; hlt; cli" ::: "memory");
		return 0;
	case GK_SYS_probe_cs: {
		uint16_t cs;
		__asm__ volatile("mov %%cs, %0" : "=r"(cs));
		return cs;
	}
	case GK_SYS_cpuid: {
		uint32_t r[4];
		cpuid((uint32_t)a1, (uint32_t)a2, r);
		uint32_t *out = (uint32_t *)a3;
		out[0] = r[0];
		out[1] = r[1];
		out[2] = r[2];
		out[3] = r[3];
		return 0;
	}
	}
	return -XEN_ENOSYS;
}

static uint64_t read_cr2(void)
{
	uint64_t v;
	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

/* gk_trap reports an exception and crashes the domain. */
__attribute__((noreturn)) void gk_trap(struct gk_trap_frame *f)
{
	char buf[192];
	uint64_t cpu = 0;

	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(cpu) : "i"(GK_PCPU_ID));
	snprintf(buf, sizeof buf,
		 "guestkit: trap vector %lu error %#lx rip %#lx cr2 %#lx cs %#lx rflags %#lx rsp %#lx vcpu %lu\n",
		 f->vector, f->error, f->rip, read_cr2(), f->cs, f->rflags, f->rsp, cpu);
	kputs(buf);
	if (hypercalls_ready)
		shutdown(SHUTDOWN_crash);
	halt_forever();
}
