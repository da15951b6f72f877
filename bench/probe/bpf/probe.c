// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
//go:build ignore

/*
 * Per-VM and per-vCPU KVM counters for Xenolith monitors.
 *
 * vCPU threads are known by thread id: the monitor registers them in the
 * vcpus map (Config.OnVCPUThread), or, for another process, the sys_enter
 * program learns them from the vCPU fd passed to KVM_RUN. Every other
 * program first maps the current thread to (vm, vcpu) and does nothing for
 * threads it does not know. A thread's state, counters, most used access
 * addresses and histograms live in its own slot of the threads array; the
 * vcpus entry names the slot, and a per-CPU cache of the last (thread, slot)
 * seen on the CPU spares the hash lookup on nearly every event. Only
 * programs running on behalf of a thread write its counters (sched_switch
 * writes the incoming thread's, which runs nowhere then), so plain
 * increments are exact. User space sums the slots by vCPU and VM, and folds
 * a slot into its own totals before freeing it. Host-wide events (block
 * requests, MSIs from other threads) live in per-CPU maps; user space sums
 * the CPUs.
 */
#include "kernel.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char __license[] SEC("license") = "Dual BSD/GPL";

#define NR_REASONS 32 /* KVM_EXIT_* reasons kept apart (power of two) */
#define KVM_EXIT_IO 2
#define KVM_EXIT_MMIO 6
#define KVM_RUN 0xae80
#define NR_IOCTL 16 /* x86-64 */
#define AUTO_VM_FLAG 0x80000000u
#define NR_SLOTS 6      /* per-thread access addresses counted in place */
#define NR_THREADS 4096 /* thread slots: the first half registered, the rest learnt */
#define NR_BUCKETS 65   /* log2 histogram buckets (bucket 0: zero) */

/* Access kinds of the ports map. */
enum access {
	ACC_NONE = 0,
	ACC_PIO_OUT = 1,
	ACC_PIO_IN = 2,
	ACC_MMIO_READ = 3,
	ACC_MMIO_WRITE = 4,
};

/* Histogram kinds. */
enum hist_kind {
	H_MONITOR = 0, /* userspace exit -> next KVM_RUN entry (tstate.monitor_hist) */
	H_RUNQ = 1,    /* vCPU thread wakeup (or preemption) -> on CPU (tstate.runq_hist) */
	H_BLOCK = 2,   /* block_rq_issue -> block_rq_complete, host-wide (hists map) */
};

/* Indices into the globals array. */
enum global {
	G_MONITOR_CPU_NS = 0, /* on-CPU time of the monitor's non-vCPU threads */
	G_MSI_MONITOR = 1,    /* MSIs injected by non-vCPU threads of the monitor */
	G_MSI_OTHER = 2,      /* MSIs injected by other processes */
	G_BLOCK_N = 3,        /* block requests completed */
	G_BLOCK_NS = 4,       /* their summed latency */
	G_HITS = 16,          /* + program index: times the tracepoint fired */
	G_MAX = 32,
};

/* Program indices for the hit counters (same order as the Go side). */
enum prog {
	P_USERSPACE_EXIT,
	P_PIO,
	P_MMIO,
	P_EMULATE,
	P_WAKEUP,
	P_MSI,
	P_FPU,
	P_SYS_ENTER,
	P_SCHED_WAKEUP,
	P_SCHED_SWITCH,
	P_RQ_ISSUE,
	P_RQ_COMPLETE,
};

/* vcpu_id names a vCPU: the tracer's VM id and the vCPU index. */
struct vcpu_id {
	__u32 vm;
	__u32 vcpu;
};

/* counters are one vCPU thread's event counts (in its tstates entry). */
struct counters {
	__u64 exits[NR_REASONS]; /* userspace exits by KVM_EXIT_* reason (last slot: larger reasons) */
	__u64 exit_errors;       /* KVM_RUN returned an error (-EINTR after a kick) */
	__u64 pio_user;          /* port accesses answered by the monitor */
	__u64 pio_kernel;        /* port accesses answered in the kernel (ioeventfd, PIT...) */
	__u64 mmio_user;         /* MMIO accesses answered by the monitor */
	__u64 mmio_kernel;       /* MMIO accesses answered in the kernel (LAPIC...) */
	__u64 emulations;        /* instructions emulated by KVM */
	__u64 emulation_failures;
	__u64 wakeups;           /* halts that ended by a wakeup after waiting */
	__u64 halt_polls;        /* halts that ended during halt polling */
	__u64 poll_invalid;      /* wakeups whose polling was judged invalid */
	__u64 halt_ns;           /* time halted, summed over wakeups */
	__u64 injections;        /* MSIs injected from this vCPU's thread */
	__u64 monitor_ns;        /* time in the monitor per userspace exit, summed */
	__u64 monitor_n;
	__u64 runq_ns;           /* run-queue delay, summed */
	__u64 runq_n;
	__u64 oncpu_ns;          /* on-CPU time of the vCPU thread */
};

