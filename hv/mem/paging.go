package mem

// Control-register and EFER bits that translation reads (Intel SDM vol. 3,
// 2.5 and 4.1).
const (
	CR0WP   = 1 << 16 // CR0.WP: supervisor writes honour read-only pages
	CR0PG   = 1 << 31 // CR0.PG: paging enabled
	CR4PSE  = 1 << 4  // CR4.PSE: 4 MiB pages in 2-level paging
	CR4PAE  = 1 << 5  // CR4.PAE: 64-bit entries (PAE or 4-level paging)
	CR4LA57 = 1 << 12 // CR4.LA57: 5-level paging (unsupported)
	EFERLMA = 1 << 10 // EFER.LMA: long mode active (4-level paging)
	EFERNXE = 1 << 11 // EFER.NXE: bit 63 of entries is execute-disable
)

// Page-table entry bits (the same positions in 32-bit and 64-bit entries).
const (
	PTEPresent  = 1 << 0  // P: the entry maps something
	PTEWritable = 1 << 1  // R/W: writes allowed
	PTEUser     = 1 << 2  // U/S: user accesses allowed
	PTEAccessed = 1 << 5  // A: set by the walker when the entry is used
	PTEDirty    = 1 << 6  // D: set by the walker when a leaf page is written
	PTEHuge     = 1 << 7  // PS: the entry maps a large page
	PTENoExec   = 1 << 63 // XD: execute-disable (reserved unless EFER.NXE)
)

// Paging is the part of a vCPU's control state that translation needs, as
// read from the vCPU's special registers when it exits.
type Paging struct {
	CR0  uint64 // PG selects paging; WP governs supervisor writes
	CR3  uint64 // physical address of the top-level page table
	CR4  uint64 // PSE, PAE and LA57 select the paging mode
	EFER uint64 // LMA selects 4-level paging; NXE validates bit 63
}

const (
	addrMask52 = 0x000F_FFFF_FFFF_F000 // table or 4 KiB frame address in a 64-bit entry
	addrMask2M = 0x000F_FFFF_FFE0_0000 // 2 MiB frame address in a 64-bit entry
	addrMask1G = 0x000F_FFFF_C000_0000 // 1 GiB frame address in a 64-bit entry
	rsvd2M     = 0x0000_0000_001F_E000 // bits 20:13 of a 2 MiB leaf
	rsvd1G     = 0x0000_0000_3FFF_E000 // bits 29:13 of a 1 GiB leaf
	rsvdPAE    = 0x7FF0_0000_0000_0000 // bits 62:52 of a PAE-mode PDE or PTE
	rsvdPDPTE  = 0xFFF0_0000_0000_01E6 // bits 63:52, 8:5 and 2:1 of a PAE PDPTE
	rsvd4M     = 1 << 21               // bit 21 of a 2-level 4 MiB leaf
	max32      = 0xFFFF_FFFF           // the last address outside long mode
)

// ptRef records one page-table entry a walk used, so that a copy can set its
// accessed and dirty bits afterwards.
type ptRef struct {
	gpa  GPA    // where the entry lives
	val  uint64 // the entry as read
	wide bool   // 64-bit entry (else 32-bit)
	ad   bool   // the entry has accessed/dirty bits (PAE PDPTEs do not)
}

// walk is the state of one translation.
type walk struct {
	refs     [4]ptRef // entries used, top level first
	n        int      // number of refs
	readOnly bool     // some level lacked R/W
}

// Translate turns gva into a guest-physical address the way the vCPU's MMU
// would for a supervisor data access (a write if write is set), reading the
// guest's page tables out of this memory. It supports paging off (gva must
// be below 4 GiB), 2-level 32-bit paging with 4 MiB pages under CR4.PSE,
// PAE paging with 2 MiB pages, and 4-level paging with 2 MiB and 1 GiB pages.
// A write to a page that is read-only at any level faults when CR0.WP is set,
// as on hardware and in Xen's guest walker; SMAP, protection keys and
// execute permissions are not modelled. Translate reads the tables only: it
// does not set accessed or dirty bits (the copy functions do).
//
// Any failure caused by the guest (non-canonical or unmapped address, a
// reserved bit, a table or final address outside guest RAM, 5-level paging)
// returns a *FaultError, which matches ErrFault. After Close it returns
// ErrClosed.
func (m *Memory) Translate(p Paging, gva GVA, write bool) (GPA, error) {
	return m.translate(p, gva, write, false)
}

