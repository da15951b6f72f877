package crash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// image builds an in-memory image of sectors sectors holding the records
// of l listed in seqs.
func image(l Layout, sectors uint64, seqs ...uint64) []byte {
	b := make([]byte, sectors*SectorSize)
	for _, seq := range seqs {
		lba := l.Start + seq*l.BS
		for i := uint64(0); i < l.BS; i++ {
			l.fill(b[(lba+i)*SectorSize:], seq, lba+i, i)
		}
	}
	return b
}

// TestSectorFormat pins the sector layout blkstream.c writes.
func TestSectorFormat(t *testing.T) {
	l := Layout{Seed: 0x1234, Start: 8, BS: 4, Count: 10}
	s := l.Sector(3, 21, 1)
	le := binary.LittleEndian
	if string(s[:8]) != "XLSTREAM" || le.Uint64(s[8:]) != 0x1234 || le.Uint64(s[16:]) != 3 ||
		le.Uint64(s[24:]) != 21 || le.Uint64(s[32:]) != 1 {
		t.Errorf("header words % x", s[:40])
	}
	if le.Uint64(s[40:]) != mix(0x1234^(21*64+5)) {
		t.Error("word 5 is not mix(seed ^ (sector*64 + 5))")
	}
	if le.Uint64(s[504:]) != fnv1a(s[:504]) {
		t.Error("word 63 is not the FNV-1a hash of bytes 0..503")
	}
	// FNV-1a 64 of "a" is a published test vector.
	if fnv1a([]byte("a")) != 0xaf63dc4c8601ec8c {
		t.Error("fnv1a test vector")
	}
}

func TestCheck(t *testing.T) {
	l := Layout{Seed: 77, Start: 2, BS: 2, Count: 8}
	const sectors = 2 + 2*8
	tornAt := func(b []byte, seq uint64) []byte { // zero the record's second sector
		lba := l.Start + seq*l.BS
		clear(b[(lba+1)*SectorSize : (lba+2)*SectorSize])
		return b
	}
	flip := func(b []byte, seq uint64) []byte {
		b[(l.Start+seq*l.BS)*SectorSize+100] ^= 1
		return b
	}
	swap := func(b []byte, a, c uint64) []byte { // records a and c trade places
		ra := slices.Clone(b[(l.Start+a*l.BS)*SectorSize : (l.Start+a*l.BS+l.BS)*SectorSize])
		copy(b[(l.Start+a*l.BS)*SectorSize:], b[(l.Start+c*l.BS)*SectorSize:(l.Start+c*l.BS+l.BS)*SectorSize])
		copy(b[(l.Start+c*l.BS)*SectorSize:], ra)
		return b
	}
	tests := []struct {
		name    string
		img     []byte
		flushed uint64
		skip    func(uint64) bool
		lost    []uint64
		corrupt []uint64
		beyond  [4]uint64
	}{
		{"all flushed", image(l, sectors, 0, 1, 2, 3, 4, 5, 6, 7), 8, nil, nil, nil, [4]uint64{}},
		{"nothing flushed, nothing written", image(l, sectors), 0, nil, nil, nil, [4]uint64{Absent: 8}},
		{"flushed prefix and some beyond", image(l, sectors, 0, 1, 2, 3, 5), 4, nil, nil, nil, [4]uint64{Intact: 1, Absent: 3}},
		{"a flushed record missing", image(l, sectors, 0, 2, 3), 4, nil, []uint64{1}, nil, [4]uint64{Absent: 4}},
		{"a missing record skipped", image(l, sectors, 0, 2, 3), 4, func(s uint64) bool { return s == 1 }, nil, nil, [4]uint64{Absent: 4}},
		{"torn beyond", tornAt(image(l, sectors, 0, 1, 2), 2), 2, nil, nil, nil, [4]uint64{Torn: 1, Absent: 5}},
		{"torn flushed", tornAt(image(l, sectors, 0, 1, 2), 1), 2, nil, []uint64{1}, nil, [4]uint64{Intact: 1, Absent: 5}},
		{"bit flip", flip(image(l, sectors, 0, 1, 2, 3), 3), 2, nil, nil, []uint64{3}, [4]uint64{Intact: 1, Corrupt: 1, Absent: 4}},
		{"records swapped", swap(image(l, sectors, 0, 1, 2, 3), 0, 3), 4, nil, []uint64{0, 3}, []uint64{0, 3}, [4]uint64{Absent: 4}},
		{"image shorter than the stream", image(l, 2+2*3, 0, 1, 2), 3, nil, nil, nil, [4]uint64{Absent: 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Check(bytes.NewReader(tc.img), l, tc.flushed, tc.skip)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(c.Lost, tc.lost) || !slices.Equal(c.Corrupt, tc.corrupt) || c.Beyond != tc.beyond ||
				c.NumLost != uint64(len(tc.lost)) || c.NumCorrupt != uint64(len(tc.corrupt)) {
				t.Errorf("got %s lost %v corrupt %v beyond %v; want lost %v corrupt %v beyond %v",
					c, c.Lost, c.Corrupt, c.Beyond, tc.lost, tc.corrupt, tc.beyond)
			}
		})
	}
}

func TestCheckBadLayout(t *testing.T) {
	for _, l := range []Layout{
		{BS: 0, Count: 1},
		{BS: 129, Count: 1},
		{BS: 8, Count: 1 << 62},
		{BS: 1, Start: 1 << 62, Count: 1},
	} {
		if _, err := Check(bytes.NewReader(nil), l, 0, nil); !errors.Is(err, errLayout) {
			t.Errorf("%+v: err %v, want errLayout", l, err)
		}
	}
	if _, err := Check(bytes.NewReader(nil), Layout{BS: 1, Count: 2}, 3, nil); !errors.Is(err, errLayout) {
		t.Errorf("flushed past the count: err %v", err)
	}
}

// FuzzCheck feeds arbitrary images (what a guest, or a crash, left on disk)
// to Check: it must not panic, and its counts must add up.
func FuzzCheck(f *testing.F) {
	l := Layout{Seed: 9, Start: 1, BS: 2, Count: 6}
	f.Add(image(l, 13, 0, 1, 2, 3, 4, 5), uint8(6))
	f.Add(image(l, 13, 0, 2, 5), uint8(3))
	f.Add(image(l, 5, 0, 1), uint8(0))
	f.Add([]byte("XLSTREAM"), uint8(1))
	f.Add([]byte{}, uint8(2))
	f.Fuzz(func(t *testing.T, img []byte, flushed uint8) {
		fl := uint64(flushed) % (l.Count + 1)
		c, err := Check(bytes.NewReader(img), l, fl, nil)
		if err != nil {
			t.Fatal(err)
		}
		var beyond uint64
		for _, n := range c.Beyond {
			beyond += n
		}
		if beyond != l.Count-fl || c.NumLost > fl || c.NumCorrupt > l.Count {
			t.Errorf("counts do not add up: %s, beyond %v", c, c.Beyond)
		}
	})
}
