/*
 * blkbench [mode=randread|randwrite|seqread|seqwrite] [bs=4096] [qd=32]
 *          [n=20000] [dev=0]
 * Keeps qd requests of bs bytes in flight on vbd dev, queueing each batch
 * of free slots and pushing it once, polling for completions at CPL3 (the
 * backend is never asked to notify), until n (at most 2^24) have completed.
 * Reports T_SERIES "lat" (TSC cycles from submit to completion of every
 * ceil(n/65536)th request, so at most 65536 samples), metrics "ops",
 * "cycles" (between the marks "bench_start" and "bench_end"), "lat_stride"
 * and "errors".
 */
#include "gk_blk.h"

#define MAX_QD 32
#define MAX_BS 65536
#define CAP 65536
#define MAX_N (1u << 24)

static uint8_t bufs[MAX_QD][MAX_BS] __attribute__((aligned(4096)));
static struct blkdev disk;
static GK_SERIES(lat, CAP);

static uint64_t arg(int argc, char **argv, const char *key, uint64_t def)
{
	size_t k = strlen(key);
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') {
			int ok;
			uint64_t v = strtou64(argv[i] + k + 1, &ok);
			if (ok)
				return v;
		}
	return def;
}

static const char *mode_of(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "mode=", 5) == 0)
			return argv[i] + 5;
	return "randread";
}

int main(int argc, char **argv)
{
	const char *mode = mode_of(argc, argv);
	uint64_t bs = arg(argc, argv, "bs", 4096), qd = arg(argc, argv, "qd", 32);
	uint64_t n = arg(argc, argv, "n", 20000), dev = arg(argc, argv, "dev", 0);
	int write = strcmp(mode, "randwrite") == 0 || strcmp(mode, "seqwrite") == 0;
	int rnd = strncmp(mode, "rand", 4) == 0;
	if ((!write && strcmp(mode, "randread") && strcmp(mode, "seqread")) || bs < 512 ||
	    bs > MAX_BS || bs % 512 || qd < 1 || qd > MAX_QD || n < 1 || n > MAX_N) {
		printf("usage: blkbench [mode=randread|randwrite|seqread|seqwrite] [bs=512..65536] "
		       "[qd=1..32] [n=1..16777216] [dev=N]\n");
		return 2;
	}
	if (xs_init() != 0 || gnttab_init() != 0)
		T_ABORT("xenstore or grant table set-up failed");
	evtchn_poll();
	int rc = blk_open((int)dev, &disk);
	if (rc != 0) {
		printf("blkbench: blk_open(%lu) = %d (run with --disk)\n", dev, rc);
		T_ABORT("blk_open failed");
	}
	if (blk_set_depth(&disk, (unsigned)qd) != 0)
		T_ABORT("blk_set_depth failed");
	uint64_t span = disk.sectors / (bs / 512); /* blocks on the disk */
	if (span == 0)
		T_ABORT("disk smaller than one block");
	int op = write ? BLKIF_OP_WRITE : BLKIF_OP_READ;
	uint64_t t_sub[MAX_QD], x = 0x9e3779b97f4a7c15ull ^ rdtsc();
	unsigned free_slots[MAX_QD], nfree = 0;
	for (unsigned i = 0; i < qd; i++)
		free_slots[nfree++] = i;
	struct blk_done done[MAX_QD];
	uint64_t issued = 0, completed = 0, errors = 0, next = 0;
	uint64_t stride = (n + CAP - 1) / CAP;
	T_MARK("bench_start");
	uint64_t t0 = rdtsc();
	while (completed < n) {
		while (issued < n && nfree > 0) {
			uint64_t blk;
			if (rnd) {
				x ^= x << 13;
				x ^= x >> 7;
				x ^= x << 17;
				blk = x % span;
			} else {
				blk = next++ % span;
			}
			unsigned slot = free_slots[nfree - 1];
			t_sub[slot] = rdtsc();
			int rc = blk_queue(&disk, op, blk * (bs / 512), bufs[slot], (uint32_t)(bs / 512), slot);
			if (rc == -XEN_EAGAIN)
				break;
			if (rc != 0)
				T_ABORT("blk_queue failed");
			nfree--;
			issued++;
		}
		blk_push(&disk); /* one push per batch */
		int got = blk_poll(&disk, done, MAX_QD);
		if (got == 0) {
			__asm__ volatile("pause");
			continue;
		}
		uint64_t now = rdtsc();
		for (int i = 0; i < got; i++) {
			unsigned slot = (unsigned)done[i].cookie;
			if (completed % stride == 0)
				lat.v[lat.count++] = now - t_sub[slot];
			completed++;
			if (done[i].status != BLKIF_RSP_OKAY)
				errors++;
			free_slots[nfree++] = slot;
		}
	}
	uint64_t cycles = rdtsc() - t0;
	T_MARK("bench_end");
	T_SERIES("lat", &lat);
	T_METRIC("lat_stride", stride);
	T_METRIC("ops", completed);
	T_METRIC("cycles", cycles);
	T_METRIC("errors", errors);
	printf("blkbench: %s bs=%lu qd=%lu: %lu ops in %lu cycles, %lu errors\n", mode, bs, qd,
	       completed, cycles, errors);
	/* Disconnect, so the backend stops before the VM goes away. */
	if (blk_close(&disk) != 0)
		printf("blkbench: blk_close failed\n");
	return errors ? 1 : 0;
}
