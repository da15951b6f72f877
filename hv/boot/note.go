package boot

import (
	"bytes"
	"fmt"
)

const (
	// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY (xen/include/public/elfnote.h):
	// the 32-bit physical PVH entry point.
	xenElfnotePhys32Entry = 18
	// maxNoteBytes bounds the note bytes scanned in one image, so that many section
	// headers naming the same large range cannot make the search slow.
	maxNoteBytes   = 16 << 20
	noteHeaderSize = 12 // n_namesz, n_descsz, n_type: three 32-bit words
)

// pvhEntry finds the XEN_ELFNOTE_PHYS32_ENTRY note: first in PT_NOTE segments, then,
// if it is not there, in SHT_NOTE sections (some Linux builds carry it only there).
func (f *elfFile) pvhEntry() (uint32, error) {
	budget := uint64(maxNoteBytes)
	for _, p := range f.progs {
		if p.typ != ptNote {
			continue
		}
		where := fmt.Sprintf("program header %d", p.index)
		entry, ok, err := f.scanNotes(where, p.offset, p.filesz, p.align, &budget)
		if err != nil || ok {
			return entry, err
		}
	}
	sects, err := f.noteSections()
	if err != nil {
		return 0, err
	}
	for _, s := range sects {
		where := fmt.Sprintf("section %d", s.index)
		entry, ok, err := f.scanNotes(where, s.offset, s.size, s.align, &budget)
		if err != nil || ok {
			return entry, err
		}
	}
	return 0, ErrNoEntry
}

// scanNotes walks the notes in file range [off, off+size) and returns the PVH entry
// if one of them is the PHYS32_ENTRY note. Notes are padded to 4 bytes, or to 8 when
// the segment or section says it is 8-byte aligned (as some ELF64 producers do).
func (f *elfFile) scanNotes(where string, off, size, align uint64, budget *uint64) (uint32, bool, error) {
	if !inFile(off, size, len(f.data)) {
		return 0, false, fmt.Errorf("%w: %s: %#x note bytes at offset %#x extend past end of file", ErrTruncated, where, size, off)
	}
	if size > *budget {
		return 0, false, fmt.Errorf("%w: %s: note areas exceed %d bytes in total", ErrBadNote, where, maxNoteBytes)
	}
	*budget -= size
	pad := uint64(4)
	if align == 8 {
		pad = 8
	}
	area := f.data[off : off+size]
	for pos := uint64(0); pos < size; {
		rest := size - pos
		if rest < noteHeaderSize {
			return 0, false, fmt.Errorf("%w: %s: note header at %#x is truncated", ErrBadNote, where, pos)
		}
		namesz := uint64(le.Uint32(area[pos:]))
		descsz := uint64(le.Uint32(area[pos+4:]))
		typ := le.Uint32(area[pos+8:])
		nameOff := uint64(noteHeaderSize)
		descOff := alignUp(noteHeaderSize+namesz, pad) // namesz < 2^32: no overflow
		if descOff > rest || descsz > rest-descOff {
			return 0, false, fmt.Errorf("%w: %s: note at %#x (name %d bytes, descriptor %d bytes) extends past the note area", ErrBadNote, where, pos, namesz, descsz)
		}
		name := area[pos+nameOff : pos+nameOff+namesz]
		desc := area[pos+descOff : pos+descOff+descsz]
		if typ == xenElfnotePhys32Entry && string(bytes.TrimRight(name, "\x00")) == "Xen" {
			entry, err := phys32Entry(desc)
			if err != nil {
				return 0, false, fmt.Errorf("%w: %s: note at %#x: %v", ErrBadNote, where, pos, err)
			}
			return entry, true, nil
		}
		pos += min(alignUp(descOff+descsz, pad), rest)
	}
	return 0, false, nil
}

// phys32Entry decodes the PHYS32_ENTRY descriptor: a 32-bit physical address stored
// in 4 bytes, or in 8 bytes by kernels that emit it pointer-sized (Linux x86-64).
func phys32Entry(desc []byte) (uint32, error) {
	switch len(desc) {
	case 4:
		return le.Uint32(desc), nil
	case 8:
		v := le.Uint64(desc)
		if v > 0xffffffff {
			return 0, fmt.Errorf("entry point %#x is above 4 GiB", v)
		}
		return uint32(v), nil
	default:
		return 0, fmt.Errorf("entry descriptor is %d bytes, want 4 or 8", len(desc))
	}
}

// alignUp rounds v up to a multiple of a (a power of two).
func alignUp(v, a uint64) uint64 {
	return (v + a - 1) &^ (a - 1)
}
