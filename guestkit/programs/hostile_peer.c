/*
 * hostile_peer [rounds=N]: the well-behaved neighbour of the hostile-guest
 * suite. It uses what the hostile guests abuse and checks every result,
 * with no timing-dependent check (a spinning neighbour may slow it down,
 * not change its results):
 *   - event channels: 32 loopback interdomain pairs and an IPI per round,
 *     one send on each, every event delivered exactly once, all closed;
 *   - xenstore: 32 nodes written, listed, read back and removed, and a
 *     transaction (retried on EAGAIN);
 *   - grants: 64 grants given and ended.
 * Ends with "hostile_peer: N passed, 0 failed".
 */
#include "gk_pv.h"

#define PAIRS 32

static volatile uint64_t got[EVTCHN_2L_NR_CHANNELS];
static uint8_t page[4096] __attribute__((aligned(4096)));

static void on_event(evtchn_port_t port, void *arg)
{
	(void)arg;
	got[port]++;
}

static void events(void)
{
	evtchn_port_t a[PAIRS], b[PAIRS], ipi;
	for (int i = 0; i < PAIRS; i++) {
		T_EXPECT_EQ(evtchn_alloc_unbound(DOMID_SELF, &a[i]), 0);
		T_EXPECT_EQ(evtchn_bind_interdomain(DOMID_SELF, a[i], &b[i]), 0);
		evtchn_clear_pending(a[i]);
		evtchn_clear_pending(b[i]);
		got[a[i]] = 0;
		T_EXPECT_EQ(evtchn_set_handler(a[i], on_event, NULL), 0);
	}
	T_EXPECT_EQ(evtchn_bind_ipi(0, &ipi), 0);
	got[ipi] = 0;
	T_EXPECT_EQ(evtchn_set_handler(ipi, on_event, NULL), 0);
	for (int i = 0; i < PAIRS; i++)
		T_EXPECT_EQ(evtchn_send(b[i]), 0);
	T_EXPECT_EQ(evtchn_send(ipi), 0);
	evtchn_poll();
	unsigned once = 0;
	for (int i = 0; i < PAIRS; i++)
		once += got[a[i]] == 1;
	T_EXPECT_EQ(once, PAIRS);
	T_EXPECT_EQ(got[ipi], 1);
	for (int i = 0; i < PAIRS; i++) {
		T_EXPECT_EQ(evtchn_set_handler(a[i], NULL, NULL), 0);
		T_EXPECT_EQ(evtchn_close(a[i]), 0);
		T_EXPECT_EQ(evtchn_close(b[i]), 0);
	}
	T_EXPECT_EQ(evtchn_set_handler(ipi, NULL, NULL), 0);
	T_EXPECT_EQ(evtchn_close(ipi), 0);
}

static void store(uint64_t round)
{
	char path[64], val[32], buf[512];
	for (int i = 0; i < 32; i++) {
		snprintf(path, sizeof path, "data/peer/n%d", i);
		T_EXPECT_EQ(xs_printf(XBT_NIL, path, "%lu-%d", round, i), 0);
	}
	T_EXPECT_EQ(xs_directory(XBT_NIL, "data/peer", buf, sizeof buf), 32);
	unsigned same = 0;
	for (int i = 0; i < 32; i++) {
		char want[32];
		snprintf(path, sizeof path, "data/peer/n%d", i);
		snprintf(want, sizeof want, "%lu-%d", round, i);
		same += xs_read(XBT_NIL, path, val, sizeof val) == (int)strlen(want) &&
			strcmp(val, want) == 0;
	}
	T_EXPECT_EQ(same, 32);
	xs_tx_t tx;
	int rc;
	do {
		T_EXPECT_EQ(xs_transaction_start(&tx), 0);
		T_EXPECT_EQ(xs_printf(tx, "data/peer/tx", "%lu", round), 0);
		rc = xs_transaction_end(tx, 0);
	} while (rc == -XEN_EAGAIN);
	T_EXPECT_EQ(rc, 0);
	T_EXPECT_EQ(xs_rm(XBT_NIL, "data/peer"), 0);
	T_EXPECT_EQ(xs_read(XBT_NIL, "data/peer/tx", val, sizeof val), -XEN_ENOENT);
}

static void grants(void)
{
	int refs[64];
	unsigned ok = 0;
	for (int i = 0; i < 64; i++) {
		refs[i] = gnttab_grant_access(0, (uint64_t)(uintptr_t)page >> 12, i & 1);
		ok += refs[i] > 0;
	}
	T_EXPECT_EQ(ok, 64);
	ok = 0;
	for (int i = 0; i < 64; i++)
		ok += refs[i] > 0 && gnttab_end_access((grant_ref_t)refs[i]) == 0;
	T_EXPECT_EQ(ok, 64);
}

int main(int argc, char **argv)
{
	uint64_t rounds = gk_arg_u64(argc, argv, "rounds", 3);
	T_EXPECT_EQ(xen_pv_init(), 0);
	if (xs_init() != 0 || gnttab_init() != 0)
		T_ABORT("no xenstore or grant table");
	evtchn_poll();
	for (uint64_t r = 0; r < rounds; r++) {
		events();
		store(r);
		grants();
	}
	printf("hostile_peer: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
