package blkback

// Storage is what a disk is served from. Offsets and lengths are in bytes;
// the backend only passes whole 512-byte sectors inside [0, Size()).
// Implementations must allow concurrent calls.
type Storage interface {
	// ReadAt reads len(p) bytes at off, as io.ReaderAt.
	ReadAt(p []byte, off int64) (int, error)
	// WriteAt writes p at off, as io.WriterAt. A read-only storage
	// returns an error wrapping ErrReadOnly.
	WriteAt(p []byte, off int64) (int, error)
	// Flush makes every write that completed before the call durable.
	Flush() error
	// Discard tells the storage that the range's contents are no longer
	// needed; afterwards it reads as zeros or as the old data. An error
	// wrapping ErrNotSupported means the storage cannot discard.
	Discard(off, length int64) error
	// Size returns the size in bytes, a multiple of SectorSize.
	Size() int64
	// ReadOnly reports whether writes are refused.
	ReadOnly() bool
}
