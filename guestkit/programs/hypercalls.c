/*
 * hypercalls: conformance tests of the hypercalls a PVH guest makes, with
 * the errno each case gets from Xen itself (see the comments per case).
 */
#include "guestkit.h"

#define BAD_GVA 0xdead00000000ull    /* non-canonical: never mapped */
#define UNMAPPED_GVA 0x140000000ull  /* canonical, above guestkit's 4 GiB map */

/* nul_within reports whether s has a NUL in its first n bytes. */
static int nul_within(const char *s, size_t n)
{
	return strnlen(s, n) < n;
}

static void test_xen_version(void)
{
	long ver = HYPERVISOR_xen_version(XENVER_version, NULL);
	T_EXPECT(ver > 0);
	T_EXPECT((ver >> 16) >= 3);

	/* The same call forwarded by the CPL0 kernel gives the same answer. */
	T_EXPECT_EQ(sys_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0), ver);

	static xen_extraversion_t extra;
	memset(extra, 0xff, sizeof extra);
	T_EXPECT_EQ(HYPERVISOR_xen_version(XENVER_extraversion, extra), 0);
	T_EXPECT(nul_within(extra, sizeof extra));

	static struct xen_compile_info ci;
	memset(&ci, 0xff, sizeof ci);
	T_EXPECT_EQ(HYPERVISOR_xen_version(XENVER_compile_info, &ci), 0);
	T_EXPECT(nul_within(ci.compiler, sizeof ci.compiler));
	T_EXPECT(nul_within(ci.compile_by, sizeof ci.compile_by));
	T_EXPECT(nul_within(ci.compile_domain, sizeof ci.compile_domain));
	T_EXPECT(nul_within(ci.compile_date, sizeof ci.compile_date));

	static xen_capabilities_info_t caps;
	memset(caps, 0xff, sizeof caps);
	T_EXPECT_EQ(HYPERVISOR_xen_version(XENVER_capabilities, caps), 0);
	T_EXPECT(nul_within(caps, sizeof caps));
	T_EXPECT(strstr(caps, "hvm-3.0-x86_64") != NULL);

	struct xen_feature_info fi = {.submap_idx = 0, .submap = 0};
	T_EXPECT_EQ(HYPERVISOR_xen_version(XENVER_get_features, &fi), 0);
	T_EXPECT(fi.submap & (1u << XENFEAT_auto_translated_physmap));
	/* kernel.c: only submap 0 exists; any other index is -EINVAL. */
	fi.submap_idx = 1;
	T_EXPECT_EQ(HYPERVISOR_xen_version(XENVER_get_features, &fi), -XEN_EINVAL);

	/* kernel.c: pagesize takes a NULL handle and returns PAGE_SIZE. */
	T_EXPECT_EQ(HYPERVISOR_xen_version(XENVER_pagesize, NULL), 4096);

	/* kernel.c: copy_to_guest failure -> -EFAULT. */
	T_EXPECT_EQ(HYPERVISOR_xen_version(XENVER_extraversion, (void *)BAD_GVA), -XEN_EFAULT);
	T_EXPECT_EQ(HYPERVISOR_xen_version(XENVER_extraversion, (void *)UNMAPPED_GVA),
		    -XEN_EFAULT);
}

static void test_console_io(void)
{
	static const char line[] = "hypercalls: console_io write\n";
	T_EXPECT_EQ(HYPERVISOR_console_io(CONSOLEIO_write, sizeof line - 1, line), 0);

	static char buf[64];
	long rc = HYPERVISOR_console_io(CONSOLEIO_read, sizeof buf, buf);
	T_EXPECT(rc >= 0 && rc <= (long)sizeof buf);

	/* console.c: copy_from_guest failure while writing -> -EFAULT. */
	T_EXPECT_EQ(HYPERVISOR_console_io(CONSOLEIO_write, 4, (void *)BAD_GVA), -XEN_EFAULT);
	T_EXPECT_EQ(HYPERVISOR_console_io(CONSOLEIO_write, 4, (void *)UNMAPPED_GVA), -XEN_EFAULT);
}

