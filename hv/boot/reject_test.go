package boot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// mutate builds validImage(class, 8) after edit, then patches the bytes with patch.
func mutate(class int, edit func(*testImage), patch func(*built)) func() []byte {
	return func() []byte {
		ti := validImage(class, 8)
		if edit != nil {
			edit(&ti)
		}
		b := ti.build()
		if patch != nil {
			patch(b)
		}
		return b.b
	}
}

func raw(b []byte) func() []byte { return func() []byte { return b } }

func TestLoadRejects(t *testing.T) {
	valid64 := validImage(64, 8).build().b
	tests := []struct {
		name    string
		image   func() []byte
		ram     int    // 0 means testRAMSize
		cmdline string // kernel command line
		want    error
		msg     string // substring of the error text
	}{
		// Identification and header.
		{name: "empty", image: raw(nil), want: ErrNotELF, msg: "boot: kernel image is not an ELF file"},
		{name: "short magic", image: raw([]byte("\x7fEL")), want: ErrNotELF},
		{name: "bad magic", image: raw(append([]byte("\x7fELG"), valid64[4:]...)), want: ErrNotELF},
		{name: "short ident", image: raw(valid64[:10]), want: ErrTruncated, msg: "identification is 10 bytes"},
		{name: "short header", image: raw(valid64[:40]), want: ErrTruncated, msg: "ELF64 header needs 64 bytes"},
		{name: "class 3", image: mutate(64, nil, func(b *built) { b.b[4] = 3 }), want: ErrUnsupported, msg: "class 3"},
		{name: "big-endian", image: mutate(64, nil, func(b *built) { b.b[5] = 2 }), want: ErrUnsupported, msg: "data encoding 2"},
		{name: "ident version", image: mutate(32, nil, func(b *built) { b.b[6] = 0 }), want: ErrUnsupported},
		{name: "ET_DYN", image: mutate(64, nil, func(b *built) { b.setEhdr("type", 3) }), want: ErrUnsupported, msg: "type 3"},
		{name: "ARM", image: mutate(32, nil, func(b *built) { b.setEhdr("machine", 40) }), want: ErrUnsupported, msg: "machine 40"},
		{name: "e_version", image: mutate(64, nil, func(b *built) { b.setEhdr("version", 2) }), want: ErrUnsupported},

		// Program header table.
		{name: "too many phdrs", image: mutate(64, nil, func(b *built) { b.setEhdr("phnum", 65) }), want: ErrTooManyHeaders, msg: "65 program headers, limit 64"},
		{name: "PN_XNUM", image: mutate(32, nil, func(b *built) { b.setEhdr("phnum", 0xffff) }), want: ErrTooManyHeaders},
		{name: "small phentsize", image: mutate(64, nil, func(b *built) { b.setEhdr("phentsize", 32) }), want: ErrMalformed, msg: "program header size 32"},
		{name: "phoff past end", image: mutate(64, nil, func(b *built) { b.setEhdr("phoff", 1<<40) }), want: ErrTruncated, msg: "program header 0 extends past end of file"},
		{name: "phoff huge", image: mutate(64, nil, func(b *built) { b.setEhdr("phoff", ^uint64(0)-8) }), want: ErrTruncated},
		{name: "phdr table cut", image: mutate(32, nil, func(b *built) { b.setEhdr("phnum", 40) }), want: ErrTruncated, msg: "program header"},
		{name: "no phdrs", image: mutate(64, nil, func(b *built) { b.setEhdr("phnum", 0) }), want: ErrNoSegments},
		{name: "only empty PT_LOAD", image: mutate(64, func(ti *testImage) { ti.progs[0] = testProg{typ: 1, paddr: testLoadAddr} }, nil), want: ErrNoSegments},

		// Segment contents.
		{name: "filesz > memsz", image: mutate(64, nil, func(b *built) { b.setPhdr(0, "memsz", 0x10) }), want: ErrMalformed, msg: "segment 0 file size 0x300 exceeds memory size 0x10"},
		{name: "segment past end of file", image: mutate(64, nil, func(b *built) { b.setPhdr(0, "offset", uint64(len(b.b))-0x100) }), want: ErrTruncated, msg: "segment 0"},
		{name: "segment offset overflow", image: mutate(64, nil, func(b *built) { b.setPhdr(0, "offset", ^uint64(0)-0x10) }), want: ErrTruncated},
		{name: "address overflow", image: mutate(64, nil, func(b *built) { b.setPhdr(0, "paddr", ^uint64(0)-0xfff) }), want: ErrMalformed, msg: "overflows"},
		{name: "outside RAM", image: mutate(64, nil, func(b *built) { b.setPhdr(0, "paddr", 0x40000000) }), want: ErrOutsideRAM, msg: "segment 0 [0x40000000-0x40002000), RAM size 0x400000"},
		{name: "straddles end of RAM", image: mutate(32, nil, func(b *built) { b.setPhdr(0, "paddr", testRAMSize-0x1000) }), want: ErrOutsideRAM},
		{name: "reserved tail", image: mutate(64, nil, func(b *built) { b.setPhdr(0, "paddr", testRAMSize-0x11000) }), want: ErrReservedOverlap, msg: "reserved [0x3f0000-0x400000)"},
		{name: "boot info", image: mutate(64, nil, func(b *built) { b.setPhdr(0, "paddr", 0x2800) }), want: ErrBootInfoOverlap, msg: "boot: segment overlaps the boot information area [0x1000-0x3000)"},
		{name: "boot info from below", image: mutate(64, nil, func(b *built) { b.setPhdr(0, "paddr", 0) }), want: ErrBootInfoOverlap},
		{name: "legacy hole", image: mutate(32, nil, func(b *built) { b.setPhdr(0, "paddr", 0x9f000) }), want: ErrHoleOverlap},
		{name: "segments overlap", image: mutate(64, func(ti *testImage) {
			ti.progs = append(ti.progs, testProg{typ: 1, paddr: testLoadAddr + testMemSize - 1, data: []byte{1}})
		}, nil), want: ErrSegmentOverlap, msg: "segment 0 [0x100000-0x102000) and segment 2 [0x101fff-0x102000)"},

		// Notes and entry.
		{name: "no notes at all", image: mutate(64, func(ti *testImage) { ti.progs, ti.sects = ti.progs[:1], nil }, nil), want: ErrNoEntry, msg: "not a PVH kernel"},
		{name: "no PVH note", image: mutate(32, func(ti *testImage) { ti.progs[1].data, ti.sects[1].data = gnuNote, gnuNote }, nil), want: ErrNoEntry},
		{name: "other Xen note", image: mutate(64, func(ti *testImage) {
			ti.progs[1].data, ti.sects = note("Xen", 17, []byte{1, 0, 0, 0}, 4), nil
		}, nil), want: ErrNoEntry},
		{name: "wrong owner", image: mutate(64, func(ti *testImage) {
			ti.progs[1].data, ti.sects = note("Xenolith", 18, []byte{0x10, 0, 0x10, 0}, 4), nil
		}, nil), want: ErrNoEntry},
		{name: "descriptor 2 bytes", image: mutate(64, func(ti *testImage) { ti.progs[1].data = note("Xen", 18, []byte{1, 2}, 4) }, nil), want: ErrBadNote, msg: "descriptor is 2 bytes"},
		{name: "entry above 4 GiB", image: mutate(64, func(ti *testImage) { ti.progs[1].data = pvhNote(1<<32|testEntry, 8) }, nil), want: ErrBadNote, msg: "above 4 GiB"},
		{name: "note name past area", image: mutate(64, func(ti *testImage) {
			n := pvhNote(testEntry, 8)
			binary.LittleEndian.PutUint32(n, 0xfffffff0)
			ti.progs[1].data = n
		}, nil), want: ErrBadNote, msg: "extends past the note area"},
		{name: "note desc past area", image: mutate(64, func(ti *testImage) {
			n := pvhNote(testEntry, 8)
			binary.LittleEndian.PutUint32(n[4:], 0xffffffff)
			ti.progs[1].data = n
		}, nil), want: ErrBadNote},
		{name: "note header cut", image: mutate(32, func(ti *testImage) { ti.progs[1].data = append(gnuNote, 1, 0, 0, 0) }, nil), want: ErrBadNote, msg: "truncated"},
		{name: "note segment past end", image: mutate(64, nil, func(b *built) { b.setPhdr(1, "filesz", 1<<20) }), want: ErrTruncated, msg: "program header 1"},
		{name: "too many sections", image: mutate(64, func(ti *testImage) { ti.progs = ti.progs[:1] }, func(b *built) { b.setEhdr("shnum", 1025) }), want: ErrTooManyHeaders, msg: "1025 section headers"},
		{name: "small shentsize", image: mutate(32, func(ti *testImage) { ti.progs = ti.progs[:1] }, func(b *built) { b.setEhdr("shentsize", 20) }), want: ErrMalformed},
		{name: "section table past end", image: mutate(64, func(ti *testImage) { ti.progs = ti.progs[:1] }, func(b *built) { b.setEhdr("shoff", uint64(len(b.b))-10) }), want: ErrTruncated, msg: "section header 0"},
		{name: "note section past end", image: mutate(64, func(ti *testImage) { ti.progs = ti.progs[:1] }, func(b *built) { b.setShdr(2, "size", 1<<30) }), want: ErrTruncated, msg: "section 2"},
		{name: "entry outside segments", image: mutate(64, func(ti *testImage) { ti.progs[1].data = pvhNote(0x200000, 8) }, nil), want: ErrEntryOutside, msg: "0x200000"},
		{name: "entry in bss", image: mutate(32, func(ti *testImage) { ti.progs[1].data = pvhNote(testLoadAddr+testCodeSize, 4) }, nil), want: ErrEntryOutside},
		{name: "entry zero", image: mutate(64, func(ti *testImage) { ti.progs[1].data = pvhNote(0, 8) }, nil), want: ErrEntryOutside},

		// Caller input.
		{name: "cmdline too long", image: raw(valid64), cmdline: strings.Repeat("x", 4096), want: ErrCmdline, msg: "4096 bytes, limit 4095"},
		{name: "cmdline NUL", image: raw(valid64), cmdline: "a\x00b", want: ErrCmdline, msg: "offset 1"},
		{name: "RAM too small", image: raw(valid64), ram: 2 << 20, want: ErrRAMSize, msg: "minimum"},
		{name: "RAM not pages", image: raw(valid64), ram: testRAMSize + 100, want: ErrRAMSize, msg: "multiple of 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.ram
			if size == 0 {
				size = testRAMSize
			}
			ram := make([]byte, size)
			img, err := Load(ram, tt.image(), Options{Cmdline: tt.cmdline})
			if !errors.Is(err, tt.want) {
				t.Fatalf("Load = %+v, %v; want error %v", img, err, tt.want)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if err.Error() != strings.ToLower(err.Error()[:1])+err.Error()[1:] {
				t.Errorf("error %q does not start lower-case", err)
			}
			if !bytes.Equal(ram, make([]byte, size)) {
				t.Errorf("RAM was written although Load failed")
			}
		})
	}
}
