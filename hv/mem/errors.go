package mem

import (
	"errors"
	"fmt"
)

// ErrFault reports a guest address that cannot be accessed: outside guest
// RAM, not mapped by the guest's page tables, or not writable for a write.
// Errors that wrap it are the guest's fault; answer them with -EFAULT.
var ErrFault = errors.New("mem: guest address fault")

// ErrOutOfRange reports a guest-physical range, or an offset into a window
// of guest memory, that does not lie wholly inside it. It wraps ErrFault.
var ErrOutOfRange = fmt.Errorf("%w: outside guest memory", ErrFault)

// ErrMisaligned reports an atomic access at an address that is not a
// multiple of the access size.
var ErrMisaligned = errors.New("mem: misaligned atomic access")

// ErrClosed reports use of a Memory after Close.
var ErrClosed = errors.New("mem: memory closed")

// ErrInvalidSize reports a guest RAM size that New does not accept.
var ErrInvalidSize = errors.New("mem: invalid memory size")

// ErrInvalidOptions reports an Options value that New does not accept.
var ErrInvalidOptions = errors.New("mem: invalid options")

// FaultError describes a failed guest-virtual translation. It wraps
// ErrFault.
type FaultError struct {
	GVA    GVA    // the guest-virtual address that faulted
	Write  bool   // whether the access was a write
	Reason string // what the walk found, e.g. "pde not present"
}

// Error implements error.
func (e *FaultError) Error() string {
	access := "read"
	if e.Write {
		access = "write"
	}
	return fmt.Sprintf("%v: gva %#x (%s): %s", ErrFault, uint64(e.GVA), access, e.Reason)
}

// Unwrap returns ErrFault.
func (e *FaultError) Unwrap() error { return ErrFault }

// rangeError builds the error for an access of n bytes at off that does not
// fit in a region of size bytes.
func rangeError(what string, off, n, size uint64) error {
	return fmt.Errorf("%w: %s %#x+%#x beyond size %#x", ErrOutOfRange, what, off, n, size)
}
