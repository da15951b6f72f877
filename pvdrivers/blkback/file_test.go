package blkback

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// image creates a sparse image of n sectors in a temporary directory.
func image(t *testing.T, sectors int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(sectors * SectorSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	odd := filepath.Join(dir, "odd.img")
	os.WriteFile(odd, make([]byte, 1000), 0o644)
	if _, err := OpenFile(odd, FileOptions{}); !errors.Is(err, ErrImage) {
		t.Errorf("odd size: %v", err)
	}
	if _, err := OpenFile(filepath.Join(dir, "missing"), FileOptions{}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	if _, err := OpenFile(dir, FileOptions{ReadOnly: true}); !errors.Is(err, ErrImage) {
		t.Errorf("directory: %v", err)
	}
}

func testFile(t *testing.T, opts FileOptions) {
	p := image(t, 2048) // 1 MiB, sparse
	f, err := OpenFile(p, opts)
	if errors.Is(err, syscall.EINVAL) && opts.Direct {
		t.Skipf("file system of %s does not support O_DIRECT", p)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Size() != 2048*SectorSize || f.ReadOnly() {
		t.Fatalf("size %d ro %v", f.Size(), f.ReadOnly())
	}
	g := newFakeGrants(t, 16)
	d, err := NewDisk(f, g, allFeatures)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3*PageSize; i++ {
		g.mem[PageSize+i] = byte(i*13 + 1)
	}
	// Unaligned guest buffers: sectors 1..7 of page 1, whole pages 2 and 3.
	if rsp := d.Handle(rw(OpWrite, 1, 3, Segment{1, 1, 7}, Segment{2, 0, 7}, Segment{3, 0, 7})); rsp.Status != StatusOkay {
		t.Fatalf("write: %+v", rsp)
	}
	if rsp := d.Handle(entry(Request{Operation: OpFlushDiskcache})); rsp.Status != StatusOkay {
		t.Fatalf("flush: %+v", rsp)
	}
	// A second descriptor sees the completed, flushed writes.
	other, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(other[3*SectorSize:(3+23)*SectorSize], g.mem[PageSize+SectorSize:4*PageSize]) {
		t.Fatal("image contents differ from the written pages")
	}
	if rsp := d.Handle(rw(OpRead, 2, 3, Segment{8, 1, 7}, Segment{9, 0, 7}, Segment{10, 0, 7})); rsp.Status != StatusOkay {
		t.Fatalf("read: %+v", rsp)
	}
	if !bytes.Equal(g.mem[8*PageSize+SectorSize:11*PageSize], g.mem[PageSize+SectorSize:4*PageSize]) {
		t.Fatal("read back differs")
	}
	// Discard punches a hole that reads as zeros (or is unsupported).
	rsp := d.Handle(entry(Request{Operation: OpDiscard, Sector: 8, NrSectors: 8}))
	switch rsp.Status {
	case StatusOkay:
		other, _ = os.ReadFile(p)
		if !bytes.Equal(other[8*SectorSize:16*SectorSize], make([]byte, 8*SectorSize)) {
			t.Fatal("discarded range is not zero")
		}
		// Disk sectors 7 and 16 were written from guest offsets
		// 5 and 14 sectors into page 1.
		if !bytes.Equal(other[7*SectorSize:8*SectorSize], g.mem[PageSize+5*SectorSize:PageSize+6*SectorSize]) ||
			!bytes.Equal(other[16*SectorSize:17*SectorSize], g.mem[PageSize+14*SectorSize:PageSize+15*SectorSize]) {
			t.Fatal("discard went outside its range")
		}
	case StatusNotSupported:
		t.Log("hole punching not supported here")
	default:
		t.Fatalf("discard: %+v", rsp)
	}
}

func TestFileBuffered(t *testing.T) { testFile(t, FileOptions{}) }
func TestFileDirect(t *testing.T)   { testFile(t, FileOptions{Direct: true}) }

func TestFileReadOnly(t *testing.T) {
	p := image(t, 16)
	os.WriteFile(p, bytes.Repeat([]byte{0xab}, 16*SectorSize), 0o644)
	f, err := OpenFile(p, FileOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, SectorSize), 0); !errors.Is(err, ErrReadOnly) {
		t.Errorf("WriteAt: %v", err)
	}
	if err := f.Discard(0, SectorSize); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Discard: %v", err)
	}
	g := newFakeGrants(t, 4)
	d, _ := NewDisk(f, g, allFeatures)
	if rsp := d.Handle(rw(OpWrite, 1, 0, Segment{1, 0, 7})); rsp.Status != StatusError {
		t.Errorf("write to read-only image: %+v", rsp)
	}
	if rsp := d.Handle(rw(OpRead, 1, 0, Segment{1, 0, 7})); rsp.Status != StatusOkay || g.mem[PageSize] != 0xab {
		t.Errorf("read from read-only image: %+v", rsp)
	}
}

func TestDirectAlignment(t *testing.T) {
	if err := directAligned(100, 0); !errors.Is(err, ErrIO) {
		t.Errorf("unaligned length: %v", err)
	}
	if err := directAligned(512, 3); !errors.Is(err, ErrIO) {
		t.Errorf("unaligned offset: %v", err)
	}
}
