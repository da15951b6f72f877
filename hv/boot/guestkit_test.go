package boot

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoadGuestkit loads the real guestkit kernels (hello.elf and any other program)
// when `make -C guestkit` has built them.
func TestLoadGuestkit(t *testing.T) {
	paths, err := filepath.Glob("../../guestkit/build/*.elf")
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Skip("../../guestkit/build/hello.elf not built (run make -C guestkit)")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			image, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ram := make([]byte, 64<<20)
			img, err := Load(ram, image, Options{Cmdline: "guestkit test"})
			if err != nil {
				t.Fatalf("Load(%s): %v", path, err)
			}
			if len(img.Segments) == 0 || img.StartInfo != StartInfoAddr {
				t.Errorf("Load(%s) = %+v", path, img)
			}
			t.Logf("ELF%d, entry %#x, segments %+v", img.Class, img.Entry, img.Segments)
		})
	}
}
