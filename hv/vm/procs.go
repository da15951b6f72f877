package vm

import (
	"os"
	"runtime"
	"sync"
)

// Each vCPU thread spends its life in KVM_RUN or in a blocking wait, both
// system calls made on a locked OS thread, and a thread in a system call
// keeps its Go P until the runtime's monitor thread takes it back, which
// can take up to 10 ms when the process is otherwise quiet. With
// GOMAXPROCS equal to the core count, two running vCPUs on a two-core
// host would leave no P for the backends' goroutines in the meantime.
// So the process gets one extra P per running vCPU thread, up to
// extraProcsPerCPU per core, and returns to its starting value when the
// last vCPU thread ends. A GOMAXPROCS set in the environment is left
// alone.

// extraProcsPerCPU bounds the extra Ps per host core: beyond it the
// garbage collector's workers (a quarter of the Ps) would crowd the cores.
const extraProcsPerCPU = 4

var procs struct {
	mu      sync.Mutex
	base    int // GOMAXPROCS when the first vCPU thread started
	threads int // vCPU threads running
	set     int // the value this package last set, 0 if none
}

// vcpuThreadStarted accounts for a vCPU thread that started running.
func vcpuThreadStarted() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	procs.mu.Lock()
	defer procs.mu.Unlock()
	if procs.threads == 0 {
		procs.base = runtime.GOMAXPROCS(0)
	}
	procs.threads++
	want := procs.base + min(procs.threads, extraProcsPerCPU*runtime.NumCPU())
	if want > procs.set {
		runtime.GOMAXPROCS(want)
		procs.set = want
	}
}

// vcpuThreadStopped accounts for a vCPU thread that ended. The extra Ps stay
// while any vCPU thread runs (no resizing churn as VMs come and go) and are
// returned when the last one ends.
func vcpuThreadStopped() {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	procs.mu.Lock()
	defer procs.mu.Unlock()
	procs.threads--
	if procs.threads == 0 && procs.set != 0 {
		runtime.GOMAXPROCS(procs.base)
		procs.set = 0
	}
}
