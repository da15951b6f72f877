package gnttab

import (
	"fmt"

	"github.com/xenolith/xenolith/hv/mem"
)

// Hold is a held grant like a Mapping, as a plain value: a backend that
// holds and drops many grants per second keeps its Holds in a reused slice
// and releases them together with ReleaseHolds, so that the data path
// neither allocates nor takes the table's lock once per grant. The zero Hold
// holds nothing.
type Hold struct {
	b     []byte  // the granted range; nil once released
	gpa   mem.GPA // where b starts in guest memory
	ref   uint32  // the grant ref held
	write bool    // a Write hold
	held  bool    // not yet released
}

// Bytes returns the granted range of guest memory (nil for the zero Hold or
// after ReleaseHolds). It aliases guest RAM, as Mapping.Bytes does.
func (h *Hold) Bytes() []byte { return h.b }

// Ref returns the grant ref held.
func (h *Hold) Ref() uint32 { return h.ref }

// AcquireHold is Acquire returning a Hold (Acquire is built on it): same
// checks, same errors, same effect on the entry's flags. Drop it with
// ReleaseHolds.
func (t *Table) AcquireHold(domid uint16, ref uint32, offset, length uint32, acc Access) (Hold, error) {
	if acc != Read && acc != Write {
		return Hold{}, fmt.Errorf("acquire grant %d: %w", ref, ErrInvalidAccess)
	}
	if length > PageSize || offset > PageSize-length {
		return Hold{}, fmt.Errorf("acquire grant %d [%d, +%d): %w", ref, offset, length, ErrRange)
	}
	write := acc == Write
	t.mu.Lock()
	frame, err := t.pin(domid, ref, write, true)
	t.mu.Unlock()
	if err != nil {
		return Hold{}, fmt.Errorf("acquire grant %d for %s by d%d: %w", ref, acc, domid, err)
	}
	gpa := mem.GPA(frame*PageSize + uint64(offset))
	b, err := t.mem.Slice(gpa, uint64(length))
	if err != nil { // only after Close: frame is inside RAM
		t.unhold(ref, write)
		return Hold{}, fmt.Errorf("acquire grant %d: %w", ref, err)
	}
	return Hold{b: b, gpa: gpa, ref: ref, write: write, held: true}, nil
}

// ReleaseHolds drops every Hold in hs that is still held, under one
// acquisition of the table's lock, and resets each to the zero Hold, so
// releasing twice is harmless. If that leaves no ref held, the WhenIdle
// functions run, without the lock held.
func (t *Table) ReleaseHolds(hs []Hold) {
	var fns []func()
	t.mu.Lock()
	for i := range hs {
		if hs[i].held {
			t.unpin(hs[i].ref, hs[i].write)
		}
		hs[i] = Hold{}
	}
	if t.nActive == 0 {
		fns, t.idle = t.idle, nil
	}
	t.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}
