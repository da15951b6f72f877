package guestkit

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
)

// blkPattern is blkcheck's content of sector s (programs/blkcheck.c):
// words s, seed, splitmix64(seed ^ (s*64+j)) for j = 2..62, then FNV-1a 64
// of the first 504 bytes.
func blkPattern(s, seed uint64) []byte {
	mix := func(x uint64) uint64 {
		x += 0x9e3779b97f4a7c15
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		return x ^ (x >> 31)
	}
	b := make([]byte, 512)
	binary.LittleEndian.PutUint64(b[0:], s)
	binary.LittleEndian.PutUint64(b[8:], seed)
	for j := uint64(2); j < 63; j++ {
		binary.LittleEndian.PutUint64(b[8*j:], mix(seed^(s*64+j)))
	}
	h := uint64(0xcbf29ce484222325)
	for _, c := range b[:504] {
		h = (h ^ uint64(c)) * 0x100000001b3
	}
	binary.LittleEndian.PutUint64(b[504:], h)
	return b
}

// runBlkcheck boots blkcheck with the image attached as vbd 0.
func runBlkcheck(t *testing.T, img string, ro bool, args string) *Outcome {
	t.Helper()
	var disk *devices.Disk
	out := boot(t, RunOptions{Program: "blkcheck", Cmdline: args, Setup: func(m *vm.VM) error {
		f, err := devices.OpenDisk(devices.DiskSpec{Path: img, ReadOnly: ro})
		if err != nil {
			return err
		}
		disk, err = devices.AttachDisk(m, 0, f, nil)
		return err
	}})
	if disk != nil {
		disk.Close()
	}
	return out
}

// TestBlkcheckIntegrity writes patterns through the PV block path and
// verifies the image from the host with its own reading of the file, with
// grants per request and with persistent grants (which the backend reads
// and writes through io_uring's registered buffers).
func TestBlkcheckIntegrity(t *testing.T) {
	for _, persistent := range []bool{false, true} {
		name, args := "per-request grants", "sectors=1024 depth=8"
		if persistent {
			name, args = "persistent grants", args+" xen_blkfront.feature_persistent=1"
		}
		t.Run(name, func(t *testing.T) { blkcheckIntegrity(t, args, persistent) })
	}
}

func blkcheckIntegrity(t *testing.T, args string, persistent bool) {
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 16<<20); err != nil { // sparse
		t.Fatal(err)
	}
	out := runBlkcheck(t, img, false, args)
	if out.Result.Reason != vm.ReasonPoweroff || !regexp.MustCompile(`blkcheck: \d+ passed, 0 failed`).MatchString(out.Console) {
		t.Fatalf("result %s\nconsole:\n%s", out.Result, out.Console)
	}
	seed, ok1 := out.Metric("blk_seed")
	n, ok2 := out.Metric("blk_pattern_sectors")
	last, ok3 := out.Metric("blk_last_sector")
	if !ok1 || !ok2 || !ok3 || n == 0 {
		t.Fatalf("metrics missing: seed %v n %d (%v) last %v", ok1, n, ok2, ok3)
	}
	p, _ := out.Metric("blk_persistent")
	hits, _ := out.Metric("blk_pgrant_hits")
	if (p == 1) != persistent || (persistent && hits == 0) {
		t.Errorf("feature-persistent in use %d with %d cache hits; offered %v", p, hits, persistent)
	}
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	check := func(s uint64) {
		if got := data[s*512 : s*512+512]; !bytes.Equal(got, blkPattern(s, seed)) {
			t.Errorf("sector %d in the image differs from the pattern the guest wrote", s)
		}
	}
	for s := uint64(0); s < n; s++ {
		check(s)
	}
	check(last)
}

// TestBlkcheckReadOnly checks that a read-only disk rejects writes and the
// guest sees the error.
func TestBlkcheckReadOnly(t *testing.T) {
	img := filepath.Join(t.TempDir(), "ro.img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	out := runBlkcheck(t, img, true, "sectors=64")
	if out.Result.Reason != vm.ReasonPoweroff || !regexp.MustCompile(`blkcheck: \d+ passed, 0 failed`).MatchString(out.Console) {
		t.Fatalf("result %s\nconsole:\n%s", out.Result, out.Console)
	}
	data, _ := os.ReadFile(img)
	if !bytes.Equal(data, make([]byte, 1<<20)) {
		t.Error("a read-only image changed")
	}
}
