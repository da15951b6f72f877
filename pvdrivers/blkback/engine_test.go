package blkback

import (
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
