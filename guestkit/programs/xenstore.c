/*
 * xenstore: xenstore client conformance (docs/misc/xenstore.txt, as
 * tools/xenstored answers): read/write/mkdir/rm/directory, relative and
 * absolute paths, permissions, watches (an immediate event, then one per
 * change), transactions (commit, abort, conflict -> EAGAIN) and
 * GET_DOMAIN_PATH, with the error name each case gets; with 2+ vCPUs,
 * requests from vCPU 1 as well.
 */
#include "gk_pv.h"

#define MS 1000000ull

static char home[64];
static char buf[4200];
static char big[4000];

static void abs_path(char *out, size_t size, const char *rel)
{
	snprintf(out, size, "%s/%s", home, rel);
}

/* expect_value reads path and compares it with want. */
static void expect_value(xs_tx_t tx, const char *path, const char *want)
{
	int n = xs_read(tx, path, buf, sizeof buf);
	T_EXPECT_EQ(n, (int64_t)strlen(want));
	if (n >= 0)
		T_EXPECT_EQ(strcmp(buf, want), 0);
}

/* has_name reports whether the NUL-separated list of n names holds name. */
static int has_name(const char *list, int n, const char *name)
{
	for (int i = 0; i < n; i++, list += strlen(list) + 1)
		if (strcmp(list, name) == 0)
			return 1;
	return 0;
}

static void test_basic(void)
{
	unsigned self = xen_domid();
	char want[64], p[128];
	snprintf(want, sizeof want, "/local/domain/%u", self);
	T_EXPECT(xs_get_domain_path(self, home, sizeof home) > 0);
	T_EXPECT_EQ(strcmp(home, want), 0);
	T_EXPECT(xs_get_domain_path(5, p, sizeof p) > 0);
	T_EXPECT_EQ(strcmp(p, "/local/domain/5"), 0);

	/* Write relative, read relative and absolute. */
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/x/value", "hello"), 0);
	expect_value(XBT_NIL, "data/x/value", "hello");
	abs_path(p, sizeof p, "data/x/value");
	expect_value(XBT_NIL, p, "hello");
	/* An empty value. */
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/x/empty", ""), 0);
	expect_value(XBT_NIL, "data/x/empty", "");
	/* A value larger than the ring (1 KiB): messages span several fills. */
	for (unsigned i = 0; i < sizeof big - 1; i++)
		big[i] = (char)('a' + i % 26);
	big[sizeof big - 1] = '\0';
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/x/big", big), 0);
	expect_value(XBT_NIL, "data/x/big", big);
	uint64_t v = 0;
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/x/num", "12345"), 0);
	T_EXPECT_EQ(xs_read_u64(XBT_NIL, "data/x/num", &v), 0);
	T_EXPECT_EQ(v, 12345);

	/* mkdir (also of an existing node), directory, rm. */
	T_EXPECT_EQ(xs_mkdir(XBT_NIL, "data/x/dir"), 0);
	T_EXPECT_EQ(xs_mkdir(XBT_NIL, "data/x/dir"), 0);
	expect_value(XBT_NIL, "data/x/dir", "");
	int n = xs_directory(XBT_NIL, "data/x", buf, sizeof buf);
	T_EXPECT_EQ(n, 5);
	T_EXPECT(has_name(buf, n, "value") && has_name(buf, n, "dir") && has_name(buf, n, "big"));
	T_EXPECT_EQ(xs_directory(XBT_NIL, "data/x/value", buf, sizeof buf), 0);
	T_EXPECT_EQ(xs_rm(XBT_NIL, "data/x/dir"), 0);
	T_EXPECT_EQ(xs_read(XBT_NIL, "data/x/dir", buf, sizeof buf), -XEN_ENOENT);
	T_EXPECT_EQ(xs_directory(XBT_NIL, "data/x", buf, sizeof buf), 4);
	/* RM: a missing node is fine if its parent exists, else ENOENT. */
	T_EXPECT_EQ(xs_rm(XBT_NIL, "data/x/nope"), 0);
	T_EXPECT_EQ(xs_rm(XBT_NIL, "data/nope/deeper"), -XEN_ENOENT);
	/* RM is recursive. */
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/r/a/b", "1"), 0);
	T_EXPECT_EQ(xs_rm(XBT_NIL, "data/r"), 0);
	T_EXPECT_EQ(xs_read(XBT_NIL, "data/r/a/b", buf, sizeof buf), -XEN_ENOENT);

	/* Missing nodes and bad paths. */
	T_EXPECT_EQ(xs_read(XBT_NIL, "data/missing", buf, sizeof buf), -XEN_ENOENT);
	T_EXPECT_EQ(xs_directory(XBT_NIL, "data/missing", buf, sizeof buf), -XEN_ENOENT);
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/bad path", "1"), -XEN_EINVAL);
	T_EXPECT_EQ(xs_write(XBT_NIL, "data//x", "1"), -XEN_EINVAL);
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/x/", "1"), -XEN_EINVAL);
}

