package mem

import (
	"fmt"
	"unsafe"
)

// word32 returns a pointer to the 4 bytes of b at off, after checking that
// they lie inside b and that their address is 4-byte aligned.
func word32(b []byte, off int) (*uint32, error) {
	if off < 0 || len(b) < 4 || off > len(b)-4 {
		return nil, windowRangeError(off, 4, len(b))
	}
	p := unsafe.Pointer(&b[off])
	if uintptr(p)&3 != 0 {
		return nil, fmt.Errorf("%w: 4-byte access at offset %#x", ErrMisaligned, off)
	}
	return (*uint32)(p), nil
}

// word64 returns a pointer to the 8 bytes of b at off, after checking that
// they lie inside b and that their address is 8-byte aligned.
func word64(b []byte, off int) (*uint64, error) {
	if off < 0 || len(b) < 8 || off > len(b)-8 {
		return nil, windowRangeError(off, 8, len(b))
	}
	p := unsafe.Pointer(&b[off])
	if uintptr(p)&7 != 0 {
		return nil, fmt.Errorf("%w: 8-byte access at offset %#x", ErrMisaligned, off)
	}
	return (*uint64)(p), nil
}

// windowRangeError builds the error for an access of n bytes at off outside
// a window of size bytes.
func windowRangeError(off, n, size int) error {
	return fmt.Errorf("%w: offset %d+%d beyond window size %d", ErrOutOfRange, off, n, size)
}
