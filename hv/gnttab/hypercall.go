package gnttab

import (
	"encoding/binary"

	"github.com/xenolith/xenolith/hv/xen"
)

var le = binary.LittleEndian

// Hypercall answers grant_table_op(cmd, arg, count) (hypercall 20) for the
// table's guest, mirroring hvm_grant_table_op and do_grant_table_op
// (xen/arch/x86/hvm/hypercall.c, xen/common/grant_table.c) for a v1 table
// whose maximum version is 1 (Xen booted with gnttab=max-ver:1). cmd and
// count are truncated to 32 bits as in the C prototype.
//
// The HVM filter comes first: only query_size, setup_table, set_version,
// get_version, copy, map_grant_ref, unmap_grant_ref and swap_grant_ref are
// known; anything else, including commands with continuation bits set, is
// -ENOSYS. A count that is negative as an int is -EINVAL. Per-entry results
// go into each struct's status field; the call returns 0 unless the
// arguments themselves are bad (-EINVAL, or -EFAULT for a bad pointer, in
// which case entries before the faulting one have been processed).
//
// Xen bounds the work per call with preemption and continuations; this
// monitor has no continuations, so batch commands process all count entries
// in one call. The work is still bounded by guest memory (each entry is a
// distinct struct in it, and the loop stops at the first fault) and is paid
// by the calling vCPU; no buffer is sized by count.
func (t *Table) Hypercall(v xen.VCPU, cmd, arg, count uint64) int64 {
	c, n := uint32(cmd), uint32(count)
	switch c {
	case GnttabopQuerySize, GnttabopSetupTable, GnttabopSetVersion, GnttabopGetVersion,
		GnttabopCopy, GnttabopMapGrantRef, GnttabopUnmapGrantRef, GnttabopSwapGrantRef:
	default:
		return xen.ENOSYS.Ret()
	}
	if int32(n) < 0 {
		return xen.EINVAL.Ret()
	}
	switch c {
	case GnttabopQuerySize:
		return t.querySize(v, arg, n)
	case GnttabopSetupTable:
		return t.setupTable(v, arg, n)
	case GnttabopSetVersion:
		return t.setVersion(v, arg)
	case GnttabopGetVersion:
		return t.getVersion(v, arg)
	case GnttabopCopy:
		return t.gnttabCopy(v, arg, n)
	case GnttabopMapGrantRef:
		return t.mapGrantRef(v, arg, n)
	case GnttabopUnmapGrantRef:
		return t.unmapGrantRef(v, arg, n)
	default: // GnttabopSwapGrantRef
		return t.swapGrantRef(v, arg, n)
	}
}

// domain is the result of looking up a domain id as the guest sees it.
type domain int

const (
	domSelf    domain = iota // the calling domain
	domBackend               // the backend domain: exists, not inspectable
	domNone                  // no such domain
)

// lookupAnyID mirrors rcu_lock_domain_by_any_id: DOMID_SELF and the own id
// name the guest, the backend id names the backend, nothing else exists.
func (t *Table) lookupAnyID(domid uint16) domain {
	switch domid {
	case xen.DomIDSelf, t.opts.DomID:
		return domSelf
	case t.opts.BackendDomID:
		return domBackend
	}
	return domNone
}

// targetStatus is the status of a domain lookup followed by XSM_TARGET
// (the guest may only name itself), as query_size and setup_table report
// it.
func (t *Table) targetStatus(domid uint16) int16 {
	switch t.lookupAnyID(domid) {
	case domSelf:
		return GntstOkay
	case domBackend:
		return GntstPermissionDenied
	}
	return GntstBadDomain
}

// copyIn and copyOut copy a wire struct from and to the guest, reporting
// success.
func copyIn(v xen.VCPU, gva uint64, b []byte) bool  { return v.CopyIn(gva, b) == nil }
func copyOut(v xen.VCPU, gva uint64, b []byte) bool { return v.CopyOut(gva, b) == nil }

// putStatus writes an int16 status into a wire struct.
func putStatus(b []byte, st int16) { le.PutUint16(b, uint16(st)) }

