package gnttab

import (
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// copyPtr is a decoded struct gnttab_copy_ptr.
type copyPtr struct {
	u      uint64 // grant ref (low 32 bits) or gmfn
	domid  uint16 // domain owning the ref or frame
	offset uint16 // byte offset in the page
}

// copyOp is a decoded struct gnttab_copy.
type copyOp struct {
	src, dst copyPtr
	len      uint16
	flags    uint16 // GNTCOPY_*
}

func decodeCopyPtr(b []byte) copyPtr {
	return copyPtr{
		u:      le.Uint64(b[copyPtrU:]),
		domid:  le.Uint16(b[copyPtrDomID:]),
		offset: le.Uint16(b[copyPtrOffset:]),
	}
}

func decodeCopy(b []byte) copyOp {
	return copyOp{
		src:   decodeCopyPtr(b[copySource:]),
		dst:   decodeCopyPtr(b[copyDest:]),
		len:   le.Uint16(b[copyLen:]),
		flags: le.Uint16(b[copyFlags:]),
	}
}

// gnttabCopy answers GNTTABOP_copy entry by entry, as Xen's gnttab_copy, and
// writes each entry's status field back. A fault reading an entry or
// writing its status ends the call with -EFAULT.
func (t *Table) gnttabCopy(v xen.VCPU, arg uint64, count uint32) int64 {
	var b [copySize]byte
	for i := uint64(0); i < uint64(count); i++ {
		p := arg + i*copySize
		if !copyIn(v, p, b[:]) {
			return xen.EFAULT.Ret()
		}
		putStatus(b[copyStatus:], t.copyOne(decodeCopy(b[:])))
		if !copyOut(v, p+copyStatus, b[copyStatus:copyStatus+2]) {
			return xen.EFAULT.Ret()
		}
	}
	return 0
}

// claim is one side of a copy: the guest-physical page and, for a grant,
// the hold to drop afterwards.
type claim struct {
	gfn   uint64
	ref   uint32
	held  bool // ref is pinned
	write bool
}

// copyOne performs one copy and returns its status, following
// gnttab_copy_one: a zero length succeeds at once; both domains are looked
// up (a gmfn may only be named with DOMID_SELF: GNTST_permission_denied;
// an unknown domain: GNTST_bad_domain); the source is claimed for reading,
// then the destination for writing; then the ranges are checked (leaving
// the page: GNTST_bad_copy_arg) and the bytes copied (memmove semantics, so
// overlapping ranges in one page are fine).
//
// Xen keeps a claimed buffer across consecutive entries naming the same
// ref or frame; here each entry claims and releases its own, so the flags
// of a ref are cleared between entries. The backend's grants cannot be
// used: it grants the guest nothing, as if its table were empty
// (GNTST_bad_gntref).
func (t *Table) copyOne(op copyOp) int16 {
	if op.len == 0 {
		return GntstOkay
	}
	srcDom, st := t.copyDomain(op.src.domid, op.flags&GntcopySourceGref != 0)
	if st != GntstOkay {
		return st
	}
	dstDom, st := t.copyDomain(op.dst.domid, op.flags&GntcopyDestGref != 0)
	if st != GntstOkay {
		return st
	}
	src, st := t.claimBuf(op.src, srcDom, op.flags&GntcopySourceGref != 0, false)
	if st != GntstOkay {
		return st
	}
	defer t.release(src)
	dst, st := t.claimBuf(op.dst, dstDom, op.flags&GntcopyDestGref != 0, true)
	if st != GntstOkay {
		return st
	}
	defer t.release(dst)
	// gnttab_copy_buf: both ranges must stay in their page. (The further
	// check against the grant's sub-range always passes for v1 grants,
	// which cover the whole page.)
	n := uint64(op.len)
	if uint64(op.src.offset)+n > PageSize || uint64(op.dst.offset)+n > PageSize {
		return GntstBadCopyArg
	}
	from, err := t.mem.Slice(mem.GPA(src.gfn*PageSize+uint64(op.src.offset)), n)
	if err != nil {
		return GntstGeneralError
	}
	to, err := t.mem.Slice(mem.GPA(dst.gfn*PageSize+uint64(op.dst.offset)), n)
	if err != nil {
		return GntstGeneralError
	}
	copy(to, from)
	return GntstOkay
}

// copyDomain mirrors gnttab_copy_lock_domain: only DOMID_SELF may name a
// frame directly; the domain must exist (rcu_lock_domain_by_any_id).
func (t *Table) copyDomain(domid uint16, isGref bool) (domain, int16) {
	if domid != xen.DomIDSelf && !isGref {
		return domNone, GntstPermissionDenied
	}
	d := t.lookupAnyID(domid)
	if d == domNone {
		return domNone, GntstBadDomain
	}
	return d, GntstOkay
}

// claimBuf mirrors gnttab_copy_claim_buf: a grant is pinned as
// acquire_grant_for_copy does for the guest itself (the entry must name the
// guest's own id); a frame must be guest RAM (get_paged_frame:
// GNTST_bad_page).
func (t *Table) claimBuf(p copyPtr, d domain, isGref, write bool) (claim, int16) {
	if !isGref {
		if p.u >= t.ramPages {
			return claim{}, GntstBadPage
		}
		return claim{gfn: p.u}, GntstOkay
	}
	ref := uint32(p.u)
	if d != domSelf {
		return claim{}, GntstBadGntref
	}
	t.mu.Lock()
	gfn, err := t.pin(t.opts.DomID, ref, write, false)
	t.mu.Unlock()
	if err != nil {
		return claim{}, Status(err)
	}
	return claim{gfn: gfn, ref: ref, held: true, write: write}, GntstOkay
}

// release drops the hold a claim took, if any.
func (t *Table) release(c claim) {
	if !c.held {
		return
	}
	t.unhold(c.ref, c.write)
}
