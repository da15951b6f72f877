package boot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
)

// dirtyRAM returns guest RAM filled with 0xaa, standing in for reused memory.
func dirtyRAM(size int) []byte {
	return bytes.Repeat([]byte{0xaa}, size)
}

func TestLoadValid(t *testing.T) {
	sectionOnly := func(ti testImage) testImage {
		ti.progs = ti.progs[:1] // drop the PT_NOTE segment
		return ti
	}
	tests := []struct {
		name  string
		image testImage
	}{
		{"elf64 desc8", validImage(64, 8)},
		{"elf64 desc4", validImage(64, 4)},
		{"elf32 desc4", validImage(32, 4)},
		{"elf32 desc8", validImage(32, 8)},
		{"elf64 note only in sections", sectionOnly(validImage(64, 8))},
		{"elf32 note only in sections", sectionOnly(validImage(32, 4))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ram := dirtyRAM(testRAMSize)
			img, err := Load(ram, tt.image.build().b, Options{Cmdline: "console=hvc0 quiet"})
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := Image{
				Entry:     testEntry,
				StartInfo: 0x1000,
				Segments:  []Segment{{GPA: testLoadAddr, FileSize: testCodeSize, MemSize: testMemSize}},
				Class:     tt.image.class,
			}
			if fmt.Sprint(*img) != fmt.Sprint(want) {
				t.Errorf("Load = %+v, want %+v", *img, want)
			}
			if got := ram[testLoadAddr : testLoadAddr+testCodeSize]; !bytes.Equal(got, testCode()) {
				t.Errorf("segment bytes differ from the image")
			}
			if got := ram[testLoadAddr+testCodeSize : testLoadAddr+testMemSize]; !bytes.Equal(got, make([]byte, len(got))) {
				t.Errorf("bss is not zero-filled")
			}
			if ram[testLoadAddr+testMemSize] != 0xaa || ram[testLoadAddr-1] != 0xaa {
				t.Errorf("bytes next to the segment were written")
			}
			checkBootInfo(t, ram, "console=hvc0 quiet")
		})
	}
}

// checkBootInfo checks start_info, the memory map and the command line byte by
// byte for a 4 MiB guest.
func checkBootInfo(t *testing.T, ram []byte, cmdline string) {
	t.Helper()
	wantStartInfo := []byte{
		0x78, 0xc5, 0x6e, 0x33, // magic 0x336ec578
		1, 0, 0, 0, // version
		0, 0, 0, 0, // flags
		0, 0, 0, 0, // nr_modules
		0, 0, 0, 0, 0, 0, 0, 0, // modlist_paddr
		0x00, 0x20, 0, 0, 0, 0, 0, 0, // cmdline_paddr 0x2000
		0, 0, 0, 0, 0, 0, 0, 0, // rsdp_paddr
		0x40, 0x10, 0, 0, 0, 0, 0, 0, // memmap_paddr 0x1040
		3, 0, 0, 0, // memmap_entries
		0, 0, 0, 0, // reserved
		0, 0, 0, 0, 0, 0, 0, 0, // padding up to 0x1040
	}
	if got := ram[0x1000:0x1040]; !bytes.Equal(got, wantStartInfo) {
		t.Errorf("start_info:\n got % x\nwant % x", got, wantStartInfo)
	}
	entry := func(addr, size uint64, typ uint32) []byte {
		b := binary.LittleEndian.AppendUint64(nil, addr)
		b = binary.LittleEndian.AppendUint64(b, size)
		b = binary.LittleEndian.AppendUint32(b, typ)
		return binary.LittleEndian.AppendUint32(b, 0)
	}
	var wantMap []byte
	wantMap = append(wantMap, entry(0, 0xa0000, 1)...)
	wantMap = append(wantMap, entry(0x100000, 0x2f0000, 1)...)
	wantMap = append(wantMap, entry(0x3f0000, 0x10000, 2)...)
	if got := ram[0x1040 : 0x1040+72]; !bytes.Equal(got, wantMap) {
		t.Errorf("memory map:\n got % x\nwant % x", got, wantMap)
	}
	if got := ram[0x1040+72 : 0x2000]; !bytes.Equal(got, make([]byte, len(got))) {
		t.Errorf("bytes after the memory map are not zero")
	}
	wantCmd := make([]byte, 0x1000)
	copy(wantCmd, cmdline)
	if got := ram[0x2000:0x3000]; !bytes.Equal(got, wantCmd) {
		t.Errorf("command line page: got %q..., want %q followed by zeros", got[:min(len(cmdline)+8, 0x1000)], cmdline)
	}
	if ram[0xfff] != 0xaa || ram[0x3000] != 0xaa {
		t.Errorf("bytes around the boot information area changed")
	}
}

