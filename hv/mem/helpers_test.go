package mem

import (
	"testing"
)

// newMem allocates private guest RAM of size bytes, closed when t ends.
func newMem(t testing.TB, size uint64) *Memory {
	t.Helper()
	m, err := New(size, Options{})
	if err != nil {
		t.Fatalf("New(%#x): %v", size, err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// pagingMode names the page-table formats the builder writes.
type pagingMode int

const (
	modeLong pagingMode = iota // 4-level, 64-bit entries
	modePAE                    // 3-level, 64-bit entries, 4-entry PDPT
	mode2                      // 2-level, 32-bit entries
)

// ptBuilder writes page tables into a Memory, taking table pages from a
// bump allocator.
type ptBuilder struct {
	t    testing.TB
	m    *Memory
	mode pagingMode
	root GPA // the top-level table (CR3)
	next GPA // the next free table page
}

// newBuilder starts page tables of the given mode with table pages from
// base upwards.
func newBuilder(t testing.TB, m *Memory, mode pagingMode, base GPA) *ptBuilder {
	b := &ptBuilder{t: t, m: m, mode: mode, next: base}
	b.root = b.alloc()
	return b
}

// alloc returns a zeroed page for a table.
func (b *ptBuilder) alloc() GPA {
	b.t.Helper()
	p := b.next
	b.next += PageSize
	if err := b.m.WriteAt(make([]byte, PageSize), p); err != nil {
		b.t.Fatalf("alloc table page %#x: %v", p, err)
	}
	return p
}

// paging returns control state selecting the builder's tables, with
// CR0.WP set.
func (b *ptBuilder) paging() Paging {
	p := Paging{CR0: CR0PG | CR0WP | 1, CR3: uint64(b.root)}
	switch b.mode {
	case modeLong:
		p.CR4 = CR4PAE
		p.EFER = EFERLMA | EFERNXE | 1<<8
	case modePAE:
		p.CR4 = CR4PAE
	case mode2:
		p.CR4 = CR4PSE
	}
	return p
}

// shifts returns the address-bit shift of each level, top first.
func (b *ptBuilder) shifts() []uint {
	switch b.mode {
	case modeLong:
		return []uint{39, 30, 21, 12}
	case modePAE:
		return []uint{30, 21, 12}
	}
	return []uint{22, 12}
}

func (b *ptBuilder) load(a GPA) uint64 {
	b.t.Helper()
	if b.mode == mode2 {
		v, err := b.m.Load32(a)
		if err != nil {
			b.t.Fatalf("load entry %#x: %v", a, err)
		}
		return uint64(v)
	}
	v, err := b.m.Load64(a)
	if err != nil {
		b.t.Fatalf("load entry %#x: %v", a, err)
	}
	return v
}

func (b *ptBuilder) store(a GPA, v uint64) {
	b.t.Helper()
	var err error
	if b.mode == mode2 {
		err = b.m.Store32(a, uint32(v))
	} else {
		err = b.m.Store64(a, v)
	}
	if err != nil {
		b.t.Fatalf("store entry %#x: %v", a, err)
	}
}

// slot returns the address of the entry translating gva at the level with
// the given shift, creating the tables above it.
func (b *ptBuilder) slot(gva GVA, shift uint) GPA {
	b.t.Helper()
	esz, mask := uint64(8), uint64(addrMask52)
	if b.mode == mode2 {
		esz, mask = 4, 0xFFFF_F000
	}
	table := b.root
	for i, s := range b.shifts() {
		n := PageSize / esz
		flags := uint64(PTEPresent | PTEWritable | PTEUser)
		if b.mode == modePAE && i == 0 {
			n, flags = 4, PTEPresent
		}
		a := table + GPA((uint64(gva)>>s&(n-1))*esz)
		if s == shift {
			return a
		}
		e := b.load(a)
		if e&PTEPresent == 0 {
			e = uint64(b.alloc()) | flags
			b.store(a, e)
		}
		table = GPA(e & mask)
	}
	b.t.Fatalf("no level with shift %d", shift)
	return 0
}

// set stores v in the entry translating gva at the level with the given
// shift.
func (b *ptBuilder) set(gva GVA, shift uint, v uint64) { b.store(b.slot(gva, shift), v) }

// get loads the entry translating gva at the level with the given shift.
func (b *ptBuilder) get(gva GVA, shift uint) uint64 { return b.load(b.slot(gva, shift)) }

// mapPage maps the page of the given size (4 KiB, 2 MiB, 4 MiB or 1 GiB) at
// gva to gpa with flags (PTEPresent is added).
func (b *ptBuilder) mapPage(gva GVA, gpa GPA, size uint64, flags uint64) {
	b.t.Helper()
	var shift uint
	switch size {
	case 4 << 10:
		shift = 12
	case 2 << 20:
		shift = 21
	case 4 << 20:
		shift = 22
	case 1 << 30:
		shift = 30
	default:
		b.t.Fatalf("bad page size %#x", size)
	}
	v := uint64(gpa) | flags | PTEPresent
	if size > PageSize {
		v |= PTEHuge
	}
	b.set(gva, shift, v)
}
