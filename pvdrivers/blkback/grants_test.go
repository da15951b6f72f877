package blkback

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/xenolith/xenolith/hv/gnttab"
	"github.com/xenolith/xenolith/hv/mem"
)

// TestTableGrants serves a write and a read through a real grant table:
// frame 0 of the table at guest page 1, ref 10 grants page 4 writable and
// ref 11 grants page 5 read-only, both to domain 0.
func TestTableGrants(t *testing.T) {
	tab, ram, grant := newTestGrantTable(t)
	grant(10, 4, false)
	grant(11, 5, true)
	for i := 0; i < mem.PageSize; i++ {
		ram[5*mem.PageSize+i] = byte(i * 3)
	}
	st := &memStorage{t: t, data: make([]byte, 64*SectorSize)}
	d, err := NewDisk(st, TableGrants{Table: tab}, allFeatures)
	if err != nil {
		t.Fatal(err)
	}
	if rsp := d.Handle(rw(OpWrite, 1, 8, Segment{11, 0, 7})); rsp.Status != StatusOkay {
		t.Fatalf("write from read-only grant: %+v", rsp)
	}
	if rsp := d.Handle(rw(OpRead, 2, 8, Segment{10, 0, 7})); rsp.Status != StatusOkay {
		t.Fatalf("read into writable grant: %+v", rsp)
	}
	if !bytes.Equal(ram[4*mem.PageSize:5*mem.PageSize], ram[5*mem.PageSize:6*mem.PageSize]) {
		t.Fatal("data did not go through the grants")
	}
	if rsp := d.Handle(rw(OpRead, 3, 8, Segment{11, 0, 7})); rsp.Status != StatusError {
		t.Fatalf("read into read-only grant: %+v", rsp)
	}
	if rsp := d.Handle(rw(OpRead, 4, 8, Segment{12, 0, 7})); rsp.Status != StatusError {
		t.Fatalf("read into unused entry: %+v", rsp)
	}
	// Every hold was released: the reading/writing flags are clear.
	for _, ref := range []int{10, 11} {
		if f := binary.LittleEndian.Uint16(ram[mem.PageSize+ref*gnttab.EntrySize:]); f&(gnttab.GTFReading|gnttab.GTFWriting) != 0 {
			t.Errorf("ref %d flags %#x still held", ref, f)
		}
	}
}

func TestMapRing(t *testing.T) {
	m, err := mem.New(16*mem.PageSize, mem.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tab, err := gnttab.New(m, gnttab.Options{DomID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := tab.MapFrame(0, 1); err != nil {
		t.Fatal(err)
	}
	ram := m.Bytes()
	entry := func(ref int) []byte { return ram[mem.PageSize+ref*gnttab.EntrySize:] }
	for ref, frame := range map[int]uint32{20: 8, 21: 9, 22: 11, 23: 12} {
		binary.LittleEndian.PutUint32(entry(ref)[4:], frame)
		binary.LittleEndian.PutUint16(entry(ref), gnttab.GTFPermitAccess)
	}
	binary.LittleEndian.PutUint32(entry(24)[4:], 13)
	binary.LittleEndian.PutUint16(entry(24), gnttab.GTFPermitAccess|gnttab.GTFReadonly)

	r, err := MapRing(tab, 0, m, []uint32{20, 21})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Bytes) != 2*PageSize || &r.Bytes[0] != &ram[8*mem.PageSize] {
		t.Fatal("ring window is not guest pages 8-9")
	}
	if f := binary.LittleEndian.Uint16(entry(21)); f&gnttab.GTFWriting == 0 {
		t.Errorf("ref 21 not held for writing: %#x", f)
	}
	r.Release()
	if f := binary.LittleEndian.Uint16(entry(21)); f&(gnttab.GTFReading|gnttab.GTFWriting) != 0 {
		t.Errorf("ref 21 still held after Release: %#x", f)
	}
	for _, refs := range [][]uint32{{21, 22}, {20, 24}, {99}, {}} {
		if _, err := MapRing(tab, 0, m, refs); !errors.Is(err, ErrGrant) && !errors.Is(err, ErrBadRequest) {
			t.Errorf("MapRing(%v): %v", refs, err)
		}
		for ref := 20; ref <= 24; ref++ {
			if f := binary.LittleEndian.Uint16(entry(ref)); f&(gnttab.GTFReading|gnttab.GTFWriting) != 0 {
				t.Errorf("MapRing(%v) failed but left ref %d held: %#x", refs, ref, f)
			}
		}
	}
}
