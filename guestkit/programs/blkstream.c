/*
 * blkstream [count=N] [bs=S] [k=K] [depth=Q] [seed=X] [start=L] [order=pipe|drain]
 *           [tolerate=0|1] [verify=0|1] [dev=ID]
 *
 * A crash-consistency write stream on device/vbd/ID (docs/crash-consistency.md).
 * It writes records 0, 1, 2, ... of S sectors each, record n at sector
 * L + n*S, never overwriting one, with up to Q writes in flight, and sends
 * FLUSH_DISKCACHE after every K writes. With order=pipe (the default) the
 * flush goes on the ring right behind the writes it covers, without waiting
 * for their responses; with order=drain it waits until those writes have
 * completed. When a flush's OKAY arrives, every record numbered below the
 * count submitted before the flush must be durable, and the program reports
 * that count as the metric "flushed". N = 0 means as many records as fit.
 *
 * Every sector is self-describing, 64 little-endian u64 words: w[0] the
 * magic "XLSTREAM", w[1] the seed, w[2] the record number, w[3] the
 * sector's own number, w[4] its index in the record, w[j] = mix(seed ^
 * (sector * 64 + j)) for j = 5..62 (mix: the splitmix64 finaliser after
 * adding 0x9e3779b97f4a7c15) and w[63] the FNV-1a 64 hash of bytes 0..503.
 * tests/crash/record.go checks images with the same definition.
 *
 * Without tolerate a failed request aborts the run. With tolerate=1 (fault
 * injection) the stream goes on: each failed write, flush or read is
 * reported (metrics "write_err" = record, "flush_err" = the count it would
 * have covered, "read_err" = record) and must carry BLKIF_RSP_ERROR. With
 * verify=1 the records are read back at the end and checked ("verify_bad" =
 * record). Metrics "stream_written" (writes that succeeded) and
 * "stream_flushed" end a complete run.
 */
#include "gk_blk.h"

#define SECTOR 512
#define MAX_BS 128 /* sectors per record: 16 pages, indirect when offered */
#define MAX_DEPTH BLKIF_RING_SIZE
#define MAGIC 0x4d41455254534c58ull /* "XLSTREAM" little-endian */
#define FLUSH_COOKIE (1ull << 63)
#define TIMEOUT_NS 30000000000ull

static uint8_t bufs[MAX_DEPTH][MAX_BS * SECTOR] __attribute__((aligned(4096)));
static uint8_t rbuf[MAX_BS * SECTOR] __attribute__((aligned(4096)));
static struct blkdev disk;
static uint8_t failed_map[1 << 16]; /* records whose write failed (for verify) */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* fill writes record seq (bs sectors starting at lba) into dst. */
static void fill(uint8_t *dst, uint64_t seed, uint64_t seq, uint64_t lba, uint64_t bs)
{
	uint64_t w[64];
	for (uint64_t i = 0; i < bs; i++) {
		uint64_t s = lba + i;
		w[0] = MAGIC;
		w[1] = seed;
		w[2] = seq;
		w[3] = s;
		w[4] = i;
		for (unsigned j = 5; j < 63; j++)
			w[j] = mix(seed ^ (s * 64 + j));
		w[63] = fnv1a((const uint8_t *)w, 504);
		memcpy(dst + i * SECTOR, w, SECTOR);
	}
}

static uint64_t arg(int argc, char **argv, const char *key, uint64_t def, int *bad)
{
	size_t k = strlen(key);
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') {
			int ok;
			uint64_t v = strtou64(argv[i] + k + 1, &ok);
			if (!ok)
				*bad = 1;
			return v;
		}
	return def;
}

static int drain_order(int argc, char **argv, int *bad)
{
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "order=", 6) == 0) {
			if (strcmp(argv[i] + 6, "drain") == 0)
				return 1;
			if (strcmp(argv[i] + 6, "pipe") != 0)
				*bad = 1;
		}
	return 0;
}

/* stream is the state of the write loop. */
struct stream {
	uint64_t seed, start, bs, count, k;
	int tolerate, drain;
	uint64_t next;        /* next record to submit */
	uint64_t since_flush; /* writes submitted since the last flush was submitted */
	int flush_busy;       /* a flush is in flight */
	uint64_t flushed;     /* records below this are durable */
	uint64_t written, write_errs, flush_errs, flushes;
	unsigned free_slot[MAX_DEPTH], nfree;
};

