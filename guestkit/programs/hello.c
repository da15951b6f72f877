/* hello: prints the Xen version and the vCPU count, then powers off. */
#include "guestkit.h"

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	xen_extraversion_t extra;
	memset(extra, 0, sizeof extra);

	long ver = HYPERVISOR_xen_version(XENVER_version, NULL);
	long rc = HYPERVISOR_xen_version(XENVER_extraversion, extra);
	if (ver < 0 || rc < 0) {
		printf("hello: xen_version failed: %ld %ld\n", ver, rc);
		return 1;
	}
	extra[sizeof extra - 1] = '\0';
	printf("hello from guestkit: Xen %ld.%ld%s, %u vCPU(s)\n", ver >> 16, ver & 0xffff, extra,
	       gk_nr_vcpus());
	return 0;
}
