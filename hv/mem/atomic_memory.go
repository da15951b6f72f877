package mem

import (
	"fmt"
	"sync/atomic"
)

// The methods below do atomic accesses to words of guest RAM shared with the
// guest (ring indices, event bitmaps, grant flags). gpa must be naturally
// aligned (else ErrMisaligned) and the word must lie inside guest RAM (else
// an error wrapping ErrOutOfRange). Values use the host's byte order.

// Load32 atomically loads the 32-bit word at gpa.
func (m *Memory) Load32(gpa GPA) (uint32, error) {
	p, err := m.word32(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint32(p), nil
}

// Store32 atomically stores v into the 32-bit word at gpa.
func (m *Memory) Store32(gpa GPA, v uint32) error {
	p, err := m.word32(gpa)
	if err != nil {
		return err
	}
	atomic.StoreUint32(p, v)
	return nil
}

// Swap32 atomically stores v into the 32-bit word at gpa and returns the old
// value.
func (m *Memory) Swap32(gpa GPA, v uint32) (uint32, error) {
	p, err := m.word32(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.SwapUint32(p, v), nil
}

// CompareAndSwap32 atomically replaces the 32-bit word at gpa with new if it
// equals old, and reports whether it did.
func (m *Memory) CompareAndSwap32(gpa GPA, old, new uint32) (bool, error) {
	p, err := m.word32(gpa)
	if err != nil {
		return false, err
	}
	return atomic.CompareAndSwapUint32(p, old, new), nil
}

// Add32 atomically adds delta to the 32-bit word at gpa and returns the new
// value.
func (m *Memory) Add32(gpa GPA, delta uint32) (uint32, error) {
	p, err := m.word32(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.AddUint32(p, delta), nil
}

// Or32 atomically sets the bits of mask in the 32-bit word at gpa and returns
// the old value.
func (m *Memory) Or32(gpa GPA, mask uint32) (uint32, error) {
	p, err := m.word32(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.OrUint32(p, mask), nil
}

// And32 atomically keeps only the bits of mask in the 32-bit word at gpa and
// returns the old value.
func (m *Memory) And32(gpa GPA, mask uint32) (uint32, error) {
	p, err := m.word32(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.AndUint32(p, mask), nil
}

// Load64 atomically loads the 64-bit word at gpa.
func (m *Memory) Load64(gpa GPA) (uint64, error) {
	p, err := m.word64(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.LoadUint64(p), nil
}

// Store64 atomically stores v into the 64-bit word at gpa.
func (m *Memory) Store64(gpa GPA, v uint64) error {
	p, err := m.word64(gpa)
	if err != nil {
		return err
	}
	atomic.StoreUint64(p, v)
	return nil
}

// Swap64 atomically stores v into the 64-bit word at gpa and returns the old
// value.
func (m *Memory) Swap64(gpa GPA, v uint64) (uint64, error) {
	p, err := m.word64(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.SwapUint64(p, v), nil
}

// CompareAndSwap64 atomically replaces the 64-bit word at gpa with new if it
// equals old, and reports whether it did.
func (m *Memory) CompareAndSwap64(gpa GPA, old, new uint64) (bool, error) {
	p, err := m.word64(gpa)
	if err != nil {
		return false, err
	}
	return atomic.CompareAndSwapUint64(p, old, new), nil
}

// Add64 atomically adds delta to the 64-bit word at gpa and returns the new
// value.
func (m *Memory) Add64(gpa GPA, delta uint64) (uint64, error) {
	p, err := m.word64(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.AddUint64(p, delta), nil
}

// Or64 atomically sets the bits of mask in the 64-bit word at gpa and returns
// the old value.
func (m *Memory) Or64(gpa GPA, mask uint64) (uint64, error) {
	p, err := m.word64(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.OrUint64(p, mask), nil
}

// And64 atomically keeps only the bits of mask in the 64-bit word at gpa and
// returns the old value.
func (m *Memory) And64(gpa GPA, mask uint64) (uint64, error) {
	p, err := m.word64(gpa)
	if err != nil {
		return 0, err
	}
	return atomic.AndUint64(p, mask), nil
}

// word32 returns the aligned 32-bit word of guest RAM at gpa.
func (m *Memory) word32(gpa GPA) (*uint32, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if uint64(gpa) > m.size-4 {
		return nil, rangeError("gpa", uint64(gpa), 4, m.size)
	}
	if gpa&3 != 0 {
		return nil, fmt.Errorf("%w: 4-byte access at gpa %#x", ErrMisaligned, uint64(gpa))
	}
	return word32(m.mapping, int(gpa))
}

// word64 returns the aligned 64-bit word of guest RAM at gpa.
func (m *Memory) word64(gpa GPA) (*uint64, error) {
	if m.closed.Load() {
		return nil, ErrClosed
	}
	if uint64(gpa) > m.size-8 {
		return nil, rangeError("gpa", uint64(gpa), 8, m.size)
	}
	if gpa&7 != 0 {
		return nil, fmt.Errorf("%w: 8-byte access at gpa %#x", ErrMisaligned, uint64(gpa))
	}
	return word64(m.mapping, int(gpa))
}
