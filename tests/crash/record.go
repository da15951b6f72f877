package crash

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// SectorSize is the size of one disk sector in bytes.
const SectorSize = 512

// Magic is word 0 of every sector blkstream writes ("XLSTREAM" read as a
// little-endian u64).
const Magic = 0x4d41455254534c58

// errLayout reports a Layout that cannot describe a stream.
var errLayout = errors.New("crash: bad stream layout")

// Layout describes where a blkstream run put its records
// (guestkit/programs/blkstream.c): record n occupies sectors
// Start+n*BS .. Start+n*BS+BS-1.
type Layout struct {
	Seed  uint64 // the run's seed (word 1 of every sector)
	Start uint64 // first sector of record 0
	BS    uint64 // sectors per record, 1..128
	Count uint64 // records in the stream
}

// Sector returns the content blkstream writes at sector lba as part of
// record seq (index i within the record).
func (l Layout) Sector(seq, lba, i uint64) []byte {
	b := make([]byte, SectorSize)
	l.fill(b, seq, lba, i)
	return b
}

// fill writes the sector's content into b (SectorSize bytes).
func (l Layout) fill(b []byte, seq, lba, i uint64) {
	le := binary.LittleEndian
	le.PutUint64(b[0:], Magic)
	le.PutUint64(b[8:], l.Seed)
	le.PutUint64(b[16:], seq)
	le.PutUint64(b[24:], lba)
	le.PutUint64(b[32:], i)
	for j := uint64(5); j < 63; j++ {
		le.PutUint64(b[8*j:], mix(l.Seed^(lba*64+j)))
	}
	le.PutUint64(b[504:], fnv1a(b[:504]))
}

// mix is the splitmix64 finaliser after adding the golden-ratio increment.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// fnv1a is the 64-bit FNV-1a hash.
func fnv1a(p []byte) uint64 {
	h := uint64(0xcbf29ce484222325)
	for _, c := range p {
		h = (h ^ uint64(c)) * 0x100000001b3
	}
	return h
}

// State classifies one record found in an image.
type State int

// Record states.
const (
	Intact  State = iota // every sector holds exactly what blkstream wrote
	Absent               // every sector is zero (never written)
	Torn                 // some sectors intact, the others zero
	Corrupt              // some sector is neither zero nor the expected content
)

func (s State) String() string {
	switch s {
	case Intact:
		return "intact"
	case Absent:
		return "absent"
	case Torn:
		return "torn"
	case Corrupt:
		return "corrupt"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// Census is what Check found in an image.
type Census struct {
	// Flushed is the number of records the guest was told are durable
	// (records 0..Flushed-1).
	Flushed uint64
	// Lost lists flushed records that are not intact (at most 16 kept);
	// NumLost counts them all. Both must be empty.
	Lost    []uint64
	NumLost uint64
	// Corrupt lists records anywhere in the stream holding a sector that
	// blkstream never wrote there (at most 16 kept); NumCorrupt counts
	// them all.
	Corrupt    []uint64
	NumCorrupt uint64
	// Beyond counts the records after Flushed by state: unflushed writes
	// may or may not have reached the image.
	Beyond [4]uint64
}

func (c *Census) String() string {
	return fmt.Sprintf("%d flushed, %d lost, %d corrupt; beyond: %d intact, %d torn, %d absent",
		c.Flushed, c.NumLost, c.NumCorrupt, c.Beyond[Intact], c.Beyond[Torn], c.Beyond[Absent])
}

// maxListed bounds Census.Lost and Census.Corrupt.
const maxListed = 16

// Check reads the stream's records from img and classifies them; records
// below flushed must be intact. skip, if not nil, names records whose write
// the guest saw fail: they are not counted as lost (their content is
// undefined) but must still not be corrupt. Records past the end of img
// count as absent.
func Check(img io.ReaderAt, l Layout, flushed uint64, skip func(seq uint64) bool) (*Census, error) {
	const maxSectors = math.MaxInt64 / SectorSize
	if l.BS == 0 || l.BS > 128 || flushed > l.Count || l.Start > maxSectors ||
		l.Count > (maxSectors-l.Start)/l.BS {
		return nil, fmt.Errorf("%w: start %d, bs %d, %d flushed of %d", errLayout, l.Start, l.BS, flushed, l.Count)
	}
	c := &Census{Flushed: flushed}
	got := make([]byte, l.BS*SectorSize)
	want := make([]byte, SectorSize)
	for seq := uint64(0); seq < l.Count; seq++ {
		lba := l.Start + seq*l.BS
		n, err := img.ReadAt(got, int64(lba)*SectorSize)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read record %d: %w", seq, err)
		}
		clear(got[n:])
		st := l.classify(got, want, seq, lba)
		if st == Corrupt {
			c.NumCorrupt++
			if len(c.Corrupt) < maxListed {
				c.Corrupt = append(c.Corrupt, seq)
			}
		}
		switch {
		case seq >= flushed:
			c.Beyond[st]++
		case st != Intact && (skip == nil || !skip(seq)):
			c.NumLost++
			if len(c.Lost) < maxListed {
				c.Lost = append(c.Lost, seq)
			}
		}
	}
	return c, nil
}

// classify returns the state of record seq read into got; want is scratch.
func (l Layout) classify(got, want []byte, seq, lba uint64) State {
	var ok, zero int
	for i := uint64(0); i < l.BS; i++ {
		s := got[i*SectorSize : (i+1)*SectorSize]
		if isZero(s) {
			zero++
			continue
		}
		l.fill(want, seq, lba+i, i)
		if !bytes.Equal(s, want) {
			return Corrupt
		}
		ok++
	}
	switch {
	case ok == int(l.BS):
		return Intact
	case zero == int(l.BS):
		return Absent
	}
	return Torn
}

// zeroSector is a sector of zeros for isZero.
var zeroSector [SectorSize]byte

// isZero reports whether a sector is all zeros (bytes.Equal is fast, also
// under -race, where a byte loop over a 32 MiB image is not).
func isZero(b []byte) bool { return bytes.Equal(b, zeroSector[:]) }
