/*
 * xenstore.c: the xenstore client's transport: the ring of
 * HVM_PARAM_STORE_PFN, notifications on HVM_PARAM_STORE_EVTCHN, one request
 * at a time matched to its reply by req_id, watch events queued, and error
 * names mapped to errno values. Runs at CPL3: it polls the ring for a few
 * microseconds, then blocks until the store's event channel fires.
 */
#include "gk_pv.h"
#include "xs_internal.h"

#define RING_MASK (XENSTORE_RING_SIZE - 1)
#define SPIN_CYCLES 100000 /* ~40 us of polling before blocking */
#define WATCH_ENTRY 512    /* bytes of "path\0token\0" kept per queued event */

static struct xenstore_domain_interface *ring;
static evtchn_port_t store_port;
static unsigned store_cpu; /* the vCPU the store port notifies */
static uint32_t next_req_id = 1;
static volatile uint32_t lock;
static struct gk_once init_once;
static int broken; /* the store broke the protocol: every request fails */

/* The reply or event being read; valid under the lock. */
static char msg[XENSTORE_PAYLOAD_MAX + 1];

static struct {
	uint32_t len;           /* bytes of data used, a NUL follows */
	char data[WATCH_ENTRY]; /* "path\0token\0" */
} watchq[XS_WATCH_QUEUE];
static unsigned wq_head, wq_len;
static uint64_t wq_dropped;

/* The error names xenstored sends (xsd_errors), with Xen's errno values. */
static const struct {
	int err;
	const char *name;
} errnames[] = {
	{XEN_EINVAL, "EINVAL"}, {XEN_EACCES, "EACCES"}, {XEN_EEXIST, "EEXIST"},
	{XEN_EISDIR, "EISDIR"}, {XEN_ENOENT, "ENOENT"}, {XEN_ENOMEM, "ENOMEM"},
	{XEN_ENOSPC, "ENOSPC"}, {XEN_EIO, "EIO"}, {XEN_ENOTEMPTY, "ENOTEMPTY"},
	{XEN_ENOSYS, "ENOSYS"}, {XEN_EROFS, "EROFS"}, {XEN_EBUSY, "EBUSY"},
	{XEN_EAGAIN, "EAGAIN"}, {XEN_EISCONN, "EISCONN"}, {XEN_E2BIG, "E2BIG"},
	{XEN_EPERM, "EPERM"}, {XEN_ETIMEDOUT, "ETIMEDOUT"}, {XEN_ENODEV, "ENODEV"},
};

const char *xs_errno_name(int err)
{
	for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
		if (-errnames[i].err == err)
			return errnames[i].name;
	return "E?";
}

