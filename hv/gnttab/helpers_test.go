package gnttab

import (
	"encoding/binary"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
)

// Test domain ids and guest-physical layout (1 MiB of RAM, 256 pages).
const (
	domU    = 1      // the guest
	backend = 0      // the monitor's backends
	frame0  = 0x10   // gfn of grant frame 0
	frame1  = 0x11   // gfn of grant frame 1
	dataGFN = 0x40   // first of the data pages the tests grant
	argGPA  = 0x8000 // hypercall argument structs (gfn 8, 9)
	listGPA = 0xa000 // setup_table frame lists
	ramSize = 1 << 20
	badGVA  = 0xdead0000 // outside guest RAM: every access faults
)

// memVCPU is a xen.VCPU whose guest-virtual addresses are guest-physical
// ones (paging off).
type memVCPU struct{ m *mem.Memory }

func (v memVCPU) ID() int                              { return 0 }
func (v memVCPU) CopyIn(gva uint64, dst []byte) error  { return v.m.ReadAt(dst, mem.GPA(gva)) }
func (v memVCPU) CopyOut(gva uint64, src []byte) error { return v.m.WriteAt(src, mem.GPA(gva)) }

// newMem returns 1 MiB of fresh guest RAM, closed when the test ends.
func newMem(tb testing.TB) *mem.Memory {
	tb.Helper()
	m, err := mem.New(ramSize, mem.Options{})
	if err != nil {
		tb.Fatalf("mem.New: %v", err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}

// newTable returns a table for domU over fresh RAM with frames 0 and 1
// placed at frame0 and frame1.
func newTable(tb testing.TB, opts Options) (*Table, *mem.Memory) {
	tb.Helper()
	m := newMem(tb)
	if opts.DomID == 0 && opts.BackendDomID == 0 {
		opts.DomID = domU
	}
	t, err := New(m, opts)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	for i, gfn := range []uint64{frame0, frame1} {
		if err := t.MapFrame(uint32(i), gfn); err != nil {
			tb.Fatalf("MapFrame(%d, %#x): %v", i, gfn, err)
		}
	}
	return t, m
}

// entryAddr returns the guest-physical address of ref's entry, failing the
// test if the ref is not in a placed frame.
func entryAddr(tb testing.TB, t *Table, ref uint32) mem.GPA {
	tb.Helper()
	t.mu.Lock()
	defer t.mu.Unlock()
	gpa, ok := t.entryGPA(ref)
	if !ok {
		tb.Fatalf("ref %d is not in a placed frame", ref)
	}
	return gpa
}

// grant writes ref's entry as a guest does: domid and frame, then flags.
func grant(tb testing.TB, t *Table, m *mem.Memory, ref uint32, flags, domid uint16, frame uint32) {
	tb.Helper()
	gpa := entryAddr(tb, t, ref)
	if err := m.Store32(gpa+entryFrame, frame); err != nil {
		tb.Fatal(err)
	}
	if err := m.Store32(gpa, uint32(domid)<<16|uint32(flags)); err != nil {
		tb.Fatal(err)
	}
}

// entry reads ref's flags, domid and frame.
func entry(tb testing.TB, t *Table, m *mem.Memory, ref uint32) (flags, domid uint16, frame uint32) {
	tb.Helper()
	e, err := m.Load64(entryAddr(tb, t, ref))
	if err != nil {
		tb.Fatal(err)
	}
	return uint16(e), uint16(e >> 16), uint32(e >> 32)
}

// flagsOf returns ref's flags.
func flagsOf(tb testing.TB, t *Table, m *mem.Memory, ref uint32) uint16 {
	tb.Helper()
	f, _, _ := entry(tb, t, m, ref)
	return f
}

// endForeignAccess is the guest's revocation as Linux does it
// (gnttab_end_foreign_access_ref_v1): swap the flags to 0 unless the grant
// is in use for reading or writing. It reports whether it revoked.
func endForeignAccess(tb testing.TB, t *Table, m *mem.Memory, ref uint32) bool {
	tb.Helper()
	gpa := entryAddr(tb, t, ref)
	for {
		w, err := m.Load32(gpa)
		if err != nil {
			tb.Fatal(err)
		}
		if w&(GTFReading|GTFWriting) != 0 {
			return false
		}
		ok, err := m.CompareAndSwap32(gpa, w, w&0xffff0000)
		if err != nil {
			tb.Fatal(err)
		}
		if ok {
			return true
		}
	}
}

// put16, put32 and put64 store little-endian values into wire structs.
func put16(b []byte, off int, v uint16) { binary.LittleEndian.PutUint16(b[off:], v) }
func put32(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

// status reads the int16 at gpa.
func status(tb testing.TB, m *mem.Memory, gpa uint64) int16 {
	tb.Helper()
	var b [2]byte
	if err := m.ReadAt(b[:], mem.GPA(gpa)); err != nil {
		tb.Fatal(err)
	}
	return int16(binary.LittleEndian.Uint16(b[:]))
}

// writeArg copies b to guest memory at gpa.
func writeArg(tb testing.TB, m *mem.Memory, gpa uint64, b []byte) {
	tb.Helper()
	if err := m.WriteAt(b, mem.GPA(gpa)); err != nil {
		tb.Fatal(err)
	}
}
