package ring

import (
	"encoding/binary"
	"errors"
	"testing"
)

// FuzzBackendConsume feeds arbitrary ring contents and a private start index
// to a backend: Consume and the checks must never panic, never return more
// than the ring can hold, and either succeed or report ErrBroken.
func FuzzBackendConsume(f *testing.F) {
	seed := func(prod, start uint32, pages uint8) {
		b := make([]byte, 64)
		binary.LittleEndian.PutUint32(b, prod)
		f.Add(b, start, pages, uint8(112))
	}
	seed(0, 0, 1)
	seed(32, 0, 1)
	seed(33, 0, 1)
	seed(0xffffffff, 0, 1)
	seed(2, 0xfffffffe, 2)
	seed(0x80000000, 0x7fffffff, 1)
	f.Add([]byte{}, uint32(0), uint8(0), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, start uint32, pages, entry uint8) {
		np := int(pages%4) + 1
		buf := make([]byte, np*PageSize)
		copy(buf, data)
		b, err := NewBackendAt(buf, int(entry), start)
		if err != nil {
			if !errors.Is(err, ErrLayout) {
				t.Fatalf("NewBackendAt: %v", err)
			}
			return
		}
		dst := make([]byte, int(b.Size())*b.EntrySize())
		for round := 0; round < 3; round++ {
			b.HasUnconsumedRequests()
			n, err := b.Consume(dst)
			if err != nil {
				if !errors.Is(err, ErrBroken) {
					t.Fatalf("Consume: %v", err)
				}
				return
			}
			if b.InFlight() > b.Size() || uint32(n) > b.Size() {
				t.Fatalf("consumed %d, %d in flight, ring of %d", n, b.InFlight(), b.Size())
			}
			for i := 0; i < n && i%2 == 0; i++ {
				if err := b.PutResponse(dst[:1]); err != nil {
					t.Fatal(err)
				}
			}
			b.PushResponses()
			b.FinalCheckForRequests()
			// The guest moves req_prod between rounds.
			binary.LittleEndian.PutUint32(buf, binary.LittleEndian.Uint32(buf)+uint32(len(data)))
		}
	})
}
