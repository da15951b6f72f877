package boot

import (
	"encoding/binary"
	"fmt"
)

// Limits on header counts. Real PVH kernels have a handful of program headers and a
// few dozen sections; the caps bound the work done on a hostile image.
const (
	// MaxProgramHeaders is the largest e_phnum Load accepts.
	MaxProgramHeaders = 64
	// MaxSectionHeaders is the largest e_shnum Load accepts when it has to search the
	// section headers for the PVH note.
	MaxSectionHeaders = 1024
)

// ELF constants (System V gABI, x86 psABIs).
const (
	elfClass32  = 1  // EI_CLASS: ELFCLASS32
	elfClass64  = 2  // EI_CLASS: ELFCLASS64
	elfData2LSB = 1  // EI_DATA: little-endian
	evCurrent   = 1  // EI_VERSION and e_version
	etExec      = 2  // e_type: executable
	em386       = 3  // e_machine: Intel 80386
	emX86_64    = 62 // e_machine: AMD x86-64
	pnXNum      = 0xffff
	ptLoad      = 1 // p_type: loadable segment
	ptNote      = 4 // p_type: note segment
	shtNote     = 7 // sh_type: note section

	identSize  = 16
	ehdr32Size = 52
	ehdr64Size = 64
	phdr32Size = 32
	phdr64Size = 56
	shdr32Size = 40
	shdr64Size = 64
)

// elfFile is a validated ELF header with its program headers.
type elfFile struct {
	data  []byte       // the whole image
	class int          // 32 or 64
	progs []progHeader // all program headers, in file order
	shoff uint64       // e_shoff
	shent uint64       // e_shentsize
	shnum uint64       // e_shnum
}

// progHeader is the part of an Elf32_Phdr/Elf64_Phdr the loader uses.
type progHeader struct {
	index  int    // position in the program header table
	typ    uint32 // p_type
	offset uint64 // p_offset
	paddr  uint64 // p_paddr
	filesz uint64 // p_filesz
	memsz  uint64 // p_memsz
	align  uint64 // p_align
}

// sectHeader is the part of an Elf32_Shdr/Elf64_Shdr the loader uses.
type sectHeader struct {
	index  int    // position in the section header table
	typ    uint32 // sh_type
	offset uint64 // sh_offset
	size   uint64 // sh_size
	align  uint64 // sh_addralign
}

var le = binary.LittleEndian

// inFile reports whether [off, off+size) lies inside a file of n bytes, without
// overflowing.
func inFile(off, size uint64, n int) bool {
	return off <= uint64(n) && size <= uint64(n)-off
}

// tableEntry returns the file offset of entry i of a table at base with the given
// stride, and whether an entry of size bytes there lies inside the file.
func tableEntry(base, i, stride, size uint64, n int) (uint64, bool) {
	rel := i * stride // i <= MaxSectionHeaders and stride <= 0xffff: no overflow
	if base > uint64(n) || rel > uint64(n)-base {
		return 0, false
	}
	off := base + rel
	return off, inFile(off, size, n)
}

