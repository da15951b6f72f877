package blkback

import "errors"

// Sentinel errors. Errors returned by this package wrap one of them; StatusOf
// turns them into the BLKIF_RSP_* status the guest sees.
var (
	// ErrNotSupported reports an operation the backend does not offer
	// (BLKIF_RSP_EOPNOTSUPP).
	ErrNotSupported = errors.New("blkback: operation not supported")
	// ErrBadRequest reports a request that breaks the blkif rules: a bad
	// segment count or segment, a bad indirect operation (BLKIF_RSP_ERROR).
	ErrBadRequest = errors.New("blkback: malformed request")
	// ErrRange reports a sector range that leaves the disk
	// (BLKIF_RSP_ERROR).
	ErrRange = errors.New("blkback: sector range outside the disk")
	// ErrReadOnly reports a write or discard to a read-only disk
	// (BLKIF_RSP_ERROR).
	ErrReadOnly = errors.New("blkback: disk is read-only")
	// ErrGrant reports a grant ref the backend could not use
	// (BLKIF_RSP_ERROR).
	ErrGrant = errors.New("blkback: unusable grant")
	// ErrIO reports a failure of the storage (BLKIF_RSP_ERROR).
	ErrIO = errors.New("blkback: i/o error")
	// ErrImage reports an image the backend cannot serve: a size that is
	// not a whole number of sectors, or options it cannot honour.
	ErrImage = errors.New("blkback: unusable disk image")
	// ErrClosed reports use of an Engine after Close.
	ErrClosed = errors.New("blkback: engine closed")
)

// StatusOf returns the BLKIF_RSP_* status for the outcome of a request:
// StatusOkay for nil, StatusNotSupported for ErrNotSupported, StatusError for
// anything else.
func StatusOf(err error) int16 {
	switch {
	case err == nil:
		return StatusOkay
	case errors.Is(err, ErrNotSupported):
		return StatusNotSupported
	default:
		return StatusError
	}
}