/*
 * port_slot counts one thread's accesses to one address in place. A slot is
 * taken by the first access that finds no match and keeps its key for the
 * life of the thread; accesses matching no slot when all are taken go to the
 * ports map.
 */
struct port_slot {
	__u64 addr; /* port or guest-physical address */
	__u32 kind; /* enum access; ACC_NONE: slot free */
	__u32 user; /* 1: answered by the monitor, 0: in the kernel */
	__u64 n;    /* accesses counted */
};

/* vthread is a vCPU thread's vcpus entry. */
struct vthread {
	struct vcpu_id id; /* the vCPU */
	__u32 slot;        /* index of its tstate in threads */
	__u32 gen;         /* generation of that slot (tstate.gen) */
};

/* tcache is the per-CPU memory of the last vCPU thread looked up. */
struct tcache {
	__u32 tid;  /* thread id, 0: none */
	__u32 slot; /* its slot in threads */
	__u32 gen;  /* the slot's generation when cached */
	__u32 pad;
};

/* tstate is the per-thread state between events, and the thread's counts. */
struct tstate {
	struct vcpu_id id; /* the thread's vCPU */
	__u32 tid;         /* the thread */
	__u32 gen;         /* nonzero while the slot is in use, new on every use */
	__u64 exit_ts;   /* last userspace exit, 0 once KVM_RUN is entered again */
	__u64 wake_ts;   /* when the thread became runnable, 0 when on CPU */
	__u64 pend_addr; /* port or GPA of the last access not yet classified */
	__u32 pend_kind; /* enum access of it */
	__u32 last_exit; /* reason of the last userspace exit until the next access */
	struct counters c;                /* this thread's event counts */
	struct port_slot ports[NR_SLOTS]; /* its most used access addresses */
	__u64 monitor_hist[NR_BUCKETS];   /* H_MONITOR samples of this thread */
	__u64 runq_hist[NR_BUCKETS];      /* H_RUNQ samples of this thread */
};

/* port_key counts accesses per VM, address and who answered. */
struct port_key {
	__u32 vm;
	__u32 kind; /* enum access */
	__u64 addr; /* port or guest-physical address */
	__u32 user; /* 1: answered by the monitor, 0: in the kernel */
	__u32 pad;
};

/* hist_key is one log2 histogram bucket: [2^(bucket-1), 2^bucket) ns. */
struct hist_key {
	__u32 vm;
	__u16 kind; /* enum hist_key */
	__u16 bucket;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NR_THREADS);
	__type(key, __u32); /* thread id */
	__type(value, struct vthread);
} vcpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_THREADS);
	__type(key, __u32); /* slot */
	__type(value, struct tstate);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tcache);
} tcache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, NR_THREADS / 2);
	__type(key, __u32);   /* a learnt slot, taken by inserting it */
	__type(value, __u32); /* the thread that took it */
} learnt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct port_key);
	__type(value, __u64);
} ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct hist_key);
	__type(value, __u64);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, G_MAX);
	__type(key, __u32);
	__type(value, __u64);
} globals SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64); /* when the running thread got this CPU */
} oncpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64); /* struct request pointer */
	__type(value, __u64); /* issue time */
} rqstart SEC(".maps");

/* Set at load time. */
volatile const __u32 target_tgid = 0; /* the monitor process */
volatile const bool use_fpu = false;  /* kvm_fpu(load) marks KVM_RUN entry */
volatile const bool autoreg = false;  /* learn vCPU threads at KVM_RUN */

static __always_inline void gadd(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&globals, &idx);
	if (v)
		*v += n;
}

static __always_inline void hit(__u32 prog) { gadd(G_HITS + prog, 1); }

