/*
 * blkcheck [sectors=N] [depth=Q] [seed=S] [dev=ID]: integrity check of
 * the Xen virtual block device device/vbd/ID through blkfront.
 *
 * On a writable disk it writes sectors [0, N) in requests of varied shape
 * (one sector, one page, up to 11 pages; page-aligned and not; up to Q in
 * flight; indirect requests when the backend offers them), flushes, reads
 * everything back into a differently aligned buffer, with and without
 * indirect requests, and verifies every sector; then the last sector.
 * Reads and writes past the end must fail with BLKIF_RSP_ERROR. On a
 * read-only disk a write must fail the same way.
 *
 * Sector s holds 64 little-endian u64 words: w[0] = s, w[1] = seed,
 * w[j] = mix(seed ^ (s * 64 + j)) for j = 2..62 (mix: the splitmix64
 * finaliser after adding 0x9e3779b97f4a7c15), and w[63] = FNV-1a 64 of
 * bytes 0..503. The seed, N and the last sector are reported as metrics
 * (blk_seed, blk_pattern_sectors, blk_last_sector) so that the host can
 * check the image itself.
 */
#include "gk_blk.h"

#define BUF_SECTORS 2048
#define SECTOR 512

static uint8_t wbuf[BUF_SECTORS * SECTOR] __attribute__((aligned(4096)));
static uint8_t rbuf[BUF_SECTORS * SECTOR + 4096] __attribute__((aligned(4096)));
static uint8_t page[4096] __attribute__((aligned(4096)));
static struct blkdev disk;

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

static void fill(uint8_t *dst, uint64_t s, uint64_t seed)
{
	uint64_t w[64];
	w[0] = s;
	w[1] = seed;
	for (unsigned j = 2; j < 63; j++)
		w[j] = mix(seed ^ (s * 64 + j));
	w[63] = fnv1a((const uint8_t *)w, 504);
	memcpy(dst, w, SECTOR);
}

/* check returns 0 if src is sector s's pattern, 1 if its checksum is wrong, 2 if only the content is. */
static int check(const uint8_t *src, uint64_t s, uint64_t seed)
{
	uint8_t want[SECTOR];
	uint64_t sum;
	memcpy(&sum, src + 504, 8);
	if (sum != fnv1a(src, 504))
		return 1;
	fill(want, s, seed);
	return memcmp(src, want, SECTOR) ? 2 : 0;
}

/* verify checks n sectors from start in buf and returns how many are wrong. */
static uint64_t verify(const uint8_t *buf, uint64_t start, uint64_t n, uint64_t seed)
{
	uint64_t bad = 0;
	for (uint64_t i = 0; i < n; i++) {
		int rc = check(buf + i * SECTOR, start + i, seed);
		if (rc && bad++ < 4)
			printf("blkcheck: sector %lu: %s\n", start + i,
			       rc == 1 ? "bad checksum" : "wrong content");
	}
	return bad;
}

static const uint32_t shapes[] = {1, 8, 3, 88, 17, 7, 64, 2, 40, 5, 11, 16, 300, 1024};

/* write_pattern writes [0, n) from wbuf with up to depth requests in flight. */
static int write_pattern(uint64_t n, unsigned *max_inflight, unsigned *multi, unsigned *unaligned)
{
	struct blk_done done[BLKIF_RING_SIZE];
	int err = 0;
	uint64_t s = 0;
	unsigned k = 0;
	while (s < n || disk.inflight) {
		if (s < n) {
			uint8_t *buf = wbuf + s * SECTOR;
			uint32_t cnt = shapes[k % (sizeof shapes / sizeof shapes[0])];
			if (cnt > blk_max_sectors(&disk, buf))
				cnt = blk_max_sectors(&disk, buf);
			if (cnt > n - s)
				cnt = (uint32_t)(n - s);
			int rc = blk_submit(&disk, BLKIF_OP_WRITE, s, buf, cnt, s);
			if (rc == 0) {
				if (disk.inflight > *max_inflight)
					*max_inflight = disk.inflight;
				if ((((uintptr_t)buf & 4095) + cnt * SECTOR + 4095) / 4096 > 1)
					(*multi)++;
				if ((uintptr_t)buf & 4095)
					(*unaligned)++;
				s += cnt;
				k++;
				continue;
			}
			if (rc != -XEN_EAGAIN)
				return rc;
		}
		int got = blk_wait(&disk, done, BLKIF_RING_SIZE, 30000000000ull);
		if (got < 0)
			return got;
		for (int i = 0; i < got; i++)
			if (done[i].status != BLKIF_RSP_OKAY && err == 0) {
				printf("blkcheck: write at %lu: status %d\n", done[i].cookie,
				       done[i].status);
				err = -XEN_EIO;
			}
	}
	return err;
}

