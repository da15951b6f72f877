package gnttab

import (
	"math"

	"github.com/xenolith/xenolith/hv/mem"
)

// active is Xen's active_grant_entry for a ref in use: who holds it, the
// frame captured when it was first pinned, and how many hold it of each
// kind (Xen's pin counts). While a ref is held, new holders get the
// captured frame and the entry's type and domid are not checked again, as in
// Xen: the guest cannot revoke a held grant, and rewriting the entry takes
// effect only once the last holder has released it.
type active struct {
	domid   uint16 // the domain holding the ref
	frame   uint64 // granted guest frame, captured at the first pin
	readers uint32 // Read holders (host-read pins)
	writers uint32 // Write holders (host-write pins)
}

// pins returns the number of holders of either kind.
func (a *active) pins() uint64 { return uint64(a.readers) + uint64(a.writers) }

// setStatus sets GTF_reading (and GTF_writing if write) in the entry at gpa
// with a compare-and-swap of the flags+domid word, as _set_status_v1 does:
// unless the ref is already pinned, the entry must be GTF_permit_access
// (without GTF_sub_page when mapping) for domid; writing needs
// !GTF_readonly. The guest may legitimately race (flip GTF_readonly), so a
// failed swap is retried, five attempts in all. It returns the frame field
// read together with the flags that were swapped. mu held.
func (t *Table) setStatus(gpa mem.GPA, pinned, write, mapping bool, domid uint16) (uint32, error) {
	mask := uint16(GTFTypeMask)
	if mapping {
		mask |= GTFSubPage
	}
	e, err := t.mem.Load64(gpa)
	for tries := 1; ; tries++ {
		if err != nil {
			return 0, err
		}
		flags, dom := uint16(e), uint16(e>>16)
		if !pinned && flags&mask != GTFPermitAccess {
			return 0, ErrNotPermitted
		}
		if !pinned && dom != domid {
			return 0, ErrBadDomain
		}
		set := uint16(GTFReading)
		if write {
			if flags&GTFReadonly != 0 {
				return 0, ErrReadOnly
			}
			set |= GTFWriting
		}
		old := uint32(e)
		if t.beforeCAS != nil {
			t.beforeCAS(gpa)
		}
		ok, err := t.mem.CompareAndSwap32(gpa, old, old|uint32(set))
		if err != nil {
			return 0, err
		}
		if ok {
			return uint32(e >> 32), nil
		}
		if tries == 5 {
			return 0, ErrBusy
		}
		e, err = t.mem.Load64(gpa)
	}
}

// reduceStatus clears the flags the holders of ref no longer justify, as
// reduce_status_for_pin: GTF_reading once nobody holds the ref,
// GTF_writing once no writer does (checked only when a writer leaves or
// failed to enter). a may be nil (no holders). The entry is looked up where
// its frame is now; a frame that is no longer placed has no flags to
// clear. mu held.
func (t *Table) reduceStatus(ref uint32, a *active, write bool) {
	var clr uint32
	if a == nil || a.pins() == 0 {
		clr |= GTFReading
	}
	if write && (a == nil || a.writers == 0) {
		clr |= GTFWriting
	}
	if clr == 0 {
		return
	}
	if gpa, ok := t.entryGPA(ref); ok {
		// Only a closed memory fails here; nothing is left to clear then.
		_, _ = t.mem.And32(gpa, ^clr)
	}
}

// pin takes a hold of kind write on ref for domid and returns the granted
// frame, following map_grant_ref (mapping) or acquire_grant_for_copy
// (!mapping) for a v1 table. mu held.
func (t *Table) pin(domid uint16, ref uint32, write, mapping bool) (uint64, error) {
	gpa, ok := t.entryGPA(ref)
	if !ok {
		return 0, ErrBadRef
	}
	a := t.activeOf(ref)
	if a != nil && a.domid != domid {
		return 0, ErrBadDomain
	}
	if a != nil && (a.readers == math.MaxUint32 || a.writers == math.MaxUint32) {
		return 0, ErrBusy // Xen: "risk of counter overflow"
	}
	if a == nil || (write && a.writers == 0) {
		frame, err := t.setStatus(gpa, a != nil, write, mapping, domid)
		if err != nil {
			return 0, err
		}
		switch {
		case a == nil:
			if uint64(frame) >= t.ramPages {
				t.reduceStatus(ref, nil, write)
				return 0, ErrBadPage
			}
			a = t.newActive(ref)
			*a = active{domid: domid, frame: uint64(frame)}
			t.nActive++
		case !mapping:
			// acquire_grant_for_copy re-reads the frame when it upgrades a
			// held ref to writing and insists it is unchanged.
			if uint64(frame) >= t.ramPages {
				t.reduceStatus(ref, a, write)
				return 0, ErrBadPage
			}
			if uint64(frame) != a.frame {
				t.reduceStatus(ref, a, write)
				return 0, ErrEntryChanged
			}
		}
	}
	if write {
		a.writers++
	} else {
		a.readers++
	}
	return a.frame, nil
}

// unpin drops a hold of kind write on ref and clears the entry's flags as
// the remaining holders allow. mu held.
func (t *Table) unpin(ref uint32, write bool) {
	a := t.activeOf(ref)
	if a == nil {
		return
	}
	if write {
		if a.writers == 0 {
			return
		}
		a.writers--
	} else {
		if a.readers == 0 {
			return
		}
		a.readers--
	}
	t.reduceStatus(ref, a, write)
	if a.pins() == 0 {
		t.nActive--
	}
}

// activeChunk is how many refs share one lazily allocated block of active
// entries: one grant frame's worth.
const activeChunk = EntriesPerFrame

// activeOf returns ref's active entry, or nil if nobody holds ref. mu
// held.
func (t *Table) activeOf(ref uint32) *active {
	i := ref / activeChunk
	if uint64(i) >= uint64(len(t.active)) || t.active[i] == nil {
		return nil
	}
	a := &t.active[i][ref%activeChunk]
	if a.pins() == 0 {
		return nil
	}
	return a
}

// newActive returns the (unused) active entry of ref, allocating its block
// if needed; ref is below nrFrames*EntriesPerFrame. mu held.
func (t *Table) newActive(ref uint32) *active {
	i := ref / activeChunk
	if uint64(i) >= uint64(len(t.active)) {
		t.active = append(t.active, make([][]active, int(i)+1-len(t.active))...)
	}
	if t.active[i] == nil {
		t.active[i] = make([]active, activeChunk)
	}
	return &t.active[i][ref%activeChunk]
}

// heldRefs returns the number of refs currently held (for tests).
func (t *Table) heldRefs() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nActive
}
