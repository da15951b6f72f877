package gnttab

// Grant-table ABI numbers from xen/include/public/grant_table.h (x86-64).
// layout_test.go pins the wire sizes and offsets against that header.

// PageSize is the size of a grant frame and of a granted page, in bytes.
const PageSize = 4096

// Grant entries (v1).
const (
	// EntrySize is sizeof(grant_entry_v1): flags u16 @0, domid u16 @2,
	// frame u32 @4.
	EntrySize = 8
	// EntriesPerFrame is the number of v1 entries in one grant frame.
	EntriesPerFrame = PageSize / EntrySize
	// NrReservedEntries is GNTTAB_NR_RESERVED_ENTRIES: refs 0..7 are
	// reserved for the toolstack (0 console, 1 xenstore). To a backend they
	// are ordinary entries.
	NrReservedEntries = 8
	// ReservedConsole is GNTTAB_RESERVED_CONSOLE.
	ReservedConsole = 0
	// ReservedXenstore is GNTTAB_RESERVED_XENSTORE.
	ReservedXenstore = 1
)

// Grant entry flags (the u16 at offset 0 of an entry).
const (
	GTFInvalid        = 0      // type: entry unused
	GTFPermitAccess   = 1      // type: the named domain may map or copy the frame
	GTFAcceptTransfer = 2      // type: the named domain may transfer a page (PV only)
	GTFTransitive     = 3      // type: v2 only
	GTFTypeMask       = 3      // the type bits
	GTFReadonly       = 1 << 2 // guest: the grantee may only read
	GTFReading        = 1 << 3 // hypervisor/backend: in use for reading
	GTFWriting        = 1 << 4 // hypervisor/backend: in use for writing
	GTFPWT            = 1 << 5 // guest: cache attribute for mappings
	GTFPCD            = 1 << 6 // guest: cache attribute for mappings
	GTFPAT            = 1 << 7 // guest: cache attribute for mappings
	GTFSubPage        = 1 << 8 // guest: v2 sub-page grant (copy only)
)

// GNTTABOP_* commands of grant_table_op (hypercall 20).
const (
	GnttabopMapGrantRef     = 0
	GnttabopUnmapGrantRef   = 1
	GnttabopSetupTable      = 2
	GnttabopDumpTable       = 3
	GnttabopTransfer        = 4
	GnttabopCopy            = 5
	GnttabopQuerySize       = 6
	GnttabopUnmapAndReplace = 7
	GnttabopSetVersion      = 8
	GnttabopGetStatusFrames = 9
	GnttabopGetVersion      = 10
	GnttabopSwapGrantRef    = 11
	GnttabopCacheFlush      = 12
)

// GNTMAP_* flags of gnttab_map_grant_ref.
const (
	GntmapDeviceMap      = 1 << 0
	GntmapHostMap        = 1 << 1
	GntmapReadonly       = 1 << 2
	GntmapApplicationMap = 1 << 3
	GntmapContainsPTE    = 1 << 4
)

// GNTCOPY_* flags of gnttab_copy.
const (
	GntcopySourceGref = 1 << 0 // source.u is a grant ref, else a gmfn
	GntcopyDestGref   = 1 << 1 // dest.u is a grant ref, else a gmfn
)

// GNTST_* per-operation status codes (int16 in the structs).
const (
	GntstOkay             = 0
	GntstGeneralError     = -1
	GntstBadDomain        = -2
	GntstBadGntref        = -3
	GntstBadHandle        = -4
	GntstBadVirtAddr      = -5
	GntstBadDevAddr       = -6
	GntstNoDeviceSpace    = -7
	GntstPermissionDenied = -8
	GntstBadPage          = -9
	GntstBadCopyArg       = -10
	GntstAddressTooBig    = -11
	GntstEagain           = -12
	GntstNoSpace          = -13
)

// InvalidGFN is Xen's INVALID_GFN (~0): what setup_table reports for a
// frame that is not in the guest's physical address space, and what Frames
// reports for a frame that has not been placed.
const InvalidGFN = ^uint64(0)

// Wire struct sizes and field offsets.
const (
	mapSize        = 32 // gnttab_map_grant_ref
	mapFlags       = 8  // uint32 flags (GNTMAP_*)
	mapStatus      = 18 // int16 status (OUT)
	unmapSize      = 24 // gnttab_unmap_grant_ref
	unmapStatus    = 20 // int16 status (OUT)
	setupSize      = 24 // gnttab_setup_table
	setupDom       = 0  // domid_t dom
	setupNrFrames  = 4  // uint32 nr_frames
	setupStatus    = 8  // int16 status (OUT)
	setupFrameList = 16 // guest handle of xen_pfn_t[] (OUT)
	pfnSize        = 8  // xen_pfn_t
	copySize       = 40 // gnttab_copy
	copySource     = 0  // struct gnttab_copy_ptr source
	copyDest       = 16 // struct gnttab_copy_ptr dest
	copyPtrU       = 0  // union {grant_ref_t ref; xen_pfn_t gmfn} u (in a ptr)
	copyPtrDomID   = 8  // domid_t domid (in a ptr)
	copyPtrOffset  = 10 // uint16 offset (in a ptr)
	copyLen        = 32 // uint16 len
	copyFlags      = 34 // uint16 flags (GNTCOPY_*)
	copyStatus     = 36 // int16 status (OUT)
	querySize      = 16 // gnttab_query_size
	queryDom       = 0  // domid_t dom
	queryNrFrames  = 4  // uint32 nr_frames (OUT)
	queryMaxFrames = 8  // uint32 max_nr_frames (OUT)
	queryStatus    = 12 // int16 status (OUT)
	setVersionSize = 4  // gnttab_set_version {uint32 version}
	getVersionSize = 8  // gnttab_get_version
	getVersionDom  = 0  // domid_t dom
	getVersionVer  = 4  // uint32 version (OUT)
	swapSize       = 12 // gnttab_swap_grant_ref
	swapRefA       = 0  // grant_ref_t ref_a
	swapRefB       = 4  // grant_ref_t ref_b
	swapStatus     = 8  // int16 status (OUT)
	entryDomID     = 2  // grant_entry_v1.domid
	entryFrame     = 4  // grant_entry_v1.frame
)
