/*
 * blkprobe [dev=0] [gap_us=1000]: the per-VM probe of the density
 * benchmark's "blk" profile. Reads one 4 KiB block at a random offset of
 * vbd dev, waits for it (polling at CPL3), then sleeps gap_us on the
 * vCPU's single-shot timer, forever. Each read's latency in TSC cycles
 * goes into a ring of LAT_SLOTS values in guest memory; the ring's address
 * is reported once as metric "lat_ring_gpa" (guestkit maps memory 1:1), so
 * the monitor samples recent latencies without any exit. Ring layout:
 * u64 seq (reads completed), then u64 v[LAT_SLOTS]; read i is in
 * v[i % LAT_SLOTS], written before seq becomes i + 1. A failed read
 * stores latency 0.
 */
#include "gk_blk.h"

#define LAT_SLOTS 4096

static struct {
	volatile uint64_t seq;
	volatile uint64_t v[LAT_SLOTS];
} ring __attribute__((aligned(64)));

static uint8_t buf[4096] __attribute__((aligned(4096)));
static struct blkdev disk;

static void sleep_us(uint64_t us)
{
	uint64_t fired = xen_timer_fired();
	if (xen_timer_set(xen_system_time_ns() + us * 1000, 0) != 0)
		return;
	while (xen_timer_fired() == fired)
		evtchn_wait();
}

int main(int argc, char **argv)
{
	uint64_t dev = gk_arg_u64(argc, argv, "dev", 0);
	uint64_t gap = gk_arg_u64(argc, argv, "gap_us", 1000);
	if (xs_init() != 0 || gnttab_init() != 0)
		T_ABORT("xenstore or grant table set-up failed");
	if (gap > 0 && xen_timer_init() != 0)
		T_ABORT("timer set-up failed");
	evtchn_poll();
	if (blk_open((int)dev, &disk) != 0)
		T_ABORT("blk_open failed (attach a disk)");
	if (blk_set_depth(&disk, 1) != 0)
		T_ABORT("blk_set_depth failed");
	uint64_t span = disk.sectors / 8;
	if (span == 0)
		T_ABORT("disk smaller than one block");
	T_METRIC("lat_ring_gpa", (uint64_t)(uintptr_t)&ring);
	uint64_t x = 0x9e3779b97f4a7c15ull ^ rdtsc();
	struct blk_done done[1];
	for (;;) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		uint64_t t0 = rdtsc();
		if (blk_submit(&disk, BLKIF_OP_READ, (x % span) * 8, buf, 8, 0) != 0)
			T_ABORT("blk_submit failed");
		while (blk_poll(&disk, done, 1) == 0)
			cpu_relax();
		uint64_t lat = rdtsc() - t0;
		uint64_t s = ring.seq;
		ring.v[s % LAT_SLOTS] = done[0].status == BLKIF_RSP_OKAY ? lat : 0;
		__asm__ volatile("" ::: "memory");
		ring.seq = s + 1;
		if (gap > 0)
			sleep_us(gap);
	}
}
