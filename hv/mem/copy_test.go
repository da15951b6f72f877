package mem

import (
	"bytes"
	"errors"
	"testing"
)

// pattern returns n bytes that differ from their neighbours.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

// copyTables maps the pages the copy tests use, in long mode.
func copyTables(t *testing.T) (*Memory, *ptBuilder) {
	m := newMem(t, ramSize)
	b := newBuilder(t, m, modeLong, 0x1000)
	b.mapPage(0x1000_0000, 0x205000, 4<<10, PTEWritable) // two pages in
	b.mapPage(0x1000_1000, 0x203000, 4<<10, PTEWritable) // reverse order
	b.mapPage(0x1000_2000, 0x206000, 4<<10, PTEWritable) // next one unmapped
	b.mapPage(0x1000_4000, 0x208000, 4<<10, PTEWritable) // next one read-only
	b.mapPage(0x1000_5000, 0x209000, 4<<10, 0)
	b.mapPage(0x2000_0000, 0x200000, 2<<20, PTEWritable)
	b.mapPage(0xFFFF_FFFF_FFFF_F000, 0x207000, 4<<10, PTEWritable)
	return m, b
}

func TestCopyAcrossPages(t *testing.T) {
	m, b := copyTables(t)
	p := b.paging()
	src := pattern(32)
	if err := m.CopyToGuest(p, 0x1000_0FF0, src); err != nil {
		t.Fatalf("CopyToGuest: %v", err)
	}
	first, _ := m.Slice(0x205FF0, 16)
	second, _ := m.Slice(0x203000, 16)
	if !bytes.Equal(first, src[:16]) || !bytes.Equal(second, src[16:]) {
		t.Fatalf("guest RAM holds %x and %x, want %x", first, second, src)
	}
	dst := make([]byte, 32)
	if err := m.CopyFromGuest(p, 0x1000_0FF0, dst); err != nil || !bytes.Equal(dst, src) {
		t.Fatalf("CopyFromGuest = %x, %v; want %x", dst, err, src)
	}
}

func TestCopyLargePage(t *testing.T) {
	m, b := copyTables(t)
	p := b.paging()
	src := pattern(3*PageSize + 100)
	if err := m.CopyToGuest(p, 0x2000_0F00, src); err != nil {
		t.Fatalf("CopyToGuest: %v", err)
	}
	got, _ := m.Slice(0x200F00, uint64(len(src)))
	if !bytes.Equal(got, src) {
		t.Fatal("guest RAM differs from the copy")
	}
	dst := make([]byte, len(src))
	if err := m.CopyFromGuest(p, 0x2000_0F00, dst); err != nil || !bytes.Equal(dst, src) {
		t.Fatalf("CopyFromGuest: %v", err)
	}
}

func TestCopyFaultMidway(t *testing.T) {
	tests := []struct {
		name      string
		gva       GVA
		write     bool
		p         func(Paging) Paging
		faultAt   GVA
		prefixLen int
		reason    string
	}{
		{name: "read into unmapped page", gva: 0x1000_2FF0, faultAt: 0x1000_3000, prefixLen: 16, reason: "pte not present"},
		{name: "write into unmapped page", gva: 0x1000_2FF0, write: true, faultAt: 0x1000_3000, prefixLen: 16, reason: "pte not present"},
		{name: "write into read-only page", gva: 0x1000_4FF8, write: true, faultAt: 0x1000_5000, prefixLen: 8, reason: "not writable"},
		{name: "first page unmapped", gva: 0x1000_3FF0, faultAt: 0x1000_3FF0, reason: "pte not present"},
		{name: "wrap around", gva: 0xFFFF_FFFF_FFFF_FFF0, faultAt: 0, prefixLen: 16, reason: "wraps"},
		{name: "wrap around write", gva: 0xFFFF_FFFF_FFFF_FFF0, write: true, faultAt: 0, prefixLen: 16, reason: "wraps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, b := copyTables(t)
			p := b.paging()
			if tt.p != nil {
				p = tt.p(p)
			}
			const n = 32
			buf := bytes.Repeat([]byte{0xAA}, n)
			var err error
			if tt.write {
				err = m.CopyToGuest(p, tt.gva, pattern(n))
			} else {
				if werr := m.CopyToGuest(Paging{}, 0x206FF0, pattern(16)); werr != nil {
					t.Fatal(werr)
				}
				if werr := m.CopyToGuest(Paging{}, 0x207FF0, pattern(16)); werr != nil {
					t.Fatal(werr)
				}
				err = m.CopyFromGuest(p, tt.gva, buf)
			}
			var fe *FaultError
			if !errors.As(err, &fe) || !errors.Is(err, ErrFault) || fe.GVA != tt.faultAt || fe.Write != tt.write {
				t.Fatalf("copy = %v, want a fault at %#x", err, tt.faultAt)
			}
			if !bytes.Contains([]byte(fe.Reason), []byte(tt.reason)) {
				t.Fatalf("reason %q, want %q", fe.Reason, tt.reason)
			}
			if tt.write {
				if tt.prefixLen == 0 {
					return
				}
				gpa, err := m.Translate(p, tt.gva, false)
				if err != nil {
					t.Fatal(err)
				}
				got, _ := m.Slice(gpa, uint64(tt.prefixLen))
				if !bytes.Equal(got, pattern(tt.prefixLen)) {
					t.Fatalf("prefix in guest RAM = %x, want %x", got, pattern(tt.prefixLen))
				}
				return
			}
			if !bytes.Equal(buf[:tt.prefixLen], pattern(tt.prefixLen)) {
				t.Fatalf("prefix = %x, want %x", buf[:tt.prefixLen], pattern(tt.prefixLen))
			}
			if !bytes.Equal(buf[tt.prefixLen:], bytes.Repeat([]byte{0xAA}, n-tt.prefixLen)) {
				t.Fatalf("bytes after the fault changed: %x", buf[tt.prefixLen:])
			}
		})
	}
}

