package boot

import (
	"encoding/binary"
	"fmt"
)

// This file assembles small ELF images for the tests: an ELF header, a program
// header table, the segment and section contents, and optionally a section header
// table. Fields can be patched afterwards to build malformed images.

// testProg is one program header and the file bytes it covers.
type testProg struct {
	typ   uint32 // p_type
	paddr uint64 // p_paddr (p_vaddr gets the same value)
	data  []byte // file contents: p_filesz = len(data)
	memsz uint64 // p_memsz; 0 means len(data)
	align uint64 // p_align
}

// testSect is one section header and the file bytes it covers.
type testSect struct {
	typ   uint32 // sh_type
	data  []byte // file contents: sh_size = len(data)
	align uint64 // sh_addralign
}

// testImage describes an image to assemble.
type testImage struct {
	class int        // 32 or 64
	entry uint64     // e_entry, ignored by the loader
	progs []testProg // program headers in order
	sects []testSect // section headers after the null section; none means no table
}

// built is an assembled image with the offsets needed to patch it.
type built struct {
	b     []byte
	class int
	phoff int // offset of the program header table
	shoff int // offset of the section header table, 0 if none
}

// field is the offset and width of a header field.
type field struct{ off, size int }

// ehdrFields, phdrFields and shdrFields give field positions per class.
var (
	ehdrFields = map[int]map[string]field{
		32: {"type": {16, 2}, "machine": {18, 2}, "version": {20, 4}, "entry": {24, 4}, "phoff": {28, 4},
			"shoff": {32, 4}, "ehsize": {40, 2}, "phentsize": {42, 2}, "phnum": {44, 2}, "shentsize": {46, 2}, "shnum": {48, 2}},
		64: {"type": {16, 2}, "machine": {18, 2}, "version": {20, 4}, "entry": {24, 8}, "phoff": {32, 8},
			"shoff": {40, 8}, "ehsize": {52, 2}, "phentsize": {54, 2}, "phnum": {56, 2}, "shentsize": {58, 2}, "shnum": {60, 2}},
	}
	phdrFields = map[int]map[string]field{
		32: {"type": {0, 4}, "offset": {4, 4}, "vaddr": {8, 4}, "paddr": {12, 4}, "filesz": {16, 4},
			"memsz": {20, 4}, "flags": {24, 4}, "align": {28, 4}},
		64: {"type": {0, 4}, "flags": {4, 4}, "offset": {8, 8}, "vaddr": {16, 8}, "paddr": {24, 8},
			"filesz": {32, 8}, "memsz": {40, 8}, "align": {48, 8}},
	}
	shdrFields = map[int]map[string]field{
		32: {"type": {4, 4}, "offset": {16, 4}, "size": {20, 4}, "align": {32, 4}},
		64: {"type": {4, 4}, "offset": {24, 8}, "size": {32, 8}, "align": {48, 8}},
	}
)

func sizes(class int) (ehdr, phdr, shdr int) {
	if class == 32 {
		return 52, 32, 40
	}
	return 64, 56, 64
}

func put(b []byte, f field, v uint64) {
	switch f.size {
	case 2:
		binary.LittleEndian.PutUint16(b[f.off:], uint16(v))
	case 4:
		binary.LittleEndian.PutUint32(b[f.off:], uint32(v))
	case 8:
		binary.LittleEndian.PutUint64(b[f.off:], v)
	default:
		panic(fmt.Sprintf("bad field size %d", f.size))
	}
}

