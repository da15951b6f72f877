// Package gnttab implements Xen grant tables, version 1, for the monitor:
// the guest's side (grant_table_op, hypercall 20, and the grant frames
// placed by XENMEM_add_to_physmap) and the backends' side (validating a
// grant ref and holding it while guest memory is used).
//
// The ABI is xen/include/public/grant_table.h; the semantics follow
// xen/common/grant_table.c, named on each function. One Table serves one
// guest domain over its guest RAM (*mem.Memory); the package is pure Go and
// reaches the guest's virtual memory only through xen.VCPU.
//
// # Frames
//
// Xen allocates grant frames in hypervisor memory and maps them into the
// guest's physical address space where the guest asks. Here a grant frame
// is the guest RAM page at that address, adopted in place and zeroed when
// first placed (see Table.MapFrame). GNTTABOP_setup_table places frames at
// monitor-reserved addresses (Options.SetupFrames). The table size Xen
// calls nr_grant_frames starts at 1 and grows to cover every frame placed
// or asked for; refs in a frame that is not placed are invalid.
//
// # Backends
//
// A backend (blkback, netback in the monitor, acting as domain 0) calls
// Table.Acquire to validate a ref and get a bounds-checked slice of guest
// memory, and Mapping.Release when done (or, on a data path, AcquireHold
// and ReleaseHolds, the same without an allocation per grant); or
// Table.CopyFromGrant and Table.CopyToGrant for a one-off copy. While a ref is held its entry has
// GTF_reading (and GTF_writing for writes) set, so a well-behaved guest
// cannot revoke it; holders are counted per ref and kind, as Xen's pin
// counts, and the flags clear when the last holder leaves. A guest that
// rewrites a held entry changes nothing for the holders: they keep the
// memory they were given, which is still the guest's own RAM.
//
// # Differences from Xen
//
//   - The maximum version is 1: set_version(2) is -ENOSYS, as on a Xen
//     booted with gnttab=max-ver:1.
//   - map_grant_ref cannot map anything (every well-formed entry gets
//     GNTST_bad_domain) and unmap_grant_ref knows no handle.
//   - There are no hypercall continuations: batches run to the end.
//   - The default maximum is DefaultMaxFrames (32) frames, not 64.
package gnttab
