/*
 * xenbus.c: the frontend side of the xenbus handshake (io/xenbus.h and
 * Linux's xenbus_probe/xenbus_client): read the backend's path, follow its
 * state through a watch, publish the frontend's keys in a transaction.
 */
#include "gk_pv.h"

static unsigned next_token;

int xenbus_read_state(const char *dir)
{
	char path[192];
	uint64_t v;
	if (snprintf(path, sizeof path, "%s/state", dir) >= (int)sizeof path)
		return -XEN_E2BIG;
	int rc = xs_read_u64(XBT_NIL, path, &v);
	if (rc == -XEN_ENOENT)
		return XenbusStateUnknown;
	if (rc < 0)
		return rc;
	return v > XenbusStateReconfigured ? XenbusStateUnknown : (int)v;
}

int xenbus_device_init(struct xenbus_device *dev, const char *nodename)
{
	char path[128];
	uint64_t id = 0;
	memset(dev, 0, sizeof *dev);
	if (strlen(nodename) >= sizeof dev->nodename)
		return -XEN_E2BIG;
	memcpy(dev->nodename, nodename, strlen(nodename) + 1);
	snprintf(path, sizeof path, "%s/backend", nodename);
	int rc = xs_read(XBT_NIL, path, dev->otherend, sizeof dev->otherend);
	if (rc < 0)
		return rc;
	if ((size_t)rc >= sizeof dev->otherend)
		return -XEN_E2BIG;
	snprintf(path, sizeof path, "%s/backend-id", nodename);
	rc = xs_read_u64(XBT_NIL, path, &id);
	if (rc < 0 && rc != -XEN_ENOENT)
		return rc;
	dev->otherend_id = (unsigned)id;
	snprintf(dev->token, sizeof dev->token, "xenbus-%u",
		 __atomic_fetch_add(&next_token, 1, __ATOMIC_RELAXED));
	snprintf(path, sizeof path, "%s/state", dev->otherend);
	return xs_watch(path, dev->token);
}

void xenbus_device_free(struct xenbus_device *dev)
{
	char path[160];
	snprintf(path, sizeof path, "%s/state", dev->otherend);
	xs_unwatch(path, dev->token);
}

int xenbus_switch_state(struct xenbus_device *dev, xs_tx_t tx, enum xenbus_state state)
{
	char path[96];
	snprintf(path, sizeof path, "%s/state", dev->nodename);
	return xs_printf(tx, path, "%d", (int)state);
}

int xenbus_wait_otherend(struct xenbus_device *dev, unsigned mask, uint64_t timeout_ns)
{
	uint64_t deadline = xen_system_time_ns() + timeout_ns;
	for (;;) {
		int st = xenbus_read_state(dev->otherend);
		if (st < 0)
			return st;
		if (mask & (1u << st))
			return st;
		uint64_t now = xen_system_time_ns();
		if (now >= deadline)
			return -XEN_ETIMEDOUT;
		int rc = xs_read_watch(dev->token, NULL, 0, deadline - now);
		if (rc < 0 && rc != -XEN_ETIMEDOUT)
			return rc;
	}
}

/* publish writes keys and state Initialised in one transaction, retried on EAGAIN. */
static int publish(struct xenbus_device *dev, const struct xenbus_key *keys, unsigned n)
{
	for (int attempt = 0; attempt < 100; attempt++) {
		xs_tx_t tx;
		int rc = xs_transaction_start(&tx);
		if (rc < 0)
			return rc;
		for (unsigned i = 0; rc == 0 && i < n; i++) {
			char path[160];
			snprintf(path, sizeof path, "%s/%s", dev->nodename, keys[i].name);
			rc = xs_printf(tx, path, "%lu", keys[i].value);
		}
		if (rc == 0)
			rc = xenbus_switch_state(dev, tx, XenbusStateInitialised);
		if (rc < 0) {
			xs_transaction_end(tx, 1);
			return rc;
		}
		rc = xs_transaction_end(tx, 0);
		if (rc != -XEN_EAGAIN)
			return rc;
	}
	return -XEN_EAGAIN;
}

int xenbus_frontend_connect(struct xenbus_device *dev, const struct xenbus_key *keys,
			    unsigned n, uint64_t timeout_ns)
{
	uint64_t deadline = xen_system_time_ns() + timeout_ns;
	int st = xenbus_wait_otherend(dev, 1u << XenbusStateInitWait | 1u << XenbusStateConnected,
				      timeout_ns);
	if (st < 0)
		return st;
	int rc = publish(dev, keys, n);
	if (rc < 0)
		return rc;
	uint64_t now = xen_system_time_ns();
	st = xenbus_wait_otherend(dev, 1u << XenbusStateConnected,
				  now < deadline ? deadline - now : 1);
	if (st < 0)
		return st;
	return xenbus_switch_state(dev, XBT_NIL, XenbusStateConnected);
}

int xenbus_frontend_close(struct xenbus_device *dev, uint64_t timeout_ns)
{
	int rc = xenbus_switch_state(dev, XBT_NIL, XenbusStateClosing);
	if (rc < 0)
		return rc;
	int st = xenbus_wait_otherend(dev,
				      1u << XenbusStateClosing | 1u << XenbusStateClosed |
					      1u << XenbusStateUnknown,
				      timeout_ns);
	if (st < 0)
		return st;
	return xenbus_switch_state(dev, XBT_NIL, XenbusStateClosed);
}
