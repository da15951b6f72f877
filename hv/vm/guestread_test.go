package vm

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// guestMem is guest memory for the readers: data mapped at base, nothing
// else.
func guestMem(base uint64, data []byte) copyInFunc {
	return func(gva uint64, dst []byte) error {
		if gva < base || gva-base > uint64(len(data)) || uint64(len(dst)) > uint64(len(data))-(gva-base) {
			return errors.New("unmapped")
		}
		copy(dst, data[gva-base:])
		return nil
	}
}

func TestReadGuestString(t *testing.T) {
	const base = 0x10000
	page := make([]byte, 4096)
	copy(page, "hello\x00")
	copy(page[4090:], "abcdef") // runs into the unmapped page after
	for _, c := range []struct {
		name string
		gva  uint64
		max  int
		want string
	}{
		{"plain", base, 256, "hello"},
		{"cut by max", base, 3, "hel"},
		{"null pointer", 0, 256, ""},
		{"unmapped", 0x5000, 256, "<bad address>"},
		{"cut by an unmapped page", base + 4090, 256, "abcdef"},
		{"max within the last chunk", base + 4090, 4, "abcd"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := readGuestString(guestMem(base, page), c.gva, c.max); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestReadGuestSeries(t *testing.T) {
	const base = 0x10000
	mk := func(count uint64, vals ...uint64) []byte {
		b := binary.LittleEndian.AppendUint64(nil, count)
		for _, v := range vals {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
		return b
	}
	long := make([]uint64, 1500) // crosses chunk boundaries
	for i := range long {
		long[i] = uint64(i) * 7
	}
	for _, c := range []struct {
		name  string
		mem   []byte
		want  []uint64
		fault string
	}{
		{"three", mk(3, 1, 2, 3), []uint64{1, 2, 3}, ""},
		{"empty", mk(0), []uint64{}, ""},
		{"long", mk(1500, long...), long, ""},
		{"values beyond memory", mk(maxReportSeries, 1, 2), nil, "bad series address"},
		{"too long", mk(maxReportSeries + 1), nil, "series too long"},
		{"huge count", mk(^uint64(0)), nil, "series too long"},
		{"no header", []byte{1, 2, 3}, nil, "bad series address"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, fault := readGuestSeries(guestMem(base, c.mem), base)
			if fault != c.fault || len(got) != len(c.want) {
				t.Fatalf("got %d values, fault %q; want %d, %q", len(got), fault, len(c.want), c.fault)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("value %d = %d, want %d", i, got[i], c.want[i])
				}
			}
		})
	}
}

// FuzzGuestReport feeds arbitrary guest memory and addresses to the
// test-protocol readers: no panic, strings within max, series no longer
// than the memory holds.
func FuzzGuestReport(f *testing.F) {
	f.Add([]byte("file.c\x00message\x00"), uint64(0x10000), uint16(256))
	f.Add(binary.LittleEndian.AppendUint64(nil, 2), uint64(0x10000), uint16(0))
	f.Add(binary.LittleEndian.AppendUint64(nil, maxReportSeries), uint64(0x10000), uint16(1024))
	f.Add([]byte(strings.Repeat("x", 5000)), uint64(0x10ff8), uint16(1024))
	f.Add([]byte{}, uint64(0xffffffffffffffff), uint16(1))
	f.Fuzz(func(t *testing.T, data []byte, gva uint64, max uint16) {
		read := guestMem(0x10000, data)
		if s := readGuestString(read, gva, int(max)); len(s) > int(max) && s != "<bad address>" {
			t.Fatalf("string of %d bytes for max %d", len(s), max)
		}
		v, fault := readGuestSeries(read, gva)
		if fault == "" && uint64(len(v))*8+8 > uint64(len(data)) {
			t.Fatalf("%d values from %d bytes of memory", len(v), len(data))
		}
	})
}
