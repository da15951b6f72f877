package gnttab

import (
	"errors"
	"slices"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

func TestNewOptions(t *testing.T) {
	m := newMem(t)
	for _, c := range []struct {
		name string
		opts Options
		ok   bool
	}{
		{"defaults for domU", Options{DomID: 1}, true},
		{"max frames", Options{DomID: 1, MaxFrames: MaxMaxFrames}, true},
		{"too many frames", Options{DomID: 1, MaxFrames: MaxMaxFrames + 1}, false},
		{"guest is backend", Options{DomID: 0}, false},
		{"reserved domid", Options{DomID: xen.DomIDSelf}, false},
		{"setup frames", Options{DomID: 1, SetupFrames: []mem.GPA{0xf0000, 0xf1000}}, true},
		{"unaligned setup frame", Options{DomID: 1, SetupFrames: []mem.GPA{0xf0010}}, false},
		{"setup frame outside ram", Options{DomID: 1, SetupFrames: []mem.GPA{ramSize}}, false},
		{"duplicate setup frame", Options{DomID: 1, SetupFrames: []mem.GPA{0xf0000, 0xf0000}}, false},
		{"more setup frames than max", Options{DomID: 1, MaxFrames: 1, SetupFrames: []mem.GPA{0xf0000, 0xf1000}}, false},
	} {
		tab, err := New(m, c.opts)
		if c.ok != (err == nil) {
			t.Errorf("%s: New error %v, want ok=%v", c.name, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidOptions) {
			t.Errorf("%s: %v does not wrap ErrInvalidOptions", c.name, err)
		}
		if err == nil && (tab.NrFrames() != 1 || tab.MaxFrames() == 0) {
			t.Errorf("%s: NrFrames %d MaxFrames %d", c.name, tab.NrFrames(), tab.MaxFrames())
		}
	}
	if _, err := New(nil, Options{DomID: 1}); !errors.Is(err, ErrInvalidOptions) {
		t.Errorf("New(nil): %v", err)
	}
	tab, _ := New(m, Options{DomID: 1})
	if tab.MaxFrames() != DefaultMaxFrames {
		t.Errorf("default MaxFrames %d", tab.MaxFrames())
	}
}

func TestMapFrame(t *testing.T) {
	m := newMem(t)
	tab, err := New(m, Options{DomID: domU, MaxFrames: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := tab.Frames(); !slices.Equal(got, []uint64{InvalidGFN}) {
		t.Errorf("initial Frames %#x", got)
	}
	fill := func(gfn uint64, v byte) {
		b, err := m.Slice(mem.GPA(gfn*PageSize), PageSize)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i] = v
		}
	}
	page := func(gfn uint64) []byte {
		b := make([]byte, PageSize)
		if err := m.ReadAt(b, mem.GPA(gfn*PageSize)); err != nil {
			t.Fatal(err)
		}
		return b
	}
	allEqual := func(b []byte, v byte) bool {
		for _, x := range b {
			if x != v {
				return false
			}
		}
		return true
	}

	// Errors: -EINVAL for both.
	for _, c := range []struct {
		idx  uint32
		gpfn uint64
		want error
	}{
		{4, 0x20, ErrFrameIndex},
		{^uint32(0), 0x20, ErrFrameIndex},
		{0, ramSize / PageSize, ErrFrameAddress},
		{0, ^uint64(0), ErrFrameAddress},
	} {
		err := tab.MapFrame(c.idx, c.gpfn)
		if !errors.Is(err, c.want) || ErrnoOf(err) != xen.EINVAL {
			t.Errorf("MapFrame(%d, %#x) = %v (errno %v), want %v / EINVAL", c.idx, c.gpfn, err, ErrnoOf(err), c.want)
		}
	}

	// First placement zeroes the adopted page and grows the table.
	fill(0x20, 0x5a)
	if err := tab.MapFrame(2, 0x20); err != nil {
		t.Fatal(err)
	}
	if !allEqual(page(0x20), 0) {
		t.Error("adopted page not zeroed")
	}
	if tab.NrFrames() != 3 || !slices.Equal(tab.Frames(), []uint64{InvalidGFN, InvalidGFN, 0x20}) {
		t.Errorf("NrFrames %d Frames %#x", tab.NrFrames(), tab.Frames())
	}
	// Placing it again where it is keeps its contents.
	fill(0x20, 0x11)
	if err := tab.MapFrame(2, 0x20); err != nil {
		t.Fatal(err)
	}
	if !allEqual(page(0x20), 0x11) {
		t.Error("re-placing a frame in place changed it")
	}
	// Moving it carries the contents along; the old page stays as it was.
	fill(0x21, 0x77)
	if err := tab.MapFrame(2, 0x21); err != nil {
		t.Fatal(err)
	}
	if !allEqual(page(0x21), 0x11) || !allEqual(page(0x20), 0x11) {
		t.Error("moved frame lost its contents")
	}
	if got := tab.Frames(); got[2] != 0x21 {
		t.Errorf("frame 2 at %#x after move", got[2])
	}
	// Placing frame 0 over frame 2 displaces it.
	if err := tab.MapFrame(0, 0x21); err != nil {
		t.Fatal(err)
	}
	if !allEqual(page(0x21), 0) {
		t.Error("frame 0 placed over frame 2 was not zeroed")
	}
	if got := tab.Frames(); !slices.Equal(got, []uint64{0x21, InvalidGFN, InvalidGFN}) {
		t.Errorf("Frames %#x after displacement", got)
	}
	if tab.RemoveFrame(0x30) {
		t.Error("RemoveFrame of a page without a frame reported one")
	}
	if !tab.RemoveFrame(0x21) || tab.Frames()[0] != InvalidGFN {
		t.Error("RemoveFrame did not remove frame 0")
	}
	if tab.NrFrames() != 3 {
		t.Errorf("NrFrames shrank to %d", tab.NrFrames())
	}
}

func TestHeldRefSurvivesFrameMove(t *testing.T) {
	tab, m := newTable(t, Options{})
	const ref = 5
	grant(t, tab, m, ref, GTFPermitAccess, backend, dataGFN)
	mp, err := tab.Acquire(backend, ref, 0, 8, Write)
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.MapFrame(0, 0x30); err != nil {
		t.Fatal(err)
	}
	if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess|GTFReading|GTFWriting {
		t.Errorf("moved entry flags %#x", f)
	}
	mp.Release()
	if f := flagsOf(t, tab, m, ref); f != GTFPermitAccess {
		t.Errorf("flags at the new place after release %#x", f)
	}
	// A held ref whose frame is removed releases without touching memory.
	mp, err = tab.Acquire(backend, ref, 0, 8, Read)
	if err != nil {
		t.Fatal(err)
	}
	tab.RemoveFrame(0x30)
	mp.Release()
	if tab.heldRefs() != 0 {
		t.Error("ref still held")
	}
}
