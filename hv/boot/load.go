package boot

import (
	"fmt"
	"strings"
)

// Options configure Load.
type Options struct {
	// Cmdline is the kernel command line: at most MaxCmdline bytes, no NUL bytes.
	Cmdline string
	// FreshRAM says ram is newly mapped and still all zero, so the part of
	// each segment past p_filesz need not be zero-filled (which would fault
	// in every page of a large bss).
	FreshRAM bool
}

// Segment is one PT_LOAD segment as loaded into guest RAM.
type Segment struct {
	GPA      uint64 // guest-physical load address (p_paddr)
	FileSize uint64 // bytes copied from the image (p_filesz)
	MemSize  uint64 // bytes occupied in RAM, zero-filled past FileSize (p_memsz)
}

// Image describes a loaded kernel.
type Image struct {
	Entry     uint32    // PVH 32-bit entry point (XEN_ELFNOTE_PHYS32_ENTRY)
	StartInfo uint64    // GPA of hvm_start_info (StartInfoAddr): goes in EBX
	Segments  []Segment // loaded segments, in program header order
	Class     int       // ELF class: 32 or 64
}

// Load loads the PVH ELF kernel in image into ram (all of guest RAM, GPA 0 at
// ram[0]) and writes hvm_start_info, the memory map and the command line as
// docs/guest-abi.md lays them out. Every PT_LOAD segment is copied to its p_paddr and
// zero-filled up to p_memsz. The image is validated completely before anything is
// written: on error, ram is unchanged.
//
// Segments must lie in RAM that the memory map reports as RAM, outside the boot
// information area [StartInfoAddr, BootInfoEnd) and without overlapping one
// another; the entry point must lie inside the file-backed part of a segment.
// Segment numbers in errors are program header indexes.
func Load(ram []byte, image []byte, opts Options) (*Image, error) {
	if err := checkRAM(len(ram)); err != nil {
		return nil, err
	}
	if err := checkCmdline(opts.Cmdline); err != nil {
		return nil, err
	}
	f, err := parseELF(image)
	if err != nil {
		return nil, err
	}
	loads, err := f.loadSegments()
	if err != nil {
		return nil, err
	}
	if err := checkPlacement(loads, uint64(len(ram))); err != nil {
		return nil, err
	}
	entry, err := f.pvhEntry()
	if err != nil {
		return nil, err
	}
	if !entryInside(loads, entry) {
		return nil, fmt.Errorf("%w: %#x", ErrEntryOutside, entry)
	}

	img := &Image{Entry: entry, StartInfo: StartInfoAddr, Class: f.class}
	for _, p := range loads {
		// checkPlacement bounded paddr+memsz by len(ram), and loadSegments bounded
		// offset+filesz by len(image), so these conversions cannot overflow int.
		dst := ram[p.paddr : p.paddr+p.memsz]
		n := copy(dst, image[p.offset:p.offset+p.filesz])
		if !opts.FreshRAM {
			clear(dst[n:])
		}
		img.Segments = append(img.Segments, Segment{GPA: p.paddr, FileSize: p.filesz, MemSize: p.memsz})
	}
	writeBootInfo(ram, opts.Cmdline)
	return img, nil
}

// checkRAM checks the guest RAM size.
func checkRAM(n int) error {
	if n < MinRAM {
		return fmt.Errorf("%w: %#x bytes, minimum %#x", ErrRAMSize, n, MinRAM)
	}
	if n%PageSize != 0 {
		return fmt.Errorf("%w: %#x bytes is not a multiple of %d", ErrRAMSize, n, PageSize)
	}
	return nil
}

// checkCmdline checks the command line's length and that it has no NUL byte.
func checkCmdline(s string) error {
	if len(s) > MaxCmdline {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrCmdline, len(s), MaxCmdline)
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return fmt.Errorf("%w: NUL byte at offset %d", ErrCmdline, i)
	}
	return nil
}

// loadSegments returns the non-empty PT_LOAD segments after checking that their
// file bytes are inside the image, that p_filesz <= p_memsz and that their address
// ranges do not overflow.
func (f *elfFile) loadSegments() ([]progHeader, error) {
	var loads []progHeader
	for _, p := range f.progs {
		if p.typ != ptLoad {
			continue
		}
		if p.filesz > p.memsz {
			return nil, fmt.Errorf("%w: segment %d file size %#x exceeds memory size %#x", ErrMalformed, p.index, p.filesz, p.memsz)
		}
		if p.memsz == 0 {
			continue
		}
		if !inFile(p.offset, p.filesz, len(f.data)) {
			return nil, fmt.Errorf("%w: segment %d: %#x bytes at file offset %#x extend past end of file (%#x bytes)", ErrTruncated, p.index, p.filesz, p.offset, len(f.data))
		}
		if p.paddr+p.memsz < p.paddr {
			return nil, fmt.Errorf("%w: segment %d: address %#x plus size %#x overflows", ErrMalformed, p.index, p.paddr, p.memsz)
		}
		loads = append(loads, p)
	}
	if len(loads) == 0 {
		return nil, ErrNoSegments
	}
	return loads, nil
}

// span is a half-open guest-physical range [start, end).
type span struct{ start, end uint64 }

func (s span) overlaps(o span) bool { return s.start < o.end && o.start < s.end }

func (s span) String() string { return fmt.Sprintf("[%#x-%#x)", s.start, s.end) }

func segSpan(p progHeader) span { return span{p.paddr, p.paddr + p.memsz} }

// checkPlacement checks that every segment lies in RAM the memory map reports as
// usable, away from the boot information area, and that no two segments overlap.
func checkPlacement(loads []progHeader, ramSize uint64) error {
	reserved := span{ReservedBase(ramSize), ramSize}
	bootInfo := span{StartInfoAddr, BootInfoEnd}
	hole := span{lowRAMEnd, highRAMStart}
	for i, p := range loads {
		s := segSpan(p)
		switch {
		case s.end > ramSize:
			return fmt.Errorf("%w: segment %d %v, RAM size %#x", ErrOutsideRAM, p.index, s, ramSize)
		case s.overlaps(reserved):
			return fmt.Errorf("%w: segment %d %v, reserved %v", ErrReservedOverlap, p.index, s, reserved)
		case s.overlaps(bootInfo):
			return fmt.Errorf("%w: segment %d %v", ErrBootInfoOverlap, p.index, s)
		case s.overlaps(hole):
			return fmt.Errorf("%w: segment %d %v", ErrHoleOverlap, p.index, s)
		}
		for _, q := range loads[:i] {
			if s.overlaps(segSpan(q)) {
				return fmt.Errorf("%w: segment %d %v and segment %d %v", ErrSegmentOverlap, q.index, segSpan(q), p.index, s)
			}
		}
	}
	return nil
}

// entryInside reports whether entry lies in the file-backed part of a segment: code
// cannot start in zero-filled memory.
func entryInside(loads []progHeader, entry uint32) bool {
	e := uint64(entry)
	for _, p := range loads {
		if e >= p.paddr && e-p.paddr < p.filesz {
			return true
		}
	}
	return false
}

// SetCmdline replaces the command line of an image loaded into ram (for
// arguments known only after the VM exists, such as port numbers).
func SetCmdline(ram []byte, cmdline string) error {
	if err := checkRAM(len(ram)); err != nil {
		return err
	}
	if err := checkCmdline(cmdline); err != nil {
		return err
	}
	writeBootInfo(ram, cmdline)
	return nil
}
