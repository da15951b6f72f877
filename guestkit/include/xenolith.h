/*
 * xenolith.h: what the Xenolith monitor adds to Xen's ABI (docs/guest-abi.md):
 * I/O ports and the guestkit test protocol. hv/xen encodes the same numbers.
 * Safe to include from assembly.
 */
#ifndef GUESTKIT_XENOLITH_H
#define GUESTKIT_XENOLITH_H

/* Ports (32-bit OUT unless noted). */
#define XENOLITH_PORT_HYPERCALL 0xc0 /* EAX = number, args RDI RSI RDX R10 R8, result RAX */
#define XENOLITH_PORT_RAW 0xc4       /* raw exit: the monitor does nothing and resumes */
#define XENOLITH_PORT_TEST 0xc8      /* test protocol below */
#define XENOLITH_PORT_DEBUGCON 0xe9  /* 8-bit OUT: Xen's HVM debug console byte */

/* Hypercall MSR the monitor advertises in CPUID leaf 0x40000002 EBX. */
#define XENOLITH_HYPERCALL_MSR 0x40000000u

/*
 * Test protocol: OUT %eax,$XENOLITH_PORT_TEST with EAX = XENOLITH_TEST_OP_REPORT,
 * RDI = kind, RSI = file name GVA, RDX = line, R10 = message or name GVA,
 * R8 = value (metric) or series GVA. The monitor answers RAX = 0.
 */
#define XENOLITH_TEST_OP_REPORT 1

#define XENOLITH_TEST_PASS 0   /* R10: message */
#define XENOLITH_TEST_FAIL 1   /* R10: message */
#define XENOLITH_TEST_ABORT 2  /* R10: message; the VM is destroyed */
#define XENOLITH_TEST_METRIC 3 /* R10: metric name, R8: unsigned 64-bit value */
#define XENOLITH_TEST_SKIP 4   /* R10: message */
#define XENOLITH_TEST_SERIES 5 /* R10: series name, R8: GVA of struct xenolith_series */
#define XENOLITH_TEST_MARK 6   /* R10: mark name; the monitor timestamps it */

#define XENOLITH_TEST_MAX_FILE 256   /* bytes of a file name, NUL included */
#define XENOLITH_TEST_MAX_MSG 1024   /* bytes of a message or name, NUL included */
#define XENOLITH_SERIES_MAX (1u << 20) /* most values in one series */

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

/* Samples reported with XENOLITH_TEST_SERIES. */
struct xenolith_series {
	uint64_t count; /* number of values that follow, at most XENOLITH_SERIES_MAX */
	uint64_t v[];   /* the values */
};
_Static_assert(sizeof(struct xenolith_series) == 8, "xenolith_series header size");
_Static_assert(offsetof(struct xenolith_series, v) == 8, "xenolith_series.v");
#endif

#endif /* GUESTKIT_XENOLITH_H */
