package blkback

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/xenolith/xenolith/internal/iouring"
	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// TestServeRing serves a ring end to end on each engine: a frontend issues
// random reads, writes, flushes (with and without data) and discards with a
// shadow copy of the disk, the backend serves them, and every read and the
// final disk must match the shadow.
func TestServeRing(t *testing.T) {
	tests := []struct {
		name  string
		file  bool
		opts  ServeOptions
		uring bool
	}{
		{"pool, memory storage", false, ServeOptions{Workers: 4}, false},
		{"pool, file", true, ServeOptions{Workers: 4, NoUring: true}, false},
		{"io_uring, file", true, ServeOptions{}, true},
		{"io_uring, file, no polling", true, ServeOptions{Spin: -1}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.uring {
				if err := iouring.Available(); err != nil {
					t.Skipf("io_uring: %v", err)
				}
			}
			var st Storage
			var contents func() []byte
			if tc.file {
				p := image(t, testSectors)
				f, err := OpenFile(p, FileOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				st = f
				contents = func() []byte { b, _ := os.ReadFile(p); return b }
			} else {
				ms := &memStorage{t: t, data: make([]byte, testSectors*SectorSize)}
				st = ms
				contents = func() []byte { return ms.data }
			}
			serveRing(t, st, contents, tc.opts)
		})
	}
}

func serveRing(t *testing.T, st Storage, contents func() []byte, opts ServeOptions) {
	const pages = 64
	g := newFakeGrants(t, pages+1) // page 0 holds the ring
	d, err := NewDisk(st, g, allFeatures)
	if err != nil {
		t.Fatal(err)
	}
	ringBuf := make([]byte, PageSize)
	front, err := ring.NewFrontendAt(ringBuf, RequestSize, 0xfffffff0)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ring.NewBackendAt(ringBuf, RequestSize, 0xfffffff0)
	if err != nil {
		t.Fatal(err)
	}
	kickBack, kickFront := make(chan struct{}, 1), make(chan struct{}, 1)
	ch := &fakeChannel{in: kickBack, out: kickFront}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ServeWith(ctx, back, d, ch, opts) }()

	shadow := make([]byte, testSectors*SectorSize)
	rng := rand.New(rand.NewPCG(1, 2))
	type pending struct {
		op          uint8
		page        uint32
		sector, cnt uint64
	}
	inflight := map[uint64]pending{}
	busy := map[uint32]bool{}
	var id uint64
	rb := make([]byte, RequestSize*int(front.Size()))
	deadline := time.After(30 * time.Second)
	for issued := 0; issued < 3000 || len(inflight) > 0; {
		for issued < 3000 && front.Free() > 0 {
			page := uint32(1 + rng.IntN(pages))
			if busy[page] {
				break
			}
			cnt := uint64(1 + rng.IntN(8))
			sector := uint64(rng.IntN(testSectors - int(cnt) + 1))
			op := []uint8{OpRead, OpWrite, OpRead, OpWrite, OpFlushDiskcache, OpDiscard}[rng.IntN(6)]
			plainFlush := op == OpFlushDiskcache && rng.IntN(2) == 0
			changes := op != OpRead && !plainFlush
			// Avoid overlapping changes in flight so the shadow is exact.
			conflict := false
			for _, p := range inflight {
				if (changes || p.op != OpRead) && sector < p.sector+p.cnt && p.sector < sector+cnt {
					conflict = true
				}
			}
			if conflict {
				break
			}
			pg := g.mem[int(page)*PageSize : int(page)*PageSize+int(cnt)*SectorSize]
			id++
			seg := Segment{page, 0, uint8(cnt - 1)}
			switch {
			case op == OpDiscard:
				front.PutRequest(entry(Request{Operation: OpDiscard, ID: id, Sector: sector, NrSectors: cnt}))
				clear(shadow[sector*SectorSize : (sector+cnt)*SectorSize])
			case plainFlush:
				front.PutRequest(entry(Request{Operation: OpFlushDiskcache, ID: id}))
				cnt = 0
			default:
				if op != OpRead {
					for i := range pg {
						pg[i] = byte(rng.Uint32())
					}
					copy(shadow[sector*SectorSize:], pg)
				}
				front.PutRequest(rw(op, id, sector, seg))
				busy[page] = true
			}
			inflight[id] = pending{op, page, sector, cnt}
			issued++
		}
		if front.PushRequests() {
			select {
			case kickBack <- struct{}{}:
			default:
			}
		}
		n, err := front.Consume(rb)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			r := DecodeResponse(rb[i*RequestSize:])
			p, ok := inflight[r.ID]
			if !ok || r.Status != StatusOkay || r.Operation != p.op {
				t.Fatalf("response %+v (known %v, sent %+v)", r, ok, p)
			}
			if p.op == OpRead {
				got := g.mem[int(p.page)*PageSize : int(p.page)*PageSize+int(p.cnt)*SectorSize]
				if !bytes.Equal(got, shadow[p.sector*SectorSize:(p.sector+p.cnt)*SectorSize]) {
					t.Fatalf("read %d of sectors %d+%d differs from the shadow", r.ID, p.sector, p.cnt)
				}
			}
			delete(inflight, r.ID)
			if p.op != OpDiscard && p.cnt > 0 {
				delete(busy, p.page)
			}
		}
		if n > 0 || front.FinalCheckForResponses() {
			continue
		}
		select {
		case <-kickFront:
		case <-deadline:
			t.Fatalf("stuck with %d requests in flight", len(inflight))
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if !bytes.Equal(contents(), shadow) {
		t.Fatal("disk differs from the shadow")
	}
	g.checkReleased()
}

func TestAdaptSpin(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name                 string
		window, limit, slept time.Duration
		want                 time.Duration
	}{
		{"busy guest doubles", 50 * time.Microsecond, ms, 300 * time.Microsecond, 100 * time.Microsecond},
		{"doubling stops at the limit", 800 * time.Microsecond, ms, 2 * ms, ms},
		{"idle guest halves", ms, ms, time.Second, 500 * time.Microsecond},
		{"halving stops at the floor", spinFloor, ms, time.Second, spinFloor},
		{"floor never above the limit", 4 * time.Microsecond, 4 * time.Microsecond, time.Second, 4 * time.Microsecond},
		{"polling off", 0, -1, time.Microsecond, 0},
	}
	for _, tc := range tests {
		if got := adaptSpin(tc.window, tc.limit, tc.slept); got != tc.want {
			t.Errorf("%s: adaptSpin(%v, %v, %v) = %v, want %v", tc.name, tc.window, tc.limit, tc.slept, got, tc.want)
		}
	}
}