/* complete handles one response; it returns -1 to stop the run. */
static int complete(struct stream *st, const struct blk_done *d)
{
	if (d->cookie & FLUSH_COOKIE) {
		uint64_t upto = d->cookie & ~FLUSH_COOKIE;
		st->flush_busy = 0;
		if (d->status == BLKIF_RSP_OKAY) {
			st->flushes++;
			if (upto > st->flushed) {
				st->flushed = upto;
				T_METRIC("flushed", upto);
			}
			return 0;
		}
		st->flush_errs++;
		printf("blkstream: flush covering %lu records: status %d\n", upto, d->status);
		if (!st->tolerate)
			return -1;
		T_EXPECT_EQ(d->status, BLKIF_RSP_ERROR);
		T_METRIC("flush_err", upto);
		return 0;
	}
	uint64_t seq = d->cookie >> 8;
	st->free_slot[st->nfree++] = (unsigned)(d->cookie & 0xff);
	if (d->status == BLKIF_RSP_OKAY) {
		st->written++;
		return 0;
	}
	st->write_errs++;
	if (seq < sizeof failed_map)
		failed_map[seq] = 1;
	if (st->write_errs <= 4 || !st->tolerate)
		printf("blkstream: write of record %lu: status %d\n", seq, d->status);
	if (!st->tolerate)
		return -1;
	T_EXPECT_EQ(d->status, BLKIF_RSP_ERROR);
	T_METRIC("write_err", seq);
	return 0;
}

/* wait_some waits for at least one response and handles all that came. */
static int wait_some(struct stream *st)
{
	struct blk_done done[MAX_DEPTH];
	int got = blk_wait(&disk, done, MAX_DEPTH, TIMEOUT_NS);
	if (got < 0) {
		printf("blkstream: blk_wait: %d\n", got);
		return -1;
	}
	if (got == 0 && disk.inflight == 0)
		return 0;
	for (int i = 0; i < got; i++)
		if (complete(st, &done[i]) < 0)
			return -1;
	return 0;
}

/* submit_flush queues a flush covering every record submitted so far. */
static int submit_flush(struct stream *st)
{
	int rc = blk_submit(&disk, BLKIF_OP_FLUSH_DISKCACHE, 0, NULL, 0, FLUSH_COOKIE | st->next);
	if (rc == 0) {
		st->flush_busy = 1;
		st->since_flush = 0;
	}
	return rc;
}

/* run_stream writes every record, flushing after every k, then flushes once more. */
static int run_stream(struct stream *st)
{
	while (st->next < st->count || disk.inflight || st->since_flush) {
		int rc = -XEN_EAGAIN;
		int want_flush = st->since_flush >= st->k || (st->next == st->count && st->since_flush);
		if (want_flush && !st->flush_busy && (!st->drain || disk.inflight == 0)) {
			rc = submit_flush(st);
		} else if (!want_flush && st->next < st->count && st->nfree) {
			unsigned slot = st->free_slot[st->nfree - 1];
			uint64_t lba = st->start + st->next * st->bs;
			fill(bufs[slot], st->seed, st->next, lba, st->bs);
			rc = blk_submit(&disk, BLKIF_OP_WRITE, lba, bufs[slot], (uint32_t)st->bs,
					st->next << 8 | slot);
			if (rc == 0) {
				st->nfree--;
				st->next++;
				st->since_flush++;
			}
		}
		if (rc == 0)
			continue;
		if (rc != -XEN_EAGAIN) {
			printf("blkstream: blk_submit: %d\n", rc);
			return -1;
		}
		if (wait_some(st) < 0)
			return -1;
	}
	return 0;
}

