package gnttab

import (
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/xenolith/xenolith/hv/mem"
)

// TestConcurrentAcquireRelease runs backend goroutines that acquire and
// release a few refs for reading and writing while the guest flips
// GTF_readonly and tries to revoke and re-grant (as Linux does). Run it
// with -race. Invariants: a successful hold always sees its flags set; the
// guest never revokes while anyone holds the ref; at the end every flag is
// clear and nothing is held.
func TestConcurrentAcquireRelease(t *testing.T) {
	tab, m := newTable(t, Options{})
	const (
		firstRef = 8
		nrRefs   = 4
		workers  = 6
	)
	iters := 3000
	if testing.Short() {
		iters = 300
	}
	var entries [nrRefs]mem.GPA // frames do not move during the test
	for i := range nrRefs {
		grant(t, tab, m, firstRef+uint32(i), GTFPermitAccess, backend, dataGFN+uint32(i))
		entries[i] = entryAddr(t, tab, firstRef+uint32(i))
	}
	var holders [nrRefs]atomic.Int64 // holds per ref, counted inside the hold
	var wg sync.WaitGroup
	var stop atomic.Bool
	var revoked, held atomic.Int64
	errc := make(chan error, workers+1)

	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for range iters {
				i := rng.IntN(nrRefs)
				ref := firstRef + uint32(i)
				acc := Access(rng.IntN(2))
				mp, err := tab.Acquire(backend, ref, 0, 64, acc)
				if err != nil {
					if !errors.Is(err, ErrReadOnly) && !errors.Is(err, ErrNotPermitted) && !errors.Is(err, ErrBusy) {
						errc <- err
						return
					}
					continue
				}
				holders[i].Add(1)
				held.Add(1)
				want := uint32(GTFReading)
				if acc == Write {
					want |= GTFWriting
				}
				if f, _ := m.Load32(entries[i]); f&want != want {
					errc <- errors.New("held grant lost its flags")
				}
				if acc == Write {
					mp.Bytes()[w]++ // each worker its own byte
				} else {
					_ = mp.Bytes()[rng.IntN(64)]
				}
				holders[i].Add(-1)
				mp.Release()
			}
		}()
	}

	// The guest: flip GTF_readonly, and revoke then re-grant when it can.
	var guest sync.WaitGroup
	guest.Add(1)
	go func() {
		defer guest.Done()
		rng := rand.New(rand.NewPCG(99, 2))
		for !stop.Load() {
			i := rng.IntN(nrRefs)
			gpa := entries[i]
			w, _ := m.Load32(gpa)
			if rng.IntN(2) == 0 {
				_, _ = m.CompareAndSwap32(gpa, w, w^GTFReadonly)
				continue
			}
			if w&(GTFReading|GTFWriting) != 0 {
				continue
			}
			if ok, _ := m.CompareAndSwap32(gpa, w, w&0xffff0000); ok {
				revoked.Add(1)
				if n := holders[i].Load(); n != 0 {
					errc <- errors.New("guest revoked a grant with holders")
				}
				_ = m.Store32(gpa, w&^uint32(GTFReading|GTFWriting|GTFReadonly)|GTFPermitAccess)
			}
		}
	}()
	wg.Wait()
	stop.Store(true)
	guest.Wait()
	close(errc)
	t.Logf("%d holds, %d revocations", held.Load(), revoked.Load())
	for err := range errc {
		t.Error(err)
	}
	for i := range nrRefs {
		if f := flagsOf(t, tab, m, firstRef+uint32(i)); f&(GTFReading|GTFWriting) != 0 {
			t.Errorf("ref %d flags %#x after all released", firstRef+i, f)
		}
	}
	if n := tab.heldRefs(); n != 0 {
		t.Errorf("%d refs still held", n)
	}
}
