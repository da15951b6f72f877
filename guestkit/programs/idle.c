/*
 * idle: reaches main (the runtime reports mark "main") and then blocks in
 * SCHEDOP_block forever: the "idle VM" of the density benchmark. It wakes
 * only for events and goes back to sleep; the monitor stops it.
 */
#include "guestkit.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	for (;;)
		sys_block();
}