// translate implements Translate; setAD marks the entries used as accessed
// (and the leaf dirty on a write) after a successful walk.
func (m *Memory) translate(p Paging, gva GVA, write, setAD bool) (GPA, error) {
	if m.closed.Load() {
		return 0, ErrClosed
	}
	var (
		w      walk
		gpa    GPA
		reason string
	)
	switch {
	case p.CR0&CR0PG == 0:
		if gva > max32 {
			reason = "paging disabled and address above 4 GiB"
		}
		gpa = GPA(gva)
	case p.EFER&EFERLMA != 0:
		gpa, reason = m.walkLong(&w, p, gva)
	case p.CR4&CR4PAE != 0:
		gpa, reason = m.walkPAE(&w, p, gva)
	default:
		gpa, reason = m.walk2(&w, p, gva)
	}
	if reason == "" && write && w.readOnly && p.CR0&CR0WP != 0 {
		reason = "page not writable"
	}
	if reason == "" && uint64(gpa) >= m.size {
		reason = "address outside guest memory"
	}
	if reason != "" {
		return 0, &FaultError{GVA: gva, Write: write, Reason: reason}
	}
	if setAD {
		m.setAccessed(&w, write)
	}
	return gpa, nil
}

// entry reads the page-table entry at gpa (8 bytes if wide, else 4) and
// records it in w. A non-empty reason means the entry is not readable.
func (m *Memory) entry(w *walk, gpa GPA, wide, ad bool) (uint64, string) {
	var (
		v   uint64
		err error
	)
	if wide {
		v, err = m.Load64(gpa)
	} else {
		var v32 uint32
		v32, err = m.Load32(gpa)
		v = uint64(v32)
	}
	if err != nil {
		return 0, "page table outside guest memory"
	}
	w.refs[w.n] = ptRef{gpa: gpa, val: v, wide: wide, ad: ad}
	w.n++
	return v, ""
}

// level4Names names the entries of a 4-level walk, indexed by the shift of
// the address bits they translate divided by 9.
var level4Names = [...]string{1: "pte", 2: "pde", 3: "pdpte", 4: "pml4e"}

// walkLong does a 4-level walk (IA-32e paging).
func (m *Memory) walkLong(w *walk, p Paging, gva GVA) (GPA, string) {
	if p.CR4&CR4PAE == 0 {
		return 0, "long mode active without CR4.PAE"
	}
	if p.CR4&CR4LA57 != 0 {
		return 0, "5-level paging (CR4.LA57) is not supported"
	}
	if int64(gva<<16)>>16 != int64(gva) {
		return 0, "non-canonical address"
	}
	var rsvd uint64
	if p.EFER&EFERNXE == 0 {
		rsvd = PTENoExec
	}
	table := p.CR3 & addrMask52
	for shift := uint(39); ; shift -= 9 {
		e, reason := m.entry(w, GPA(table+(uint64(gva)>>shift&511)*8), true, true)
		switch {
		case reason != "":
			return 0, reason
		case e&PTEPresent == 0:
			return 0, level4Names[shift/9] + " not present"
		case e&rsvd != 0:
			return 0, level4Names[shift/9] + " has a reserved bit set"
		}
		if e&PTEWritable == 0 {
			w.readOnly = true
		}
		if shift == 12 {
			return GPA(e&addrMask52 | uint64(gva)&0xFFF), ""
		}
		if e&PTEHuge != 0 {
			switch shift {
			case 30:
				if e&rsvd1G != 0 {
					return 0, "1 GiB pdpte has a reserved bit set"
				}
				return GPA(e&addrMask1G | uint64(gva)&(1<<30-1)), ""
			case 21:
				if e&rsvd2M != 0 {
					return 0, "2 MiB pde has a reserved bit set"
				}
				return GPA(e&addrMask2M | uint64(gva)&(1<<21-1)), ""
			default:
				return 0, "pml4e has the page-size bit set"
			}
		}
		table = e & addrMask52
	}
}

