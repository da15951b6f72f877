/*
 * hostile_hcall: wild hypercalls. Every hypercall number the port accepts
 * (0..127 through the page's port, plus numbers no page slot reaches) is
 * made with every sub-command 0..20 (and huge ones) and arguments that
 * point at nothing the monitor may touch: unmapped and non-canonical
 * addresses, MMIO (the local APIC), guest-physical addresses beyond RAM,
 * structures that straddle the end of RAM, misaligned structures and huge
 * counts. Expected (docs/security.md): every call returns 0, a positive
 * value or a Xen errno (-1..-4095); calls whose argument cannot be read get
 * -EFAULT (-14), unknown calls -ENOSYS (-38); the domain keeps running and
 * powers off by itself. Reports metric hcall_calls (calls made).
 */
#include "gk_pv.h"

#define NONCANON 0x8000000000000000ull
#define UNMAPPED 0x00007fff00000000ull /* canonical, beyond guestkit's 4 GiB map */
#define TOPPAGE 0xfffffffffffff000ull
#define MMIO ((uint64_t)GK_LAPIC_BASE)
#define BEYOND_RAM 0xc0000000ull /* mapped 1:1 by guestkit, not guest RAM */

static uint64_t calls;

/* raw_hc makes hypercall nr through port 0xc0 directly (any nr, no page slot). */
static long raw_hc(uint32_t nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	register uint64_t r10 __asm__("r10") = a4;
	register uint64_t r8 __asm__("r8") = a5;
	long ret;
	__asm__ volatile("outl %%eax, %[port]"
			 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
			 : "0"((uint64_t)nr), [port] "i"(XENOLITH_PORT_HYPERCALL)
			 : "memory");
	calls++;
	return ret;
}

/* is_result reports whether r is a value a hypercall may return: >= 0 or a Xen errno. */
static int is_result(long r)
{
	return r >= 0 || r >= -4095;
}

/* ram_end is the end of the highest memory-map range (RAM and the reserved tail). */
static uint64_t ram_end(void)
{
	const struct hvm_memmap_table_entry *e =
		(const struct hvm_memmap_table_entry *)gk_start_info->memmap_paddr;
	uint64_t end = 0;
	for (uint32_t i = 0; i < gk_start_info->memmap_entries; i++)
		if (e[i].addr + e[i].size > end)
			end = e[i].addr + e[i].size;
	return end;
}

/* skip says which calls the sweep leaves out: they would stop this guest on purpose. */
static int skip(uint32_t nr, uint32_t cmd)
{
	if (nr == __HYPERVISOR_sched_op && cmd == SCHEDOP_block)
		return 1; /* blocks until an event: legitimate, tested elsewhere */
	if (nr == __HYPERVISOR_vcpu_op && (cmd == VCPUOP_down || cmd == VCPUOP_up))
		return 1; /* a truncated pointer may name vCPU 0 */
	return 0;
}

static void sweep(void)
{
	static const uint64_t bad[] = {NONCANON, UNMAPPED, TOPPAGE, MMIO, BEYOND_RAM};
	uint64_t odd = 0;
	for (uint32_t nr = 0; nr < 140; nr++) {
		for (uint32_t cmd = 0; cmd <= 21; cmd++) {
			uint32_t c = cmd == 21 ? 0xffffffffu : cmd;
			if (skip(nr, c))
				continue;
			for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
				uint64_t p = bad[i];
				/* vcpu_op's second argument is a vCPU id: keep it out of range. */
				uint64_t a2 = nr == __HYPERVISOR_vcpu_op ? 0x7fff : p;
				long r = raw_hc(nr, c, a2, p, p, p);
				if (!is_result(r))
					odd++;
			}
		}
	}
	T_EXPECT_EQ(odd, 0);
	/* Numbers no page slot reaches, with the upper half of RAX set too. */
	T_EXPECT_EQ(raw_hc(128, 0, 0, 0, 0, 0), -XEN_ENOSYS);
	T_EXPECT_EQ(raw_hc(0x7fffffff, 0, 0, 0, 0, 0), -XEN_ENOSYS);
	T_EXPECT_EQ(raw_hc(0xffffffff, 0, 0, 0, 0, 0), -XEN_ENOSYS);
}

static void bad_pointers(void)
{
	static const uint64_t bad[] = {NONCANON, UNMAPPED, TOPPAGE, MMIO, BEYOND_RAM};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint64_t p = bad[i];
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_console_io, CONSOLEIO_write, 16, p, 0, 0), -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_xen_version, XENVER_extraversion, p, 0, 0, 0),
			    -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_sched_op, SCHEDOP_shutdown, p, 0, 0, 0), -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_sched_op, SCHEDOP_poll, p, 0, 0, 0), -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_sched_op, SCHEDOP_shutdown_code, p, 0, 0, 0),
			    -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, p, 0, 0, 0),
			    -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_event_channel_op, EVTCHNOP_status, p, 0, 0, 0),
			    -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_hvm_op, HVMOP_get_param, p, 0, 0, 0), -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, p, 0, 0, 0),
			    -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_memory_op, XENMEM_memory_map, p, 0, 0, 0), -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_grant_table_op, GNTTABOP_query_size, p, 1, 0, 0),
			    -XEN_EFAULT);
		T_EXPECT_EQ(raw_hc(__HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, 0, p, 0, 0),
			    -XEN_EFAULT);
	}
}