static void test_perms(void)
{
	unsigned self = xen_domid();
	char owner[16], p[128];
	snprintf(owner, sizeof owner, "n%u", self);

	/* Another domain's home: EACCES for reads, writes and listings. */
	T_EXPECT_EQ(xs_read(XBT_NIL, "/local/domain/0", buf, sizeof buf), -XEN_EACCES);
	T_EXPECT_EQ(xs_write(XBT_NIL, "/local/domain/0/x", "1"), -XEN_EACCES);
	T_EXPECT_EQ(xs_directory(XBT_NIL, "/local/domain/0", buf, sizeof buf), -XEN_EACCES);

	/* New nodes belong to their creator. */
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/p", "1"), 0);
	int n = xs_get_perms(XBT_NIL, "data/p", buf, sizeof buf);
	T_EXPECT(n >= 1);
	if (n >= 1) {
		snprintf(p, sizeof p, "%u", self);
		T_EXPECT_EQ(strcmp(buf + 1, p), 0);
	}
	const char *perms[] = {owner, "r0", "b7"};
	T_EXPECT_EQ(xs_set_perms(XBT_NIL, "data/p", perms, 3), 0);
	n = xs_get_perms(XBT_NIL, "data/p", buf, sizeof buf);
	T_EXPECT_EQ(n, 3);
	if (n == 3) {
		const char *e = buf;
		for (int i = 0; i < 3; i++, e += strlen(e) + 1)
			T_EXPECT_EQ(strcmp(e, perms[i]), 0);
	}
	/* The owner keeps full access whatever the default says. */
	expect_value(XBT_NIL, "data/p", "1");
	/* An unprivileged owner may not give the node away: EPERM. */
	const char *away[] = {"n0"};
	T_EXPECT_EQ(xs_set_perms(XBT_NIL, "data/p", away, 1), -XEN_EPERM);
	/* A malformed permission: EINVAL. */
	const char *bad[] = {"x1"};
	T_EXPECT_EQ(xs_set_perms(XBT_NIL, "data/p", bad, 1), -XEN_EINVAL);
	T_EXPECT_EQ(xs_get_perms(XBT_NIL, "data/missing", buf, sizeof buf), -XEN_ENOENT);
}

/* expect_event waits for one event on token and checks its path. */
static void expect_event(const char *token, const char *path)
{
	char got[128];
	int rc = xs_read_watch(token, got, sizeof got, 2000 * MS);
	T_EXPECT_EQ(rc, 0);
	if (rc == 0 && strcmp(got, path) != 0) {
		printf("xenstore: watch event %s, want %s\n", got, path);
		T_EXPECT(!"watch event path");
	}
}

static void test_watch(void)
{
	char p[128];
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/w", "0"), 0);
	T_EXPECT_EQ(xs_watch("data/w", "tok1"), 0);
	/* A new watch fires once at once, with the path as given. */
	expect_event("tok1", "data/w");
	T_EXPECT_EQ(xs_read_watch("tok1", NULL, 0, 20 * MS), -XEN_ETIMEDOUT);
	/* Registering the same path and token again: EEXIST. */
	T_EXPECT_EQ(xs_watch("data/w", "tok1"), -XEN_EEXIST);

	T_EXPECT_EQ(xs_write(XBT_NIL, "data/w", "1"), 0);
	expect_event("tok1", "data/w");
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/w/child", "2"), 0);
	expect_event("tok1", "data/w/child");

	/* An absolute watch reports absolute paths; tokens keep events apart. */
	abs_path(p, sizeof p, "data/w");
	T_EXPECT_EQ(xs_watch(p, "tok2"), 0);
	expect_event("tok2", p);
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/w", "3"), 0);
	expect_event("tok2", p);
	expect_event("tok1", "data/w");

	/* Removal fires too. */
	T_EXPECT_EQ(xs_rm(XBT_NIL, "data/w"), 0);
	T_EXPECT_EQ(xs_read_watch("tok1", NULL, 0, 2000 * MS), 0);

	T_EXPECT_EQ(xs_unwatch("data/w", "tok1"), 0);
	T_EXPECT_EQ(xs_unwatch(p, "tok2"), 0);
	while (xs_read_watch(NULL, NULL, 0, 20 * MS) == 0)
		;
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/w", "4"), 0);
	T_EXPECT_EQ(xs_read_watch(NULL, NULL, 0, 50 * MS), -XEN_ETIMEDOUT);
	/* Unwatching what is not watched: ENOENT. */
	T_EXPECT_EQ(xs_unwatch("data/w", "tok1"), -XEN_ENOENT);
	T_EXPECT_EQ(xs_watch_dropped(), 0);
}

