package boot

import (
	"bytes"
	"encoding/binary"
	"testing"
)

const (
	fuzzGuard = 64 << 10 // guard bytes on each side of guest RAM
	guardByte = 0x5a
)

// fuzzSeeds returns the valid test images and a few mutations of them.
func fuzzSeeds() [][]byte {
	var seeds [][]byte
	for _, class := range []int{32, 64} {
		for _, width := range []int{4, 8} {
			seeds = append(seeds, validImage(class, width).build().b)
		}
		ti := validImage(class, 8)
		ti.progs = ti.progs[:1]
		seeds = append(seeds, ti.build().b) // note only in sections
	}
	v := seeds[len(seeds)-1]
	seeds = append(seeds,
		v[:len(v)/2],                      // cut in the middle
		v[:64],                            // header only
		append([]byte{}, v[:len(v)-1]...), // last byte missing
	)
	flipped := append([]byte{}, v...)
	binary.LittleEndian.PutUint16(flipped[60:], 0xffff) // e_shnum
	seeds = append(seeds, flipped)
	return seeds
}

// FuzzLoad checks that Load never panics, never writes outside guest RAM, leaves RAM
// untouched when it fails, and keeps its promises when it succeeds.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s, "console=hvc0")
	}
	f.Add([]byte("\x7fELF"), "")
	zeros := make([]byte, MinRAM)
	// One buffer serves every call (calls within a fuzz worker are sequential):
	// allocating 2 MiB per input would dominate the run time.
	buf := bytes.Repeat([]byte{guardByte}, fuzzGuard+MinRAM+fuzzGuard)
	ram := buf[fuzzGuard : fuzzGuard+MinRAM : fuzzGuard+MinRAM]
	f.Fuzz(func(t *testing.T, image []byte, cmdline string) {
		clear(ram)
		img, err := Load(ram, image, Options{Cmdline: cmdline})
		for i, b := range buf[:fuzzGuard] {
			if b != guardByte {
				t.Fatalf("guard byte %d before RAM was written", fuzzGuard-i)
			}
		}
		for i, b := range buf[fuzzGuard+MinRAM:] {
			if b != guardByte {
				t.Fatalf("guard byte %d after RAM was written", i)
			}
		}
		if err != nil {
			if img != nil {
				t.Fatalf("Load returned an image and error %v", err)
			}
			if !bytes.Equal(ram, zeros) {
				t.Fatalf("RAM written although Load failed: %v", err)
			}
			return
		}
		if binary.LittleEndian.Uint32(ram[StartInfoAddr:]) != startInfoMagic {
			t.Fatalf("start_info magic missing")
		}
		inside := false
		for _, s := range img.Segments {
			if s.GPA+s.MemSize > ReservedBase(MinRAM) || s.FileSize > s.MemSize {
				t.Fatalf("bad segment %+v", s)
			}
			if uint64(img.Entry) >= s.GPA && uint64(img.Entry) < s.GPA+s.FileSize {
				inside = true
			}
		}
		if !inside {
			t.Fatalf("entry %#x outside segments %+v", img.Entry, img.Segments)
		}
	})
}
