/*
 * hostile_xs [neighbour=D]: xenstore abuse. Expected replies (xenstored's):
 *   - paths outside the domain (another domain's home, /, /tool, /vm):
 *     EACCES for writes, removals and permission changes; reads of nodes
 *     the domain may not read: EACCES or ENOENT;
 *   - giving a node to another domain: EPERM;
 *   - malformed paths (relative with "..", bad characters, trailing "/",
 *     over-long): EINVAL or E2BIG; unknown and store-only message types
 *     (WATCH_EVENT, ERROR, 999): ENOSYS; privileged ones (INTRODUCE,
 *     RELEASE, SET_TARGET, quotas, ...): EACCES (ENOSYS where the store
 *     lacks them); unknown transaction ids: ENOENT;
 *   - quotas (xenstore.DefaultQuota): transactions (10), watches (128),
 *     nodes (1,000) each end in ENOSPC; a watch flood (128 watches x 40
 *     writes) is served; values over 4,096 bytes: E2BIG;
 *   - raw ring abuse: a truncated message is served once its rest arrives;
 *     requests whose replies are never read stay queued; a header announcing
 *     more than 4,096 bytes breaks this connection (ring error field set,
 *     no further service).
 * Then it reports mark "exhausted" and blocks, holding its node quota,
 * until the host stops it; the neighbour uses the store meanwhile.
 * mode=deaf: 128 watches on its data directory, then mark "deaf" and it
 * never reads the ring again; the host floods the directory with writes
 * (watch events queue for it until the store's 1 MiB output limit breaks
 * that connection).
 */
#include "gk_pv.h"
#include "../lib/xs_internal.h"

#define MS 1000000ull

static char home[64];
static char path[4200];
static char buf[4200];

static const char *at(const char *rel)
{
	snprintf(path, sizeof path, "%s/%s", home, rel);
	return path;
}

static int raw_talk(uint32_t type, xs_tx_t tx, const void *payload, size_t len)
{
	struct xs_iov iov[] = {{payload, len}};
	return xs_talk(type, tx, iov, len ? 1 : 0, buf, sizeof buf);
}

static void outside(unsigned neighbour)
{
	char other[64];
	snprintf(other, sizeof other, "/local/domain/%u/data/hostile", neighbour);
	T_EXPECT_EQ(xs_write(XBT_NIL, other, "x"), -XEN_EACCES);
	T_EXPECT_EQ(xs_write(XBT_NIL, "/hostile", "x"), -XEN_EACCES);
	T_EXPECT_EQ(xs_write(XBT_NIL, "/tool/hostile", "x"), -XEN_EACCES);
	T_EXPECT_EQ(xs_mkdir(XBT_NIL, "/vm/hostile"), -XEN_EACCES);
	T_EXPECT_EQ(xs_rm(XBT_NIL, "/local/domain/0"), -XEN_EACCES);
	snprintf(other, sizeof other, "/local/domain/%u", neighbour);
	int rc = xs_rm(XBT_NIL, other);
	T_EXPECT(rc == -XEN_EACCES || rc == -XEN_ENOENT);
	const char *perms[] = {"b2"};
	rc = xs_set_perms(XBT_NIL, other, perms, 1);
	T_EXPECT(rc == -XEN_EACCES || rc == -XEN_ENOENT);
	rc = xs_read(XBT_NIL, "/local/domain/0/backend", buf, sizeof buf);
	T_EXPECT(rc == -XEN_EACCES || rc == -XEN_ENOENT);
	/* Giving a node away (charging it to another domain's quota): EPERM. */
	T_EXPECT_EQ(xs_write(XBT_NIL, at("data/given"), "x"), 0);
	snprintf(other, sizeof other, "n%u", neighbour);
	const char *give[] = {other};
	T_EXPECT_EQ(xs_set_perms(XBT_NIL, path, give, 1), -XEN_EPERM);
	T_EXPECT_EQ(xs_write(XBT_NIL, at("data/given"), "y"), 0);
}

