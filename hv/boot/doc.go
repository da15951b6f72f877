// Package boot loads a PVH kernel into guest RAM and writes the PVH boot information
// (hvm_start_info version 1, memory map, command line) as docs/guest-abi.md lays it
// out.
//
// The kernel is a little-endian x86 ELF executable (ELF32 or ELF64, EM_386 or
// EM_X86_64, ET_EXEC). Its PT_LOAD segments are loaded at their physical addresses
// (p_paddr) and its entry point comes from the XEN_ELFNOTE_PHYS32_ENTRY note, looked
// up in PT_NOTE segments first and in SHT_NOTE sections otherwise; e_entry is
// ignored. The ELF parser is our own, over the byte slice, so that every field of a
// hostile image is bounds- and overflow-checked: at most MaxProgramHeaders program
// headers and MaxSectionHeaders section headers are accepted, and at most 16 MiB of
// note data is scanned.
//
// Guest-physical layout written by Load:
//
//	0x1000            hvm_start_info (56 bytes): magic, version 1, cmdline 0x2000,
//	                  memmap 0x1040 with 3 entries, everything else 0
//	0x1040            memory map, 24-byte hvm_memmap_table_entry each
//	0x2000-0x2fff     command line, NUL-terminated
//	end - 64 KiB      reserved tail (type 2) for monitor-provided pages
//
// The memory map (MemoryMap) reports RAM [0, 0xa0000), RAM [0x100000, end - 64 KiB)
// and the reserved tail. Segments may use only what it reports as RAM, minus the
// boot information pages [0x1000, 0x3000).
package boot