static __always_inline void count(void *map, void *key, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, key);
	if (!v) {
		__u64 z = 0;
		bpf_map_update_elem(map, key, &z, BPF_NOEXIST);
		v = bpf_map_lookup_elem(map, key);
		if (!v)
			return;
	}
	*v += n;
}

static __always_inline __u16 log2_bucket(__u64 v)
{
	__u16 r = 0;
	if (!v)
		return 0;
	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r + 1;
}

/* thread_hist adds one sample to a per-thread histogram. */
static __always_inline void thread_hist(__u64 *h, __u64 ns)
{
	__u32 b = log2_bucket(ns);
	if (b < NR_BUCKETS)
		h[b]++;
}

/* vctx is the current thread's identity, state and counters. */
struct vctx {
	struct vcpu_id *id;
	struct tstate *s;
	struct counters *c;
};

/*
 * lookup_tid finds thread tid's slot: from this CPU's cache when it names
 * tid and the slot still has the cached generation (a freed or reused slot
 * has another), else from the vcpus map, then caching it.
 */
static __always_inline bool lookup_tid(__u32 tid, struct vctx *v)
{
	__u32 k = 0;
	struct tcache *tc = bpf_map_lookup_elem(&tcache, &k);
	if (!tc)
		return false;
	struct tstate *s;
	if (tc->tid == tid && tid) {
		__u32 slot = tc->slot;
		s = bpf_map_lookup_elem(&threads, &slot);
		if (s && s->gen == tc->gen)
			goto found;
	}
	struct vthread *vt = bpf_map_lookup_elem(&vcpus, &tid);
	if (!vt)
		return false;
	__u32 slot = vt->slot, gen = vt->gen;
	s = bpf_map_lookup_elem(&threads, &slot);
	if (!s || s->gen != gen || !gen)
		return false;
	tc->tid = tid;
	tc->slot = slot;
	tc->gen = gen;
found:
	v->s = s;
	v->id = &s->id;
	v->c = &s->c;
	return true;
}

static __always_inline bool current_vcpu(struct vctx *v)
{
	return lookup_tid((__u32)bpf_get_current_pid_tgid(), v);
}

/* classify settles the pending access: answered by the monitor or not. */
static __always_inline void classify(struct vctx *v, __u32 user)
{
	__u32 kind = v->s->pend_kind;
	if (kind == ACC_NONE)
		return;
	__u64 addr = v->s->pend_addr;
	bool done = false;
	for (int i = 0; i < NR_SLOTS; i++) {
		struct port_slot *p = &v->s->ports[i];
		if (p->kind == ACC_NONE) {
			p->addr = addr;
			p->user = user;
			p->kind = kind;
		} else if (p->kind != kind || p->addr != addr || p->user != user) {
			continue;
		}
		p->n++;
		done = true;
		break;
	}
	if (!done) {
		struct port_key k = {.vm = v->id->vm, .kind = kind, .addr = addr, .user = user};
		count(&ports, &k, 1);
	}
	if (kind == ACC_PIO_OUT || kind == ACC_PIO_IN) {
		if (user)
			v->c->pio_user++;
		else
			v->c->pio_kernel++;
	} else {
		if (user)
			v->c->mmio_user++;
		else
			v->c->mmio_kernel++;
	}
	v->s->pend_kind = ACC_NONE;
}

static __always_inline void entered(struct vctx *v)
{
	__u64 t = v->s->exit_ts;
	if (!t)
		return;
	__u64 d = bpf_ktime_get_ns() - t;
	v->c->monitor_ns += d;
	v->c->monitor_n++;
	thread_hist(v->s->monitor_hist, d);
	v->s->exit_ts = 0;
}

