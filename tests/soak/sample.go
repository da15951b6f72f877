package soak

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/xenolith/xenolith/bench"
)

// sample is the process's resource use at one moment.
type sample struct {
	FDs     int    // entries of /proc/self/fd
	Threads int    // Threads: in /proc/self/status
	HeapMiB uint64 // Go heap in use after a forced GC (HeapAlloc), MiB
	RSSKiB  uint64 // resident memory (Rss in /proc/self/smaps_rollup)
	MapsN   int    // lines of /proc/self/maps
	SlabKiB uint64 // Slab in /proc/meminfo (host-wide, for the log only)
}

func (s sample) String() string {
	return fmt.Sprintf("fds %d, threads %d, heap %d MiB, RSS %d KiB, maps %d, host slab %d KiB",
		s.FDs, s.Threads, s.HeapMiB, s.RSSKiB, s.MapsN, s.SlabKiB)
}

// take collects garbage, returns freed memory to the OS and samples
// (bench.SampleHost reads /proc).
func take() (sample, error) {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	h := bench.SampleHost()
	if h.FDs == 0 || h.Threads == 0 {
		return sample{}, fmt.Errorf("soak: /proc/self unreadable (fds %d, threads %d)", h.FDs, h.Threads)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return sample{FDs: int(h.FDs), Threads: int(h.Threads), HeapMiB: ms.HeapAlloc >> 20,
		RSSKiB: h.RSS >> 10, MapsN: int(h.Maps), SlabKiB: h.Slab >> 10}, nil
}

// settle samples until fds and threads are back within slack of base, or
// the time runs out (threads of destroyed KVM VMs and closing fds go away
// asynchronously), and returns the last sample.
func settle(base sample, fdSlack, threadSlack int, within time.Duration) (sample, error) {
	end := time.Now().Add(within)
	for {
		s, err := take()
		if err != nil {
			return s, err
		}
		if (s.FDs <= base.FDs+fdSlack && s.Threads <= base.Threads+threadSlack) || time.Now().After(end) {
			return s, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}
