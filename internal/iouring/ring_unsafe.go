package iouring

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The few operations that need package unsafe: the setup call's parameter
// block, atomic access to the shared ring indices, and buffer addresses for
// submission entries.

// setup calls io_uring_setup(2).
func setup(entries uint32, p *params) (int, error) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// enter calls io_uring_enter(2) without a signal mask.
func enter(fd int, toSubmit, minComplete, flags uint32) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit),
		uintptr(minComplete), uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// register calls io_uring_register(2) with arg pointing into buf (or nil).
func register(fd int, op uint32, buf []byte, nrArgs uint32) error {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(op), uintptr(p), uintptr(nrArgs), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// registerInt32 calls io_uring_register(2) with a pointer to one int32.
func registerInt32(fd int, op uint32, v int32) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(op), uintptr(unsafe.Pointer(&v)), 1, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// word returns the u32 at off in a ring mapping, for atomic access. off
// comes from the kernel's offsets, checked against the mapping's length and
// alignment by checkOffset.
func word(b []byte, off uint32) *uint32 {
	return (*uint32)(unsafe.Pointer(&b[off]))
}

// load32 atomically loads the index at off.
func load32(b []byte, off uint32) uint32 { return atomic.LoadUint32(word(b, off)) }

// store32 atomically stores the index at off; the store orders every
// earlier write (entries, array slots) before it.
func store32(b []byte, off uint32, v uint32) { atomic.StoreUint32(word(b, off), v) }

// addrOf returns the address of b's first byte (0 for an empty slice).
func addrOf(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// The parameter block must match the kernel's size exactly.
var (
	_ [paramsSize - unsafe.Sizeof(params{})]byte
	_ [unsafe.Sizeof(params{}) - paramsSize]byte
)
