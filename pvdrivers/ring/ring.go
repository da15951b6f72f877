package ring

import (
	"fmt"

	"github.com/xenolith/xenolith/hv/mem"
)

// Layout constants of a shared ring (io/ring.h, struct __name##_sring).
const (
	// PageSize is the size of one ring page.
	PageSize = 4096
	// HeaderSize is the offset of the first entry: four u32 indices,
	// a protocol-private word and padding.
	HeaderSize = 64

	offReqProd  = 0  // req_prod: written by the frontend
	offReqEvent = 4  // req_event: written by the backend
	offRspProd  = 8  // rsp_prod: written by the backend
	offRspEvent = 12 // rsp_event: written by the frontend
)

// Size returns the number of entries a ring of windowLen bytes (a whole
// number of pages) holds when each entry is entrySize bytes: the largest
// power of two that fits after the header (__CONST_RING_SIZE).
func Size(windowLen, entrySize int) (uint32, error) {
	if windowLen <= 0 || windowLen%PageSize != 0 {
		return 0, fmt.Errorf("%w: window of %d bytes is not whole pages", ErrLayout, windowLen)
	}
	if entrySize <= 0 {
		return 0, fmt.Errorf("%w: entry size %d", ErrLayout, entrySize)
	}
	n := (windowLen - HeaderSize) / entrySize
	if n < 1 {
		return 0, fmt.Errorf("%w: no room for one %d-byte entry", ErrLayout, entrySize)
	}
	size := uint32(1)
	for int(size)*2 <= n && size < 1<<31 {
		size *= 2
	}
	return size, nil
}

// shared is the part common to both views: the window, its geometry and
// atomic access to the header words.
type shared struct {
	buf   []byte // the whole window, aliasing guest memory
	entry int    // entry size in bytes
	size  uint32 // number of entries, a power of two
}

// newShared checks a window and computes its geometry.
func newShared(buf []byte, entrySize int) (shared, error) {
	size, err := Size(len(buf), entrySize)
	if err != nil {
		return shared{}, err
	}
	// The header words must be naturally aligned for the atomics.
	if _, err := mem.LoadUint32(buf, 0); err != nil {
		return shared{}, fmt.Errorf("%w: %w", ErrLayout, err)
	}
	return shared{buf: buf, entry: entrySize, size: size}, nil
}

// load atomically reads the header word at off. off is one of the fixed,
// aligned header offsets and the window was checked by newShared, so the
// access cannot fail.
func (s *shared) load(off int) uint32 {
	v, _ := mem.LoadUint32(s.buf, off)
	return v
}

// store atomically writes the header word at off (see load).
func (s *shared) store(off int, v uint32) {
	_ = mem.StoreUint32(s.buf, off, v)
}

// slot returns the entry of index idx.
func (s *shared) slot(idx uint32) []byte {
	off := HeaderSize + int(idx&(s.size-1))*s.entry
	return s.buf[off : off+s.entry : off+s.entry]
}

// notifyNeeded is the hold-off rule of RING_PUSH_*_AND_CHECK_NOTIFY: the
// peer asked to be told when the producer index passes event, and a push
// from old to new passes it iff event lies in (old, new], modulo 2^32.
func notifyNeeded(old, new, event uint32) bool {
	return new-event < new-old
}
