/*
 * xs_ops.c: xenstore operations (docs/misc/xenstore.txt) over xs_talk:
 * payloads are NUL-separated strings, except a WRITE's value and a READ's
 * reply, which carry no NUL.
 */
#include "xs_internal.h"

#define STR(s) {(s), strlen(s) + 1} /* a string with its NUL */

/* count_strings counts NUL-terminated strings in n bytes. */
static int count_strings(const char *buf, size_t n)
{
	int c = 0;
	for (size_t i = 0; i < n; i++)
		if (buf[i] == '\0')
			c++;
	return c;
}

/* terminate NUL-terminates a reply of len bytes copied into buf of size. */
static void terminate(char *buf, size_t size, int len)
{
	if (!buf || size == 0)
		return;
	buf[(size_t)len < size ? (size_t)len : size - 1] = '\0';
}

int xs_read(xs_tx_t tx, const char *path, char *buf, size_t size)
{
	struct xs_iov iov[] = {STR(path)};
	int rc = xs_talk(XS_READ, tx, iov, 1, buf, size ? size - 1 : 0);
	if (rc >= 0)
		terminate(buf, size, rc);
	return rc;
}

int xs_read_u64(xs_tx_t tx, const char *path, uint64_t *value)
{
	char buf[32];
	int rc = xs_read(tx, path, buf, sizeof buf);
	if (rc < 0)
		return rc;
	if ((size_t)rc >= sizeof buf)
		return -XEN_EINVAL;
	int ok;
	uint64_t v = strtou64(buf, &ok);
	if (!ok)
		return -XEN_EINVAL;
	*value = v;
	return 0;
}

static int ok_reply(int rc)
{
	return rc < 0 ? rc : 0;
}

int xs_write(xs_tx_t tx, const char *path, const char *value)
{
	struct xs_iov iov[] = {STR(path), {value, strlen(value)}};
	return ok_reply(xs_talk(XS_WRITE, tx, iov, 2, NULL, 0));
}

int xs_printf(xs_tx_t tx, const char *path, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof buf)
		return -XEN_E2BIG;
	return xs_write(tx, path, buf);
}

int xs_mkdir(xs_tx_t tx, const char *path)
{
	struct xs_iov iov[] = {STR(path)};
	return ok_reply(xs_talk(XS_MKDIR, tx, iov, 1, NULL, 0));
}

int xs_rm(xs_tx_t tx, const char *path)
{
	struct xs_iov iov[] = {STR(path)};
	return ok_reply(xs_talk(XS_RM, tx, iov, 1, NULL, 0));
}

/* list runs a request whose reply is NUL-separated strings and counts them. */
static int list(uint32_t type, xs_tx_t tx, const char *path, char *buf, size_t size)
{
	struct xs_iov iov[] = {STR(path)};
	int rc = xs_talk(type, tx, iov, 1, buf, size);
	if (rc < 0)
		return rc;
	if ((size_t)rc > size)
		return -XEN_E2BIG;
	return count_strings(buf, (size_t)rc);
}

int xs_directory(xs_tx_t tx, const char *path, char *buf, size_t size)
{
	return list(XS_DIRECTORY, tx, path, buf, size);
}

int xs_get_perms(xs_tx_t tx, const char *path, char *buf, size_t size)
{
	return list(XS_GET_PERMS, tx, path, buf, size);
}

int xs_set_perms(xs_tx_t tx, const char *path, const char *const *perms, unsigned n)
{
	struct xs_iov iov[9] = {STR(path)};
	if (n == 0 || n > 8)
		return -XEN_EINVAL;
	for (unsigned i = 0; i < n; i++)
		iov[i + 1] = (struct xs_iov)STR(perms[i]);
	return ok_reply(xs_talk(XS_SET_PERMS, tx, iov, n + 1, NULL, 0));
}

int xs_watch(const char *path, const char *token)
{
	struct xs_iov iov[] = {STR(path), STR(token)};
	return ok_reply(xs_talk(XS_WATCH, XBT_NIL, iov, 2, NULL, 0));
}

int xs_unwatch(const char *path, const char *token)
{
	struct xs_iov iov[] = {STR(path), STR(token)};
	return ok_reply(xs_talk(XS_UNWATCH, XBT_NIL, iov, 2, NULL, 0));
}

int xs_transaction_start(xs_tx_t *tx)
{
	char buf[16];
	struct xs_iov iov[] = {STR("")};
	int rc = xs_talk(XS_TRANSACTION_START, XBT_NIL, iov, 1, buf, sizeof buf - 1);
	if (rc < 0)
		return rc;
	terminate(buf, sizeof buf, rc);
	int ok;
	uint64_t id = strtou64(buf, &ok);
	if (!ok || id == 0 || id > UINT32_MAX)
		return -XEN_EIO;
	*tx = (xs_tx_t)id;
	return 0;
}

int xs_transaction_end(xs_tx_t tx, int abort)
{
	struct xs_iov iov[] = {STR(abort ? "F" : "T")};
	return ok_reply(xs_talk(XS_TRANSACTION_END, tx, iov, 1, NULL, 0));
}

int xs_get_domain_path(unsigned domid, char *buf, size_t size)
{
	char id[16];
	snprintf(id, sizeof id, "%u", domid);
	struct xs_iov iov[] = {STR(id)};
	int rc = xs_talk(XS_GET_DOMAIN_PATH, XBT_NIL, iov, 1, buf, size ? size - 1 : 0);
	if (rc < 0)
		return rc;
	terminate(buf, size, rc);
	return (int)strnlen(buf, size);
}
