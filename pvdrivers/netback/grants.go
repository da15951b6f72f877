package netback

import "github.com/xenolith/xenolith/hv/gnttab"

// Grants gives the backend the guest's granted buffers by copy: the backend
// never keeps a reference to guest memory past a call. CopyFrom fills dst
// from offset in the page granted by ref; CopyTo writes src there. Both must
// reject a range that leaves the page and a grant the backend may not use
// (CopyTo needs a writable grant).
type Grants interface {
	CopyFrom(ref, offset uint32, dst []byte) error
	CopyTo(ref, offset uint32, src []byte) error
}

// TableGrants adapts a guest's *gnttab.Table to Grants for the backend
// domain DomID (domain 0 for the monitor's backends).
type TableGrants struct {
	Table *gnttab.Table // the guest's grant table
	DomID uint16        // the backend's domain id, named by the grants
}

// CopyFrom implements Grants with gnttab.Table.CopyFromGrant.
func (g TableGrants) CopyFrom(ref, offset uint32, dst []byte) error {
	return g.Table.CopyFromGrant(g.DomID, ref, offset, dst)
}

// CopyTo implements Grants with gnttab.Table.CopyToGrant.
func (g TableGrants) CopyTo(ref, offset uint32, src []byte) error {
	return g.Table.CopyToGrant(g.DomID, ref, offset, src)
}
