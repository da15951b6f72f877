package mem

// CopyFromGuest copies len(dst) bytes from guest-virtual address gva into
// dst, as Xen's copy_from_guest does for an HVM guest: each guest page the
// range touches is translated on its own (a supervisor read under p), and
// the page-table entries used get their accessed bits set.
//
// On a fault midway, dst holds the bytes of the pages before the faulting
// one (a prefix) and the error is a *FaultError naming the faulting address;
// the rest of dst is unchanged. A range that wraps around the top of the
// address space faults where it wraps.
func (m *Memory) CopyFromGuest(p Paging, gva GVA, dst []byte) error {
	return m.copyGuest(p, gva, dst, false)
}

// CopyToGuest copies src to guest-virtual address gva, as Xen's
// copy_to_guest does for an HVM guest: each guest page is translated on its
// own as a supervisor write (read-only pages fault when CR0.WP is set), and
// the entries used get their accessed bits, the leaf its dirty bit.
//
// On a fault midway, the pages before the faulting one have been written (a
// prefix) and the error is a *FaultError naming the faulting address.
func (m *Memory) CopyToGuest(p Paging, gva GVA, src []byte) error {
	return m.copyGuest(p, gva, src, true)
}

// copyGuest moves buf to (write) or from guest-virtual memory at gva, one
// guest page at a time.
func (m *Memory) copyGuest(p Paging, gva GVA, buf []byte, write bool) error {
	if m.closed.Load() {
		return ErrClosed
	}
	for done := 0; done < len(buf); {
		va := gva + GVA(done)
		if va < gva {
			return &FaultError{GVA: va, Write: write, Reason: "range wraps around the address space"}
		}
		gpa, err := m.translate(p, va, write, true)
		if err != nil {
			return err
		}
		// The page offset survives translation and RAM ends on a page
		// boundary, so the rest of this page lies inside RAM.
		n := min(len(buf)-done, PageSize-int(va&(PageSize-1)))
		page := m.mapping[gpa : uint64(gpa)+uint64(n)]
		if write {
			copy(page, buf[done:done+n])
		} else {
			copy(buf[done:done+n], page)
		}
		done += n
	}
	return nil
}