static void test_transactions(void)
{
	xs_tx_t tx;

	/* Commit: invisible outside until the end, then there. */
	T_EXPECT_EQ(xs_transaction_start(&tx), 0);
	T_EXPECT_EQ(xs_write(tx, "data/t/one", "1"), 0);
	expect_value(tx, "data/t/one", "1");
	T_EXPECT_EQ(xs_read(XBT_NIL, "data/t/one", buf, sizeof buf), -XEN_ENOENT);
	T_EXPECT_EQ(xs_transaction_end(tx, 0), 0);
	expect_value(XBT_NIL, "data/t/one", "1");
	/* The ended transaction is gone: ENOENT. */
	T_EXPECT_EQ(xs_read(tx, "data/t/one", buf, sizeof buf), -XEN_ENOENT);

	/* Abort: nothing happens. */
	T_EXPECT_EQ(xs_transaction_start(&tx), 0);
	T_EXPECT_EQ(xs_write(tx, "data/t/two", "2"), 0);
	T_EXPECT_EQ(xs_transaction_end(tx, 1), 0);
	T_EXPECT_EQ(xs_read(XBT_NIL, "data/t/two", buf, sizeof buf), -XEN_ENOENT);

	/* Conflict: a node the transaction read changed meanwhile: EAGAIN. */
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/t/c", "0"), 0);
	T_EXPECT_EQ(xs_transaction_start(&tx), 0);
	expect_value(tx, "data/t/c", "0");
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/t/c", "outside"), 0);
	T_EXPECT_EQ(xs_write(tx, "data/t/c", "inside"), 0);
	T_EXPECT_EQ(xs_transaction_end(tx, 0), -XEN_EAGAIN);
	expect_value(XBT_NIL, "data/t/c", "outside");

	/* Two transactions at once; the first to commit wins. */
	xs_tx_t a, b;
	T_EXPECT_EQ(xs_transaction_start(&a), 0);
	T_EXPECT_EQ(xs_transaction_start(&b), 0);
	T_EXPECT(a != b);
	expect_value(a, "data/t/c", "outside");
	expect_value(b, "data/t/c", "outside");
	T_EXPECT_EQ(xs_write(a, "data/t/c", "a"), 0);
	T_EXPECT_EQ(xs_write(b, "data/t/c", "b"), 0);
	T_EXPECT_EQ(xs_transaction_end(a, 0), 0);
	T_EXPECT_EQ(xs_transaction_end(b, 0), -XEN_EAGAIN);
	expect_value(XBT_NIL, "data/t/c", "a");
}

static void test_errno_names(void)
{
	T_EXPECT_EQ(xs_errno_parse("EACCES"), -XEN_EACCES);
	T_EXPECT_EQ(xs_errno_parse("EAGAIN"), -XEN_EAGAIN);
	T_EXPECT_EQ(xs_errno_parse("ENOENT"), -XEN_ENOENT);
	T_EXPECT_EQ(xs_errno_parse("EISCONN"), -XEN_EISCONN);
	T_EXPECT_EQ(xs_errno_parse("EWHATEVER"), -XEN_EIO);
	T_EXPECT_EQ(strcmp(xs_errno_name(-1000), "E?"), 0);
	T_EXPECT_EQ(strcmp(xs_errno_name(-XEN_ENOTEMPTY), "ENOTEMPTY"), 0);
}

/* Requests from vCPU 1: the store port follows the caller, which blocks while waiting. */
static volatile uint64_t ap_done;

static void ap_main(unsigned cpu)
{
	static char b[64];
	if (cpu != 1)
		return;
	T_EXPECT_EQ(xs_write(XBT_NIL, "data/ap", "from vcpu 1"), 0);
	T_EXPECT_EQ(xs_read(XBT_NIL, "data/ap", b, sizeof b), 11);
	T_EXPECT_EQ(xs_watch("data/ap", "ap"), 0);
	T_EXPECT_EQ(xs_read_watch("ap", b, sizeof b, 2000 * MS), 0);
	T_EXPECT_EQ(xs_unwatch("data/ap", "ap"), 0);
	/* Nothing comes: the wait times out (blocked, woken by the timer). */
	T_EXPECT_EQ(xs_read_watch("ap", NULL, 0, 20 * MS), -XEN_ETIMEDOUT);
	atomic_add(&ap_done, 1);
}

static void test_other_vcpu(void)
{
	if (gk_nr_vcpus() < 2) {
		T_SKIP("requests from another vCPU need 2 vCPUs");
		return;
	}
	T_EXPECT(smp_start(ap_main) >= 2);
	uint64_t end = xen_system_time_ns() + 5000 * MS;
	while (!atomic_load(&ap_done) && xen_system_time_ns() < end)
		cpu_relax();
	T_EXPECT_EQ(ap_done, 1);
	/* And back on vCPU 0. */
	expect_value(XBT_NIL, "data/ap", "from vcpu 1");
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	int rc = xs_init();
	T_EXPECT_EQ(rc, 0);
	if (rc != 0)
		T_ABORT("no xenstore");
	test_basic();
	test_perms();
	test_watch();
	test_transactions();
	test_errno_names();
	test_other_vcpu();
	printf("xenstore: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
