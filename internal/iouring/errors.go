package iouring

import "errors"

// Sentinel errors.
var (
	// ErrUnavailable reports that the kernel offers no usable io_uring:
	// not built in, disabled by sysctl, refused by a filter, or missing
	// an operation this package needs.
	ErrUnavailable = errors.New("iouring: io_uring unavailable")
	// ErrQueueFull reports that every submission queue entry is in use
	// until the next Submit.
	ErrQueueFull = errors.New("iouring: submission queue full")
	// ErrClosed reports use of a Ring after Close.
	ErrClosed = errors.New("iouring: ring closed")
	// ErrArgument reports an argument the kernel could not take (a
	// negative offset or length, a buffer larger than 2 GiB).
	ErrArgument = errors.New("iouring: bad argument")
)
