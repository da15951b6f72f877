/*
 * hostile_silent mode=noconnect|noconsume: a guest that stops talking.
 *   noconnect: vbd 0 is attached but the guest never touches xenstore or
 *              the ring: the backend waits in InitWait;
 *   noconsume: the guest connects vbd 0, fills the ring with READs and
 *              never takes a response (nor ends its grants).
 * Either way it then reports mark "silent" and blocks for good; the host
 * stops the VM, and detaching the disk must not hang or leak.
 */
#include "gk_blk.h"

static struct blkdev dev;
static uint8_t buf[BLKIF_RING_SIZE][4096] __attribute__((aligned(4096)));

int main(int argc, char **argv)
{
	const char *mode = "noconnect";
	for (int i = 1; i < argc; i++)
		if (strncmp(argv[i], "mode=", 5) == 0)
			mode = argv[i] + 5;
	if (strcmp(mode, "noconsume") == 0) {
		if (xs_init() != 0 || gnttab_init() != 0)
			T_ABORT("no xenstore or grant table");
		evtchn_poll();
		T_EXPECT_EQ(blk_open(0, &dev), 0);
		unsigned n = 0;
		while (n < BLKIF_RING_SIZE && blk_submit(&dev, BLKIF_OP_READ, n * 8, buf[n], 8, n) == 0)
			n++;
		T_EXPECT_EQ(n, BLKIF_RING_SIZE);
		T_METRIC("requests_unconsumed", n);
	}
	printf("hostile_silent: %s: %lu passed, %lu failed\n", mode, gk_tests_passed,
	       gk_tests_failed);
	T_MARK("silent");
	for (;;)
		sys_block();
}