func pad8(b []byte) []byte {
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// build assembles the image.
func (t testImage) build() *built {
	ehdr, phdr, shdr := sizes(t.class)
	out := &built{class: t.class, phoff: ehdr}
	b := make([]byte, ehdr+len(t.progs)*phdr)
	copy(b, "\x7fELF")
	b[4] = 2
	machine := uint64(62)
	if t.class == 32 {
		b[4], machine = 1, 3
	}
	b[5], b[6] = 1, 1 // little-endian, EV_CURRENT
	out.b = b
	out.setEhdr("type", 2)
	out.setEhdr("machine", machine)
	out.setEhdr("version", 1)
	out.setEhdr("entry", t.entry)
	out.setEhdr("phoff", uint64(ehdr))
	out.setEhdr("phentsize", uint64(phdr))
	out.setEhdr("phnum", uint64(len(t.progs)))
	out.setEhdr("ehsize", uint64(ehdr))

	for i, p := range t.progs {
		out.b = pad8(out.b)
		off := len(out.b)
		out.b = append(out.b, p.data...)
		memsz := p.memsz
		if memsz == 0 {
			memsz = uint64(len(p.data))
		}
		out.setPhdr(i, "type", uint64(p.typ))
		out.setPhdr(i, "offset", uint64(off))
		out.setPhdr(i, "vaddr", p.paddr)
		out.setPhdr(i, "paddr", p.paddr)
		out.setPhdr(i, "filesz", uint64(len(p.data)))
		out.setPhdr(i, "memsz", memsz)
		out.setPhdr(i, "align", p.align)
	}
	if len(t.sects) == 0 {
		return out
	}
	offs := make([]int, len(t.sects))
	for i, s := range t.sects {
		out.b = pad8(out.b)
		offs[i] = len(out.b)
		out.b = append(out.b, s.data...)
	}
	out.b = pad8(out.b)
	out.shoff = len(out.b)
	out.b = append(out.b, make([]byte, (len(t.sects)+1)*shdr)...)
	out.setEhdr("shoff", uint64(out.shoff))
	out.setEhdr("shentsize", uint64(shdr))
	out.setEhdr("shnum", uint64(len(t.sects)+1))
	for i, s := range t.sects {
		out.setShdr(i+1, "type", uint64(s.typ))
		out.setShdr(i+1, "offset", uint64(offs[i]))
		out.setShdr(i+1, "size", uint64(len(s.data)))
		out.setShdr(i+1, "align", s.align)
	}
	return out
}

func (b *built) setEhdr(name string, v uint64) {
	put(b.b, ehdrFields[b.class][name], v)
}

func (b *built) setPhdr(i int, name string, v uint64) {
	_, phdr, _ := sizes(b.class)
	f := phdrFields[b.class][name]
	f.off += b.phoff + i*phdr
	put(b.b, f, v)
}

func (b *built) setShdr(i int, name string, v uint64) {
	_, _, shdr := sizes(b.class)
	f := shdrFields[b.class][name]
	f.off += b.shoff + i*shdr
	put(b.b, f, v)
}

// note encodes one ELF note with its name NUL-terminated and name and descriptor
// padded to pad bytes.
func note(name string, typ uint32, desc []byte, pad int) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, uint32(len(name)+1))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(desc)))
	b = binary.LittleEndian.AppendUint32(b, typ)
	b = append(b, name...)
	b = append(b, 0)
	for len(b)%pad != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%pad != 0 {
		b = append(b, 0)
	}
	return b
}

// pvhNote encodes a XEN_ELFNOTE_PHYS32_ENTRY note with a 4- or 8-byte descriptor.
func pvhNote(entry uint64, width int) []byte {
	desc := make([]byte, width)
	if width == 4 {
		binary.LittleEndian.PutUint32(desc, uint32(entry))
	} else {
		binary.LittleEndian.PutUint64(desc, entry)
	}
	return note("Xen", 18, desc, 4)
}

// gnuNote is an unrelated note (a build ID) that the loader must step over.
var gnuNote = note("GNU", 3, []byte("0123456789abcdefghij"), 4)

// Test kernel layout: code at 0x100000, bss up to 0x102000, entry at 0x100010.
const (
	testLoadAddr = 0x100000
	testEntry    = 0x100010
	testCodeSize = 0x300
	testMemSize  = 0x2000
	testRAMSize  = 4 << 20
)

func testCode() []byte {
	b := make([]byte, testCodeSize)
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
	return b
}

// validImage is a loadable kernel of the given class with the PVH note in a PT_NOTE
// segment (descriptor width bytes wide) and also in a note section, as Linux has it.
func validImage(class, width int) testImage {
	notes := append(append([]byte{}, gnuNote...), pvhNote(testEntry, width)...)
	return testImage{
		class: class,
		entry: 0,
		progs: []testProg{
			{typ: 1, paddr: testLoadAddr, data: testCode(), memsz: testMemSize, align: 0x1000},
			{typ: 4, data: notes, align: 4},
		},
		sects: []testSect{
			{typ: 1, data: []byte("progbits"), align: 1},
			{typ: 7, data: notes, align: 4},
		},
	}
}
