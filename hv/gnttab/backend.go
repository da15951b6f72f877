package gnttab

import (
	"fmt"
	"sync/atomic"

	"github.com/xenolith/xenolith/hv/mem"
)

// Access is the kind of use a backend makes of a grant.
type Access int

const (
	// Read is use for reading: the grant may be read-only.
	Read Access = iota
	// Write is use for writing (and reading): the grant must not be
	// GTF_readonly.
	Write
)

// String returns "read" or "write".
func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return fmt.Sprintf("access(%d)", int(a))
}

// Mapping is a held grant: a bounds-checked slice of guest memory. While it
// is held, the entry's GTF_reading (and for Write, GTF_writing) flag is set,
// so the guest cannot revoke the grant. A Mapping is meant for one
// goroutine; Release may be called from any.
type Mapping struct {
	t        *Table
	ref      uint32
	acc      Access
	gpa      mem.GPA
	b        []byte
	released atomic.Bool
}

// Bytes returns the granted range of guest memory, nil after Release. The
// slice aliases guest RAM: the guest may change it at any time, so copy out
// before validating. Its capacity ends with the range.
func (m *Mapping) Bytes() []byte {
	if m.released.Load() {
		return nil
	}
	return m.b
}

// Ref returns the grant ref held.
func (m *Mapping) Ref() uint32 { return m.ref }

// Access returns the kind of hold.
func (m *Mapping) Access() Access { return m.acc }

// GPA returns the guest-physical address of the first byte of the range.
func (m *Mapping) GPA() mem.GPA { return m.gpa }

// Release drops the hold. As in Xen (reduce_status_for_pin), GTF_writing is
// cleared when the last Write holder of the ref releases and GTF_reading
// when the last holder of any kind does (a Write hold also sets
// GTF_reading). Release is idempotent.
func (m *Mapping) Release() {
	if m.released.Swap(true) {
		return
	}
	m.t.unhold(m.ref, m.acc == Write)
}

// Acquire validates grant ref for use by domain domid (the backend's id)
// and holds it, returning the length bytes at offset in the granted page.
// It follows Xen's map_grant_ref for a v1 table: ref must be below
// NrFrames()*512 with its frame placed (ErrBadRef); unless the ref is
// already held, the entry must be GTF_permit_access without GTF_sub_page
// (ErrNotPermitted) and name domid (ErrBadDomain); Write needs
// !GTF_readonly (ErrReadOnly); the flags are set with a bounded
// compare-and-swap loop (ErrBusy); the granted frame must be guest RAM
// (ErrBadPage). A ref held by domid already yields the frame captured when
// it was first held, whatever the entry says now. offset+length must not
// exceed the page (ErrRange); that is checked first, before the entry is
// touched.
func (t *Table) Acquire(domid uint16, ref uint32, offset, length uint32, acc Access) (*Mapping, error) {
	h, err := t.AcquireHold(domid, ref, offset, length, acc)
	if err != nil {
		return nil, err
	}
	return &Mapping{t: t, ref: ref, acc: acc, gpa: h.gpa, b: h.b}, nil
}

// CopyFromGrant copies len(dst) bytes at offset in the page granted by ref
// into dst, holding the grant for reading only during the copy. It
// validates as Xen's GNTTABOP_copy does for a grant source
// (acquire_grant_for_copy), which for a v1 table differs from Acquire only
// in not rejecting GTF_sub_page. The range is checked first (ErrRange).
func (t *Table) CopyFromGrant(domid uint16, ref uint32, offset uint32, dst []byte) error {
	return t.copyGrant(domid, ref, offset, dst, false)
}

// CopyToGrant copies src to offset in the page granted by ref, holding the
// grant for writing only during the copy; see CopyFromGrant.
func (t *Table) CopyToGrant(domid uint16, ref uint32, offset uint32, src []byte) error {
	return t.copyGrant(domid, ref, offset, src, true)
}

// copyGrant is CopyFromGrant (write false) and CopyToGrant (write true).
func (t *Table) copyGrant(domid uint16, ref uint32, offset uint32, buf []byte, write bool) error {
	if len(buf) > PageSize || offset > PageSize-uint32(len(buf)) {
		return fmt.Errorf("copy grant %d [%d, +%d): %w", ref, offset, len(buf), ErrRange)
	}
	t.mu.Lock()
	frame, err := t.pin(domid, ref, write, false)
	t.mu.Unlock()
	if err != nil {
		return fmt.Errorf("copy grant %d by d%d: %w", ref, domid, err)
	}
	gpa := mem.GPA(frame*PageSize + uint64(offset))
	if write {
		err = t.mem.WriteAt(buf, gpa)
	} else {
		err = t.mem.ReadAt(buf, gpa)
	}
	t.unhold(ref, write)
	if err != nil {
		return fmt.Errorf("copy grant %d: %w", ref, err)
	}
	return nil
}
