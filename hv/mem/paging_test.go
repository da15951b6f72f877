package mem

import (
	"errors"
	"strings"
	"testing"
)

// translateCase is one Translate call and its expected outcome: a GPA, or a
// fault whose reason contains fault.
type translateCase struct {
	name  string
	p     func(Paging) Paging // adjusts the builder's control state; nil keeps it
	gva   GVA
	write bool
	want  GPA
	fault string
}

func runTranslate(t *testing.T, m *Memory, base Paging, tests []translateCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base
			if tt.p != nil {
				p = tt.p(p)
			}
			got, err := m.Translate(p, tt.gva, tt.write)
			if tt.fault == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Translate(%#x, write=%v) = %#x, %v; want %#x", tt.gva, tt.write, got, err, tt.want)
				}
				return
			}
			var fe *FaultError
			if !errors.Is(err, ErrFault) || !errors.As(err, &fe) {
				t.Fatalf("Translate(%#x, write=%v) = %#x, %v; want fault %q", tt.gva, tt.write, got, err, tt.fault)
			}
			if fe.GVA != tt.gva || fe.Write != tt.write || !strings.Contains(fe.Reason, tt.fault) {
				t.Fatalf("fault %+v, want gva %#x write %v reason containing %q", fe, tt.gva, tt.write, tt.fault)
			}
		})
	}
}

func noWP(p Paging) Paging    { p.CR0 &^= CR0WP; return p }
func noNXE(p Paging) Paging   { p.EFER &^= EFERNXE; return p }
func withNXE(p Paging) Paging { p.EFER |= EFERNXE; return p }
func noPSE(p Paging) Paging   { p.CR4 &^= CR4PSE; return p }

const ramSize = 4 << 20 // the RAM of most paging tests

// buildLong writes the 4-level tables the long-mode tests use.
func buildLong(t testing.TB, m *Memory) *ptBuilder {
	b := newBuilder(t, m, modeLong, 0x1000)
	const rw = PTEWritable
	b.mapPage(0x400000, 0x200000, 4<<10, rw)
	b.mapPage(0x401000, 0x300000, 4<<10, 0) // read-only
	b.mapPage(0x403000, 0x202000, 4<<10, rw|PTENoExec)
	b.mapPage(0x406000, 0x500000, 4<<10, rw) // beyond RAM
	b.mapPage(0x407000, ramSize-PageSize, 4<<10, rw)
	b.mapPage(0xFFFF_8000_0000_1000, 0x201000, 4<<10, rw)
	b.mapPage(0xFFFF_FFFF_FFFF_F000, 0x207000, 4<<10, rw)
	b.mapPage(0x4000_0000, 0x200000, 2<<20, rw)
	b.mapPage(0x4020_0000, 0x4000_0000, 2<<20, rw) // beyond RAM
	b.set(0x4040_0000, 21, 0x200000|PTEPresent|PTEHuge|1<<13)
	b.mapPage(0x80_0000_0000, 0, 1<<30, rw)
	b.mapPage(0x80_4000_0000, 1<<30, 1<<30, rw) // beyond RAM
	b.set(0x80_8000_0000, 30, PTEPresent|PTEHuge|1<<20)
	b.store(b.root+2*8, uint64(b.alloc())|PTEPresent|PTEWritable|PTEHuge)
	b.set(0x600000, 21, 0x1000_0000|PTEPresent|PTEWritable) // table beyond RAM
	b.mapPage(0x0800_0000, 0x203000, 4<<10, rw)
	b.set(0x0800_0000, 21, b.get(0x0800_0000, 21)&^PTEWritable) // read-only pde
	return b
}

