package gnttab

import (
	"fmt"
	"sync"

	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/xen"
)

// DefaultMaxFrames is the number of grant frames a domain may have when
// Options.MaxFrames is zero: 32 frames, 16384 grants. Xen's default
// (gnttab_max_frames) is 64; 32 keeps the frames a guest can adopt out of
// its RAM modest and is plenty for a few block and network rings (Linux
// starts with one frame and grows on demand up to the reported maximum).
const DefaultMaxFrames = 32

// MaxMaxFrames is the largest Options.MaxFrames New accepts.
const MaxMaxFrames = 4096

// initialFrames is Xen's INITIAL_NR_GRANT_FRAMES: the table size a domain
// starts with, and the least nr_frames query_size reports.
const initialFrames = 1

// Options configures a Table.
type Options struct {
	// DomID is the guest's own domain id: grants in its table that name
	// it may be used by its own GNTTABOP_copy. It must be below
	// DOMID_FIRST_RESERVED and differ from BackendDomID.
	DomID uint16
	// BackendDomID is the id of the monitor's backends (domain 0 by
	// default). Hypercalls naming it see an existing domain the guest may
	// not inspect, whose grants the guest cannot use.
	BackendDomID uint16
	// MaxFrames is the most grant frames the guest may have (Xen's
	// max_grant_frames, reported by query_size); 0 means
	// DefaultMaxFrames.
	MaxFrames uint32
	// SetupFrames lists where GNTTABOP_setup_table places frames the guest
	// has not placed itself: frame i goes to SetupFrames[i]. The addresses
	// must be page-aligned, inside guest RAM and distinct; the monitor
	// reserves them (the memory map marks them reserved). Frames without an
	// entry are reported as INVALID_GFN, as Xen reports a frame an HVM
	// guest has not mapped.
	SetupFrames []mem.GPA
}

// Table is the grant table of one guest domain, version 1, over its RAM.
//
// Grant frames are guest pages: frame i lives at a guest frame number the
// guest chose (MapFrame, from XENMEM_add_to_physmap) or the monitor chose
// (GNTTABOP_setup_table with Options.SetupFrames). Xen instead allocates
// frames in hypervisor memory and maps them over the guest's page; here the
// monitor adopts the guest's RAM page as the frame, which needs no extra
// memory or KVM memory slot. The difference shows only if the guest moves a
// frame or places one frame over another (see MapFrame).
//
// All methods may be called concurrently. mu protects everything below it;
// guest memory is accessed with atomics for grant entries, and mu is never
// held across a copy to or from the guest's virtual memory.
type Table struct {
	mem      *mem.Memory
	opts     Options
	ramPages uint64 // guest RAM size in pages

	mu       sync.Mutex
	nrFrames uint32     // Xen's nr_grant_frames: the table size; mu
	frames   []uint64   // frame index -> gfn, InvalidGFN if not placed; mu
	active   [][]active // active entries by ref, in blocks of activeChunk (nil until used); mu
	nActive  int        // refs held (active entries with pins); mu
	idle     []func()   // run once no ref is held (WhenIdle); mu

	beforeCAS func(gpa mem.GPA) // test hook: runs before each flag compare-and-swap
}

// New returns the grant table of the guest whose RAM is m, with no frames
// placed.
func New(m *mem.Memory, opts Options) (*Table, error) {
	if m == nil {
		return nil, fmt.Errorf("%w: nil memory", ErrInvalidOptions)
	}
	if opts.MaxFrames == 0 {
		opts.MaxFrames = DefaultMaxFrames
	}
	if opts.MaxFrames > MaxMaxFrames {
		return nil, fmt.Errorf("%w: max frames %d above %d", ErrInvalidOptions, opts.MaxFrames, MaxMaxFrames)
	}
	if opts.DomID >= xen.DomIDFirstReserved || opts.DomID == opts.BackendDomID {
		return nil, fmt.Errorf("%w: domain id %d (backend %d)", ErrInvalidOptions, opts.DomID, opts.BackendDomID)
	}
	t := &Table{
		mem:      m,
		ramPages: m.Size() / PageSize,
		nrFrames: initialFrames,
		frames:   make([]uint64, opts.MaxFrames),
	}
	if uint64(len(opts.SetupFrames)) > uint64(opts.MaxFrames) {
		return nil, fmt.Errorf("%w: %d setup frames for at most %d frames", ErrInvalidOptions, len(opts.SetupFrames), opts.MaxFrames)
	}
	seen := make(map[mem.GPA]bool, len(opts.SetupFrames))
	for i, gpa := range opts.SetupFrames {
		if gpa%PageSize != 0 || uint64(gpa)/PageSize >= t.ramPages || seen[gpa] {
			return nil, fmt.Errorf("%w: setup frame %d at %#x", ErrInvalidOptions, i, uint64(gpa))
		}
		seen[gpa] = true
	}
	opts.SetupFrames = append([]mem.GPA(nil), opts.SetupFrames...)
	t.opts = opts
	for i := range t.frames {
		t.frames[i] = InvalidGFN
	}
	return t, nil
}

