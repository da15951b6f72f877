package gnttab

import "testing"

// TestWireLayout pins the sizes and offsets the handlers use against
// xen/include/public/grant_table.h (x86-64, checked with gcc's
// sizeof/offsetof at xen-project/xen c447b7308b13). The expected values are
// written out here, not derived from the constants under test.
func TestWireLayout(t *testing.T) {
	for _, c := range []struct {
		what      string
		got, want int
	}{
		{"sizeof(grant_entry_v1)", EntrySize, 8},
		{"grant_entry_v1.domid", entryDomID, 2},
		{"grant_entry_v1.frame", entryFrame, 4},
		{"entries per frame", EntriesPerFrame, 512},
		{"sizeof(gnttab_map_grant_ref)", mapSize, 32},
		{"gnttab_map_grant_ref.flags", mapFlags, 8},
		{"gnttab_map_grant_ref.status", mapStatus, 18},
		{"sizeof(gnttab_unmap_grant_ref)", unmapSize, 24},
		{"gnttab_unmap_grant_ref.status", unmapStatus, 20},
		{"sizeof(gnttab_setup_table)", setupSize, 24},
		{"gnttab_setup_table.dom", setupDom, 0},
		{"gnttab_setup_table.nr_frames", setupNrFrames, 4},
		{"gnttab_setup_table.status", setupStatus, 8},
		{"gnttab_setup_table.frame_list", setupFrameList, 16},
		{"sizeof(xen_pfn_t)", pfnSize, 8},
		{"sizeof(gnttab_copy)", copySize, 40},
		{"gnttab_copy.source", copySource, 0},
		{"gnttab_copy.dest", copyDest, 16},
		{"gnttab_copy_ptr.u", copyPtrU, 0},
		{"gnttab_copy_ptr.domid", copyPtrDomID, 8},
		{"gnttab_copy_ptr.offset", copyPtrOffset, 10},
		{"gnttab_copy.len", copyLen, 32},
		{"gnttab_copy.flags", copyFlags, 34},
		{"gnttab_copy.status", copyStatus, 36},
		{"sizeof(gnttab_query_size)", querySize, 16},
		{"gnttab_query_size.dom", queryDom, 0},
		{"gnttab_query_size.nr_frames", queryNrFrames, 4},
		{"gnttab_query_size.max_nr_frames", queryMaxFrames, 8},
		{"gnttab_query_size.status", queryStatus, 12},
		{"sizeof(gnttab_set_version)", setVersionSize, 4},
		{"sizeof(gnttab_get_version)", getVersionSize, 8},
		{"gnttab_get_version.dom", getVersionDom, 0},
		{"gnttab_get_version.version", getVersionVer, 4},
		{"sizeof(gnttab_swap_grant_ref)", swapSize, 12},
		{"gnttab_swap_grant_ref.ref_a", swapRefA, 0},
		{"gnttab_swap_grant_ref.ref_b", swapRefB, 4},
		{"gnttab_swap_grant_ref.status", swapStatus, 8},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
	for _, c := range []struct {
		what      string
		got, want int64
	}{
		{"GTF_permit_access", GTFPermitAccess, 1},
		{"GTF_type_mask", GTFTypeMask, 3},
		{"GTF_readonly", GTFReadonly, 4},
		{"GTF_reading", GTFReading, 8},
		{"GTF_writing", GTFWriting, 16},
		{"GTF_sub_page", GTFSubPage, 256},
		{"GNTTABOP_copy", GnttabopCopy, 5},
		{"GNTTABOP_swap_grant_ref", GnttabopSwapGrantRef, 11},
		{"GNTMAP_contains_pte", GntmapContainsPTE, 16},
		{"GNTCOPY_dest_gref", GntcopyDestGref, 2},
		{"GNTST_bad_copy_arg", GntstBadCopyArg, -10},
		{"GNTST_no_space", GntstNoSpace, -13},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.what, c.got, c.want)
		}
	}
}