func TestCopyReadOnlyWithoutWP(t *testing.T) {
	m, b := copyTables(t)
	p := noWP(b.paging())
	if err := m.CopyToGuest(p, 0x1000_4FF8, pattern(16)); err != nil {
		t.Fatalf("CopyToGuest with CR0.WP clear: %v", err)
	}
	if got, _ := m.Slice(0x209000, 8); !bytes.Equal(got, pattern(16)[8:]) {
		t.Fatalf("read-only page holds %x", got)
	}
}

func TestCopyEmpty(t *testing.T) {
	m, b := copyTables(t)
	if err := m.CopyFromGuest(b.paging(), 0x1000_3000, nil); err != nil {
		t.Errorf("empty CopyFromGuest at an unmapped address: %v", err)
	}
	if err := m.CopyToGuest(b.paging(), 0x1000_3000, []byte{}); err != nil {
		t.Errorf("empty CopyToGuest at an unmapped address: %v", err)
	}
}

func TestCopyPagingOff(t *testing.T) {
	m := newMem(t, ramSize)
	src := pattern(100)
	if err := m.CopyToGuest(Paging{}, ramSize-100, src); err != nil {
		t.Fatal(err)
	}
	if err := m.CopyToGuest(Paging{}, ramSize-50, src); !errors.Is(err, ErrFault) {
		t.Fatalf("copy past the end of RAM = %v, want ErrFault", err)
	}
	got := make([]byte, 100)
	if err := m.CopyFromGuest(Paging{}, ramSize-100, got); err != nil || !bytes.Equal(got[:50], src[:50]) {
		t.Fatalf("CopyFromGuest = %v", err)
	}
	// The faulting copy wrote the part inside RAM.
	if !bytes.Equal(got[50:], src[:50]) {
		t.Fatalf("prefix of faulting copy not written: %x", got[50:])
	}
}

func TestCopySetsAccessedDirty(t *testing.T) {
	for _, mode := range []pagingMode{modeLong, modePAE, mode2} {
		m := newMem(t, ramSize)
		b := newBuilder(t, m, mode, 0x1000)
		b.mapPage(0x400000, 0x200000, 4<<10, PTEWritable)
		b.mapPage(0x401000, 0x201000, 4<<10, PTEWritable)
		shifts := b.shifts()
		if err := m.CopyFromGuest(b.paging(), 0x400000, make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
		if err := m.CopyToGuest(b.paging(), 0x401000, make([]byte, 8)); err != nil {
			t.Fatal(err)
		}
		for i, s := range shifts {
			leaf := i == len(shifts)-1
			hasAD := !(mode == modePAE && i == 0)
			read, written := b.get(0x400000, s), b.get(0x401000, s)
			if hasAD && (read&PTEAccessed == 0 || written&PTEAccessed == 0) {
				t.Errorf("mode %d level %d: accessed bit not set (%#x, %#x)", mode, s, read, written)
			}
			if !hasAD && (read|written)&(PTEAccessed|PTEDirty) != 0 {
				t.Errorf("mode %d: PAE pdpte changed to %#x", mode, read|written)
			}
			if read&PTEDirty != 0 {
				t.Errorf("mode %d level %d: read set the dirty bit (%#x)", mode, s, read)
			}
			if leaf != (written&PTEDirty != 0) {
				t.Errorf("mode %d level %d: dirty bit in %#x, want only in the leaf", mode, s, written)
			}
		}
	}
}
