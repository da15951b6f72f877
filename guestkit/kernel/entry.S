/*
 * entry.S: PVH entry, long-mode switch, AP entry, exception stubs,
 * system-call entry and the static descriptor tables.
 *
 * Every CPL0 instruction is emulated (~1 us each) on the development host,
 * so everything that can be data is data: page tables, GDT, IDT and TSSs
 * are assembled here and the boot path only loads them.
 */
#include "gk_layout.h"
#include "xenolith.h"

#define MSR_EFER 0xc0000080
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define XEN_HYPERCALL_SLOTS 128

/* PVH entry point note: name "Xen", type 18, 32-bit physical address. */
	.section .note.Xen, "a"
	.balign 4
	.long 4
	.long 4
	.long XEN_ELFNOTE_PHYS32_ENTRY
	.asciz "Xen"
	.long pvh_entry

/* ---- boot vCPU: 32-bit protected mode, paging off, EBX = start_info ---- */
	.section .text.boot, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	movl %ebx, %esi
	movl $gk_pml4, %eax
	movl %eax, %cr3
	movl $GK_CR4, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	movl $(GK_EFER & ~0x400), %eax	/* LMA is set by the CPU */
	xorl %edx, %edx
	wrmsr
	movl $GK_CR0, %eax
	movl %eax, %cr0
	lgdt gk_gdt_desc
	ljmp $GK_SEL_KCODE, $boot64

	.code64
boot64:
	movl $GK_SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $(gk_kstacks + GK_KSTACK_SIZE), %rsp
	movl %esi, %edi
	call gk_kernel_boot
1:	cli
	hlt
	jmp 1b

/*
 * ---- secondary vCPU, started by VCPUOP_initialise in 64-bit mode ----
 * RDI = vCPU index, RSP = its kernel stack top; GDTR/IDTR/TR are not ours yet.
 */
	.text
	.globl gk_ap_entry64
gk_ap_entry64:
	lgdt gk_gdt_desc(%rip)
	pushq $GK_SEL_KCODE
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	movl $GK_SEL_KDATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	call gk_kernel_ap
2:	cli
	hlt
	jmp 2b

/*
 * gk_enter_user(rip, stack_top, arg0, arg1): iretq to CPL3 with IOPL 3.
 * RSP starts 8 below the 16-byte aligned top, as after a call.
 */
	.globl gk_enter_user
gk_enter_user:
	subq $8, %rsi
	pushq $GK_SEL_UDATA
	pushq %rsi
	pushq $GK_USER_RFLAGS
	pushq $GK_SEL_UCODE
	pushq %rdi
	movq %rdx, %rdi
	movq %rcx, %rsi
	iretq

/*
 * ---- system calls: int $GK_SYSCALL_VECTOR (vector 4, DPL 3) ----
 * RAX = number, RDI RSI RDX R10 R8 = args, R9 = hypercall number for
 * GK_SYS_hypercall; result in RAX. The CPU switched to TSS.RSP0.
 * SYS_hypercall is forwarded here without C. Vector 4 is #OF, which only
 * INTO raises, and INTO does not exist in 64-bit mode.
 */
	.globl gk_sysint_entry
gk_sysint_entry:
	testq %rax, %rax
	jnz 2f
	cmpq $XEN_HYPERCALL_SLOTS, %r9
	jae 1f
	movq %r9, %rax
	shlq $5, %rax
	addq $hypercall_page, %rax
	call *%rax
	iretq
1:	movq $-38, %rax			/* -ENOSYS: no such slot */
	iretq
2:	subq $8, %rsp			/* 16-byte alignment for C */
	movq %r10, %rcx
	movq %rax, %r9
	call gk_syscall
	addq $8, %rsp
	iretq