func TestLoadIgnoresEEntry(t *testing.T) {
	ti := validImage(64, 8)
	ti.entry = 0xdeadbeef
	img, err := Load(make([]byte, testRAMSize), ti.build().b, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if img.Entry != testEntry {
		t.Errorf("Entry = %#x, want %#x", img.Entry, testEntry)
	}
}

func TestLoadNoteFallsBackToSections(t *testing.T) {
	// The PT_NOTE segment has notes but not the PVH one; a note section has it.
	ti := validImage(64, 8)
	ti.progs[1].data = gnuNote
	ti.sects[1].data = append(append([]byte{}, gnuNote...), pvhNote(testEntry+4, 8)...)
	img, err := Load(make([]byte, testRAMSize), ti.build().b, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if img.Entry != testEntry+4 {
		t.Errorf("Entry = %#x, want %#x from the section", img.Entry, testEntry+4)
	}
}

func TestLoadNotePadding8(t *testing.T) {
	// An 8-aligned note segment pads name and descriptor to 8 bytes.
	desc := binary.LittleEndian.AppendUint64(nil, testEntry+8)
	ti := validImage(64, 8)
	ti.progs[1] = testProg{typ: 4, data: append(note("GNU", 5, []byte{1, 2, 3, 4, 5}, 8), note("Xen", 18, desc, 8)...), align: 8}
	ti.sects = nil
	img, err := Load(make([]byte, testRAMSize), ti.build().b, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if img.Entry != testEntry+8 {
		t.Errorf("Entry = %#x, want %#x", img.Entry, testEntry+8)
	}
}

func TestLoadSeveralSegments(t *testing.T) {
	ti := validImage(32, 4)
	ti.progs = append(ti.progs,
		testProg{typ: 1, paddr: 0x200000, data: []byte("data"), memsz: 0x1000},
		testProg{typ: 1, paddr: 0x300000, memsz: 0x1000},      // bss only
		testProg{typ: 1, paddr: 0x3000, data: []byte("low")},  // right after boot info
		testProg{typ: 1, paddr: 0x3ef000, memsz: 0x1000},      // right below the tail
		testProg{typ: 1, paddr: 0x3a0000, memsz: 0},           // empty: ignored
		testProg{typ: 0x6474e551, paddr: 0x1000, memsz: 0x10}, // PT_GNU_STACK: ignored
	)
	ram := dirtyRAM(testRAMSize)
	img, err := Load(ram, ti.build().b, Options{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(img.Segments) != 5 {
		t.Fatalf("Segments = %+v, want 5", img.Segments)
	}
	if string(ram[0x200000:0x200004]) != "data" || ram[0x200004] != 0 || ram[0x200fff] != 0 || ram[0x201000] != 0xaa {
		t.Errorf("data segment not loaded as expected")
	}
	if !bytes.Equal(ram[0x300000:0x301000], make([]byte, 0x1000)) || string(ram[0x3000:0x3003]) != "low" {
		t.Errorf("bss-only or low segment not loaded as expected")
	}
	if ram[0x3a0000] != 0xaa {
		t.Errorf("empty segment wrote to RAM")
	}
}

func TestLoadCmdline(t *testing.T) {
	for _, cmd := range []string{"", "x", strings.Repeat("a", MaxCmdline)} {
		ram := dirtyRAM(testRAMSize)
		if _, err := Load(ram, validImage(64, 8).build().b, Options{Cmdline: cmd}); err != nil {
			t.Fatalf("Load with %d-byte command line: %v", len(cmd), err)
		}
		checkBootInfo(t, ram, cmd)
	}
}

func TestMemoryMap(t *testing.T) {
	tests := []struct {
		size uint64
		want []MemmapEntry
	}{
		{MinRAM, []MemmapEntry{{0, 0xa0000, 1}, {0x100000, 0x100000, 1}, {0x200000, 0x10000, 2}}},
		{1 << 30, []MemmapEntry{{0, 0xa0000, 1}, {0x100000, 1<<30 - 0x100000 - 0x10000, 1}, {1<<30 - 0x10000, 0x10000, 2}}},
		// Sizes Load rejects still give a sane map.
		{0x80000, []MemmapEntry{{0, 0x70000, 1}, {0x70000, 0x10000, 2}}},
		{0x1000, nil},
	}
	for _, tt := range tests {
		if got := MemoryMap(tt.size); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("MemoryMap(%#x) = %v, want %v", tt.size, got, tt.want)
		}
	}
	if got := ReservedBase(1 << 30); got != 1<<30-ReservedTail {
		t.Errorf("ReservedBase(1 GiB) = %#x", got)
	}
}
