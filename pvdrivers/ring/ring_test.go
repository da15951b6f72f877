package ring

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestSize(t *testing.T) {
	tests := []struct {
		window, entry int
		want          uint32
		err           bool
	}{
		{PageSize, 112, 32, false}, // blkif
		{PageSize, 12, 256, false}, // netif tx
		{PageSize, 8, 256, false},  // netif rx
		{2 * PageSize, 112, 64, false},
		{16 * PageSize, 112, 512, false},
		{PageSize, 4032, 1, false},
		{PageSize, 4033, 0, true},
		{PageSize, 0, 0, true},
		{0, 112, 0, true},
		{100, 8, 0, true},
	}
	for _, tt := range tests {
		got, err := Size(tt.window, tt.entry)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Size(%d, %d) = %d, %v; want %d, err %v", tt.window, tt.entry, got, err, tt.want, tt.err)
		}
		if err != nil && !errors.Is(err, ErrLayout) {
			t.Errorf("Size(%d, %d) error %v does not wrap ErrLayout", tt.window, tt.entry, err)
		}
	}
}

func TestMisalignedWindow(t *testing.T) {
	buf := make([]byte, 2*PageSize)
	if _, err := NewBackend(buf[1:PageSize+1], 16); !errors.Is(err, ErrLayout) {
		t.Fatalf("NewBackend on misaligned window: %v, want ErrLayout", err)
	}
}

func TestNotifyRule(t *testing.T) {
	tests := []struct {
		old, new, event uint32
		want            bool
	}{
		{0, 1, 1, true},
		{0, 1, 2, false},
		{0, 5, 3, true},
		{0, 5, 5, true},
		{0, 5, 6, false},
		{0, 5, 0, false}, // event at old: already passed
		{5, 5, 5, false}, // nothing pushed
		{0xfffffffe, 2, 0xffffffff, true},
		{0xfffffffe, 2, 0, true},
		{0xfffffffe, 2, 2, true},
		{0xfffffffe, 2, 3, false},
		{0xfffffffe, 2, 0xfffffffe, false},
		{0xffffffff, 0, 0, true},
		{10, 20, 100, false},
	}
	for _, tt := range tests {
		if got := notifyNeeded(tt.old, tt.new, tt.event); got != tt.want {
			t.Errorf("notifyNeeded(old %#x, new %#x, event %#x) = %v, want %v", tt.old, tt.new, tt.event, got, tt.want)
		}
	}
}

// pair returns a frontend and a backend over one page starting at start.
func pair(t *testing.T, pages, entry int, start uint32) (*Frontend, *Backend, []byte) {
	t.Helper()
	buf := make([]byte, pages*PageSize)
	f, err := NewFrontendAt(buf, entry, start)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBackendAt(buf, entry, start)
	if err != nil {
		t.Fatal(err)
	}
	return f, b, buf
}

func entryOf(v uint64, size int) []byte {
	e := make([]byte, size)
	binary.LittleEndian.PutUint64(e, v)
	return e
}

func TestRoundTripAcrossWrap(t *testing.T) {
	for _, start := range []uint32{0, 0xffffffff - 40, 0xfffffff0, 0xffffffff} {
		for _, pages := range []int{1, 2} {
			const entry = 112
			f, b, _ := pair(t, pages, entry, start)
			size := b.Size()
			var seq uint64
			var got uint64
			dst := make([]byte, int(size)*entry)
			for round := 0; round < 5; round++ {
				for f.Free() > 0 {
					if err := f.PutRequest(entryOf(seq, entry)); err != nil {
						t.Fatal(err)
					}
					seq++
				}
				if err := f.PutRequest(entryOf(0, entry)); !errors.Is(err, ErrFull) {
					t.Fatalf("PutRequest on full ring: %v", err)
				}
				f.PushRequests()
				n, err := b.Consume(dst)
				if err != nil || uint32(n) != size {
					t.Fatalf("start %#x: Consume = %d, %v; want %d", start, n, err, size)
				}
				for i := 0; i < n; i++ {
					v := binary.LittleEndian.Uint64(dst[i*entry:])
					if v != got {
						t.Fatalf("start %#x: request %d carries %d", start, got, v)
					}
					got++
					if err := b.PutResponse(entryOf(v, 16)); err != nil {
						t.Fatal(err)
					}
				}
				if err := b.PutResponse(entryOf(0, 16)); !errors.Is(err, ErrNoRequest) {
					t.Fatalf("extra PutResponse: %v", err)
				}
				b.PushResponses()
				n, err = f.Consume(dst)
				if err != nil || uint32(n) != size {
					t.Fatalf("frontend Consume = %d, %v", n, err)
				}
				if f.FinalCheckForResponses() {
					t.Fatal("FinalCheckForResponses with nothing pending")
				}
				if b.FinalCheckForRequests() {
					t.Fatal("FinalCheckForRequests with nothing pending")
				}
			}
		}
	}
}

