package bench

import (
	"bufio"
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// procKV parses "Key:   123 kB" lines into bytes (or plain counts).
func procKV(path string) map[string]uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	out := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		n, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			continue
		}
		if len(f) > 1 && f[1] == "kB" {
			n *= 1024
		}
		out[strings.TrimSpace(k)] = n
	}
	return out
}

// HostSample is the host state the density suite tracks.
type HostSample struct {
	Time        time.Time
	RSS, PSS    uint64 // this process
	Threads     uint64 // this process (includes KVM's per-VM workers)
	FDs         uint64
	Maps        uint64        // memory mappings of this process (vm.max_map_count applies)
	CPU         time.Duration // this process's user+system time
	MemFree     uint64        // host
	MemAvail    uint64
	Slab        uint64
	KernelStack uint64
	PageTables  uint64 // host PageTables + SecPageTables
	Vmalloc     uint64
}

// settledSample is SampleHost after the Go runtime has collected garbage
// and returned the free heap to the kernel: a base sample for per-VM growth,
// which the runtime's background scavenger would otherwise shrink during
// the measurement (per-VM RSS then comes out as zero).
func settledSample() HostSample {
	debug.FreeOSMemory()
	return SampleHost()
}

// SampleHost reads /proc for a HostSample.
func SampleHost() HostSample {
	s := HostSample{Time: time.Now()}
	if r := procKV("/proc/self/smaps_rollup"); r != nil {
		s.RSS, s.PSS = r["Rss"], r["Pss"]
	}
	if st := procKV("/proc/self/status"); st != nil {
		s.Threads = st["Threads"]
		if s.RSS == 0 {
			s.RSS = st["VmRSS"]
		}
	}
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.FDs = uint64(len(ents))
	}
	if b, err := os.ReadFile("/proc/self/maps"); err == nil {
		s.Maps = uint64(bytes.Count(b, []byte{'\n'}))
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if m := procKV("/proc/meminfo"); m != nil {
		s.MemFree, s.MemAvail, s.Slab = m["MemFree"], m["MemAvailable"], m["Slab"]
		s.KernelStack, s.PageTables, s.Vmalloc = m["KernelStack"], m["PageTables"]+m["SecPageTables"], m["VmallocUsed"]
	}
	return s
}

// readUint reads a number from a /proc or /sys file (0 if unreadable).
func readUint(path string) uint64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	return n
}