static void malformed(void)
{
	static const char *bad[] = {"data/../../../0/x", "/local/domain/../../x", "data//x",
				    "data/x/", "data/x\x01y", "", "/"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = xs_write(XBT_NIL, bad[i], "x");
		T_EXPECT(rc == -XEN_EINVAL || rc == -XEN_EACCES);
	}
	/* A path longer than the quota's 2048 bytes below the home. */
	memset(buf, 'a', 3000);
	buf[3000] = '\0';
	snprintf(path, sizeof path, "%s/%s", home, buf);
	int rc = xs_write(XBT_NIL, path, "x");
	T_EXPECT(rc == -XEN_EINVAL || rc == -XEN_E2BIG || rc == -XEN_ENOSPC);
	/* A value over 4096 bytes cannot be sent; 4096 minus the path fits. */
	static char big[4096];
	memset(big, 'v', sizeof big - 64);
	big[sizeof big - 64] = '\0';
	T_EXPECT_EQ(xs_write(XBT_NIL, at("data/big"), big), 0);
	T_EXPECT_EQ(xs_rm(XBT_NIL, at("data/big")), 0);
	/* Payloads without their NUL, or with extra strings. */
	T_EXPECT_EQ(raw_talk(XS_READ, XBT_NIL, "data", 4), -XEN_EINVAL);
	rc = raw_talk(XS_WATCH, XBT_NIL, "data\0", 5); /* no token */
	T_EXPECT_EQ(rc, -XEN_EINVAL);
	rc = raw_talk(XS_GET_PERMS, XBT_NIL, "", 0);
	T_EXPECT_EQ(rc, -XEN_EINVAL);
}

static void types(void)
{
	static const uint32_t unknown[] = {XS_WATCH_EVENT, XS_ERROR, 20, 99, 999, 0xffffffffu};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
		T_EXPECT_EQ(raw_talk(unknown[i], XBT_NIL, "x\0", 2), -XEN_ENOSYS);
	/* INTRODUCE, RELEASE, SET_TARGET, RESUME, GET/SET_FEATURE, GET/SET_QUOTA. */
	static const uint32_t priv[] = {XS_INTRODUCE, XS_RELEASE, XS_SET_TARGET, XS_RESUME,
					23, 24, 25, 26};
	for (size_t i = 0; i < sizeof priv / sizeof priv[0]; i++) {
		int rc = raw_talk(priv[i], XBT_NIL, "1\0" "2\0" "3\0", 6);
		T_EXPECT(rc == -XEN_EACCES || rc == -XEN_EPERM || rc == -XEN_EINVAL ||
			 rc == -XEN_ENOSYS);
	}
	T_EXPECT_EQ(xs_read(12345, at("data"), buf, sizeof buf), -XEN_ENOENT);
	T_EXPECT_EQ(xs_transaction_end(0xfffffff0u, 0), -XEN_ENOENT);
}

static void quotas(void)
{
	/* Transactions. */
	xs_tx_t tx[64];
	unsigned ntx = 0;
	int rc;
	while (ntx < 64 && (rc = xs_transaction_start(&tx[ntx])) == 0)
		ntx++;
	T_EXPECT_EQ(rc, -XEN_ENOSPC);
	T_EXPECT_EQ(ntx, 10);
	for (unsigned i = 0; i < ntx; i++)
		T_EXPECT_EQ(xs_transaction_end(tx[i], 1), 0);
	/* Watches, then a flood of events on them. */
	char tok[16];
	unsigned nw = 0;
	T_EXPECT_EQ(xs_mkdir(XBT_NIL, at("data/flood")), 0);
	for (;;) {
		snprintf(tok, sizeof tok, "w%u", nw);
		rc = xs_watch(at("data/flood"), tok);
		if (rc != 0 || nw > 1000)
			break;
		nw++;
	}
	T_EXPECT_EQ(rc, -XEN_ENOSPC);
	T_EXPECT_EQ(nw, 128);
	for (unsigned i = 0; i < 40; i++)
		T_EXPECT_EQ(xs_printf(XBT_NIL, at("data/flood/x"), "%u", i), 0);
	T_METRIC("watch_events_dropped", xs_watch_dropped());
	for (unsigned i = 0; i < nw; i++) {
		snprintf(tok, sizeof tok, "w%u", i);
		T_EXPECT_EQ(xs_unwatch(at("data/flood"), tok), 0);
	}
	/* Nodes. */
	unsigned nn = 0;
	for (;;) {
		char rel[32];
		snprintf(rel, sizeof rel, "data/n%u", nn);
		rc = xs_write(XBT_NIL, at(rel), "1");
		if (rc != 0 || nn > 5000)
			break;
		nn++;
	}
	T_EXPECT_EQ(rc, -XEN_ENOSPC);
	T_EXPECT(nn > 900 && nn <= 1000);
	T_METRIC("nodes_written", nn);
}

