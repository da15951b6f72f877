package blkback

import (
	"github.com/xenolith/xenolith/hv/gnttab"
)

// Mapping is a held grant: the granted bytes and a way to let go of them.
type Mapping interface {
	// Bytes returns the granted range of guest memory. It aliases guest
	// RAM: the guest may change it at any time.
	Bytes() []byte
	// Release drops the hold.
	Release()
}

// Grants gives the backend the guest's granted pages. Acquire returns
// length bytes at offset in the page granted by ref, for writing into guest
// memory if write is set (a READ request) and for reading otherwise. It must
// reject a range that leaves the page.
type Grants interface {
	Acquire(ref, offset, length uint32, write bool) (Mapping, error)
}

// TableGrants adapts a guest's *gnttab.Table to Grants for the backend
// domain DomID (domain 0 for the monitor's backends).
type TableGrants struct {
	Table *gnttab.Table // the guest's grant table
	DomID uint16        // the backend's domain id, named by the grants
}

// Acquire implements Grants with gnttab.Table.Acquire.
func (g TableGrants) Acquire(ref, offset, length uint32, write bool) (Mapping, error) {
	acc := gnttab.Read
	if write {
		acc = gnttab.Write
	}
	m, err := g.Table.Acquire(g.DomID, ref, offset, length, acc)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// holdGrants is implemented by Grants that can hold grants as plain values
// (TableGrants): the io_uring engine then holds and drops a request's
// grants without allocating and with one lock acquisition per request for
// the release.
type holdGrants interface {
	// acquireHold is Acquire returning a gnttab.Hold.
	acquireHold(ref, offset, length uint32, write bool) (gnttab.Hold, error)
	// releaseHolds drops the holds in hs and zeroes them.
	releaseHolds(hs []gnttab.Hold)
}

// acquireHold implements holdGrants with gnttab.Table.AcquireHold.
func (g TableGrants) acquireHold(ref, offset, length uint32, write bool) (gnttab.Hold, error) {
	acc := gnttab.Read
	if write {
		acc = gnttab.Write
	}
	return g.Table.AcquireHold(g.DomID, ref, offset, length, acc)
}

// releaseHolds implements holdGrants with gnttab.Table.ReleaseHolds.
func (g TableGrants) releaseHolds(hs []gnttab.Hold) { g.Table.ReleaseHolds(hs) }
