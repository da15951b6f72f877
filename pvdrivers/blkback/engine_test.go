package blkback

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xenolith/xenolith/pvdrivers/ring"
)

// slowStorage delays writes and checks, at each flush, that every write
// the test marked as issued before the flush has completed.
type slowStorage struct {
	*memStorage
	completed atomic.Int64 // writes completed
	mustHave  atomic.Int64 // writes issued before the flush being submitted
	violation atomic.Bool
}

func (s *slowStorage) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
	n, err := s.memStorage.WriteAt(p, off)
	s.completed.Add(1)
	return n, err
}

func (s *slowStorage) Flush() error {
	if s.completed.Load() < s.mustHave.Load() {
		s.violation.Store(true)
	}
	return s.memStorage.Flush()
}

// TestEngineFlushOrdering interleaves slow writes and flushes on a pool of
// workers: each flush must run only after every earlier write completed.
func TestEngineFlushOrdering(t *testing.T) {
	ms := &memStorage{t: t, data: make([]byte, testSectors*SectorSize)}
	st := &slowStorage{memStorage: ms}
	g := newFakeGrants(t, 64)
	d, err := NewDisk(st, g, allFeatures)
	if err != nil {
		t.Fatal(err)
	}
	e := NewEngine(d, 8, 32)
	var wg sync.WaitGroup
	done := func(r Response) {
		if r.Status != StatusOkay {
			t.Errorf("request %d: status %d", r.ID, r.Status)
		}
		wg.Done()
	}
	writes := int64(0)
	for i := 0; i < 400; i++ {
		wg.Add(1)
		if i%10 == 9 {
			// All writes so far must be complete when this flush runs.
			st.mustHave.Store(writes)
			e.Submit(entry(Request{Operation: OpFlushDiskcache, ID: uint64(i)}), done)
			e.Drain() // keep mustHave valid for this flush only
			continue
		}
		e.Submit(rw(OpWrite, uint64(i), uint64(i%testSectors), Segment{uint32(i % 64), 0, 0}), done)
		writes++
	}
	wg.Wait()
	e.Close()
	if st.violation.Load() {
		t.Fatal("a flush ran before an earlier write completed")
	}
	g.checkReleased()
}

// TestEngineRing serves a ring end to end: a frontend issues random reads
// and writes with a shadow copy of the disk, a backend loop feeds the engine,
// and every read must match the shadow.
func TestEngineRing(t *testing.T) {
	const pages = 64
	ms := &memStorage{t: t, data: make([]byte, testSectors*SectorSize)}
	g := newFakeGrants(t, pages+1) // page 0 holds the ring
	d, err := NewDisk(ms, g, allFeatures)
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
	go func() { served <- Serve(ctx, back, d, ch, 4) }()

	shadow := make([]byte, len(ms.data))
	rng := rand.New(rand.NewPCG(1, 2))
	type pending struct {
		write       bool
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
			write := rng.IntN(2) == 0
			// Avoid overlapping writes in flight so the shadow is exact.
			conflict := false
			for _, p := range inflight {
				if (write || p.write) && sector < p.sector+p.cnt && p.sector < sector+cnt {
					conflict = true
				}
			}
			if conflict {
				break
			}
			op := uint8(OpRead)
			pg := g.mem[int(page)*PageSize : int(page)*PageSize+int(cnt)*SectorSize]
			if write {
				op = OpWrite
				for i := range pg {
					pg[i] = byte(rng.Uint32())
				}
				copy(shadow[sector*SectorSize:], pg)
			}
			id++
			front.PutRequest(rw(op, id, sector, Segment{page, 0, uint8(cnt - 1)}))
			inflight[id] = pending{write, page, sector, cnt}
			busy[page] = true
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
			if !ok || r.Status != StatusOkay {
				t.Fatalf("response %+v (known %v)", r, ok)
			}
			if !p.write {
				got := g.mem[int(p.page)*PageSize : int(p.page)*PageSize+int(p.cnt)*SectorSize]
				if !bytes.Equal(got, shadow[p.sector*SectorSize:(p.sector+p.cnt)*SectorSize]) {
					t.Fatalf("read %d of sectors %d+%d differs from the shadow", r.ID, p.sector, p.cnt)
				}
			}
			delete(inflight, r.ID)
			delete(busy, p.page)
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
	if !bytes.Equal(ms.data, shadow) {
		t.Fatal("disk differs from the shadow")
	}
	g.checkReleased()
}

// fakeChannel is an event channel between a test frontend and Serve.
type fakeChannel struct {
	in  chan struct{} // frontend kicks
	out chan struct{} // backend notifications
}

func (c *fakeChannel) Notify() {
	select {
	case c.out <- struct{}{}:
	default:
	}
}

func (c *fakeChannel) Wait(ctx context.Context) error {
	select {
	case <-c.in:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *fakeChannel) Drain() uint64 { return 0 }

// TestServeBrokenRing checks that a frontend claiming more requests than the
// ring holds ends Serve with ring.ErrBroken.
func TestServeBrokenRing(t *testing.T) {
	d, _, _ := setup(t, allFeatures, false)
	buf := make([]byte, PageSize)
	if _, err := ring.NewFrontend(buf, RequestSize); err != nil {
		t.Fatal(err)
	}
	back, err := ring.NewBackend(buf, RequestSize)
	if err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(buf, 1000) // req_prod far ahead
	ch := &fakeChannel{in: make(chan struct{}, 1), out: make(chan struct{}, 1)}
	if err := Serve(context.Background(), back, d, ch, 2); !errors.Is(err, ring.ErrBroken) {
		t.Fatalf("Serve: %v, want ring.ErrBroken", err)
	}
}