static uint8_t buf[256] __attribute__((aligned(64)));

static void edges(void)
{
	uint64_t end = ram_end();
	T_EXPECT(end > (1u << 20));
	/* A structure whose first bytes are RAM and the rest is not. */
	T_EXPECT_EQ(raw_hc(__HYPERVISOR_event_channel_op, EVTCHNOP_status, end - 8, 0, 0, 0),
		    -XEN_EFAULT);
	T_EXPECT_EQ(raw_hc(__HYPERVISOR_console_io, CONSOLEIO_write, 64, end - 16, 0, 0), -XEN_EFAULT);
	/* Huge counts: the write stops at the first byte past RAM. */
	T_EXPECT_EQ(raw_hc(__HYPERVISOR_console_io, CONSOLEIO_write, 0xffffffffu, end - 8, 0, 0),
		    -XEN_EFAULT);
	long r = raw_hc(__HYPERVISOR_console_io, CONSOLEIO_read, 0xffffffffu, (uint64_t)buf, 0, 0);
	T_EXPECT(r == -XEN_E2BIG || r == 0);
	/* A grant copy batch of 2^31-1 entries read from just below the end of RAM. */
	r = raw_hc(__HYPERVISOR_grant_table_op, GNTTABOP_copy, end - 64, 0x7fffffff, 0, 0);
	T_EXPECT_EQ(r, -XEN_EFAULT);
	r = raw_hc(__HYPERVISOR_grant_table_op, GNTTABOP_copy, (uint64_t)buf, 0x80000000u, 0, 0);
	T_EXPECT(r == -XEN_EINVAL || r == -XEN_EFAULT);
	/* The hypercall page is ordinary guest memory to read from. */
	T_EXPECT_EQ(raw_hc(__HYPERVISOR_console_io, CONSOLEIO_write, 8, (uint64_t)hypercall_page, 0,
			   0),
		    0);
	/* Misaligned structures are fine (Xen copies bytes). */
	struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = DOMID_SELF};
	memcpy(buf + 3, &au, sizeof au);
	T_EXPECT_EQ(raw_hc(__HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, (uint64_t)(buf + 3),
			   0, 0, 0),
		    0);
	memcpy(&au, buf + 3, sizeof au);
	T_EXPECT(au.port > 0);
	struct evtchn_port_arg cl = {.port = au.port};
	memcpy(buf + 129, &cl, sizeof cl);
	T_EXPECT_EQ(raw_hc(__HYPERVISOR_event_channel_op, EVTCHNOP_close, (uint64_t)(buf + 129), 0, 0,
			   0),
		    0);
	struct xen_hvm_param hp = {.domid = DOMID_SELF, .index = HVM_PARAM_STORE_PFN};
	memcpy(buf + 7, &hp, sizeof hp);
	T_EXPECT_EQ(raw_hc(__HYPERVISOR_hvm_op, HVMOP_get_param, (uint64_t)(buf + 7), 0, 0, 0), 0);
	/* Params and domains out of range. */
	hp.index = 0xffffffffu;
	T_EXPECT_EQ(HYPERVISOR_hvm_op(HVMOP_get_param, &hp), -XEN_EINVAL);
	hp.index = HVM_PARAM_STORE_PFN;
	hp.domid = 0x1234; /* no such domain */
	long e = HYPERVISOR_hvm_op(HVMOP_get_param, &hp);
	T_EXPECT_EQ(e, -XEN_ESRCH); /* no such domain */
}

/*
 * reports abuses the test port: series whose count claims 2^20 values but
 * whose values lie beyond RAM, and strings without a NUL. The monitor
 * counts a guest fault for each and must not allocate for what it cannot
 * read (the Go test checks the allocation total).
 */
static void reports(void)
{
	uint64_t end = ram_end();
	/* The last 8 bytes of RAM are the reserved tail: put the count there. */
	volatile uint64_t *count = (volatile uint64_t *)(end - 8);
	uint64_t saved = *count;
	*count = XENOLITH_SERIES_MAX;
	for (int i = 0; i < 200; i++)
		gk_t_report(XENOLITH_TEST_SERIES, "hostile", i, "bogus_series", end - 8);
	*count = saved;
	T_PASS();
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	T_EXPECT_EQ(xen_pv_init(), 0);
	bad_pointers();
	edges();
	sweep();
	reports();
	T_METRIC("hcall_calls", calls);
	printf("hostile_hcall: %lu calls; %lu passed, %lu failed\n", calls, gk_tests_passed,
	       gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
