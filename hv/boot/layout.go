package boot

import "encoding/binary"

// Guest-physical boot layout (docs/guest-abi.md, "Boot layout").
const (
	// StartInfoAddr is the GPA of hvm_start_info; the boot vCPU gets it in EBX.
	StartInfoAddr = 0x1000
	// MemmapAddr is the GPA of the hvm_memmap_table_entry array.
	MemmapAddr = 0x1040
	// CmdlineAddr is the GPA of the NUL-terminated kernel command line.
	CmdlineAddr = 0x2000
	// BootInfoEnd is the end (exclusive) of the boot information area that starts at
	// StartInfoAddr; no segment may overlap [StartInfoAddr, BootInfoEnd).
	BootInfoEnd = 0x3000
	// MaxCmdline is the longest command line in bytes, without its NUL terminator.
	MaxCmdline = BootInfoEnd - CmdlineAddr - 1
	// ReservedTail is the size of the reserved region at the top of guest RAM, for
	// monitor-provided pages (xenstore and console rings, grant frames).
	ReservedTail = 64 << 10
	// MinRAM is the smallest guest RAM size Load accepts: 2 MiB of usable memory
	// plus the reserved tail.
	MinRAM = 2<<20 + ReservedTail
	// PageSize is the guest page size; guest RAM must be a multiple of it.
	PageSize = 4096
)

// Memory map types (xen/include/public/arch-x86/hvm/start_info.h, same as E820).
const (
	// MemmapRAM marks usable RAM.
	MemmapRAM = 1
	// MemmapReserved marks memory the guest must not use as RAM.
	MemmapReserved = 2
)

const (
	lowRAMEnd    = 0xa0000  // end of conventional memory below the legacy hole
	highRAMStart = 0x100000 // start of RAM above the legacy hole

	startInfoMagic   = 0x336ec578 // XEN_HVM_START_MAGIC_VALUE
	startInfoVersion = 1          // version with the memory map fields
	startInfoSize    = 56         // sizeof(struct hvm_start_info), version 1
	memmapEntrySize  = 24         // sizeof(struct hvm_memmap_table_entry)
)

// hvm_start_info field offsets (start_info.h; pinned in xen-abi.md §7.3).
const (
	siMagic         = 0  // u32 magic
	siVersion       = 4  // u32 version
	siFlags         = 8  // u32 SIF_* flags, 0 for a domU
	siNrModules     = 12 // u32 number of modules
	siModlistPaddr  = 16 // u64 GPA of hvm_modlist_entry[]
	siCmdlinePaddr  = 24 // u64 GPA of the command line
	siRSDPPaddr     = 32 // u64 GPA of the ACPI RSDP, 0 = none
	siMemmapPaddr   = 40 // u64 GPA of hvm_memmap_table_entry[]
	siMemmapEntries = 48 // u32 number of memory map entries
	siReserved      = 52 // u32 must be zero
)

// MemmapEntry is one entry of the guest memory map (struct hvm_memmap_table_entry,
// also the layout XENMEM_memory_map reports as an E820 entry).
type MemmapEntry struct {
	Addr uint64 // base guest-physical address of the region
	Size uint64 // size of the region in bytes
	Type uint32 // MemmapRAM or MemmapReserved
}

// ReservedBase returns the GPA where the reserved tail begins for guest RAM of
// ramSize bytes, or 0 if ramSize is smaller than ReservedTail.
func ReservedBase(ramSize uint64) uint64 {
	if ramSize < ReservedTail {
		return 0
	}
	return ramSize - ReservedTail
}

// MemoryMap returns the memory map for guest RAM of ramSize bytes: RAM
// [0, 0xa0000), RAM [0x100000, ReservedBase) and the reserved tail
// [ReservedBase, ramSize). Load writes exactly this map; XENMEM_memory_map reports it
// too. For sizes below MinRAM, which Load rejects, entries that would be empty or
// inverted are left out.
func MemoryMap(ramSize uint64) []MemmapEntry {
	var m []MemmapEntry
	reserved := ReservedBase(ramSize)
	if low := min(reserved, lowRAMEnd); low > 0 {
		m = append(m, MemmapEntry{Addr: 0, Size: low, Type: MemmapRAM})
	}
	if reserved > highRAMStart {
		m = append(m, MemmapEntry{Addr: highRAMStart, Size: reserved - highRAMStart, Type: MemmapRAM})
	}
	if ramSize >= ReservedTail {
		m = append(m, MemmapEntry{Addr: reserved, Size: ReservedTail, Type: MemmapReserved})
	}
	return m
}

// writeBootInfo clears the boot information area and writes hvm_start_info, the
// memory map and the command line into ram. The caller has checked that ram is at
// least MinRAM bytes and that cmdline is valid.
func writeBootInfo(ram []byte, cmdline string) {
	area := ram[StartInfoAddr:BootInfoEnd]
	clear(area)

	mm := MemoryMap(uint64(len(ram)))
	le := binary.LittleEndian
	si := ram[StartInfoAddr : StartInfoAddr+startInfoSize]
	le.PutUint32(si[siMagic:], startInfoMagic)
	le.PutUint32(si[siVersion:], startInfoVersion)
	le.PutUint32(si[siFlags:], 0)
	le.PutUint32(si[siNrModules:], 0)
	le.PutUint64(si[siModlistPaddr:], 0)
	le.PutUint64(si[siCmdlinePaddr:], CmdlineAddr)
	le.PutUint64(si[siRSDPPaddr:], 0)
	le.PutUint64(si[siMemmapPaddr:], MemmapAddr)
	le.PutUint32(si[siMemmapEntries:], uint32(len(mm)))
	le.PutUint32(si[siReserved:], 0)

	for i, e := range mm {
		b := ram[MemmapAddr+i*memmapEntrySize : MemmapAddr+(i+1)*memmapEntrySize]
		le.PutUint64(b[0:], e.Addr)
		le.PutUint64(b[8:], e.Size)
		le.PutUint32(b[16:], e.Type)
		le.PutUint32(b[20:], 0) // reserved, must be zero in version 1
	}

	// The area was cleared, so the byte after the command line is its NUL.
	copy(ram[CmdlineAddr:CmdlineAddr+MaxCmdline], cmdline)
}
