package guestkit

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/xenolith/xenolith/hv/vm"
)

// TestBlkcheckMultiPageRing runs blkcheck over rings of 2 and 4 pages
// (ring-page-order 1 and 2, asked for on the command line as Linux's
// xen_blkfront.max_ring_page_order): the frontend publishes ring-ref0..N,
// the backend maps the pages as one ring of 64 or 128 entries, and every
// pattern must verify.
func TestBlkcheckMultiPageRing(t *testing.T) {
	for _, tc := range []struct {
		order   int
		pages   string
		entries string
	}{
		{1, "2", "64"},
		{2, "4", "128"},
	} {
		t.Run(tc.pages+" pages", func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "disk.img")
			if err := os.WriteFile(img, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(img, 8<<20); err != nil {
				t.Fatal(err)
			}
			args := "sectors=1024 depth=32 xen_blkfront.max_ring_page_order=" + strconv.Itoa(tc.order)
			out := runBlkcheck(t, img, false, args)
			if out.Result.Reason != vm.ReasonPoweroff || !regexp.MustCompile(`blkcheck: \d+ passed, 0 failed`).MatchString(out.Console) {
				t.Fatalf("result %s\nconsole:\n%s", out.Result, out.Console)
			}
			want := "ring of " + tc.pages + " pages, " + tc.entries + " entries"
			if !strings.Contains(out.Console, want) {
				t.Errorf("console does not say %q:\n%s", want, out.Console)
			}
		})
	}
}