// parseELF validates the ELF identification and header and decodes the program
// header table. Section headers are decoded later, only if they are needed.
func parseELF(data []byte) (*elfFile, error) {
	if len(data) < 4 || string(data[:4]) != "\x7fELF" {
		return nil, ErrNotELF
	}
	if len(data) < identSize {
		return nil, fmt.Errorf("%w: identification is %d bytes, want %d", ErrTruncated, len(data), identSize)
	}
	f := &elfFile{data: data}
	ehdrSize, phdrSize := 0, uint64(0)
	switch data[4] {
	case elfClass32:
		f.class, ehdrSize, phdrSize = 32, ehdr32Size, phdr32Size
	case elfClass64:
		f.class, ehdrSize, phdrSize = 64, ehdr64Size, phdr64Size
	default:
		return nil, fmt.Errorf("%w: class %d, want 1 (ELF32) or 2 (ELF64)", ErrUnsupported, data[4])
	}
	if data[5] != elfData2LSB {
		return nil, fmt.Errorf("%w: data encoding %d, want 1 (little-endian)", ErrUnsupported, data[5])
	}
	if data[6] != evCurrent {
		return nil, fmt.Errorf("%w: identification version %d, want 1", ErrUnsupported, data[6])
	}
	if len(data) < ehdrSize {
		return nil, fmt.Errorf("%w: ELF%d header needs %d bytes, file has %d", ErrTruncated, f.class, ehdrSize, len(data))
	}
	if t := le.Uint16(data[16:]); t != etExec {
		return nil, fmt.Errorf("%w: type %d, want 2 (ET_EXEC)", ErrUnsupported, t)
	}
	if m := le.Uint16(data[18:]); m != em386 && m != emX86_64 {
		return nil, fmt.Errorf("%w: machine %d, want 3 (EM_386) or 62 (EM_X86_64)", ErrUnsupported, m)
	}
	if v := le.Uint32(data[20:]); v != evCurrent {
		return nil, fmt.Errorf("%w: version %d, want 1", ErrUnsupported, v)
	}

	// e_entry is ignored: PVH kernels enter through the PHYS32_ENTRY note.
	var phoff, phent, phnum uint64
	if f.class == 32 {
		phoff = uint64(le.Uint32(data[28:]))
		f.shoff = uint64(le.Uint32(data[32:]))
		phent, phnum = uint64(le.Uint16(data[42:])), uint64(le.Uint16(data[44:]))
		f.shent, f.shnum = uint64(le.Uint16(data[46:])), uint64(le.Uint16(data[48:]))
	} else {
		phoff = le.Uint64(data[32:])
		f.shoff = le.Uint64(data[40:])
		phent, phnum = uint64(le.Uint16(data[54:])), uint64(le.Uint16(data[56:]))
		f.shent, f.shnum = uint64(le.Uint16(data[58:])), uint64(le.Uint16(data[60:]))
	}
	if phnum == pnXNum || phnum > MaxProgramHeaders {
		return nil, fmt.Errorf("%w: %d program headers, limit %d", ErrTooManyHeaders, phnum, MaxProgramHeaders)
	}
	if phnum > 0 && phent < phdrSize {
		return nil, fmt.Errorf("%w: program header size %d, want at least %d", ErrMalformed, phent, phdrSize)
	}
	f.progs = make([]progHeader, 0, phnum)
	for i := range phnum {
		off, ok := tableEntry(phoff, i, phent, phdrSize, len(data))
		if !ok {
			return nil, fmt.Errorf("%w: program header %d extends past end of file", ErrTruncated, i)
		}
		f.progs = append(f.progs, f.progHeader(int(i), data[off:off+phdrSize]))
	}
	return f, nil
}

// progHeader decodes one program header table entry.
func (f *elfFile) progHeader(i int, b []byte) progHeader {
	if f.class == 32 {
		return progHeader{
			index:  i,
			typ:    le.Uint32(b[0:]),
			offset: uint64(le.Uint32(b[4:])),
			paddr:  uint64(le.Uint32(b[12:])),
			filesz: uint64(le.Uint32(b[16:])),
			memsz:  uint64(le.Uint32(b[20:])),
			align:  uint64(le.Uint32(b[28:])),
		}
	}
	return progHeader{
		index:  i,
		typ:    le.Uint32(b[0:]),
		offset: le.Uint64(b[8:]),
		paddr:  le.Uint64(b[24:]),
		filesz: le.Uint64(b[32:]),
		memsz:  le.Uint64(b[40:]),
		align:  le.Uint64(b[48:]),
	}
}

// noteSections decodes the section header table and returns its SHT_NOTE entries.
// An image without section headers (e_shoff or e_shnum zero; extended section
// numbering is not supported) has none.
func (f *elfFile) noteSections() ([]sectHeader, error) {
	if f.shoff == 0 || f.shnum == 0 {
		return nil, nil
	}
	if f.shnum > MaxSectionHeaders {
		return nil, fmt.Errorf("%w: %d section headers, limit %d", ErrTooManyHeaders, f.shnum, MaxSectionHeaders)
	}
	size := uint64(shdr64Size)
	if f.class == 32 {
		size = shdr32Size
	}
	if f.shent < size {
		return nil, fmt.Errorf("%w: section header size %d, want at least %d", ErrMalformed, f.shent, size)
	}
	var notes []sectHeader
	for i := range f.shnum {
		off, ok := tableEntry(f.shoff, i, f.shent, size, len(f.data))
		if !ok {
			return nil, fmt.Errorf("%w: section header %d extends past end of file", ErrTruncated, i)
		}
		b := f.data[off : off+size]
		if le.Uint32(b[4:]) != shtNote {
			continue
		}
		s := sectHeader{index: int(i), typ: shtNote}
		if f.class == 32 {
			s.offset, s.size, s.align = uint64(le.Uint32(b[16:])), uint64(le.Uint32(b[20:])), uint64(le.Uint32(b[32:]))
		} else {
			s.offset, s.size, s.align = le.Uint64(b[24:]), le.Uint64(b[32:]), le.Uint64(b[48:])
		}
		notes = append(notes, s)
	}
	return notes, nil
}
