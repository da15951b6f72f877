package blkback

import (
	"fmt"

	"github.com/xenolith/xenolith/hv/gnttab"
	"github.com/xenolith/xenolith/hv/mem"
)

// SharedRing is a held ring: the window of guest memory pvdrivers/ring
// works over, and the grants that keep it.
type SharedRing struct {
	Bytes []byte            // the ring pages, concatenated
	maps  []*gnttab.Mapping // one hold per ring ref
}

// Release drops the holds on the ring's grants.
func (r *SharedRing) Release() {
	for _, m := range r.maps {
		m.Release()
	}
	r.maps = nil
	r.Bytes = nil
}

// MapRing holds the ring refs the frontend published (for writing: the
// backend writes responses) and returns the ring window. A multi-page ring is
// the concatenation of its pages; the monitor has one mapping of guest RAM,
// so the pages must be consecutive guest frames in ref order (Linux
// allocates the ring as one physically contiguous block), else the ring is
// refused with ErrGrant.
func MapRing(t *gnttab.Table, backendDom uint16, m *mem.Memory, refs []uint32) (*SharedRing, error) {
	if len(refs) == 0 || len(refs) > 1<<MaxRingPageOrder {
		return nil, fmt.Errorf("%w: %d ring pages", ErrBadRequest, len(refs))
	}
	r := &SharedRing{}
	var first mem.GPA
	for i, ref := range refs {
		mp, err := t.Acquire(backendDom, ref, 0, PageSize, gnttab.Write)
		if err != nil {
			r.Release()
			return nil, fmt.Errorf("%w: ring ref %d: %w", ErrGrant, ref, err)
		}
		r.maps = append(r.maps, mp)
		if i == 0 {
			first = mp.GPA()
		} else if mp.GPA() != first+mem.GPA(i*PageSize) {
			r.Release()
			return nil, fmt.Errorf("%w: ring page %d (ref %d) at %#x does not follow page 0 at %#x",
				ErrGrant, i, ref, uint64(mp.GPA()), uint64(first))
		}
	}
	b, err := m.Slice(first, uint64(len(refs))*PageSize)
	if err != nil {
		r.Release()
		return nil, fmt.Errorf("%w: ring window: %w", ErrGrant, err)
	}
	r.Bytes = b
	return r, nil
}
