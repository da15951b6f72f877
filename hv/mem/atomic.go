package mem

import "sync/atomic"

// The functions below do atomic accesses to words inside a window of guest
// memory (a ring page, a grant table frame) held as a byte slice. off is a
// byte offset into b; the word must lie wholly inside b (else an error
// wrapping ErrOutOfRange) and its address must be naturally aligned (else
// ErrMisaligned). Values use the host's byte order (little-endian on x86).
// Go has no 16-bit atomics: update a 16-bit field through the aligned
// 32-bit word that contains it.

// LoadUint32 atomically loads the 32-bit word at b[off:].
func LoadUint32(b []byte, off int) (uint32, error) {
	p, err := word32(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32(p), nil
}

// StoreUint32 atomically stores v into the 32-bit word at b[off:].
func StoreUint32(b []byte, off int, v uint32) error {
	p, err := word32(b, off)
	if err != nil {
		return err
	}
	atomic.StoreUint32(p, v)
	return nil
}

// SwapUint32 atomically stores v into the 32-bit word at b[off:] and returns
// the old value.
func SwapUint32(b []byte, off int, v uint32) (uint32, error) {
	p, err := word32(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.SwapUint32(p, v), nil
}

// CompareAndSwapUint32 atomically replaces the 32-bit word at b[off:] with
// new if it equals old, and reports whether it did.
func CompareAndSwapUint32(b []byte, off int, old, new uint32) (bool, error) {
	p, err := word32(b, off)
	if err != nil {
		return false, err
	}
	return atomic.CompareAndSwapUint32(p, old, new), nil
}

// AddUint32 atomically adds delta to the 32-bit word at b[off:] and returns
// the new value. Subtract x with AddUint32(b, off, ^(x-1)).
func AddUint32(b []byte, off int, delta uint32) (uint32, error) {
	p, err := word32(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.AddUint32(p, delta), nil
}

// OrUint32 atomically sets the bits of mask in the 32-bit word at b[off:]
// and returns the old value.
func OrUint32(b []byte, off int, mask uint32) (uint32, error) {
	p, err := word32(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.OrUint32(p, mask), nil
}

// AndUint32 atomically keeps only the bits of mask in the 32-bit word at
// b[off:] and returns the old value.
func AndUint32(b []byte, off int, mask uint32) (uint32, error) {
	p, err := word32(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.AndUint32(p, mask), nil
}

// LoadUint64 atomically loads the 64-bit word at b[off:].
func LoadUint64(b []byte, off int) (uint64, error) {
	p, err := word64(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint64(p), nil
}

// StoreUint64 atomically stores v into the 64-bit word at b[off:].
func StoreUint64(b []byte, off int, v uint64) error {
	p, err := word64(b, off)
	if err != nil {
		return err
	}
	atomic.StoreUint64(p, v)
	return nil
}

// SwapUint64 atomically stores v into the 64-bit word at b[off:] and returns
// the old value.
func SwapUint64(b []byte, off int, v uint64) (uint64, error) {
	p, err := word64(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.SwapUint64(p, v), nil
}

// CompareAndSwapUint64 atomically replaces the 64-bit word at b[off:] with
// new if it equals old, and reports whether it did.
func CompareAndSwapUint64(b []byte, off int, old, new uint64) (bool, error) {
	p, err := word64(b, off)
	if err != nil {
		return false, err
	}
	return atomic.CompareAndSwapUint64(p, old, new), nil
}

// AddUint64 atomically adds delta to the 64-bit word at b[off:] and returns
// the new value.
func AddUint64(b []byte, off int, delta uint64) (uint64, error) {
	p, err := word64(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.AddUint64(p, delta), nil
}

// OrUint64 atomically sets the bits of mask in the 64-bit word at b[off:]
// and returns the old value.
func OrUint64(b []byte, off int, mask uint64) (uint64, error) {
	p, err := word64(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.OrUint64(p, mask), nil
}

// AndUint64 atomically keeps only the bits of mask in the 64-bit word at
// b[off:] and returns the old value.
func AndUint64(b []byte, off int, mask uint64) (uint64, error) {
	p, err := word64(b, off)
	if err != nil {
		return 0, err
	}
	return atomic.AndUint64(p, mask), nil
}