// TestEventProtocol checks that a side that went idle through the final check
// is notified by the next push, and only then.
func TestEventProtocol(t *testing.T) {
	for _, start := range []uint32{0, 0xfffffffe} {
		f, b, _ := pair(t, 1, 64, start)
		dst := make([]byte, 64*64)
		// Initial req_event is start+1: the first push notifies.
		f.PutRequest(entryOf(1, 64))
		if !f.PushRequests() {
			t.Fatal("first push did not notify")
		}
		// The backend has not re-armed: the second push does not notify.
		f.PutRequest(entryOf(2, 64))
		if f.PushRequests() {
			t.Fatal("second push notified before the backend re-armed")
		}
		if n, _ := b.Consume(dst); n != 2 {
			t.Fatalf("consumed %d", n)
		}
		if b.FinalCheckForRequests() {
			t.Fatal("work after consuming everything")
		}
		// req_event is now req_cons+1: the next push notifies.
		f.PutRequest(entryOf(3, 64))
		f.PutRequest(entryOf(4, 64))
		if !f.PushRequests() {
			t.Fatal("push after re-arm did not notify")
		}
		// Responses: rsp_event is start+1 initially.
		b.Consume(dst)
		for i := 0; i < 4; i++ {
			b.PutResponse(entryOf(uint64(i), 16))
			if i == 1 {
				if !b.PushResponses() {
					t.Fatal("first response push did not notify")
				}
			}
		}
		if b.PushResponses() {
			t.Fatal("response push notified before the frontend re-armed")
		}
		if n, _ := f.Consume(dst); n != 4 {
			t.Fatalf("frontend consumed %d", n)
		}
		if f.FinalCheckForResponses() {
			t.Fatal("responses pending after consuming everything")
		}
		// A request pushed between the check and re-arm is caught by the
		// second half of the final check.
		f.PutRequest(entryOf(5, 64))
		f.PushRequests()
		if !b.FinalCheckForRequests() {
			t.Fatal("final check missed a pushed request")
		}
	}
}

// wrapStart is a start index a few entries before the u32 wrap.
var wrapStart = uint32(0xfffffff0)

func TestBackendHostile(t *testing.T) {
	tests := []struct {
		name string
		prod func(start, size uint32) uint32
	}{
		{"far ahead", func(s, n uint32) uint32 { return s + n + 1 }},
		{"way ahead", func(s, n uint32) uint32 { return s + 0x80000000 }},
		{"backwards", func(s, n uint32) uint32 { return s - 1 }},
	}
	for _, tt := range tests {
		for _, start := range []uint32{0, 0xfffffff8, 100} {
			_, b, buf := pair(t, 1, 112, start)
			binary.LittleEndian.PutUint32(buf[offReqProd:], tt.prod(start, b.Size()))
			dst := make([]byte, 112*32)
			if _, err := b.Consume(dst); !errors.Is(err, ErrBroken) {
				t.Errorf("%s start %#x: Consume err %v, want ErrBroken", tt.name, start, err)
			}
			if !b.HasUnconsumedRequests() {
				t.Errorf("%s: broken ring does not report work", tt.name)
			}
		}
	}
	// Exactly size requests is fine; after consuming some, moving prod back
	// behind req_cons is broken.
	_, b, buf := pair(t, 1, 112, wrapStart)
	binary.LittleEndian.PutUint32(buf[offReqProd:], wrapStart+32)
	dst := make([]byte, 112*4)
	if n, err := b.Consume(dst); n != 4 || err != nil {
		t.Fatalf("Consume = %d, %v", n, err)
	}
	binary.LittleEndian.PutUint32(buf[offReqProd:], wrapStart+2)
	if _, err := b.Consume(dst); !errors.Is(err, ErrBroken) {
		t.Fatalf("prod moved back: %v", err)
	}
	// With responses outstanding, a full ring's worth of new requests
	// beyond rsp_prod_pvt is too many.
	_, b, buf = pair(t, 1, 112, 0)
	binary.LittleEndian.PutUint32(buf[offReqProd:], 32)
	b.Consume(make([]byte, 112*32))
	b.PutResponse(nil)
	binary.LittleEndian.PutUint32(buf[offReqProd:], 34)
	if _, err := b.Consume(dst); !errors.Is(err, ErrBroken) {
		t.Fatalf("prod beyond the free slots: %v", err)
	}
}

// TestConsumeBoundedByResponses checks that the backend never consumes into
// a slot whose response is still pending.
func TestConsumeBoundedByResponses(t *testing.T) {
	f, b, _ := pair(t, 1, 112, 7)
	dst := make([]byte, 112*64)
	for f.Free() > 0 {
		f.PutRequest(nil)
	}
	f.PushRequests()
	if n, _ := b.Consume(dst); n != 32 {
		t.Fatalf("consumed %d", n)
	}
	if b.InFlight() != 32 {
		t.Fatalf("InFlight = %d", b.InFlight())
	}
	if n, err := b.Consume(dst); n != 0 || err != nil {
		t.Fatalf("second Consume = %d, %v", n, err)
	}
}

func TestFrontendHostile(t *testing.T) {
	f, _, buf := pair(t, 1, 112, wrapStart+14)
	f.PutRequest(nil)
	f.PushRequests()
	binary.LittleEndian.PutUint32(buf[offRspProd:], wrapStart+16) // more responses than requests
	if _, err := f.Consume(make([]byte, 112)); !errors.Is(err, ErrBroken) {
		t.Fatalf("Consume: %v", err)
	}
}

func TestEntrySizeErrors(t *testing.T) {
	f, b, _ := pair(t, 1, 16, 0)
	if err := f.PutRequest(make([]byte, 17)); !errors.Is(err, ErrEntrySize) {
		t.Errorf("PutRequest: %v", err)
	}
	f.PutRequest(nil)
	f.PushRequests()
	if _, err := b.Consume(make([]byte, 15)); !errors.Is(err, ErrEntrySize) {
		t.Errorf("Consume short dst: %v", err)
	}
	b.Consume(make([]byte, 16))
	if err := b.PutResponse(make([]byte, 17)); !errors.Is(err, ErrEntrySize) {
		t.Errorf("PutResponse: %v", err)
	}
}