int xs_errno_parse(const char *name)
{
	for (size_t i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
		if (strcmp(errnames[i].name, name) == 0)
			return -errnames[i].err;
	return -XEN_EIO;
}

static void xs_lock(void)
{
	while (__atomic_exchange_n(&lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void xs_unlock(void)
{
	__atomic_store_n(&lock, 0, __ATOMIC_RELEASE);
}

static int do_init(void)
{
	uint64_t pfn = 0, port = 0;
	int rc = xen_pv_init();
	if (rc < 0)
		return rc;
	rc = hvm_get_param(HVM_PARAM_STORE_PFN, &pfn);
	if (rc < 0)
		return rc;
	rc = hvm_get_param(HVM_PARAM_STORE_EVTCHN, &port);
	if (rc < 0)
		return rc;
	if (pfn == 0 || pfn >= (1ull << 20) || port == 0 || port >= EVTCHN_2L_NR_CHANNELS)
		return -XEN_ENODEV; /* not offered, or beyond guestkit's 4 GiB map */
	ring = (struct xenstore_domain_interface *)(pfn << 12);
	store_port = (evtchn_port_t)port;
	/*
	 * No handler: the port only has to be unmasked, so that the store's
	 * notifications wake a blocked vCPU; the scan counts and drops them.
	 */
	evtchn_unmask_local(store_port);
	return 0;
}

int xs_init(void)
{
	return gk_once(&init_once, do_init);
}

/*
 * wait_progress is called when the ring has no room or no data: poll for
 * the first SPIN_CYCLES since *start, then block until an event arrives
 * (with the single-shot timer armed at deadline, if any). Returns
 * -XEN_ETIMEDOUT once system time passes a nonzero deadline.
 */
static int wait_progress(uint64_t *start, uint64_t deadline)
{
	if (deadline && xen_system_time_ns() >= deadline)
		return -XEN_ETIMEDOUT;
	if (*start == 0)
		*start = rdtsc();
	if (rdtsc() - *start < SPIN_CYCLES) {
		cpu_relax();
		evtchn_poll();
		return 0;
	}
	if (store_cpu != this_cpu()) {
		/* The store's events wake another vCPU: keep polling, politely. */
		HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		return 0;
	}
	if (deadline && (xen_timer_init() < 0 || xen_timer_set(deadline, 0) < 0))
		return -XEN_ETIMEDOUT;
	evtchn_wait();
	return 0;
}

/*
 * follow_caller makes the store port notify the calling vCPU, so that it
 * can block while it waits (EVTCHNOP_bind_vcpu; the port is interdomain).
 * Called with the lock.
 */
static void follow_caller(void)
{
	unsigned cpu = this_cpu();
	if (cpu != store_cpu && evtchn_bind_vcpu(store_port, cpu) == 0)
		store_cpu = cpu;
}

/* ring_write copies n bytes into the request ring, waiting for room. */
static int ring_write(const void *src, size_t n)
{
	const char *p = src;
	uint64_t start = 0;
	while (n) {
		uint32_t cons = __atomic_load_n(&ring->req_cons, __ATOMIC_ACQUIRE);
		uint32_t prod = ring->req_prod;
		if (prod - cons > XENSTORE_RING_SIZE)
			return -XEN_EIO;
		uint32_t room = XENSTORE_RING_SIZE - (prod - cons);
		if (room == 0) {
			wait_progress(&start, 0);
			continue;
		}
		uint32_t off = prod & RING_MASK;
		size_t chunk = XENSTORE_RING_SIZE - off;
		if (chunk > room)
			chunk = room;
		if (chunk > n)
			chunk = n;
		memcpy(ring->req + off, p, chunk);
		__atomic_store_n(&ring->req_prod, prod + (uint32_t)chunk, __ATOMIC_RELEASE);
		evtchn_send(store_port);
		p += chunk;
		n -= chunk;
		start = 0;
	}
	return 0;
}

/* ring_read copies n bytes out of the response ring, waiting for them. */
static int ring_read(void *dst, size_t n, uint64_t deadline)
{
	char *p = dst;
	uint64_t start = 0;
	while (n) {
		uint32_t prod = __atomic_load_n(&ring->rsp_prod, __ATOMIC_ACQUIRE);
		uint32_t cons = ring->rsp_cons;
		if (prod - cons > XENSTORE_RING_SIZE)
			return -XEN_EIO;
		uint32_t avail = prod - cons;
		if (avail == 0) {
			int rc = wait_progress(&start, deadline);
			if (rc < 0)
				return rc;
			continue;
		}
		uint32_t off = cons & RING_MASK;
		size_t chunk = XENSTORE_RING_SIZE - off;
		if (chunk > avail)
			chunk = avail;
		if (chunk > n)
			chunk = n;
		memcpy(p, ring->rsp + off, chunk);
		__atomic_store_n(&ring->rsp_cons, cons + (uint32_t)chunk, __ATOMIC_RELEASE);
		evtchn_send(store_port);
		p += chunk;
		n -= chunk;
		start = 0;
		deadline = 0; /* a message started: read the rest whatever the time */
	}
	return 0;
}

/* queue_watch keeps a WATCH_EVENT payload, dropping the oldest if full. */
static void queue_watch(const char *data, uint32_t len)
{
	if (len >= WATCH_ENTRY) {
		wq_dropped++;
		return;
	}
	if (wq_len == XS_WATCH_QUEUE) {
		wq_head = (wq_head + 1) % XS_WATCH_QUEUE;
		wq_len--;
		wq_dropped++;
	}
	unsigned slot = (wq_head + wq_len) % XS_WATCH_QUEUE;
	memcpy(watchq[slot].data, data, len);
	watchq[slot].data[len] = '\0';
	watchq[slot].len = len;
	wq_len++;
}

/*
 * read_msg reads one message into msg (NUL-terminated) and its header into
 * *h. Watch events are queued and reported as such. Called with the lock.
 */
static int read_msg(struct xsd_sockmsg *h, uint64_t deadline)
{
	int rc = ring_read(h, sizeof *h, deadline);
	if (rc < 0)
		return rc;
	if (h->len > XENSTORE_PAYLOAD_MAX) {
		broken = 1;
		return -XEN_EIO;
	}
	rc = ring_read(msg, h->len, 0);
	if (rc < 0) {
		broken = 1;
		return rc;
	}
	msg[h->len] = '\0';
	if (h->type == XS_WATCH_EVENT)
		queue_watch(msg, h->len);
	return 0;
}

int xs_talk(uint32_t type, xs_tx_t tx, const struct xs_iov *iov, unsigned niov, char *out,
	    size_t outsize)
{
	int rc = xs_init();
	if (rc < 0)
		return rc;
	struct xsd_sockmsg h = {.type = type, .tx_id = tx};
	for (unsigned i = 0; i < niov; i++)
		h.len += (uint32_t)iov[i].len;
	if (h.len > XENSTORE_PAYLOAD_MAX)
		return -XEN_E2BIG;
	xs_lock();
	if (broken) {
		xs_unlock();
		return -XEN_EIO;
	}
	follow_caller();
	h.req_id = next_req_id++;
	rc = ring_write(&h, sizeof h);
	for (unsigned i = 0; rc == 0 && i < niov; i++)
		rc = ring_write(iov[i].base, iov[i].len);
	struct xsd_sockmsg r;
	while (rc == 0) {
		rc = read_msg(&r, 0);
		if (rc == 0 && r.type != XS_WATCH_EVENT && r.req_id == h.req_id)
			break;
	}
	if (rc == 0) {
		if (r.type == XS_ERROR)
			rc = xs_errno_parse(msg);
		else if (r.type != type)
			rc = -XEN_EIO;
		else {
			if (out && outsize)
				memcpy(out, msg, r.len < outsize ? r.len : outsize);
			rc = (int)r.len;
		}
	}
	xs_unlock();
	return rc;
}

/* take_watch moves the oldest queued event for token into path. Called with the lock. */
static int take_watch(const char *token, char *path, size_t size)
{
	for (unsigned i = 0; i < wq_len; i++) {
		unsigned slot = (wq_head + i) % XS_WATCH_QUEUE;
		const char *p = watchq[slot].data; /* NUL-terminated at len */
		size_t plen = strlen(p);
		const char *tok = plen < watchq[slot].len ? p + plen + 1 : "";
		if (token && strcmp(tok, token) != 0)
			continue;
		if (path && size) {
			size_t n = plen < size - 1 ? plen : size - 1;
			memcpy(path, p, n);
			path[n] = '\0';
		}
		/* Close the gap: move the later entries down by one. */
		for (unsigned j = i; j + 1 < wq_len; j++)
			watchq[(wq_head + j) % XS_WATCH_QUEUE] = watchq[(wq_head + j + 1) % XS_WATCH_QUEUE];
		wq_len--;
		return 1;
	}
	return 0;
}

int xs_read_watch(const char *token, char *path, size_t size, uint64_t timeout_ns)
{
	int rc = xs_init();
	if (rc < 0)
		return rc;
	uint64_t deadline = timeout_ns ? xen_system_time_ns() + timeout_ns : 0;
	xs_lock();
	follow_caller();
	for (;;) {
		if (take_watch(token, path, size)) {
			rc = 0;
			break;
		}
		if (broken) {
			rc = -XEN_EIO;
			break;
		}
		/* Read what the store sent, waiting until the deadline for it. */
		uint32_t prod = __atomic_load_n(&ring->rsp_prod, __ATOMIC_ACQUIRE);
		if (prod == ring->rsp_cons && (!deadline || xen_system_time_ns() >= deadline)) {
			rc = -XEN_ETIMEDOUT;
			break;
		}
		struct xsd_sockmsg r;
		rc = read_msg(&r, deadline);
		if (rc < 0)
			break;
		/* A reply nobody waits for (an abandoned request) is dropped. */
	}
	xs_unlock();
	return rc;
}

uint64_t xs_watch_dropped(void)
{
	return wq_dropped;
}
