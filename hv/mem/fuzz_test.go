package mem

import (
	"errors"
	"testing"
)

// fuzzRAM is the size of the Memory FuzzTranslate walks: small, so that
// random entries often point inside it.
const fuzzRAM = 16 * PageSize

// FuzzTranslate fills a small Memory with fuzz bytes (the guest's page
// tables and data) and translates and copies an arbitrary address under
// arbitrary control state: no panic, and every result lies inside RAM or is
// a fault.
func FuzzTranslate(f *testing.F) {
	seeds := []struct {
		mode pagingMode
		gva  GVA
		size uint64
	}{
		{modeLong, 0x400000, 4 << 10},
		{modeLong, 0x4000_0000, 2 << 20},
		{modeLong, 0x80_0000_0000, 1 << 30},
		{modePAE, 0x400000, 4 << 10},
		{modePAE, 0x4000_0000, 2 << 20},
		{mode2, 0x400000, 4 << 10},
		{mode2, 0x8000_0000, 4 << 20},
	}
	for _, s := range seeds {
		m, err := New(fuzzRAM, Options{})
		if err != nil {
			f.Fatal(err)
		}
		b := newBuilder(f, m, s.mode, 0)
		b.mapPage(s.gva, 0, s.size, PTEWritable)
		p := b.paging()
		f.Add(append([]byte(nil), m.Bytes()[:b.next]...), p.CR0, p.CR3, p.CR4, p.EFER, uint64(s.gva)+0xFF8, true)
		m.Close()
	}
	f.Add([]byte{}, uint64(0), uint64(0), uint64(0), uint64(0), uint64(0xFFF8), false)
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, uint64(CR0PG), uint64(0), uint64(CR4PAE|CR4PSE), uint64(EFERLMA), ^uint64(7), false)
	f.Add([]byte{0x83, 0, 0, 0}, uint64(CR0PG), uint64(0), uint64(CR4PSE), uint64(0), uint64(0x12345), true)
	f.Add([]byte{0x87, 0, 0, 0, 0, 0, 0, 0}, uint64(CR0PG|CR0WP), uint64(0xFFF), uint64(CR4PAE|CR4LA57), uint64(EFERLMA), uint64(0xFFFF_8000_0000_0000), false)

	f.Fuzz(func(t *testing.T, data []byte, cr0, cr3, cr4, efer, gva uint64, write bool) {
		m, err := New(fuzzRAM, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		copy(m.Bytes(), data)
		p := Paging{CR0: cr0, CR3: cr3, CR4: cr4, EFER: efer}

		gpa, err := m.Translate(p, GVA(gva), write)
		if err != nil {
			if !errors.Is(err, ErrFault) {
				t.Fatalf("Translate(%#x) = %v, not a fault", gva, err)
			}
		} else if uint64(gpa) >= fuzzRAM || uint64(gpa)&0xFFF != gva&0xFFF {
			t.Fatalf("Translate(%#x) = %#x: outside RAM or page offset lost", gva, gpa)
		}

		buf := make([]byte, 2*PageSize+3)
		for _, err := range []error{
			m.CopyFromGuest(p, GVA(gva), buf),
			m.CopyToGuest(p, GVA(gva), buf[:PageSize+1]),
		} {
			if err != nil && !errors.Is(err, ErrFault) {
				t.Fatalf("copy at %#x = %v, not a fault", gva, err)
			}
		}
	})
}