static void test_sched_op(void)
{
	T_EXPECT_EQ(HYPERVISOR_sched_op(SCHEDOP_yield, NULL), 0);

	/* sched/core.c do_poll: more than 128 ports -> -EINVAL. */
	static uint32_t ports[1];
	struct sched_poll poll = {.ports = (uint64_t)ports, .nr_ports = 129, .timeout = 0};
	T_EXPECT_EQ(HYPERVISOR_sched_op(SCHEDOP_poll, &poll), -XEN_EINVAL);

	/*
	 * Xen does not check the shutdown reason (domain_shutdown takes any u8),
	 * so a bad reason would shut the domain down; a bad argument address
	 * is refused before anything happens: copy_from_guest -> -EFAULT.
	 */
	T_EXPECT_EQ(HYPERVISOR_sched_op(SCHEDOP_shutdown, (void *)BAD_GVA), -XEN_EFAULT);
	T_EXPECT_EQ(HYPERVISOR_sched_op(SCHEDOP_shutdown_code, (void *)BAD_GVA), -XEN_EFAULT);
	/* do_sched_op: unknown command -> -ENOSYS. */
	T_EXPECT_EQ(HYPERVISOR_sched_op(99, NULL), -XEN_ENOSYS);
}

static void test_hvm_op(void)
{
	struct xen_hvm_param p = {.domid = DOMID_SELF, .index = HVM_NR_PARAMS};

	/* hvm.c hvmop_get_param: index >= HVM_NR_PARAMS -> -EINVAL. */
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_get_param, &p), -XEN_EINVAL);
	p.index = 1000;
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_get_param, &p), -XEN_EINVAL);

	/* CALLBACK_IRQ is guest-settable and guest-readable; round trip it. */
	const uint64_t via = (HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | 0xf3;
	p = (struct xen_hvm_param){.domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
				   .value = via};
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_set_param, &p), 0);
	p.value = 0;
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_get_param, &p), 0);
	T_EXPECT_EQ(p.value, via);
	p.value = 0;
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_set_param, &p), 0);

	/* hvm.c: rcu_lock_domain_by_any_id() finds no such domain -> -ESRCH. */
	p = (struct xen_hvm_param){.domid = 0x7fe0, .index = HVM_PARAM_CALLBACK_IRQ};
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_get_param, &p), -XEN_ESRCH);
}

static void test_memory_map(void)
{
	static struct xen_e820_entry e820[32];
	struct xen_memory_map map = {.nr_entries = 32, .buffer = (uint64_t)e820};

	T_EXPECT_EQ(HYPERVISOR_memory_op(XENMEM_memory_map, &map), 0);
	T_EXPECT(map.nr_entries > 0 && map.nr_entries <= 32);
	T_EXPECT_EQ(e820[0].addr, 0);
	T_EXPECT_EQ(e820[0].type, E820_RAM);
	T_EXPECT(e820[0].size > 0);

	/* mm.c: the struct or the buffer not copyable -> -EFAULT. */
	T_EXPECT_EQ(HYPERVISOR_memory_op(XENMEM_memory_map, (void *)BAD_GVA), -XEN_EFAULT);
	map = (struct xen_memory_map){.nr_entries = 8, .buffer = BAD_GVA};
	T_EXPECT_EQ(HYPERVISOR_memory_op(XENMEM_memory_map, &map), -XEN_EFAULT);
}

static void test_unimplemented(void)
{
	/* hypercall tables: no handler -> -ENOSYS; mmu_update is PV-only. */
	T_EXPECT_EQ(_hypercall5(60, 0, 0, 0, 0, 0), -XEN_ENOSYS);
	T_EXPECT_EQ(_hypercall5(__HYPERVISOR_mmu_update, 0, 0, 0, 0, 0), -XEN_ENOSYS);
	/* The CPL0 forwarder refuses slots beyond the page. */
	T_EXPECT_EQ(sys_hypercall(200, 0, 0, 0, 0, 0), -XEN_ENOSYS);
}

static void test_vcpu_op(void)
{
	/* common_vcpu_op: VCPUOP_is_up returns 1 for a running vCPU. */
	T_EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, NULL), 1);
	/* x86 do_vcpu_op: domain_vcpu() is NULL past max_vcpus -> -ENOENT. */
	T_EXPECT_EQ(HYPERVISOR_vcpu_op(VCPUOP_is_up, 9999, NULL), -XEN_ENOENT);
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	test_xen_version();
	test_console_io();
	test_sched_op();
	test_hvm_op();
	test_memory_map();
	test_unimplemented();
	test_vcpu_op();
	printf("hypercalls: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
