/* kernel.h: declarations shared by the CPL0 kernel's C files and entry.S. */
#ifndef GUESTKIT_KERNEL_H
#define GUESTKIT_KERNEL_H

#include <stdint.h>

#include "gk_layout.h"

/* struct gk_percpu is what GS base points at on each vCPU (CPL0 and CPL3). */
struct gk_percpu {
	struct gk_percpu *self; /* own address, for %gs:0 loads */
	uint64_t id;            /* vCPU index */
	uint64_t upcalls;       /* upcall interrupts taken (incremented by the stub) */
	uint64_t pad[5];        /* to GK_PCPU_SIZE */
};
_Static_assert(sizeof(struct gk_percpu) == GK_PCPU_SIZE, "gk_percpu size");
_Static_assert(__builtin_offsetof(struct gk_percpu, self) == GK_PCPU_SELF, "gk_percpu.self");
_Static_assert(__builtin_offsetof(struct gk_percpu, id) == GK_PCPU_ID, "gk_percpu.id");
_Static_assert(__builtin_offsetof(struct gk_percpu, upcalls) == GK_PCPU_UPCALLS, "gk_percpu.upcalls");

/* Interrupt frame the CPU pushes (64-bit mode always pushes SS:RSP). */
struct gk_iret_frame {
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Trap frame built by the exception stubs and the CPU. */
struct gk_trap_frame {
	uint64_t vector; /* pushed by the stub */
	uint64_t error;  /* pushed by the CPU or 0 from the stub */
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

extern struct gk_percpu gk_percpu[GK_MAX_VCPUS];
/* gk_upcall_fn is what gk_upcall_trampoline calls at CPL3 (NULL: nothing). */
extern void (*volatile gk_upcall_fn)(void);
extern uint8_t gk_kstacks[], gk_ustack0[], gk_ustacks[];
extern uint64_t gk_pml4[];
extern const uint8_t gk_idt_desc[], gk_empty_idt_desc[];

void gk_ap_entry64(void);
__attribute__((noreturn)) void gk_enter_user(uint64_t rip, uint64_t rsp, uint64_t arg0,
					     uint64_t arg1);

/* Runtime entry points at CPL3 (lib/start.c). */
__attribute__((noreturn)) void gk_user_start(uint64_t start_info);
__attribute__((noreturn)) void gk_ap_user_start(uint64_t cpu);

#endif /* GUESTKIT_KERNEL_H */
