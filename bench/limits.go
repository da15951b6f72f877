package bench

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

// raiseLimits lifts the process limits a large fleet needs: open files to
// the hard limit, Go's thread cap (each VM holds a vCPU thread and KVM adds
// a worker thread to the process).
func raiseLimits(maxVMs int) {
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && rl.Cur < rl.Max {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	if want := 4*maxVMs + 1000; want > 10000 {
		debug.SetMaxThreads(want)
	}
}

// checkLimits refuses to add a VM when a host limit would break, naming it.
func checkLimits(o DensityOptions, base HostSample) error {
	h := SampleHost()
	if h.MemAvail>>20 < o.MemReserveMiB+uint64(o.Profile.MemMiB)/4 {
		return &errLimit{fmt.Sprintf("host memory (MemAvailable %d MiB, reserve %d MiB)", h.MemAvail>>20, o.MemReserveMiB)}
	}
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil && h.FDs+16 > rl.Cur {
		return &errLimit{fmt.Sprintf("RLIMIT_NOFILE (%d open of %d)", h.FDs, rl.Cur)}
	}
	if pm := readUint("/proc/sys/kernel/pid_max"); pm > 0 && countTasks()+8 > pm {
		return &errLimit{fmt.Sprintf("kernel.pid_max (%d)", pm)}
	}
	if tm := readUint("/proc/sys/kernel/threads-max"); tm > 0 && countTasks()+8 > tm {
		return &errLimit{fmt.Sprintf("kernel.threads-max (%d)", tm)}
	}
	if mm := readUint("/proc/sys/vm/max_map_count"); mm > 0 {
		if b, err := os.ReadFile("/proc/self/maps"); err == nil && uint64(strings.Count(string(b), "\n"))+16 > mm {
			return &errLimit{fmt.Sprintf("vm.max_map_count (%d)", mm)}
		}
	}
	return nil
}

// countTasks counts the host's threads (for pid_max and threads-max).
func countTasks() uint64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 4 {
		return 0
	}
	_, total, ok := strings.Cut(f[3], "/")
	if !ok {
		return 0
	}
	var n uint64
	fmt.Sscan(total, &n)
	return n
}

// ksmPass turns KSM on (root only), lets it merge the fleet's identical
// guest pages, and reports memory per VM before and after.
func ksmPass(f vmFleet, o DensityOptions, base HostSample, progress *Progress) string {
	const k = "/sys/kernel/mm/ksm/"
	old := map[string]string{}
	for _, name := range []string{"run", "pages_to_scan", "sleep_millisecs"} {
		b, err := os.ReadFile(k + name)
		if err != nil {
			return "KSM: not available (" + err.Error() + ")"
		}
		old[name] = strings.TrimSpace(string(b))
	}
	before := SampleHost()
	for name, v := range map[string]string{"pages_to_scan": "20000", "sleep_millisecs": "10", "run": "1"} {
		if err := os.WriteFile(k+name, []byte(v), 0); err != nil {
			return "KSM: cannot enable (" + err.Error() + ")"
		}
	}
	progress.Status(fmt.Sprintf("density: KSM on, settling %s", o.KSMSettle), f.size(), -1)
	time.Sleep(o.KSMSettle)
	after := SampleHost()
	sharing := readUint(k + "pages_sharing")
	for name, v := range old {
		os.WriteFile(k+name, []byte(v), 0)
	}
	n := float64(max(f.size(), 1))
	return fmt.Sprintf("KSM after %s with %d VMs: host memory in use per VM %.0f KiB -> %.0f KiB (pages_sharing %d)",
		o.KSMSettle, f.size(), (float64(base.MemFree)-float64(before.MemFree))/n/1024, (float64(base.MemFree)-float64(after.MemFree))/n/1024, sharing)
}
