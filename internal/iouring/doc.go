// Package iouring is a small io_uring client on raw system calls: one ring
// (submission queue, completion queue and SQE array mapped from the
// kernel), and only the operations Xenolith's backends need: READ, WRITE,
// FSYNC (optionally data-only), FALLOCATE and NOP, with the DRAIN and LINK
// ordering flags, plus a registered file table (FIXED_FILE) and a sparse
// registered buffer table for READ_FIXED and WRITE_FIXED, which spare the
// kernel a descriptor lookup and a user-address walk per entry.
//
// A Ring is used by one goroutine at a time; callers that share one
// serialise access themselves. Buffers handed to Read and Write are
// referenced by the kernel until their completion is reaped: they must stay
// valid (and, for Go memory, reachable) until then. Guest memory mapped by
// the monitor is the intended target, so no copy is made.
//
// Available reports whether the running kernel offers io_uring with these
// operations (it is absent before Linux 5.6 and may be disabled through
// /proc/sys/kernel/io_uring_disabled or a seccomp filter); callers fall
// back to ordinary system calls when it does not.
package iouring