// querySize mirrors gnttab_query_size: nr_frames is the table size (at
// least 1, as Xen's INITIAL_NR_GRANT_FRAMES), max_nr_frames the maximum.
// The whole struct is written back.
func (t *Table) querySize(v xen.VCPU, arg uint64, count uint32) int64 {
	if count != 1 {
		return xen.EINVAL.Ret()
	}
	var b [querySize]byte
	if !copyIn(v, arg, b[:]) {
		return xen.EFAULT.Ret()
	}
	st := t.targetStatus(le.Uint16(b[queryDom:]))
	if st == GntstOkay {
		le.PutUint32(b[queryNrFrames:], t.NrFrames())
		le.PutUint32(b[queryMaxFrames:], t.opts.MaxFrames)
	}
	putStatus(b[queryStatus:], st)
	if !copyOut(v, arg, b[:]) {
		return xen.EFAULT.Ret()
	}
	return 0
}

// setupTable mirrors gnttab_setup_table: it grows the table to nr_frames
// (more than the maximum is GNTST_general_error) and writes the gfn of
// each of frames 0..nr_frames-1 to frame_list. Frames the guest has not
// placed are placed at Options.SetupFrames where given (this monitor's
// addition; an HVM guest on Xen gets INVALID_GFN for them, which is what
// frames without a setup slot report here). A fault writing frame_list is
// GNTST_bad_virt_addr; only the status field is written back.
func (t *Table) setupTable(v xen.VCPU, arg uint64, count uint32) int64 {
	if count != 1 {
		return xen.EINVAL.Ret()
	}
	var b [setupSize]byte
	if !copyIn(v, arg, b[:]) {
		return xen.EFAULT.Ret()
	}
	st := t.targetStatus(le.Uint16(b[setupDom:]))
	nr := le.Uint32(b[setupNrFrames:])
	if st == GntstOkay && nr > t.opts.MaxFrames {
		st = GntstGeneralError
	}
	if st == GntstOkay {
		list := le.Uint64(b[setupFrameList:])
		var pfn [pfnSize]byte
		for i, gfn := range t.setupFrames(nr) {
			le.PutUint64(pfn[:], gfn)
			if !copyOut(v, list+uint64(i)*pfnSize, pfn[:]) {
				st = GntstBadVirtAddr
				break
			}
		}
	}
	putStatus(b[setupStatus:], st)
	if !copyOut(v, arg+setupStatus, b[setupStatus:setupStatus+2]) {
		return xen.EFAULT.Ret()
	}
	return 0
}

// setVersion mirrors gnttab_set_version with max_version 1: version 1 is
// accepted (it is already the version), 2 is -ENOSYS ("behave as before
// set_version was introduced"), anything else -EINVAL. In every case the
// current version, 1, is written back.
func (t *Table) setVersion(v xen.VCPU, arg uint64) int64 {
	var b [setVersionSize]byte
	if !copyIn(v, arg, b[:]) {
		return xen.EFAULT.Ret()
	}
	var ret int64
	switch le.Uint32(b[:]) {
	case 1:
	case 2:
		ret = xen.ENOSYS.Ret()
	default:
		ret = xen.EINVAL.Ret()
	}
	le.PutUint32(b[:], 1)
	if !copyOut(v, arg, b[:]) {
		return xen.EFAULT.Ret()
	}
	return ret
}

// getVersion mirrors gnttab_get_version: -ESRCH for no such domain, -EPERM
// (XSM_TARGET) for the backend, else version 1 in the version field.
func (t *Table) getVersion(v xen.VCPU, arg uint64) int64 {
	var b [getVersionSize]byte
	if !copyIn(v, arg, b[:]) {
		return xen.EFAULT.Ret()
	}
	switch t.lookupAnyID(le.Uint16(b[getVersionDom:])) {
	case domNone:
		return xen.ESRCH.Ret()
	case domBackend:
		return xen.EPERM.Ret()
	}
	le.PutUint32(b[getVersionVer:], 1)
	if !copyOut(v, arg+getVersionVer, b[getVersionVer:]) {
		return xen.EFAULT.Ret()
	}
	return 0
}