func TestTranslateLong(t *testing.T) {
	m := newMem(t, ramSize)
	b := buildLong(t, m)
	p := b.paging()
	runTranslate(t, m, p, []translateCase{
		{name: "4K", gva: 0x400123, want: 0x200123},
		{name: "4K write", gva: 0x400FFF, write: true, want: 0x200FFF},
		{name: "read-only read", gva: 0x401010, want: 0x300010},
		{name: "read-only write", gva: 0x401010, write: true, fault: "not writable"},
		{name: "read-only write without WP", p: noWP, gva: 0x401010, write: true, want: 0x300010},
		{name: "read-only pde write", gva: 0x0800_0008, write: true, fault: "not writable"},
		{name: "read-only pde read", gva: 0x0800_0008, want: 0x203008},
		{name: "NX with NXE", gva: 0x403004, want: 0x202004},
		{name: "NX without NXE", p: noNXE, gva: 0x403004, fault: "pte has a reserved bit"},
		{name: "last page of RAM", gva: 0x407FFF, want: ramSize - 1},
		{name: "4K beyond RAM", gva: 0x406000, fault: "outside guest memory"},
		{name: "higher half", gva: 0xFFFF_8000_0000_1ABC, want: 0x201ABC},
		{name: "top page", gva: 0xFFFF_FFFF_FFFF_FFFF, want: 0x207FFF},
		{name: "2M", gva: 0x4001_2345, want: 0x212345},
		{name: "2M beyond RAM", gva: 0x4020_0000, fault: "outside guest memory"},
		{name: "2M reserved", gva: 0x4040_0000, fault: "2 MiB pde has a reserved bit"},
		{name: "1G", gva: 0x80_0012_3456, want: 0x12_3456},
		{name: "1G past RAM", gva: 0x80_0040_0000, fault: "outside guest memory"},
		{name: "1G beyond RAM", gva: 0x80_4000_0000, fault: "outside guest memory"},
		{name: "1G reserved", gva: 0x80_8000_0000, fault: "1 GiB pdpte has a reserved bit"},
		{name: "pml4e page size", gva: 0x100_0000_0000, fault: "pml4e has the page-size bit"},
		{name: "pml4e not present", gva: 0x180_0000_0000, fault: "pml4e not present"},
		{name: "pdpte not present", gva: 0x1_0000_0000, fault: "pdpte not present"},
		{name: "pde not present", gva: 0xA0_0000, fault: "pde not present"},
		{name: "pte not present", gva: 0x405000, fault: "pte not present"},
		{name: "table beyond RAM", gva: 0x600000, fault: "page table outside guest memory"},
		{name: "non-canonical low", gva: 0x0000_8000_0000_0000, fault: "non-canonical"},
		{name: "non-canonical high", gva: 0xFFFF_7FFF_FFFF_F000, fault: "non-canonical"},
		{name: "non-canonical top bit", gva: 0x8000_0000_0040_0000, fault: "non-canonical"},
		{name: "CR3 beyond RAM", p: func(p Paging) Paging { p.CR3 = 0x1000_0000; return p }, gva: 0x400000, fault: "page table outside"},
		{name: "CR3 flag bits ignored", p: func(p Paging) Paging { p.CR3 |= 0x18 | 1<<63; return p }, gva: 0x400000, want: 0x200000},
		{name: "LA57", p: func(p Paging) Paging { p.CR4 |= CR4LA57; return p }, gva: 0x400000, fault: "5-level paging (CR4.LA57) is not supported"},
		{name: "LMA without PAE", p: func(p Paging) Paging { p.CR4 &^= CR4PAE; return p }, gva: 0x400000, fault: "without CR4.PAE"},
	})
}

func TestTranslatePAE(t *testing.T) {
	m := newMem(t, ramSize)
	b := newBuilder(t, m, modePAE, 0x1000)
	b.mapPage(0x400000, 0x200000, 4<<10, PTEWritable)
	b.mapPage(0x401000, 0x300000, 4<<10, 0)
	b.mapPage(0x402000, 0x202000, 4<<10, PTEWritable|PTENoExec)
	b.mapPage(0x4000_0000, 0x200000, 2<<20, PTEWritable)
	b.set(0x4020_0000, 21, 0x200000|PTEPresent|PTEHuge|1<<13)
	b.set(0x600000, 21, 0x200000|PTEPresent|PTEHuge|1<<52)
	b.set(0x8000_0000, 30, uint64(b.alloc())|PTEPresent|PTEWritable) // R/W is reserved in a PDPTE
	runTranslate(t, m, b.paging(), []translateCase{
		{name: "4K", gva: 0x400123, want: 0x200123},
		{name: "read-only write", gva: 0x401000, write: true, fault: "not writable"},
		{name: "read-only write without WP", p: noWP, gva: 0x401000, write: true, want: 0x300000},
		{name: "NX without NXE", gva: 0x402000, fault: "pte has a reserved bit"},
		{name: "NX with NXE", p: withNXE, gva: 0x402000, want: 0x202000},
		{name: "2M", gva: 0x401F_FFFF, want: 0x3F_FFFF},
		{name: "2M reserved", gva: 0x4020_0000, fault: "2 MiB pde has a reserved bit"},
		{name: "pde high reserved", gva: 0x600000, fault: "pde has a reserved bit"},
		{name: "pdpte reserved", gva: 0x8000_0000, fault: "pdpte has a reserved bit"},
		{name: "pdpte not present", gva: 0xC000_0000, fault: "pdpte not present"},
		{name: "pde not present", gva: 0x800000, fault: "pde not present"},
		{name: "pte not present", gva: 0x403000, fault: "pte not present"},
		{name: "above 4 GiB", gva: 0x1_0040_0000, fault: "above 4 GiB"},
		{name: "CR3 beyond RAM", p: func(p Paging) Paging { p.CR3 = 0xFFFF_FFE0; return p }, gva: 0x400000, fault: "page table outside"},
	})
}

