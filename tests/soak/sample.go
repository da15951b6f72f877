package soak

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"
)

// sample is the process's resource use at one moment.
type sample struct {
	FDs     int    // entries of /proc/self/fd
	Threads int    // Threads: in /proc/self/status
	HeapMiB uint64 // Go heap in use after a forced GC (HeapAlloc), MiB
	RSSKiB  uint64 // VmRSS in /proc/self/status
	MapsN   int    // lines of /proc/self/maps
	SlabKiB uint64 // Slab in /proc/meminfo (host-wide, for the log only)
}

func (s sample) String() string {
	return fmt.Sprintf("fds %d, threads %d, heap %d MiB, RSS %d KiB, maps %d, host slab %d KiB",
		s.FDs, s.Threads, s.HeapMiB, s.RSSKiB, s.MapsN, s.SlabKiB)
}

// take collects garbage, returns freed memory to the OS and samples.
func take() (sample, error) {
	runtime.GC()
	runtime.GC()
	debug.FreeOSMemory()
	var s sample
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return s, fmt.Errorf("soak: read /proc/self/fd: %w", err)
	}
	s.FDs = len(ents)
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return s, fmt.Errorf("soak: read /proc/self/status: %w", err)
	}
	s.Threads = int(field(st, "Threads:"))
	s.RSSKiB = field(st, "VmRSS:")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.HeapMiB = ms.HeapAlloc >> 20
	if maps, err := os.ReadFile("/proc/self/maps"); err == nil {
		s.MapsN = bytes.Count(maps, []byte{'\n'})
	}
	if mi, err := os.ReadFile("/proc/meminfo"); err == nil {
		s.SlabKiB = field(mi, "Slab:")
	}
	return s, nil
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

// field returns the first number after key in a /proc "Key: value" file.
func field(b []byte, key string) uint64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		f := strings.Fields(line[len(key):])
		if len(f) == 0 {
			return 0
		}
		n, _ := strconv.ParseUint(f[0], 10, 64)
		return n
	}
	return 0
}
