package iouring

import (
	"fmt"
	"os"
	"strings"
	"sync"
)

// disabledPath is the sysctl that turns io_uring off system-wide (2) or
// for unprivileged processes (1).
const disabledPath = "/proc/sys/kernel/io_uring_disabled"

var probeOnce struct {
	sync.Once
	err error
}

// Available reports whether io_uring with every operation of this package
// works here: nil, or an error wrapping ErrUnavailable that says why. The
// answer is computed once per process. Setting XENOLITH_IOURING=off in
// the environment makes it report unavailable (to exercise fallbacks).
func Available() error {
	probeOnce.Do(func() { probeOnce.err = probe() })
	return probeOnce.err
}

func probe() error {
	if strings.EqualFold(os.Getenv("XENOLITH_IOURING"), "off") {
		return fmt.Errorf("%w: XENOLITH_IOURING=off", ErrUnavailable)
	}
	if b, err := os.ReadFile(disabledPath); err == nil && strings.TrimSpace(string(b)) == "2" {
		return fmt.Errorf("%w: %s is 2", ErrUnavailable, disabledPath)
	}
	r, err := New(4)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer r.Close()
	if err := r.supports(OpNop, OpRead, OpWrite, OpFsync, OpFallocate); err != nil {
		return err
	}
	// One round trip proves the rings work.
	if err := r.Nop(0, 42); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if _, err := r.Submit(1); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var c [1]CQE
	if r.Reap(c[:]) != 1 || c[0].UserData != 42 || c[0].Res != 0 {
		return fmt.Errorf("%w: nop round trip returned %+v", ErrUnavailable, c[0])
	}
	return nil
}

// BufferTablesAvailable reports whether, beyond Available, the kernel
// offers sparse registered-buffer tables (RegisterBufferSlots, Linux 5.19):
// nil, or an error saying why not.
func BufferTablesAvailable() error {
	if err := Available(); err != nil {
		return err
	}
	r, err := New(1)
	if err != nil {
		return err
	}
	defer r.Close()
	return r.RegisterBufferSlots(1)
}