SEC("raw_tracepoint/kvm_userspace_exit")
int kvm_userspace_exit(struct bpf_raw_tracepoint_args *ctx)
{
	struct vctx v;
	hit(P_USERSPACE_EXIT);
	if (!current_vcpu(&v))
		return 0;
	__u32 reason = (__u32)ctx->args[0];
	if ((int)ctx->args[1] < 0) {
		v.c->exit_errors++;
		classify(&v, 0);
		v.s->last_exit = 0xffffffff;
	} else {
		__u32 idx = reason < NR_REASONS ? reason : NR_REASONS - 1;
		asm volatile("" : "+r"(idx)); /* keep the mask below for the verifier */
		v.c->exits[idx & (NR_REASONS - 1)]++;
		__u32 kind = v.s->pend_kind;
		bool pio = kind == ACC_PIO_OUT || kind == ACC_PIO_IN;
		bool mmio = kind == ACC_MMIO_READ || kind == ACC_MMIO_WRITE;
		classify(&v, (reason == KVM_EXIT_IO && pio) || (reason == KVM_EXIT_MMIO && mmio));
		v.s->last_exit = reason;
	}
	v.s->exit_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("raw_tracepoint/kvm_pio")
int kvm_pio(struct bpf_raw_tracepoint_args *ctx)
{
	struct vctx v;
	hit(P_PIO);
	if (!current_vcpu(&v))
		return 0;
	__u32 rw = (__u32)ctx->args[0];
	__u32 last = v.s->last_exit;
	v.s->last_exit = 0xffffffff;
	/* An IN answered by the monitor is traced again when KVM completes it. */
	if (rw == 0 && last == KVM_EXIT_IO)
		return 0;
	classify(&v, 0);
	v.s->pend_kind = rw ? ACC_PIO_OUT : ACC_PIO_IN;
	v.s->pend_addr = (__u32)ctx->args[1];
	return 0;
}

SEC("raw_tracepoint/kvm_mmio")
int kvm_mmio(struct bpf_raw_tracepoint_args *ctx)
{
	struct vctx v;
	hit(P_MMIO);
	if (!current_vcpu(&v))
		return 0;
	__u32 type = (__u32)ctx->args[0]; /* 0 unsatisfied read, 1 read, 2 write */
	__u32 last = v.s->last_exit;
	v.s->last_exit = 0xffffffff;
	/* A read answered by the monitor is traced again when KVM completes it. */
	if (type == 1 && last == KVM_EXIT_MMIO)
		return 0;
	classify(&v, 0);
	v.s->pend_kind = type == 2 ? ACC_MMIO_WRITE : ACC_MMIO_READ;
	v.s->pend_addr = ctx->args[2];
	return 0;
}

SEC("raw_tracepoint/kvm_emulate_insn")
int kvm_emulate_insn(struct bpf_raw_tracepoint_args *ctx)
{
	struct vctx v;
	hit(P_EMULATE);
	if (!current_vcpu(&v))
		return 0;
	v.c->emulations++;
	if ((__u8)ctx->args[1])
		v.c->emulation_failures++;
	return 0;
}

SEC("raw_tracepoint/kvm_vcpu_wakeup")
int kvm_vcpu_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	struct vctx v;
	hit(P_WAKEUP);
	if (!current_vcpu(&v))
		return 0;
	if ((bool)ctx->args[1]) {
		v.c->wakeups++;
		v.c->halt_ns += ctx->args[0];
	} else {
		v.c->halt_polls++;
	}
	if (!(bool)ctx->args[2])
		v.c->poll_invalid++;
	return 0;
}

SEC("raw_tracepoint/kvm_msi_set_irq")
int kvm_msi_set_irq(void *ctx)
{
	struct vctx v;
	hit(P_MSI);
	if (current_vcpu(&v)) {
		v.c->injections++;
		return 0;
	}
	gadd((__u32)(bpf_get_current_pid_tgid() >> 32) == target_tgid ? G_MSI_MONITOR : G_MSI_OTHER, 1);
	return 0;
}

SEC("raw_tracepoint/kvm_fpu")
int kvm_fpu(struct bpf_raw_tracepoint_args *ctx)
{
	struct vctx v;
	if (!(int)ctx->args[0])
		return 0; /* unload: only loads (entries to KVM_RUN) are counted */
	hit(P_FPU);
	if (!current_vcpu(&v))
		return 0;
	entered(&v);
	return 0;
}

