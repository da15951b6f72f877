/*
 * guestkit.h: the CPL3 runtime API for guestkit programs.
 *
 * A program defines int main(int argc, char **argv); the runtime parses the
 * PVH command line into argv (argv[0] is the program name), sends the test
 * mark "main", calls main and then exit() with its result.
 */
#ifndef GUESTKIT_H
#define GUESTKIT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "gk_arch.h"
#include "gk_layout.h"
#include "xen.h"
#include "xenolith.h"

/* ---- strings and formatting (lib/string.c, lib/printf.c) ---- */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *hay, const char *needle);
/* strtou64 parses decimal or 0x-hex; *ok is set to 0 on junk or overflow. */
uint64_t strtou64(const char *s, int *ok);

/* Formats: %d %i %u %x %X %o %c %s %p %% with l/ll/z/h, width or *, '-', '0', '#', %.Ns. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* printf writes through console_write, one write per call. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * console_write writes n bytes with console_io (one hypercall), or to the
 * PV console ring after console_use_ring (gk_pv.h); returns 0 or the
 * hypercall's error.
 */
long console_write(const char *s, size_t n);

/* gk_arg_u64 returns the value of the first "key=N" argument, or def. */
uint64_t gk_arg_u64(int argc, char **argv, const char *key, uint64_t def);

/* gk_sort_u64 sorts ascending in place (heapsort, no recursion). */
void gk_sort_u64(uint64_t *v, size_t n);

/* ---- hypercalls made directly from CPL3 through the page ---- */
static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_xen_version, cmd, arg);
}
static inline long HYPERVISOR_console_io(int cmd, unsigned count, const void *buf)
{
	return _hypercall3(__HYPERVISOR_console_io, cmd, count, buf);
}
static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_sched_op, cmd, arg);
}
static inline long HYPERVISOR_vcpu_op(int cmd, unsigned vcpu, void *arg)
{
	return _hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, arg);
}
static inline long HYPERVISOR_hvm_op(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_hvm_op, cmd, arg);
}
static inline long HYPERVISOR_memory_op(int cmd, void *arg)
{
	return _hypercall2(__HYPERVISOR_memory_op, cmd, arg);
}

/* ---- system calls into the CPL0 kernel ---- */
static inline long gk_syscall6(long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			       uint64_t a5, uint64_t a6)
{
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	register uint64_t r9 __asm__("r9") = a6;
	long ret;
	__asm__ volatile("int %[vec]"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8), "+r"(r9)
			 : "0"(nr), [vec] "i"(GK_SYSCALL_VECTOR)
			 : "rcx", "r11", "memory");
	return ret;
}

/* sys_probe_cs returns the code selector the kernel runs with (0x08 = CPL0). */
static inline long sys_probe_cs(void)
{
	return gk_syscall6(GK_SYS_probe_cs, 0, 0, 0, 0, 0, 0);
}
/* sys_hypercall forwards hypercall nr through the CPL0 kernel. */
static inline long sys_hypercall(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3,
				 uint64_t a4, uint64_t a5)
{
	return gk_syscall6(GK_SYS_hypercall, a1, a2, a3, a4, a5, nr);
}
/* sys_block idles this vCPU with SCHEDOP_block made at CPL0. */
static inline long sys_block(void)
{
	return gk_syscall6(GK_SYS_block, 0, 0, 0, 0, 0, 0);
}
/* sys_cpuid runs CPUID at CPL0, where the monitor's leaves are visible. */
static inline void sys_cpuid(uint32_t leaf, uint32_t sub, uint32_t out[4])
{
	gk_syscall6(GK_SYS_cpuid, leaf, sub, (uint64_t)out, 0, 0, 0);
}
/* sys_cpl0_bench fills raw[n] and hcall[n] with TSC deltas measured at CPL0. */
static inline long sys_cpl0_bench(uint64_t n, uint64_t *raw, uint64_t *hcall)
{
	return gk_syscall6(GK_SYS_cpl0_bench, n, (uint64_t)raw, (uint64_t)hcall, 0, 0, 0);
}
/* sys_cpl0_spin runs n iterations of a compute loop at CPL0 and returns its TSC cycles. */
static inline uint64_t sys_cpl0_spin(uint64_t n)
{
	return (uint64_t)gk_syscall6(GK_SYS_cpl0_spin, n, 0, 0, 0, 0, 0);
}

/* sys_lapic_enable software-enables this vCPU's local APIC (needed for upcall MSIs). */
static inline long sys_lapic_enable(void)
{
	return gk_syscall6(GK_SYS_lapic_enable, 0, 0, 0, 0, 0, 0);
}
/*
 * sys_set_if sets RFLAGS.IF of this vCPU's CPL3 code (interrupts at CPL3 on
 * or off; off at start) and returns the previous setting.
 */