/* verify reads every record back and checks it; failed writes are only read. */
static void verify(struct stream *st, const uint8_t *failed)
{
	uint64_t bad = 0, read_errs = 0;
	for (uint64_t seq = 0; seq < st->count; seq++) {
		uint64_t lba = st->start + seq * st->bs;
		int rc = blk_read(&disk, lba, rbuf, (uint32_t)st->bs);
		if (rc != 0) {
			read_errs++;
			T_EXPECT_EQ(disk.last_status, BLKIF_RSP_ERROR);
			T_METRIC("read_err", seq);
			continue;
		}
		if (failed[seq])
			continue;
		fill(bufs[0], st->seed, seq, lba, st->bs);
		if (memcmp(rbuf, bufs[0], st->bs * SECTOR) != 0) {
			if (bad++ < 4)
				printf("blkstream: record %lu reads back wrong\n", seq);
			T_METRIC("verify_bad", seq);
		}
	}
	printf("blkstream: verified %lu records: %lu bad, %lu read errors\n", st->count, bad,
	       read_errs);
	T_EXPECT_EQ(bad, 0);
}

int main(int argc, char **argv)
{
	int bad = 0;
	struct stream st;
	memset(&st, 0, sizeof st);
	st.count = arg(argc, argv, "count", 0, &bad);
	st.bs = arg(argc, argv, "bs", 8, &bad);
	st.k = arg(argc, argv, "k", 8, &bad);
	st.seed = arg(argc, argv, "seed", 0, &bad);
	st.start = arg(argc, argv, "start", 0, &bad);
	st.tolerate = arg(argc, argv, "tolerate", 0, &bad) != 0;
	int check = arg(argc, argv, "verify", 0, &bad) != 0;
	st.drain = drain_order(argc, argv, &bad);
	uint64_t depth = arg(argc, argv, "depth", 16, &bad), dev = arg(argc, argv, "dev", 0, &bad);
	if (bad || st.bs < 1 || st.bs > MAX_BS || st.k < 1 || depth < 1 || depth > MAX_DEPTH ||
	    dev > 0xffff || (check && st.count > sizeof failed_map)) {
		printf("usage: blkstream [count=N] [bs=1..%d] [k=K>0] [depth=1..%d] [seed=X] "
		       "[start=L] [order=pipe|drain] [tolerate=0|1] [verify=0|1] [dev=ID]\n",
		       MAX_BS, MAX_DEPTH);
		return 2;
	}
	if (st.seed == 0)
		st.seed = mix(rdtsc() ^ xen_system_time_ns());

	if (xs_init() != 0 || gnttab_init() != 0)
		T_ABORT("xenstore or grant table set-up failed");
	evtchn_poll();
	int rc = blk_open((int)dev, &disk);
	if (rc != 0) {
		printf("blkstream: blk_open(%lu) = %d (run with a disk)\n", dev, rc);
		T_ABORT("blk_open failed");
	}
	if (blk_readonly(&disk) || !disk.feature_flush)
		T_ABORT("blkstream needs a writable disk with feature-flush-cache");
	if (blk_set_depth(&disk, (unsigned)depth) != 0)
		T_ABORT("blk_set_depth failed");
	if (st.start >= disk.sectors)
		T_ABORT("start lies past the end of the disk");
	uint64_t fit = (disk.sectors - st.start) / st.bs;
	if (st.count == 0 || st.count > fit)
		st.count = fit;
	if (check && st.count > sizeof failed_map)
		st.count = sizeof failed_map;
	for (unsigned i = 0; i < depth; i++)
		st.free_slot[st.nfree++] = i;
	printf("blkstream: %lu records of %lu sectors from sector %lu, flush every %lu, depth %lu, "
	       "%s, seed %#lx\n",
	       st.count, st.bs, st.start, st.k, depth, st.drain ? "drain" : "pipe", st.seed);
	T_METRIC("stream_seed", st.seed);
	T_METRIC("stream_count", st.count);
	T_MARK("stream_start");

	if (run_stream(&st) < 0)
		T_ABORT("write stream failed");
	printf("blkstream: %lu written, %lu write errors, %lu flushes, %lu flush errors, "
	       "%lu records durable\n",
	       st.written, st.write_errs, st.flushes, st.flush_errs, st.flushed);
	T_METRIC("stream_written", st.written);
	T_METRIC("stream_flushed", st.flushed);
	if (check)
		verify(&st, failed_map);
	T_EXPECT_EQ(disk.grant_leaks, 0);
	T_EXPECT_EQ(disk.bad_responses, 0);
	T_EXPECT_EQ(blk_close(&disk), 0);
	printf("blkstream: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}
