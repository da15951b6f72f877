package gnttab

import (
	"errors"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// Sentinel errors. Errors returned by this package wrap one of them; Status
// turns them into the GNTST_* code Xen would report and ErrnoOf into the
// errno for a hypercall that fails as a whole.
var (
	// ErrBadRef reports a grant ref beyond the table (ref >= nr_frames*512)
	// or in a frame the guest has not placed (GNTST_bad_gntref).
	ErrBadRef = errors.New("gnttab: bad grant reference")
	// ErrNotPermitted reports an entry whose type is not GTF_permit_access
	// (unused, transfer, transitive) or that has GTF_sub_page set where a
	// mapping is asked for (GNTST_general_error, as _set_status_v1).
	ErrNotPermitted = errors.New("gnttab: grant entry does not permit access")
	// ErrBadDomain reports an entry that grants to another domain, or a ref
	// already held by another domain (GNTST_general_error, as
	// _set_status_v1 and the active-entry check).
	ErrBadDomain = errors.New("gnttab: grant is for another domain")
	// ErrReadOnly reports write use of a GTF_readonly entry
	// (GNTST_general_error).
	ErrReadOnly = errors.New("gnttab: write use of a read-only grant")
	// ErrBusy reports an entry the guest kept changing while the flags were
	// being set (five failed compare-and-swaps), or a holder count that
	// would overflow (GNTST_general_error).
	ErrBusy = errors.New("gnttab: grant entry unstable")
	// ErrEntryChanged reports a copy that upgrades a held ref to writing
	// after the guest changed the entry's frame (GNTST_general_error, as
	// acquire_grant_for_copy).
	ErrEntryChanged = errors.New("gnttab: grant entry changed while held")
	// ErrRange reports an offset and length that leave the granted page
	// (GNTST_bad_copy_arg).
	ErrRange = errors.New("gnttab: range leaves the granted page")
	// ErrBadPage reports a granted (or named) frame outside guest RAM
	// (GNTST_bad_page).
	ErrBadPage = errors.New("gnttab: frame outside guest ram")
	// ErrNoSuchDomain reports a domain id that names no domain
	// (GNTST_bad_domain).
	ErrNoSuchDomain = errors.New("gnttab: no such domain")
	// ErrPermissionDenied reports an operation on a domain the caller may
	// not operate on (GNTST_permission_denied).
	ErrPermissionDenied = errors.New("gnttab: permission denied")
	// ErrInvalidAccess reports an Access value that is neither Read nor
	// Write (a backend bug; GNTST_general_error).
	ErrInvalidAccess = errors.New("gnttab: invalid access kind")
	// ErrFrameIndex reports a grant frame index at or beyond the table's
	// maximum (-EINVAL, as gnttab_get_shared_frame_mfn).
	ErrFrameIndex = errors.New("gnttab: grant frame index beyond maximum")
	// ErrFrameAddress reports a guest frame number outside guest RAM given
	// to MapFrame (-EINVAL).
	ErrFrameAddress = errors.New("gnttab: guest frame outside guest ram")
	// ErrInvalidOptions reports an Options value New does not accept.
	ErrInvalidOptions = errors.New("gnttab: invalid options")
)

// Status returns the GNTST_* code for err: GntstOkay for nil, the code
// documented on each sentinel, and GntstGeneralError for anything else.
func Status(err error) int16 {
	switch {
	case err == nil:
		return GntstOkay
	case errors.Is(err, ErrBadRef):
		return GntstBadGntref
	case errors.Is(err, ErrRange):
		return GntstBadCopyArg
	case errors.Is(err, ErrBadPage):
		return GntstBadPage
	case errors.Is(err, ErrNoSuchDomain):
		return GntstBadDomain
	case errors.Is(err, ErrPermissionDenied):
		return GntstPermissionDenied
	}
	// ErrNotPermitted, ErrBadDomain, ErrReadOnly, ErrBusy, ErrEntryChanged,
	// ErrInvalidAccess, mem errors.
	return GntstGeneralError
}

// ErrnoOf returns the Xen errno for an error from MapFrame or RemoveFrame,
// for the memory_op handler to return: 0 for nil, EINVAL for a bad frame
// index or address, EFAULT for a guest memory fault, EINVAL otherwise.
func ErrnoOf(err error) xen.Errno {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, mem.ErrFault):
		return xen.EFAULT
	}
	return xen.EINVAL
}
