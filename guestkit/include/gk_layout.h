/*
 * gk_layout.h: guestkit's own kernel/runtime contract: fixed addresses,
 * selectors, stack sizes and system-call numbers. Safe to include from
 * assembly; link.ld asserts the fixed addresses.
 */
#ifndef GUESTKIT_LAYOUT_H
#define GUESTKIT_LAYOUT_H

#define GK_MAX_VCPUS 64

/* Fixed addresses (link.ld places these sections exactly here). */
#define GK_LOAD_ADDR 0x100000   /* image base: boot code and the Xen note */
#define GK_IDT_STUBS 0x101000   /* exception stubs, GK_STUB_SIZE bytes each */
#define GK_TSS_BASE 0x102000    /* GK_MAX_VCPUS TSSs, GK_TSS_STRIDE bytes apart */
#define GK_STUB_SIZE 16
#define GK_TSS_STRIDE 256
#define GK_TSS_LIMIT (104 + 32) /* TSS, 32-byte I/O bitmap (ports 0-0xff), 0xff end */
#define GK_SPURIOUS_STUB (GK_IDT_STUBS + 32 * GK_STUB_SIZE) /* vectors 32..255 */
#define GK_UPCALL_STUB (GK_IDT_STUBS + 0x240) /* GK_UPCALL_VECTOR */

/*
 * Event-channel upcall vector (HVM_PARAM_CALLBACK_IRQ type 2 or
 * HVMOP_set_evtchn_upcall_vector), as Linux's HYPERVISOR_CALLBACK_VECTOR.
 * The stub EOIs the local APIC and, if it interrupted CPL3 code, makes
 * that code call gk_upcall_trampoline (entry.S) first.
 */
#define GK_UPCALL_VECTOR 0xf3
#define GK_LAPIC_BASE 0xfee00000
#define GK_LAPIC_EOI (GK_LAPIC_BASE + 0xb0)
#define GK_LAPIC_SVR (GK_LAPIC_BASE + 0xf0)

/* GDT selectors (Linux-like user selectors; 0x20 is a 32-bit user code slot). */
#define GK_SEL_KCODE 0x08
#define GK_SEL_KDATA 0x10
#define GK_SEL_UDATA 0x2b
#define GK_SEL_UCODE 0x33
#define GK_SEL_TSS0 0x40 /* vCPU n uses GK_SEL_TSS0 + 16 * n */

/* Stacks. */
#define GK_KSTACK_SIZE 0x2000      /* per vCPU, CPL0 */
#define GK_USTACK0_SIZE 0x10000    /* vCPU 0, CPL3 */
#define GK_USTACK_SIZE 0x4000      /* other vCPUs, CPL3 */

/* Control register values used by every vCPU. */
#define GK_CR0 0x80010033 /* PG WP NE ET MP PE */
#define GK_CR4 0x620      /* OSXMMEXCPT OSFXSR PAE */
#define GK_EFER 0x500     /* LMA LME */
#define GK_USER_RFLAGS 0x3002 /* IOPL 3 (dropped under kvm_pvm: see the TSS I/O bitmap), IF 0 */

/* Offsets in struct gk_percpu (GS base points at it, at CPL0 and CPL3). */
#define GK_PCPU_SELF 0
#define GK_PCPU_ID 8
#define GK_PCPU_UPCALLS 16 /* upcall interrupts taken on this vCPU */
#define GK_PCPU_SIZE 64

/*
 * System calls: int $GK_SYSCALL_VECTOR with RAX = number, args RDI RSI RDX
 * R10 R8, R9 = hypercall number for GK_SYS_hypercall; result RAX.
 * The kernel may clobber RCX, RDI, RSI, RDX, R8-R11.
 */
#define GK_SYSCALL_VECTOR 4
#define GK_SYS_hypercall 0    /* forward hypercall R9 with up to 5 args, from CPL0 */
#define GK_SYS_block 1        /* SCHEDOP_block from CPL0 (idle) */
#define GK_SYS_exit 2         /* exit(code): shutdown as exit() documents */
#define GK_SYS_cpl0_bench 3   /* (n, raw_out, hcall_out): TSC deltas of the loops at CPL0 */
#define GK_SYS_halt 4         /* cli; hlt at CPL0, forever */
#define GK_SYS_triple_fault 5 /* load an empty IDT and fault */
#define GK_SYS_cpuid 6        /* (leaf, subleaf, uint32_t out[4]): CPUID at CPL0 */
#define GK_SYS_probe_cs 7     /* returns CS as seen by the kernel (self-test) */
#define GK_SYS_cpl0_spin 8    /* (n): a compute loop of n iterations at CPL0; returns TSC cycles */
#define GK_SYS_lapic_enable 9 /* software-enable this vCPU's local APIC (SVR = 0x1ff) */
#define GK_SYS_set_if 10      /* (on): RFLAGS.IF of the calling CPL3 code; returns the old value */
#define GK_SYS_idle 11        /* sti; hlt; cli at CPL0: wait for an interrupt */
#define GK_NR_SYSCALLS 12

#endif /* GUESTKIT_LAYOUT_H */
