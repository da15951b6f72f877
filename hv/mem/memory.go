package mem

import (
	"fmt"
	"os"
	"sync/atomic"
)

// GPA is a guest-physical address.
type GPA uint64

// GVA is a guest-virtual (linear) address.
type GVA uint64

// PageSize is the size of the smallest guest page, in bytes.
const PageSize = 4096

// MaxSize is the largest guest RAM New accepts, in bytes (1 TiB).
const MaxSize = 1 << 40

// Backing selects how guest RAM is allocated.
type Backing int

const (
	// Private maps anonymous private memory with MAP_NORESERVE: pages are
	// allocated on first touch, and the mapping may use transparent huge
	// pages and KSM merging. It is the default.
	Private Backing = iota
	// Shared maps anonymous shared memory (MAP_SHARED|MAP_ANONYMOUS).
	Shared
	// Memfd creates a memfd, sizes it and maps it shared; File exposes the
	// descriptor so that the same RAM can be mapped elsewhere.
	Memfd
)

// String returns the backing's name.
func (b Backing) String() string {
	switch b {
	case Private:
		return "private"
	case Shared:
		return "shared"
	case Memfd:
		return "memfd"
	}
	return fmt.Sprintf("backing(%d)", int(b))
}

// Options configures New.
type Options struct {
	Backing   Backing // how the RAM is allocated
	HugePages bool    // advise transparent huge pages (MADV_HUGEPAGE)
	Mergeable bool    // advise KSM merging (MADV_MERGEABLE); Private only
}

// Memory is a guest's RAM: one host mapping backing guest-physical
// addresses [0, Size()).
//
// All methods may be called from several goroutines at once. Close must not
// race with other methods: the caller stops every vCPU and backend that uses
// the memory first. After Close, methods return ErrClosed; slices obtained
// earlier from Bytes or Slice must no longer be used.
type Memory struct {
	mapping []byte       // the host mapping; immutable between New and Close
	size    uint64       // len(mapping)
	backing Backing      // how mapping was allocated
	file    *os.File     // the memfd for Memfd backing, else nil
	closed  atomic.Bool  // set once by Close
	unmap   func() error // releases mapping (and file)
}

// New allocates size bytes of guest RAM. size must be a non-zero multiple of
// PageSize no larger than MaxSize. The memory reads as zeros.
func New(size uint64, opts Options) (*Memory, error) {
	switch {
	case size == 0:
		return nil, fmt.Errorf("%w: size is zero", ErrInvalidSize)
	case size%PageSize != 0:
		return nil, fmt.Errorf("%w: size %#x is not a multiple of %#x", ErrInvalidSize, size, PageSize)
	case size > MaxSize:
		return nil, fmt.Errorf("%w: size %#x exceeds the maximum %#x", ErrInvalidSize, size, uint64(MaxSize))
	case size > uint64(maxInt):
		return nil, fmt.Errorf("%w: size %#x does not fit this host's address space", ErrInvalidSize, size)
	}
	switch opts.Backing {
	case Private, Shared, Memfd:
	default:
		return nil, fmt.Errorf("%w: unknown backing %v", ErrInvalidOptions, opts.Backing)
	}
	if opts.Mergeable && opts.Backing != Private {
		return nil, fmt.Errorf("%w: mergeable needs private backing, not %v", ErrInvalidOptions, opts.Backing)
	}
	m, err := allocate(size, opts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

const maxInt = int(^uint(0) >> 1)

// Size returns the size of guest RAM in bytes.
func (m *Memory) Size() uint64 { return m.size }

// Backing returns how the memory was allocated.
func (m *Memory) Backing() Backing { return m.backing }

// File returns the memfd behind a Memfd-backed memory, or nil for other
// backings or after Close. The Memory owns it: do not close it.
func (m *Memory) File() *os.File {
	if m.closed.Load() {
		return nil
	}
	return m.file
}

// Bytes returns the whole mapping, indexed by guest-physical address, for
// the loader and for KVM memory-slot registration. It returns nil after
// Close.
func (m *Memory) Bytes() []byte {
	if m.closed.Load() {
		return nil
	}
	return m.mapping
}

// check verifies that [gpa, gpa+n) lies inside guest RAM without overflow.
func (m *Memory) check(gpa GPA, n uint64) error {
	if m.closed.Load() {
		return ErrClosed
	}
	if uint64(gpa) > m.size || n > m.size-uint64(gpa) {
		return rangeError("gpa", uint64(gpa), n, m.size)
	}
	return nil
}

// Slice returns the n bytes of guest RAM at gpa. The slice aliases guest
// memory (the guest may change it at any time) and its capacity ends at
// gpa+n. A range that leaves guest RAM, or wraps around, is an error
// wrapping ErrOutOfRange.
func (m *Memory) Slice(gpa GPA, n uint64) ([]byte, error) {
	if err := m.check(gpa, n); err != nil {
		return nil, err
	}
	end := uint64(gpa) + n
	return m.mapping[gpa:end:end], nil
}

// ReadAt copies len(p) bytes of guest RAM at gpa into p. It copies nothing
// if the range does not lie inside guest RAM.
func (m *Memory) ReadAt(p []byte, gpa GPA) error {
	if err := m.check(gpa, uint64(len(p))); err != nil {
		return err
	}
	copy(p, m.mapping[gpa:])
	return nil
}

// WriteAt copies p into guest RAM at gpa. It copies nothing if the range
// does not lie inside guest RAM.
func (m *Memory) WriteAt(p []byte, gpa GPA) error {
	if err := m.check(gpa, uint64(len(p))); err != nil {
		return err
	}
	copy(m.mapping[gpa:], p)
	return nil
}

// Close releases the mapping (and the memfd). It is idempotent; later calls
// return nil.
func (m *Memory) Close() error {
	if !m.closed.CompareAndSwap(false, true) {
		return nil
	}
	if m.unmap == nil {
		return nil
	}
	if err := m.unmap(); err != nil {
		return fmt.Errorf("mem: close: %w", err)
	}
	return nil
}
