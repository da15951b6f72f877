package boot

import "errors"

// Errors returned by Load. Each is wrapped with the detail that identifies the offending
// header, segment or value ("%w: detail"), so match them with errors.Is.
var (
	// ErrNotELF reports an image that does not start with the ELF magic bytes.
	ErrNotELF = errors.New("boot: kernel image is not an ELF file")
	// ErrUnsupported reports a well-formed ELF file that is not a little-endian x86
	// executable (wrong class, byte order, version, type or machine).
	ErrUnsupported = errors.New("boot: unsupported ELF file")
	// ErrTruncated reports a header, segment or section that extends past the end of
	// the image.
	ErrTruncated = errors.New("boot: truncated ELF")
	// ErrMalformed reports inconsistent ELF headers: entry sizes too small, file size
	// larger than memory size, address ranges that overflow.
	ErrMalformed = errors.New("boot: malformed ELF")
	// ErrTooManyHeaders reports more program or section headers than the loader
	// accepts (MaxProgramHeaders, MaxSectionHeaders).
	ErrTooManyHeaders = errors.New("boot: too many ELF headers")
	// ErrNoSegments reports an image without any non-empty PT_LOAD segment.
	ErrNoSegments = errors.New("boot: no loadable segments")
	// ErrOutsideRAM reports a segment that ends beyond guest RAM.
	ErrOutsideRAM = errors.New("boot: segment lies outside guest RAM")
	// ErrReservedOverlap reports a segment that overlaps the reserved tail of RAM.
	ErrReservedOverlap = errors.New("boot: segment overlaps the reserved tail of guest RAM")
	// ErrBootInfoOverlap reports a segment that overlaps the pages holding the start
	// info, memory map and command line.
	ErrBootInfoOverlap = errors.New("boot: segment overlaps the boot information area [0x1000-0x3000)")
	// ErrHoleOverlap reports a segment that overlaps the legacy hole, which the memory
	// map does not report as RAM.
	ErrHoleOverlap = errors.New("boot: segment overlaps the legacy hole [0xa0000-0x100000)")
	// ErrSegmentOverlap reports two PT_LOAD segments whose memory ranges intersect.
	ErrSegmentOverlap = errors.New("boot: segments overlap")
	// ErrBadNote reports a malformed note area or a malformed PVH entry note.
	ErrBadNote = errors.New("boot: malformed ELF note")
	// ErrNoEntry reports an image without the PVH entry note.
	ErrNoEntry = errors.New("boot: no XEN_ELFNOTE_PHYS32_ENTRY note: not a PVH kernel")
	// ErrEntryOutside reports a PVH entry point that is not inside the file-backed part
	// of a loaded segment.
	ErrEntryOutside = errors.New("boot: entry point is outside the loaded segments")
	// ErrCmdline reports a command line that is too long or contains a NUL byte.
	ErrCmdline = errors.New("boot: invalid command line")
	// ErrRAMSize reports guest RAM that is too small or not a whole number of pages.
	ErrRAMSize = errors.New("boot: invalid guest RAM size")
)