// MaxFrames returns the most grant frames the guest may have.
func (t *Table) MaxFrames() uint32 { return t.opts.MaxFrames }

// NrFrames returns the table size, Xen's nr_grant_frames: 1 at first, then
// one more than the highest frame index placed or asked for by setup_table.
// Refs below NrFrames()*512 are valid once their frame is placed.
func (t *Table) NrFrames() uint32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nrFrames
}

// Frames returns the guest frame number of each frame of the table
// (NrFrames entries), InvalidGFN for a frame that is not placed.
func (t *Table) Frames() []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]uint64(nil), t.frames[:t.nrFrames]...)
}

// MapFrame places grant frame idx at guest frame gpfn, as
// XENMEM_add_to_physmap with XENMAPSPACE_grant_table does (the caller
// passes idx truncated to 32 bits, as gnttab_map_frame_begin does). The
// table grows to idx+1 frames.
//
// The page at gpfn becomes the frame. A frame placed for the first time is
// zeroed (Xen's fresh frames are zero); a frame moved from another gfn
// takes its contents with it (the old page reverts to ordinary RAM with the
// contents it had); placing a frame where it already is changes nothing.
// If gpfn holds another frame, that frame stops being placed: its refs are
// invalid until it is placed again, and its contents are lost (Xen would
// keep them in hypervisor memory). Held refs keep working either way.
//
// Errors: idx >= MaxFrames() wraps ErrFrameIndex and gpfn outside guest RAM
// wraps ErrFrameAddress, both -EINVAL by ErrnoOf. Xen would map a frame at
// any gfn, but there is no guest page to adopt outside RAM.
func (t *Table) MapFrame(idx uint32, gpfn uint64) error {
	if idx >= t.opts.MaxFrames {
		return fmt.Errorf("map frame %d: %w", idx, ErrFrameIndex)
	}
	if gpfn >= t.ramPages {
		return fmt.Errorf("map frame %d at gfn %#x: %w", idx, gpfn, ErrFrameAddress)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := t.place(idx, gpfn); err != nil {
		return fmt.Errorf("map frame %d at gfn %#x: %w", idx, gpfn, err)
	}
	t.nrFrames = max(t.nrFrames, idx+1)
	return nil
}

// RemoveFrame stops the frame at guest frame gpfn, if any, from being
// placed (XENMEM_remove_from_physmap of a grant frame) and reports whether
// there was one. Its refs are invalid until it is placed again.
func (t *Table) RemoveFrame(gpfn uint64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i := t.frameAt(gpfn); i >= 0 {
		t.frames[i] = InvalidGFN
		return true
	}
	return false
}

// place puts frame idx at gpfn (inside RAM). mu held.
func (t *Table) place(idx uint32, gpfn uint64) error {
	old := t.frames[idx]
	if old == gpfn {
		return nil
	}
	dst, err := t.mem.Slice(mem.GPA(gpfn*PageSize), PageSize)
	if err != nil {
		return err
	}
	if old != InvalidGFN {
		src, err := t.mem.Slice(mem.GPA(old*PageSize), PageSize)
		if err != nil {
			return err
		}
		copy(dst, src)
	} else {
		clear(dst)
	}
	if j := t.frameAt(gpfn); j >= 0 {
		t.frames[j] = InvalidGFN
	}
	t.frames[idx] = gpfn
	return nil
}

// frameAt returns the index of the frame placed at gpfn, or -1. mu held.
func (t *Table) frameAt(gpfn uint64) int {
	for i, g := range t.frames {
		if g == gpfn {
			return i
		}
	}
	return -1
}

// entryGPA returns the guest-physical address of ref's entry: ref must be
// below nrFrames*512 and its frame placed. mu held.
func (t *Table) entryGPA(ref uint32) (mem.GPA, bool) {
	idx := ref / EntriesPerFrame
	if idx >= t.nrFrames {
		return 0, false
	}
	gfn := t.frames[idx]
	if gfn == InvalidGFN {
		return 0, false
	}
	return mem.GPA(gfn*PageSize + uint64(ref%EntriesPerFrame)*EntrySize), true
}

// setupFrames grows the table to n frames for GNTTABOP_setup_table (n <=
// MaxFrames), placing every unplaced frame below n that has a free
// SetupFrames slot, and returns the gfns of frames 0..n-1.
func (t *Table) setupFrames(n uint32) []uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := uint32(0); i < n && int(i) < len(t.opts.SetupFrames); i++ {
		gfn := uint64(t.opts.SetupFrames[i]) / PageSize
		if t.frames[i] == InvalidGFN && t.frameAt(gfn) < 0 {
			// Inside RAM (checked by New), so place cannot fail.
			_ = t.place(i, gfn)
		}
	}
	t.nrFrames = max(t.nrFrames, n)
	return append([]uint64(nil), t.frames[:n]...)
}