/* learn registers the current thread as the vCPU behind fd. */
static __always_inline void learn(__u32 tid, unsigned long fd)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(t, files, fdt);
	if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
		return;
	struct file **fds = BPF_CORE_READ(fdt, fd);
	struct file *f = 0;
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return;
	struct kvm_vcpu *vc = BPF_CORE_READ(f, private_data);
	if (!vc)
		return;
	struct kvm *k = BPF_CORE_READ(vc, kvm);
	struct vcpu_id id = {
		.vm = AUTO_VM_FLAG | (__u32)((unsigned long)k >> 12),
		.vcpu = BPF_CORE_READ(vc, vcpu_id),
	};
	/* Take a free learnt slot: inserting it into learnt is atomic. */
	__u32 n = 0;
	bool taken = false;
	for (int i = 0; i < 32; i++) {
		n = (tid + i) & (NR_THREADS / 2 - 1);
		if (!bpf_map_update_elem(&learnt, &n, &tid, BPF_NOEXIST)) {
			taken = true;
			break;
		}
	}
	if (!taken)
		return; /* no free learnt slot near: the thread stays untraced */
	/* Learnt slots are never reused: a new slot is all zero. */
	struct vthread vt = {.id = id, .slot = NR_THREADS / 2 + n, .gen = NR_THREADS / 2 + n + 1};
	struct tstate *s = bpf_map_lookup_elem(&threads, &vt.slot);
	if (!s)
		return;
	s->id = id;
	s->tid = tid;
	s->gen = vt.gen;
	bpf_map_update_elem(&vcpus, &tid, &vt, BPF_NOEXIST);
}

SEC("raw_tracepoint/sys_enter")
int sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	hit(P_SYS_ENTER);
	if (ctx->args[1] != NR_IOCTL)
		return 0;
	__u64 pt = bpf_get_current_pid_tgid();
	if ((__u32)(pt >> 32) != target_tgid)
		return 0;
	struct pt_regs *regs = (struct pt_regs *)ctx->args[0];
	if (BPF_CORE_READ(regs, si) != KVM_RUN)
		return 0;
	struct vctx v;
	if (!lookup_tid((__u32)pt, &v)) {
		if (autoreg)
			learn((__u32)pt, BPF_CORE_READ(regs, di));
		return 0;
	}
	if (!use_fpu)
		entered(&v);
	return 0;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(sched_wakeup, struct task_struct *p)
{
	hit(P_SCHED_WAKEUP);
	if ((__u32)p->tgid != target_tgid)
		return 0;
	struct vctx v;
	if (lookup_tid(p->pid, &v) && !v.s->wake_ts)
		v.s->wake_ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next,
	     unsigned int prev_state)
{
	hit(P_SCHED_SWITCH);
	__u64 now = bpf_ktime_get_ns();
	__u32 k = 0;
	__u64 *start = bpf_map_lookup_elem(&oncpu, &k);
	if (!start)
		return 0;
	__u64 began = *start;
	*start = now;
	struct vctx v;
	if ((__u32)prev->tgid == target_tgid) {
		if (lookup_tid(prev->pid, &v)) {
			if (began)
				v.c->oncpu_ns += now - began;
			/* Preempted while runnable: waiting for a CPU from now. */
			if (prev_state == 0)
				v.s->wake_ts = now;
		} else if (began) {
			gadd(G_MONITOR_CPU_NS, now - began);
		}
	}
	if ((__u32)next->tgid == target_tgid && lookup_tid(next->pid, &v)) {
		__u64 w = v.s->wake_ts;
		if (w && now > w) {
			v.c->runq_ns += now - w;
			v.c->runq_n++;
			thread_hist(v.s->runq_hist, now - w);
		}
		v.s->wake_ts = 0;
	}
	return 0;
}

SEC("tp_btf/block_rq_issue")
int BPF_PROG(block_rq_issue, struct request *rq)
{
	hit(P_RQ_ISSUE);
	__u64 key = (__u64)rq, now = bpf_ktime_get_ns();
	bpf_map_update_elem(&rqstart, &key, &now, BPF_ANY);
	return 0;
}

SEC("tp_btf/block_rq_complete")
int BPF_PROG(block_rq_complete, struct request *rq, int error, unsigned int nr_bytes)
{
	hit(P_RQ_COMPLETE);
	__u64 key = (__u64)rq;
	__u64 *t = bpf_map_lookup_elem(&rqstart, &key);
	if (!t)
		return 0;
	__u64 d = bpf_ktime_get_ns() - *t;
	bpf_map_delete_elem(&rqstart, &key);
	gadd(G_BLOCK_N, 1);
	gadd(G_BLOCK_NS, d);
	struct hist_key hk = {.kind = H_BLOCK, .bucket = log2_bucket(d)};
	count(&hists, &hk, 1);
	return 0;
}