static void past_end(int write)
{
	const char *what = write ? "write" : "read";
	int rc = write ? blk_write(&disk, disk.sectors, page, 1) : blk_read(&disk, disk.sectors, page, 1);
	printf("blkcheck: %s at sector %lu (past the end): %d, status %d\n", what, disk.sectors, rc,
	       disk.last_status);
	T_EXPECT_EQ(rc, -XEN_EIO);
	T_EXPECT_EQ(disk.last_status, BLKIF_RSP_ERROR);
	rc = write ? blk_write(&disk, disk.sectors - 1, page, 2)
		   : blk_read(&disk, disk.sectors - 1, page, 2);
	T_EXPECT_EQ(rc, -XEN_EIO);
	T_EXPECT_EQ(disk.last_status, BLKIF_RSP_ERROR);
}

static int finish(void)
{
	printf("blkcheck: %lu passed, %lu failed\n", gk_tests_passed, gk_tests_failed);
	return gk_tests_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t n = 1024, depth = 8, seed = 0, id = 0;
	int have_seed = 0;
	for (int i = 1; i < argc; i++) {
		int ok = 1;
		if (strncmp(argv[i], "sectors=", 8) == 0)
			n = strtou64(argv[i] + 8, &ok);
		else if (strncmp(argv[i], "depth=", 6) == 0)
			depth = strtou64(argv[i] + 6, &ok);
		else if (strncmp(argv[i], "seed=", 5) == 0)
			seed = strtou64(argv[i] + 5, &ok), have_seed = 1;
		else if (strncmp(argv[i], "dev=", 4) == 0)
			id = strtou64(argv[i] + 4, &ok);
		else if (strncmp(argv[i], "xen_blkfront.", 13) != 0)
			ok = 0; /* xen_blkfront.* words are for the library */
		if (!ok || n == 0 || depth == 0 || depth > BLKIF_RING_SIZE || id > 0xffff) {
			printf("usage: blkcheck [sectors=1..%d] [depth=1..%d] [seed=S] [dev=ID]\n",
			       BUF_SECTORS, BLKIF_RING_SIZE);
			return 2;
		}
	}
	if (n > BUF_SECTORS)
		n = BUF_SECTORS;
	if (!have_seed)
		seed = mix(rdtsc() ^ xen_system_time_ns());

	T_EXPECT_EQ(xs_init(), 0);
	T_EXPECT_EQ(gnttab_init(), 0);
	evtchn_poll();

	uint64_t t0 = xen_system_time_ns();
	int rc = blk_open((int)id, &disk);
	if (rc == -XEN_ENOENT) {
		printf("blkcheck: no device/vbd/%lu (run with --disk)\n", id);
		T_SKIP("no disk");
		return finish();
	}
	T_EXPECT_EQ(rc, 0);
	if (rc < 0)
		T_ABORT("blk_open failed");
	T_METRIC("blk_open_ns", xen_system_time_ns() - t0);
	printf("blkcheck: %s: %lu sectors (%lu KiB), sector-size %u, info %#x%s, flush %d, "
	       "discard %d, max-indirect %u\n",
	       disk.xb.nodename, disk.sectors, disk.sectors / 2, disk.sector_size, disk.info,
	       blk_readonly(&disk) ? " (read-only)" : "", disk.feature_flush,
	       disk.feature_discard, disk.max_indirect);
	T_METRIC("blk_disk_sectors", disk.sectors);
	T_EXPECT_EQ(blk_set_depth(&disk, (unsigned)depth), 0);
	T_EXPECT(disk.sectors > 0);
	if (disk.sectors == 0)
		T_ABORT("empty disk");
	if (n > disk.sectors)
		n = disk.sectors;

	if (blk_readonly(&disk)) {
		fill(page, 0, seed);
		rc = blk_write(&disk, 0, page, 1);
		printf("blkcheck: write to the read-only disk: %d, status %d\n", rc,
		       disk.last_status);
		T_EXPECT_EQ(rc, -XEN_EIO);
		T_EXPECT_EQ(disk.last_status, BLKIF_RSP_ERROR);
		T_EXPECT_EQ(blk_read(&disk, 0, rbuf + 1536, (uint32_t)n), 0);
		past_end(0);
		T_EXPECT_EQ(blk_close(&disk), 0);
		return finish();
	}

	/* Write [0, n) in varied shapes, flush, read back, verify. */
	for (uint64_t s = 0; s < n; s++)
		fill(wbuf + s * SECTOR, s, seed);
	unsigned max_inflight = 0, multi = 0, unaligned = 0;
	t0 = xen_system_time_ns();
	rc = write_pattern(n, &max_inflight, &multi, &unaligned);
	uint64_t wns = xen_system_time_ns() - t0;
	T_EXPECT_EQ(rc, 0);
	printf("blkcheck: wrote %lu sectors in %lu us: max %u in flight, %u multi-page, "
	       "%u unaligned requests\n",
	       n, wns / 1000, max_inflight, multi, unaligned);
	if (n >= 16)
		T_EXPECT(multi > 0 && unaligned > 0);
	if (depth > 1 && n > 64)
		T_EXPECT(max_inflight > 1);
	T_METRIC("blk_max_inflight", max_inflight);
	if (disk.feature_flush)
		T_EXPECT_EQ(blk_flush(&disk), 0);
	else
		T_SKIP("no feature-flush-cache");

	memset(rbuf, 0xa5, sizeof rbuf);
	t0 = xen_system_time_ns();
	T_EXPECT_EQ(blk_read(&disk, 0, rbuf + 1536, (uint32_t)n), 0);
	uint64_t rns = xen_system_time_ns() - t0;
	uint64_t bad = verify(rbuf + 1536, 0, n, seed);
	T_EXPECT_EQ(bad, 0);
	printf("blkcheck: read back %lu sectors in %lu us: %lu bad; %lu indirect requests so far\n",
	       n, rns / 1000, bad, disk.indirect_reqs);
	if (disk.max_indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST && n >= 128)
		T_EXPECT(disk.indirect_reqs > 0);
	/* Again with direct requests only (11 pages at most). */
	blk_set_indirect(&disk, 0);
	uint64_t ind_before = disk.indirect_reqs;
	memset(rbuf, 0x5a, sizeof rbuf);
	T_EXPECT_EQ(blk_read(&disk, 0, rbuf + 1536, (uint32_t)n), 0);
	T_EXPECT_EQ(verify(rbuf + 1536, 0, n, seed), 0);
	T_EXPECT_EQ(disk.indirect_reqs, ind_before);
	blk_set_indirect(&disk, 1);

	/* Single sectors, one page each, at the start, the middle and the end of the range. */
	uint64_t picks[] = {0, n / 2, n - 1};
	for (unsigned i = 0; i < 3; i++) {
		T_EXPECT_EQ(blk_read(&disk, picks[i], page + 3584, 1), 0);
		T_EXPECT_EQ(verify(page + 3584, picks[i], 1, seed), 0);
	}

	/* The last sector of the disk. */
	uint64_t last = disk.sectors - 1;
	if (last >= n) {
		fill(page, last, seed);
		T_EXPECT_EQ(blk_write(&disk, last, page, 1), 0);
		memset(page, 0, sizeof page);
		T_EXPECT_EQ(blk_read(&disk, last, page, 1), 0);
		T_EXPECT_EQ(verify(page, last, 1, seed), 0);
		if (disk.feature_flush)
			T_EXPECT_EQ(blk_flush(&disk), 0);
	}

	past_end(0);
	past_end(1);
	/* The device still works after the errors. */
	T_EXPECT_EQ(blk_read(&disk, 0, page, 1), 0);
	T_EXPECT_EQ(verify(page, 0, 1, seed), 0);

	T_METRIC("blk_seed", seed);
	T_METRIC("blk_pattern_sectors", n);
	T_METRIC("blk_last_sector", last);
	T_METRIC("blk_write_ns", wns);
	T_METRIC("blk_read_ns", rns);
	T_METRIC("blk_notifies", disk.notifies);
	T_METRIC("blk_persistent", (uint64_t)disk.feature_persistent);
	T_METRIC("blk_pgrant_hits", disk.pgrant_hits);
	T_EXPECT_EQ(disk.grant_leaks, 0);
	T_EXPECT_EQ(disk.bad_responses, 0);
	T_EXPECT_EQ(blk_close(&disk), 0);
	return finish();
}
