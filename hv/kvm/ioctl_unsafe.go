package kvm

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctlPtr issues an ioctl whose argument is a pointer to b's first byte.
// The buffer is a Go byte slice laid out exactly as the kernel struct, so no
// Go struct is ever handed to the kernel.
func ioctlPtr(fd int, req uintptr, b []byte) (uintptr, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
	if e != 0 {
		return r, e
	}
	return r, nil
}

// ioctlVal issues an ioctl whose argument is an integer.
func ioctlVal(fd int, req, arg uintptr) (uintptr, error) {
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
	if e != 0 {
		return r, e
	}
	return r, nil
}

// sliceAddr returns the user-space address of b's first byte, for
// KVM_SET_USER_MEMORY_REGION. The caller keeps b mapped while KVM uses it.
func sliceAddr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}

// runByte returns a pointer to byte off of the kvm_run mapping, for the
// cross-thread store of immediate_exit.
func storeByte(b []byte, off int, v byte) {
	p := (*byte)(unsafe.Pointer(&b[off]))
	*(*uint8)(unsafe.Pointer(p)) = v
}