// walkPAE does a 3-level PAE walk.
func (m *Memory) walkPAE(w *walk, p Paging, gva GVA) (GPA, string) {
	if gva > max32 {
		return 0, "address above 4 GiB outside long mode"
	}
	e, reason := m.entry(w, GPA(p.CR3&0xFFFF_FFE0+(uint64(gva)>>30)*8), true, false)
	switch {
	case reason != "":
		return 0, reason
	case e&PTEPresent == 0:
		return 0, "pdpte not present"
	case e&rsvdPDPTE != 0:
		return 0, "pdpte has a reserved bit set"
	}
	rsvd := uint64(rsvdPAE)
	if p.EFER&EFERNXE == 0 {
		rsvd |= PTENoExec
	}
	e, reason = m.entry(w, GPA(e&addrMask52+(uint64(gva)>>21&511)*8), true, true)
	switch {
	case reason != "":
		return 0, reason
	case e&PTEPresent == 0:
		return 0, "pde not present"
	case e&rsvd != 0:
		return 0, "pde has a reserved bit set"
	}
	if e&PTEWritable == 0 {
		w.readOnly = true
	}
	if e&PTEHuge != 0 {
		if e&rsvd2M != 0 {
			return 0, "2 MiB pde has a reserved bit set"
		}
		return GPA(e&addrMask2M | uint64(gva)&(1<<21-1)), ""
	}
	e, reason = m.entry(w, GPA(e&addrMask52+(uint64(gva)>>12&511)*8), true, true)
	switch {
	case reason != "":
		return 0, reason
	case e&PTEPresent == 0:
		return 0, "pte not present"
	case e&rsvd != 0:
		return 0, "pte has a reserved bit set"
	}
	if e&PTEWritable == 0 {
		w.readOnly = true
	}
	return GPA(e&addrMask52 | uint64(gva)&0xFFF), ""
}

// walk2 does a 2-level 32-bit walk, with 4 MiB pages (PSE-36 high address
// bits included) when CR4.PSE is set.
func (m *Memory) walk2(w *walk, p Paging, gva GVA) (GPA, string) {
	if gva > max32 {
		return 0, "address above 4 GiB outside long mode"
	}
	e, reason := m.entry(w, GPA(p.CR3&0xFFFF_F000+(uint64(gva)>>22)*4), false, true)
	switch {
	case reason != "":
		return 0, reason
	case e&PTEPresent == 0:
		return 0, "pde not present"
	}
	if e&PTEWritable == 0 {
		w.readOnly = true
	}
	if e&PTEHuge != 0 && p.CR4&CR4PSE != 0 {
		if e&rsvd4M != 0 {
			return 0, "4 MiB pde has a reserved bit set"
		}
		high := (e >> 13 & 0xFF) << 32
		return GPA(high | e&0xFFC0_0000 | uint64(gva)&(1<<22-1)), ""
	}
	e, reason = m.entry(w, GPA(e&0xFFFF_F000+(uint64(gva)>>12&1023)*4), false, true)
	switch {
	case reason != "":
		return 0, reason
	case e&PTEPresent == 0:
		return 0, "pte not present"
	}
	if e&PTEWritable == 0 {
		w.readOnly = true
	}
	return GPA(e&0xFFFF_F000 | uint64(gva)&0xFFF), ""
}

// setAccessed sets the accessed bit of every entry a successful walk used,
// and the dirty bit of the leaf on a write, as the hardware walker (and
// Xen's) does. An entry the guest changed meanwhile is left alone.
func (m *Memory) setAccessed(w *walk, write bool) {
	for i := 0; i < w.n; i++ {
		r := &w.refs[i]
		if !r.ad {
			continue
		}
		bits := uint64(PTEAccessed)
		if write && i == w.n-1 {
			bits |= PTEDirty
		}
		if r.val&bits == bits {
			continue
		}
		if r.wide {
			_, _ = m.CompareAndSwap64(r.gpa, r.val, r.val|bits)
		} else {
			_, _ = m.CompareAndSwap32(r.gpa, uint32(r.val), uint32(r.val|bits))
		}
	}
}
