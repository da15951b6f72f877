package blkback

import (
	"github.com/xenolith/xenolith/hv/gnttab"
)

// MaxPersistentGrants bounds the grants one ring keeps held under
// feature-persistent (Linux's default, 1,056: 32 requests of 32 + 1
// segments). Grants beyond it are held per request.
const MaxPersistentGrants = 1056

// persistCache is the per-ring cache of persistent grants (io/blkif.h
// "feature-persistent"): when both ends offer the feature, the frontend
// keeps its data pages granted while connected and the backend keeps a
// whole-page hold of every ref it sees, up to max refs, until the ring
// disconnects. A hit costs no change to the guest's grant entry, which is
// what keeps the entries' cache lines on the guest's core.
//
// Each use is checked as a fresh acquire would be: the range must lie in
// the page and a hold taken read-only (for a WRITE request) is never used
// to write guest memory (a READ request); such a use falls back to a hold
// of its own for the request.
type persistCache struct {
	hg     holdGrants
	max    int
	slots  []pslot       // open-addressed ref -> index in holds, at least 2*max
	holds  []gnttab.Hold // whole-page holds, kept until release
	write  []bool        // holds[i] was taken for writing
	hits   uint64        // uses served from the cache
	misses uint64        // refs added to the cache
}

// pslot is a slot of persistCache's table: idx is one more than the
// index in holds, 0 for an empty slot. Refs are never removed one at a
// time, so linear probing needs no tombstones.
type pslot struct {
	ref, idx uint32
}

// newPersistCache returns an empty cache of at most max refs held with hg.
func newPersistCache(hg holdGrants, max int) *persistCache {
	n := 1
	for n < 2*max {
		n <<= 1
	}
	return &persistCache{hg: hg, max: max, slots: make([]pslot, n)}
}

// find returns the slot of ref in the table: its own, or the empty one
// where it belongs. The table is at most half full, so the probe ends.
func (c *persistCache) find(ref uint32) *pslot {
	mask := uint32(len(c.slots) - 1)
	for i := (ref * 0x9e3779b1) >> 16 & mask; ; i = (i + 1) & mask {
		if s := &c.slots[i]; s.idx == 0 || s.ref == ref {
			return s
		}
	}
}

// get returns length bytes at offset of the page granted by ref, for
// writing into guest memory if write, from a cached hold (taking one if
// ref is new and the cache has room), and the hold's index (stable until
// release, below max; page returns its whole page). ok is false when the
// cache cannot serve the use; the caller then holds the grant for this
// request alone, which also reports any error.
func (c *persistCache) get(ref, offset, length uint32, write bool) (b []byte, idx int, ok bool) {
	if length > gnttab.PageSize || offset > gnttab.PageSize-length {
		return nil, 0, false
	}
	sl := c.find(ref)
	i := int(sl.idx) - 1
	if i < 0 {
		if len(c.holds) >= c.max {
			return nil, 0, false
		}
		h, err := c.hg.acquireHold(ref, 0, gnttab.PageSize, write)
		if err != nil {
			return nil, 0, false
		}
		i = len(c.holds)
		*sl = pslot{ref: ref, idx: uint32(i + 1)}
		c.holds = append(c.holds, h)
		c.write = append(c.write, write)
		c.misses++
	} else {
		if write && !c.write[i] {
			return nil, 0, false // a read-only hold never backs a READ
		}
		c.hits++
	}
	page := c.page(i)
	if page == nil {
		return nil, 0, false
	}
	return page[offset : offset+length : offset+length], i, true
}

// page returns the whole page of hold i, or nil if its mapping is not one
// page.
func (c *persistCache) page(i int) []byte {
	page := c.holds[i].Bytes()
	if len(page) != gnttab.PageSize {
		return nil
	}
	return page
}

// len returns the number of refs held.
func (c *persistCache) len() int { return len(c.holds) }

// release drops every cached hold; the cache is empty afterwards.
func (c *persistCache) release() {
	if len(c.holds) > 0 {
		c.hg.releaseHolds(c.holds)
	}
	c.holds, c.write = c.holds[:0], c.write[:0]
	clear(c.slots)
}