func TestTranslate2Level(t *testing.T) {
	const size = 16 << 20
	m := newMem(t, size)
	b := newBuilder(t, m, mode2, 0x1000)
	b.mapPage(0x400000, 0x200000, 4<<10, PTEWritable)
	b.mapPage(0x401000, 0x300000, 4<<10, 0)
	b.mapPage(0x8000_0000, 0x400000, 4<<20, PTEWritable)
	b.set(0x8040_0000, 22, 0x400000|PTEPresent|PTEHuge|1<<21)
	b.set(0x8080_0000, 22, 0x400000|PTEPresent|PTEHuge|1<<13) // PSE-36: 4 GiB up
	b.mapPage(0x80C0_0000, 0xC00000, 4<<20, 0)
	runTranslate(t, m, b.paging(), []translateCase{
		{name: "4K", gva: 0x400123, want: 0x200123},
		{name: "read-only write", gva: 0x401000, write: true, fault: "not writable"},
		{name: "read-only write without WP", p: noWP, gva: 0x401000, write: true, want: 0x300000},
		{name: "4M", gva: 0x8012_3456, want: 0x52_3456},
		{name: "4M write", gva: 0x803F_FFFF, write: true, want: 0x7F_FFFF},
		{name: "4M read-only write", gva: 0x80C0_0000, write: true, fault: "not writable"},
		{name: "4M without PSE is a table", p: noPSE, gva: 0x8000_0000, fault: "pte not present"},
		{name: "4M reserved", gva: 0x8040_0000, fault: "4 MiB pde has a reserved bit"},
		{name: "4M above 4 GiB", gva: 0x8080_0000, fault: "outside guest memory"},
		{name: "pde not present", gva: 0xC000_0000, fault: "pde not present"},
		{name: "pte not present", gva: 0x402000, fault: "pte not present"},
		{name: "above 4 GiB", gva: 0x1_0040_0000, fault: "above 4 GiB"},
		{name: "CR3 beyond RAM", p: func(p Paging) Paging { p.CR3 = 0xFFFF_F000; return p }, gva: 0, fault: "page table outside"},
	})
}

func TestTranslatePagingOff(t *testing.T) {
	m := newMem(t, ramSize)
	off := Paging{CR0: 1, CR4: CR4PAE, EFER: 1 << 8} // PE only: protected mode, no paging
	runTranslate(t, m, off, []translateCase{
		{name: "zero", gva: 0, want: 0},
		{name: "identity", gva: 0x1234, write: true, want: 0x1234},
		{name: "last byte", gva: ramSize - 1, want: ramSize - 1},
		{name: "beyond RAM", gva: ramSize, fault: "outside guest memory"},
		{name: "4 GiB", gva: 1 << 32, fault: "paging disabled"},
		{name: "high", gva: 0xFFFF_FFFF_0000_1234, write: true, fault: "paging disabled"},
	})
}

func TestTranslateIsPure(t *testing.T) {
	m := newMem(t, ramSize)
	b := buildLong(t, m)
	before := append([]byte(nil), m.Bytes()[:b.next]...)
	for _, gva := range []GVA{0x400000, 0x401000, 0x4000_0000, 0x80_0000_0000} {
		if _, err := m.Translate(b.paging(), gva, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Translate(b.paging(), 0x400000, true); err != nil {
		t.Fatal(err)
	}
	if string(before) != string(m.Bytes()[:b.next]) {
		t.Fatal("Translate changed the page tables")
	}
}

func TestFaultErrorMessage(t *testing.T) {
	err := error(&FaultError{GVA: 0x1000, Write: true, Reason: "pte not present"})
	want := "mem: guest address fault: gva 0x1000 (write): pte not present"
	if err.Error() != want || !errors.Is(err, ErrFault) {
		t.Fatalf("got %q (Is ErrFault %v), want %q", err, errors.Is(err, ErrFault), want)
	}
}