// mapGrantRef answers map_grant_ref entry by entry. A PVH guest here can
// map no grants: the monitor cannot make a granted frame appear at another
// guest address, and the only other domain grants the guest nothing. The
// flag checks of map_grant_ref come first (no host or device mapping:
// GNTST_bad_gntref; device, application or PTE mapping in an HVM domain:
// GNTST_general_error); then every entry gets GNTST_bad_domain, as if the
// granting domain did not exist (Xen would also say so for DOMID_SELF,
// which rcu_lock_domain_by_id does not resolve). Each struct is written
// back whole, as Xen does.
func (t *Table) mapGrantRef(v xen.VCPU, arg uint64, count uint32) int64 {
	var b [mapSize]byte
	for i := uint64(0); i < uint64(count); i++ {
		p := arg + i*mapSize
		if !copyIn(v, p, b[:]) {
			return xen.EFAULT.Ret()
		}
		flags := le.Uint32(b[mapFlags:])
		var st int16
		switch {
		case flags&(GntmapDeviceMap|GntmapHostMap) == 0:
			st = GntstBadGntref
		case flags&(GntmapDeviceMap|GntmapApplicationMap|GntmapContainsPTE) != 0:
			st = GntstGeneralError
		default:
			st = GntstBadDomain
		}
		putStatus(b[mapStatus:], st)
		if !copyOut(v, p, b[:]) {
			return xen.EFAULT.Ret()
		}
	}
	return 0
}

// unmapGrantRef answers unmap_grant_ref: no mapping was ever made, so
// every handle is GNTST_bad_handle (unmap_common). Only the status field is
// written back.
func (t *Table) unmapGrantRef(v xen.VCPU, arg uint64, count uint32) int64 {
	var b [unmapSize]byte
	for i := uint64(0); i < uint64(count); i++ {
		p := arg + i*unmapSize
		if !copyIn(v, p, b[:]) {
			return xen.EFAULT.Ret()
		}
		putStatus(b[unmapStatus:], GntstBadHandle)
		if !copyOut(v, p+unmapStatus, b[unmapStatus:unmapStatus+2]) {
			return xen.EFAULT.Ret()
		}
	}
	return 0
}

// swapGrantRef answers swap_grant_ref entry by entry, as Xen's
// swap_grant_ref: each ref must be in the table (GNTST_bad_gntref),
// swapping a ref with itself does nothing, and a held ref cannot be swapped
// (GNTST_eagain). Only the status field is written back.
func (t *Table) swapGrantRef(v xen.VCPU, arg uint64, count uint32) int64 {
	var b [swapSize]byte
	for i := uint64(0); i < uint64(count); i++ {
		p := arg + i*swapSize
		if !copyIn(v, p, b[:]) {
			return xen.EFAULT.Ret()
		}
		st := t.swap(le.Uint32(b[swapRefA:]), le.Uint32(b[swapRefB:]))
		putStatus(b[swapStatus:], st)
		if !copyOut(v, p+swapStatus, b[swapStatus:swapStatus+2]) {
			return xen.EFAULT.Ret()
		}
	}
	return 0
}

// swap exchanges the entries of refs a and b and returns the status.
func (t *Table) swap(a, b uint32) int16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	ga, okA := t.entryGPA(a)
	gb, okB := t.entryGPA(b)
	switch {
	case !okA || !okB:
		return GntstBadGntref
	case a == b:
		return GntstOkay
	case t.activeOf(a) != nil || t.activeOf(b) != nil:
		return GntstEagain
	}
	ea, errA := t.mem.Load64(ga)
	eb, errB := t.mem.Load64(gb)
	if errA != nil || errB != nil {
		return GntstGeneralError
	}
	if t.mem.Store64(ga, eb) != nil || t.mem.Store64(gb, ea) != nil {
		return GntstGeneralError
	}
	return GntstOkay
}