/*
 * gk_upcall_trampoline runs at CPL3 after an upcall interrupted CPL3 code;
 * the interrupted RIP is on the stack. It saves what the C ABI lets a call
 * clobber (flags, the caller-saved registers, x87/SSE state with fxsave,
 * which is native at CPL3 but #UD in this host's CPL0 emulator), calls
 * gk_upcall_fn if set, restores everything and returns to the interrupted
 * code. Interrupts stay enabled: a nested upcall comes back here, and the
 * handler's per-vCPU busy flag makes it return at once.
 */
	.globl gk_upcall_trampoline
gk_upcall_trampoline:
	pushfq
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %rbx
	movq %rsp, %rbx
	subq $512, %rsp
	andq $-64, %rsp
	fxsave64 (%rsp)
	cld
	movq gk_upcall_fn(%rip), %rax
	testq %rax, %rax
	jz 1f
	call *%rax
1:	fxrstor64 (%rsp)
	movq %rbx, %rsp
	popq %rbx
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	popfq
	ret

/* Exceptions: frame = vector, error code, RIP, CS, RFLAGS, RSP, SS. */
gk_trap_common:
	movq %rsp, %rdi
	andq $-16, %rsp
	call gk_trap
3:	cli
	hlt
	jmp 3b

/* ---- exception stubs at a fixed address, so the IDT can be data ---- */
	.section .text.idt, "ax"
	.globl gk_idt_stubs