static inline long sys_set_if(int on)
{
	return gk_syscall6(GK_SYS_set_if, (uint64_t)on, 0, 0, 0, 0, 0);
}
/* sys_idle waits at CPL0 with interrupts on (sti; hlt) for one interrupt. */
static inline long sys_idle(void)
{
	return gk_syscall6(GK_SYS_idle, 0, 0, 0, 0, 0, 0);
}
/* sys_halt does cli; hlt at CPL0 on this vCPU, for good. */
static inline __attribute__((noreturn)) void sys_halt(void)
{
	gk_syscall6(GK_SYS_halt, 0, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}
/* sys_triple_fault loads an empty IDT and faults. */
static inline __attribute__((noreturn)) void sys_triple_fault(void)
{
	gk_syscall6(GK_SYS_triple_fault, 0, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

/*
 * exit ends the domain: 0 -> SCHEDOP_shutdown(poweroff); otherwise
 * SCHEDOP_shutdown_code(code), then SCHEDOP_shutdown(crash). Made at CPL0.
 */
__attribute__((noreturn)) void exit(int code);

/* ---- vCPUs (lib/smp.c) ---- */
/* this_cpu returns the vCPU index (GS base points at the per-vCPU block). */
static inline unsigned this_cpu(void)
{
	uint64_t id;
	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(id) : "i"(GK_PCPU_ID));
	return (unsigned)id;
}
/* gk_nr_vcpus counts vCPUs with VCPUOP_is_up until -ENOENT (cached). */
unsigned gk_nr_vcpus(void);
/*
 * smp_start brings up every other vCPU with VCPUOP_initialise + VCPUOP_up;
 * each runs fn(cpu) at CPL3 and then idles in SCHEDOP_block. Returns the
 * vCPU count, or a negative Xen errno.
 */
long smp_start(void (*fn)(unsigned cpu));
/* gk_user_stack_top is the initial CPL3 stack of vCPU cpu. */
uint64_t gk_user_stack_top(unsigned cpu);

/* atomic_add adds v to *p and returns the new value. */
static inline uint64_t atomic_add(volatile uint64_t *p, uint64_t v)
{
	return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST);
}
/* atomic_cmpxchg stores nv if *p == old; returns the value *p held. */
static inline uint64_t atomic_cmpxchg(volatile uint64_t *p, uint64_t old, uint64_t nv)
{
	__atomic_compare_exchange_n(p, &old, nv, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	return old;
}
/* atomic_load reads *p once. */
static inline uint64_t atomic_load(const volatile uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

/* ---- boot information ---- */
extern const struct hvm_start_info *gk_start_info;
extern const char gk_prog_name[]; /* generated per program by the Makefile */

/* ---- test protocol (port 0xc8, docs/guest-abi.md) ---- */
extern unsigned long gk_tests_passed, gk_tests_failed;

void gk_t_report(unsigned kind, const char *file, int line, const char *msg, uint64_t value);
void gk_t_expect(int ok, const char *file, int line, const char *expr);
void gk_t_expect_eq(int64_t a, int64_t b, const char *file, int line, const char *ea,
		    const char *eb);
__attribute__((noreturn)) void gk_t_abort(const char *file, int line, const char *msg);

#define T_PASS() gk_t_report(XENOLITH_TEST_PASS, __FILE__, __LINE__, "pass", 0)
#define T_EXPECT(cond) gk_t_expect(!!(cond), __FILE__, __LINE__, #cond)
#define T_EXPECT_EQ(a, b) \
	gk_t_expect_eq((int64_t)(a), (int64_t)(b), __FILE__, __LINE__, #a, #b)
#define T_ABORT(msg) gk_t_abort(__FILE__, __LINE__, (msg))
#define T_SKIP(msg) gk_t_report(XENOLITH_TEST_SKIP, __FILE__, __LINE__, (msg), 0)
#define T_METRIC(name, value) \
	gk_t_report(XENOLITH_TEST_METRIC, __FILE__, __LINE__, (name), (uint64_t)(value))
#define T_MARK(name) gk_t_report(XENOLITH_TEST_MARK, __FILE__, __LINE__, (name), 0)
/* T_SERIES reports a struct xenolith_series (count, then count values). */
#define T_SERIES(name, series) \
	gk_t_report(XENOLITH_TEST_SERIES, __FILE__, __LINE__, (name), (uint64_t)(series))

/* GK_SERIES declares storage for a series of up to cap values. */
#define GK_SERIES(var, cap)             \
	struct {                        \
		uint64_t count;         \
		uint64_t v[(cap)];      \
	} var

int main(int argc, char **argv);

/* gk_once runs fn exactly once, whichever vCPU gets there first; the others
 * wait for it. Every caller gets fn's result. */
struct gk_once {
	volatile uint32_t state; /* 0 not run, 1 running, 2 done */
	int result;
};
int gk_once(struct gk_once *o, int (*fn)(void));

#endif /* GUESTKIT_H */
