/*
 * gk_arch.h: x86-64 helpers and the hypercall-page call, shared by the
 * CPL0 kernel and the CPL3 runtime (one address space, one image).
 */
#ifndef GUESTKIT_ARCH_H
#define GUESTKIT_ARCH_H

#include <stdint.h>

#include "xenolith.h"

/* hypercall_page is filled by the monitor after the WRMSR at boot. */
extern uint8_t hypercall_page[4096];

/* rdtsc returns the time-stamp counter (native at CPL3 on this host). */
static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* cpu_relax is the spin-wait hint. */
static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* cpuid runs CPUID; at CPL3 this host returns its own view, not the monitor's. */
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

/* outl writes a 32-bit value to an I/O port (CPL3 may: IOPL is 3). */
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %w1" ::"a"(v), "Nd"(port) : "memory");
}

/* outb writes a byte to an I/O port. */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %w1" ::"a"(v), "Nd"(port) : "memory");
}

/* raw_exit does one OUT to the raw-exit port: the benchmark floor. */
static inline void raw_exit(void)
{
	__asm__ volatile("outl %%eax, %0" ::"i"(XENOLITH_PORT_RAW) : "rax", "memory");
}

/*
 * _hypercall5 calls slot nr of the hypercall page with Xen's 64-bit
 * register convention. Our stubs clobber only RAX; the argument registers
 * are still marked as clobbered, as Xen itself may change them.
 */
static inline long _hypercall5(unsigned nr, uint64_t a1, uint64_t a2, uint64_t a3,
			       uint64_t a4, uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	long ret;
	__asm__ volatile("call *%[fn]"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
			 : [fn] "r"(hypercall_page + 32 * (uint64_t)nr)
			 : "memory");
	return ret;
}

#define _hypercall1(nr, a1) _hypercall5(nr, (uint64_t)(a1), 0, 0, 0, 0)
#define _hypercall2(nr, a1, a2) _hypercall5(nr, (uint64_t)(a1), (uint64_t)(a2), 0, 0, 0)
#define _hypercall3(nr, a1, a2, a3) \
	_hypercall5(nr, (uint64_t)(a1), (uint64_t)(a2), (uint64_t)(a3), 0, 0)

#endif /* GUESTKIT_ARCH_H */
