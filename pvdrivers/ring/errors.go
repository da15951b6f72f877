package ring

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrLayout reports a window or entry size that cannot hold a ring: an
	// empty window, one that is not a whole number of pages, an entry size
	// of zero, no room for a single entry, or a window whose first byte is
	// not 4-byte aligned.
	ErrLayout = errors.New("ring: invalid ring layout")
	// ErrBroken reports a producer index from the other side that cannot be
	// right (more outstanding entries than the ring holds, or an index that
	// moved backwards). The ring cannot be trusted any more: disconnect.
	ErrBroken = errors.New("ring: peer broke the ring protocol")
	// ErrFull reports a request put on a ring with no free slot.
	ErrFull = errors.New("ring: no free slot")
	// ErrNoRequest reports a response put when every consumed request
	// already has one.
	ErrNoRequest = errors.New("ring: no outstanding request to answer")
	// ErrEntrySize reports an entry buffer longer than the ring's entries,
	// or a destination shorter than one entry.
	ErrEntrySize = errors.New("ring: entry size mismatch")
)