/* raw_write appends bytes to the request ring (the caller keeps within its room). */
static void raw_write(struct xenstore_domain_interface *r, evtchn_port_t port, const void *p,
		      size_t n)
{
	uint32_t prod = r->req_prod;
	for (size_t i = 0; i < n; i++)
		r->req[(prod + i) & (XENSTORE_RING_SIZE - 1)] = ((const char *)p)[i];
	__atomic_store_n(&r->req_prod, prod + (uint32_t)n, __ATOMIC_RELEASE);
	evtchn_send(port);
}

/* raw_wait waits until cond(r) or 500 ms; returns cond's last value. */
static int raw_wait(struct xenstore_domain_interface *r,
		    int (*cond)(struct xenstore_domain_interface *))
{
	uint64_t end = xen_system_time_ns() + 500 * MS;
	while (!cond(r) && xen_system_time_ns() < end)
		xen_wait_until(xen_system_time_ns() + MS);
	return cond(r);
}

static int has_reply(struct xenstore_domain_interface *r)
{
	return __atomic_load_n(&r->rsp_prod, __ATOMIC_ACQUIRE) - r->rsp_cons >= sizeof(struct xsd_sockmsg);
}

static int has_error(struct xenstore_domain_interface *r)
{
	return __atomic_load_n(&r->error, __ATOMIC_ACQUIRE) != 0;
}

static void raw_ring(void)
{
	uint64_t pfn = 0, port = 0;
	T_EXPECT_EQ(hvm_get_param(HVM_PARAM_STORE_PFN, &pfn), 0);
	T_EXPECT_EQ(hvm_get_param(HVM_PARAM_STORE_EVTCHN, &port), 0);
	struct xenstore_domain_interface *r = (void *)(pfn << 12);
	T_EXPECT_EQ(r->rsp_prod - r->rsp_cons, 0);
	/* A truncated message: no reply until its rest arrives. */
	struct xsd_sockmsg h = {.type = XS_READ, .req_id = 0xdead, .tx_id = 0, .len = 64};
	raw_write(r, (evtchn_port_t)port, &h, sizeof h);
	raw_write(r, (evtchn_port_t)port, "data/abcd", 9);
	xen_wait_until(xen_system_time_ns() + 20 * MS);
	T_EXPECT(!has_reply(r));
	char rest[55];
	memset(rest, 'z', sizeof rest);
	raw_write(r, (evtchn_port_t)port, rest, 64 - 9);
	T_EXPECT(raw_wait(r, has_reply));
	struct xsd_sockmsg got;
	uint32_t cons = r->rsp_cons;
	for (size_t i = 0; i < sizeof got; i++)
		((char *)&got)[i] = r->rsp[(cons + i) & (XENSTORE_RING_SIZE - 1)];
	T_EXPECT_EQ(got.req_id, 0xdead);
	T_EXPECT_EQ(got.type, XS_ERROR); /* an unterminated path: EINVAL */
	/* Requests whose replies are never read. */
	h.type = XS_GET_DOMAIN_PATH;
	h.len = 2;
	for (int i = 0; i < 16; i++) {
		h.req_id = 0x1000u + (uint32_t)i;
		raw_write(r, (evtchn_port_t)port, &h, sizeof h);
		raw_write(r, (evtchn_port_t)port, "2", 2);
	}
	/* A header announcing 64 KiB: the store breaks this connection. */
	h.type = XS_WRITE;
	h.len = 0x10000;
	raw_write(r, (evtchn_port_t)port, &h, sizeof h);
	T_EXPECT(raw_wait(r, has_error));
	T_METRIC("xs_ring_error", r->error);
}

/*
 * deaf registers the quota of watches on its data directory and stops
 * reading the ring: whatever domain 0 then writes there queues events for
 * it until the store's output limit breaks the connection.
 */
static void deaf(void)
{
	char tok[16];
	unsigned nw = 0;
	for (; nw < 128; nw++) {
		snprintf(tok, sizeof tok, "d%u", nw);
		if (xs_watch(at("data"), tok) != 0)
			break;
	}
	T_EXPECT_EQ(nw, 128);
	printf("hostile_xs: deaf: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	T_MARK("deaf");
	for (;;)
		sys_block();
}

int main(int argc, char **argv)
{
	unsigned neighbour = (unsigned)gk_arg_u64(argc, argv, "neighbour", 1);
	if (xs_init() != 0)
		T_ABORT("no xenstore");
	evtchn_poll();
	T_EXPECT(xs_get_domain_path(xen_domid(), home, sizeof home) > 0);
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "mode=deaf") == 0)
			deaf();
	outside(neighbour);
	malformed();
	types();
	quotas();
	raw_ring();
	printf("hostile_xs: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	T_MARK("exhausted");
	for (;;)
		sys_block();
}
