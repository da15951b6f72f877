/*
 * console.c: console output, through console_io or the PV console ring
 * (io/console.h) once console_use_ring has found it. Output from several
 * vCPUs is serialised by a spinlock so lines do not interleave mid-write.
 */
#include "gk_pv.h"

#define OUT_SIZE 2048
#define STALL_CYCLES (4ull * 1000 * 1000 * 1000) /* ~1.5 s without progress: give up */

static struct xencons_interface *volatile cons_ring;
static evtchn_port_t cons_port;
static volatile uint32_t cons_lock;

static void lock_take(void)
{
	while (__atomic_exchange_n(&cons_lock, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
}

static void lock_give(void)
{
	__atomic_store_n(&cons_lock, 0, __ATOMIC_RELEASE);
}

/* notify sends on the console port straight through the hypercall page. */
static void notify(void)
{
	struct evtchn_port_arg a = {.port = cons_port};
	HYPERVISOR_event_channel_op(EVTCHNOP_send, &a);
}

int console_use_ring(void)
{
	struct xen_hvm_param p = {.domid = DOMID_SELF, .index = HVM_PARAM_CONSOLE_PFN};
	long rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
	if (rc < 0)
		return (int)rc;
	uint64_t pfn = p.value;
	p.index = HVM_PARAM_CONSOLE_EVTCHN;
	rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
	if (rc < 0)
		return (int)rc;
	if (pfn == 0 || pfn >= (1ull << 20) || p.value == 0 || p.value >= EVTCHN_2L_NR_CHANNELS)
		return -XEN_ENODEV;
	lock_take();
	cons_port = (evtchn_port_t)p.value;
	__atomic_store_n(&cons_ring, (struct xencons_interface *)(pfn << 12), __ATOMIC_RELEASE);
	lock_give();
	return 0;
}

void console_use_hypercall(void)
{
	console_flush();
	lock_take();
	__atomic_store_n(&cons_ring, NULL, __ATOMIC_RELEASE);
	lock_give();
}

int console_ring_active(void)
{
	return __atomic_load_n(&cons_ring, __ATOMIC_ACQUIRE) != NULL;
}

/* wait_room waits for the backend to consume; 0 if it stalled. Called with the lock. */
static int wait_consumed(struct xencons_interface *r, uint32_t prod, uint32_t want_free)
{
	uint64_t start = rdtsc();
	uint32_t last = __atomic_load_n(&r->out_cons, __ATOMIC_ACQUIRE);
	notify();
	for (unsigned spins = 0;; spins++) {
		uint32_t cons = __atomic_load_n(&r->out_cons, __ATOMIC_ACQUIRE);
		if (OUT_SIZE - (prod - cons) >= want_free)
			return 1;
		if (cons != last) {
			last = cons;
			start = rdtsc();
		} else if (rdtsc() - start > STALL_CYCLES) {
			return 0;
		}
		if (spins % 64 == 63)
			HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
		else
			cpu_relax();
	}
}

/* ring_write copies s into the output ring; returns bytes written (< n if stalled). */
static size_t ring_write(struct xencons_interface *r, const char *s, size_t n)
{
	size_t done = 0;
	while (done < n) {
		uint32_t prod = r->out_prod;
		uint32_t cons = __atomic_load_n(&r->out_cons, __ATOMIC_ACQUIRE);
		uint32_t used = prod - cons;
		if (used > OUT_SIZE)
			break; /* indices corrupted: stop using the ring */
		if (used == OUT_SIZE) {
			if (!wait_consumed(r, prod, 1))
				break;
			continue;
		}
		size_t chunk = OUT_SIZE - used;
		if (chunk > n - done)
			chunk = n - done;
		for (size_t i = 0; i < chunk; i++)
			r->out[(prod + i) & (OUT_SIZE - 1)] = s[done + i];
		__atomic_store_n(&r->out_prod, prod + (uint32_t)chunk, __ATOMIC_RELEASE);
		done += chunk;
	}
	notify();
	return done;
}

long console_write(const char *s, size_t n)
{
	struct xencons_interface *r = __atomic_load_n(&cons_ring, __ATOMIC_ACQUIRE);
	if (!r)
		return HYPERVISOR_console_io(CONSOLEIO_write, (unsigned)n, s);
	lock_take();
	size_t done = ring_write(r, s, n);
	if (done < n) {
		/* The backend stopped reading: say so once and go back to console_io. */
		__atomic_store_n(&cons_ring, NULL, __ATOMIC_RELEASE);
		lock_give();
		static const char msg[] = "\nconsole: PV ring stalled; using console_io\n";
		HYPERVISOR_console_io(CONSOLEIO_write, sizeof msg - 1, msg);
		return HYPERVISOR_console_io(CONSOLEIO_write, (unsigned)(n - done), s + done);
	}
	lock_give();
	return 0;
}

int console_flush(void)
{
	struct xencons_interface *r = __atomic_load_n(&cons_ring, __ATOMIC_ACQUIRE);
	if (!r)
		return 0;
	lock_take();
	int ok = wait_consumed(r, r->out_prod, OUT_SIZE);
	lock_give();
	return ok ? 0 : -XEN_ETIMEDOUT;
}