gk_idt_stubs:
	.set vec, 0
	.rept 32
	.org vec * GK_STUB_SIZE
	.if vec == GK_SYSCALL_VECTOR
	jmp gk_sysint_entry
	.else
	.if !(vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	pushq $0
	.endif
	pushq $vec
	jmp gk_trap_common
	.endif
	.set vec, vec + 1
	.endr
	.org 32 * GK_STUB_SIZE
	.globl gk_spurious_stub
gk_spurious_stub:
	iretq
	.org 33 * GK_STUB_SIZE

/*
 * Event-channel upcall (GK_UPCALL_VECTOR): EOI the local APIC (the monitor
 * injects a fixed MSI; on Xen's vector callback the write is harmless) and
 * count. If the interrupt hit CPL3 code, return to gk_upcall_trampoline
 * with the interrupted RIP pushed on the user stack, like a signal: the
 * event handlers then run at CPL3 (natively on this host) with the user's
 * registers saved. From CPL0 (the idle system call) just return.
 * Frame: RIP, CS, RFLAGS, RSP, SS.
 */
	.org GK_UPCALL_STUB - GK_IDT_STUBS
	.globl gk_upcall_stub
gk_upcall_stub:
	pushq %rax
	incq %gs:GK_PCPU_UPCALLS
	movl $GK_LAPIC_EOI, %eax
	movl $0, (%rax)
	testb $3, 16(%rsp)		/* CS of the interrupted code */
	jz 1f
	pushq %rdx
	movq 40(%rsp), %rax		/* user RSP */
	subq $8, %rax
	movq 16(%rsp), %rdx		/* user RIP */
	movq %rdx, (%rax)
	movq %rax, 40(%rsp)
	movq $gk_upcall_trampoline, 16(%rsp)
	popq %rdx
1:	popq %rax
	iretq

/* ---- TSSs at a fixed address, so the GDT can be data ---- */
	.section .data.tss, "aw"
	.globl gk_tss
gk_tss:
	.set i, 0
	.rept GK_MAX_VCPUS
	.org i * GK_TSS_STRIDE + 4
	.quad gk_kstacks + (i + 1) * GK_KSTACK_SIZE	/* RSP0 */
	.org i * GK_TSS_STRIDE + 102
	.short 104					/* I/O bitmap offset */
	/* I/O bitmap for ports 0-0xff: 0 = allowed at CPL3 (0xc0-0xcf, 0xe9). */
	.fill 0x18, 1, 0xff
	.byte 0x00					/* 0xc0-0xc7 */
	.byte 0x00					/* 0xc8-0xcf (0xcc: doorbell) */
	.fill 3, 1, 0xff
	.byte 0xfd					/* 0xe9 */
	.fill 2, 1, 0xff
	.byte 0xff					/* terminator */
	.set i, i + 1
	.endr
	.org GK_MAX_VCPUS * GK_TSS_STRIDE

	.data
/* GDT: null, kernel code/data, user code32/data/code64, then one TSS per vCPU. */
	.balign 16
	.globl gk_gdt
gk_gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08 kernel code, 64-bit */
	.quad 0x00cf93000000ffff	/* 0x10 kernel data */
	.quad 0				/* 0x18 unused */
	.quad 0x00cffb000000ffff	/* 0x20 user code, 32-bit (unused) */
	.quad 0x00cff3000000ffff	/* 0x28 user data */
	.quad 0x00affb000000ffff	/* 0x30 user code, 64-bit */
	.quad 0				/* 0x38 unused */
	.set i, 0
	.rept GK_MAX_VCPUS
	.set base, GK_TSS_BASE + i * GK_TSS_STRIDE
	.short GK_TSS_LIMIT
	.short base & 0xffff
	.byte (base >> 16) & 0xff
	.byte 0x89			/* present, 64-bit TSS (available) */
	.byte 0
	.byte (base >> 24) & 0xff
	.long 0
	.long 0
	.set i, i + 1
	.endr
gk_gdt_end:

	.balign 8
	.globl gk_gdt_desc
gk_gdt_desc:
	.short gk_gdt_end - gk_gdt - 1
	.quad gk_gdt

/* IDT: 0-31 exception stubs (4 = system calls, DPL 3), the upcall vector, the rest spurious. */
	.balign 16
	.globl gk_idt
gk_idt:
	.set vec, 0
	.rept 256
	.if vec < 32
	.set off, GK_IDT_STUBS + vec * GK_STUB_SIZE
	.elseif vec == GK_UPCALL_VECTOR
	.set off, GK_UPCALL_STUB
	.else
	.set off, GK_SPURIOUS_STUB
	.endif
	.if vec == GK_SYSCALL_VECTOR || vec == 3
	.set attr, 0xee			/* interrupt gate, DPL 3 */
	.else
	.set attr, 0x8e			/* interrupt gate, DPL 0 */
	.endif
	.short off & 0xffff
	.short GK_SEL_KCODE
	.byte 0
	.byte attr
	.short (off >> 16) & 0xffff
	.long 0
	.long 0
	.set vec, vec + 1
	.endr
gk_idt_end:

	.balign 8
	.globl gk_idt_desc
gk_idt_desc:
	.short gk_idt_end - gk_idt - 1
	.quad gk_idt
	.balign 8
	.globl gk_empty_idt_desc
gk_empty_idt_desc:
	.short 0
	.quad 0

/* Page tables: identity map of 0-4 GiB with 2 MiB pages, user-accessible. */
	.section .data.pagetables, "aw"
	.balign 4096
	.globl gk_pml4
gk_pml4:
	.quad gk_pdpt + 0x27		/* P RW US A */
	.fill 511, 8, 0
gk_pdpt:
	.quad gk_pd + 0x0000 + 0x27
	.quad gk_pd + 0x1000 + 0x27
	.quad gk_pd + 0x2000 + 0x27
	.quad gk_pd + 0x3000 + 0x27
	.fill 508, 8, 0
gk_pd:
	.set i, 0
	.rept 2048
	.quad (i << 21) | 0xe7		/* P RW US A D PS */
	.set i, i + 1
	.endr

/* Zero-filled by the loader (p_memsz > p_filesz); never cleared here. */
	.section .bss.page, "aw", @nobits
	.balign 4096
	.globl hypercall_page
hypercall_page:
	.skip 4096
	.globl gk_kstacks
gk_kstacks:
	.skip GK_MAX_VCPUS * GK_KSTACK_SIZE
	.globl gk_ustack0
gk_ustack0:
	.skip GK_USTACK0_SIZE
	.globl gk_ustacks
gk_ustacks:
	.skip (GK_MAX_VCPUS - 1) * GK_USTACK_SIZE
	.globl gk_ustacks_end
gk_ustacks_end:

	.section .note.GNU-stack, "", @progbits
