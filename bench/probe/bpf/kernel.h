/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The few kernel types the probes read, declared by hand instead of a full
 * vmlinux.h. preserve_access_index makes every field access a CO-RE
 * relocation, resolved at load time against /sys/kernel/btf/vmlinux, so only
 * the names (not the offsets) below must match the running kernel.
 */
#ifndef XENOLITH_PROBE_KERNEL_H
#define XENOLITH_PROBE_KERNEL_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef _Bool bool;
#define true 1
#define false 0

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
	BPF_MAP_TYPE_PERCPU_HASH = 5,
	BPF_MAP_TYPE_PERCPU_ARRAY = 6,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
};

enum {
	BPF_F_NO_PREALLOC = 1, /* map flag: allocate hash entries on insert */
};

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct task_struct {
	int pid;          /* thread id */
	int tgid;         /* process id */
	unsigned int __state;
	struct files_struct *files;
};

struct pt_regs {
	unsigned long di; /* syscall argument 1 */
	unsigned long si; /* syscall argument 2 */
};

struct files_struct {
	struct fdtable *fdt;
};

struct fdtable {
	unsigned int max_fds;
	struct file **fd;
};

struct file {
	void *private_data; /* a struct kvm_vcpu for a vCPU fd */
};

struct kvm;

struct kvm_vcpu {
	struct kvm *kvm;
	int vcpu_id;
};

struct request;

#pragma clang attribute pop

/* The context of a raw tracepoint program (UAPI). */
struct bpf_raw_tracepoint_args {
	__u64 args[0];
};

#endif
