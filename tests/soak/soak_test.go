package soak

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/internal/require"
)

// Bounds on what may remain after every VM has exited, over the baseline
// taken after a warm-up wave of the same shape.
const (
	fdSlack      = 0        // open files: exactly back
	threadSlack  = 16       // idle OS threads the Go runtime keeps parked
	heapSlackMiB = 8        // Go heap in use after GC
	rssSlackKiB  = 48 << 10 // resident memory
	ciDuration   = 30 * time.Second
	waveVMs      = 64 // VMs per wave
	holdRunning  = 300 * time.Millisecond
)

var summaryRE = regexp.MustCompile(`(\d+) passed, (\d+) failed`)

// duration is how long the soak runs: XENOLITH_SOAK (a Go duration) or the
// CI default.
func duration(t *testing.T) time.Duration {
	s := os.Getenv("XENOLITH_SOAK")
	if s == "" {
		return ciDuration
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		t.Fatalf("XENOLITH_SOAK=%q: want a positive Go duration such as 10m", s)
	}
	return d
}

// TestSoak runs waves of mixed VMs for the soak duration, checks every
// guest's result, and then checks that the process's fds, threads, heap and
// RSS are back near the baseline.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak: skipped with -short")
	}
	require.KVM(t)
	for _, p := range []string{"idle", "work", "evtchn", "xenstore", "grants", "timer", "pingpong", "blkcheck", "smp", "hello"} {
		if _, err := guestkit.Program(p); err != nil {
			require.File(t, "guestkit/build/"+p+".elf", "run make -C guestkit")
		}
	}
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	dir := t.TempDir()
	total := duration(t)
	s := &soak{t: t, sys: sys, dir: dir}

	// Warm-up: one wave, so that one-time allocations (program images,
	// CPUID, the Go runtime's threads for this concurrency) are in the
	// baseline.
	s.wave(0)
	vm.WaitClosed()
	base, err := take()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("baseline after warm-up: %s", base)

	start := time.Now()
	waves := 0
	var peak sample
	for time.Since(start) < total && !t.Failed() {
		waves++
		p := s.wave(waves)
		if p.Threads > peak.Threads {
			peak = p
		}
		if waves%10 == 0 {
			t.Logf("soak: %d waves, %d VMs, %s elapsed", waves, s.vms, time.Since(start).Round(time.Second))
		}
	}
	vm.WaitClosed()
	end, err := settle(base, fdSlack, threadSlack, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("soak: %d waves, %d VMs (%d passed every check, %d failed only a wall-clock check) in %s; peak during a wave: threads %d, fds %d",
		waves, s.vms, s.checks, s.timing, time.Since(start).Round(time.Second), peak.Threads, peak.FDs)
	t.Logf("end after all VMs exited: %s", end)
	if end.FDs > base.FDs+fdSlack {
		t.Errorf("open files: %d after, %d at baseline", end.FDs, base.FDs)
	}
	if end.Threads > base.Threads+threadSlack {
		t.Errorf("threads: %d after, %d at baseline (slack %d)", end.Threads, base.Threads, threadSlack)
	}
	if end.HeapMiB > base.HeapMiB+heapSlackMiB {
		t.Errorf("Go heap: %d MiB after, %d MiB at baseline", end.HeapMiB, base.HeapMiB)
	}
	if end.RSSKiB > base.RSSKiB+rssSlackKiB {
		t.Errorf("RSS: %d KiB after, %d KiB at baseline", end.RSSKiB, base.RSSKiB)
	}
}

// soak is the state shared by the waves.
type soak struct {
	t      *testing.T
	sys    *kvm.System
	dir    string
	mu     sync.Mutex // protects vms and checks
	vms    int
	checks int
	timing int // runs whose only failures were timingChecks
}

// job is one VM of a wave.
type job struct {
	program string
	cmdline string
	dom     uint16
	vcpus   int
	forever bool   // runs until the wave stops it (idle, work)
	disk    string // image attached as vbd 0 (blkcheck)
	check   func(o *guestkit.Outcome) error
}

// jobs returns a wave's mix: half idle, the rest busy or finite workloads,
// pingpong in pairs that find each other by domain id.
func (s *soak) jobs(wave int) []*job {
	var js []*job
	dom := uint16(1)
	add := func(j *job) {
		j.dom = dom
		dom++
		js = append(js, j)
	}
	for len(js) < waveVMs {
		switch len(js) % 8 {
		case 0, 2, 4, 6:
			add(&job{program: "idle", forever: true})
		case 1:
			add(&job{program: "work", forever: true})
		case 3:
			// A pingpong pair, both in this wave.
			srv := dom
			add(&job{program: "pingpong", cmdline: fmt.Sprintf("server peer=%d rounds=100", srv+1), check: conformance})
			add(&job{program: "pingpong", cmdline: fmt.Sprintf("client peer=%d rounds=100", srv), check: conformance})
		case 5:
			progs := []*job{
				{program: "evtchn", check: conformance},
				{program: "xenstore", check: conformance},
				{program: "grants", check: conformance},
				{program: "timer", cmdline: "rounds=2", check: conformance},
				{program: "smp", vcpus: 2, check: poweroff},
				{program: "hello", check: poweroff},
			}
			add(progs[(len(js)/8+wave)%len(progs)])
		case 7:
			img := filepath.Join(s.dir, "disk-"+strconv.Itoa(int(dom))+".img")
			add(&job{program: "blkcheck", cmdline: "sectors=128 depth=4", disk: img, check: conformance})
		}
	}
	return js
}

// wave runs one wave and returns a sample taken while its VMs ran.
func (s *soak) wave(n int) sample {
	t := s.t
	hub, store := evtchn.NewHub(), xenstore.New(xenstore.Options{})
	js := s.jobs(n)
	var (
		wg       sync.WaitGroup
		finite   sync.WaitGroup
		started  sync.WaitGroup // forever jobs that reached main
		stopMu   sync.Mutex
		stoppers []func()
	)
	for _, j := range js {
		if j.disk != "" {
			if err := os.WriteFile(j.disk, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(j.disk, 4<<20); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, j := range js {
		wg.Add(1)
		if j.forever {
			started.Add(1)
		} else {
			finite.Add(1)
		}
		go func(j *job) {
			defer wg.Done()
			if !j.forever {
				defer finite.Done()
			}
			s.run(j, hub, store, &started, func(stop func()) {
				stopMu.Lock()
				stoppers = append(stoppers, stop)
				stopMu.Unlock()
			})
		}(j)
	}
	finite.Wait()
	waitTimeout(&started, 60*time.Second)
	time.Sleep(holdRunning)
	during, _ := take()
	stopMu.Lock()
	for _, stop := range stoppers {
		stop()
	}
	stopMu.Unlock()
	wg.Wait()
	for _, j := range js {
		if j.disk != "" {
			os.Remove(j.disk)
		}
	}
	return during
}

// run boots one job and checks its outcome. register receives a function
// that stops a forever job; started is marked when such a job reaches main.
func (s *soak) run(j *job, hub *evtchn.Hub, store *xenstore.Store, started *sync.WaitGroup, register func(func())) {
	t := s.t
	var (
		once    sync.Once
		counter uint64
		cmu     sync.Mutex
		disk    *devices.Disk
	)
	mainSeen := func() {
		if j.forever {
			once.Do(started.Done)
		}
	}
	o := guestkit.RunOptions{
		Program: j.program, Cmdline: j.cmdline, DomID: j.dom, VCPUs: j.vcpus, Hub: hub, Store: store,
		Timeout: 120 * time.Second,
		OnStart: func(m *vm.VM) {
			if j.forever {
				register(m.Stop)
			}
		},
		OnReport: func(r vm.Report) {
			switch {
			case r.Kind == vm.ReportMark && r.Msg == "main":
				mainSeen()
			case r.Kind == vm.ReportMetric && r.Msg == "counter_gpa":
				cmu.Lock()
				counter = r.Value
				cmu.Unlock()
			}
		},
	}
	if j.disk != "" {
		o.Setup = func(m *vm.VM) error {
			f, err := devices.OpenDisk(devices.DiskSpec{Path: j.disk})
			if err != nil {
				return err
			}
			disk, err = devices.AttachDisk(m, 0, f, nil)
			return err
		}
	}
	if j.program == "work" {
		// Stop only once the counter has moved: read it from guest memory
		// when the wave stops the VM.
		o.OnStart = func(m *vm.VM) {
			register(func() {
				cmu.Lock()
				gpa := counter
				cmu.Unlock()
				if gpa != 0 {
					if v, err := m.Memory().Load64(mem.GPA(gpa)); err != nil || v == 0 {
						t.Errorf("work dom %d: counter at %#x is %d (%v) after the hold", j.dom, gpa, v, err)
					}
				}
				m.Stop()
			})
		}
	}
	out, err := guestkit.Run(s.sys, o)
	if disk != nil {
		disk.Close()
	}
	if j.forever {
		mainSeen() // never leave the wave waiting
	}
	s.mu.Lock()
	s.vms++
	s.mu.Unlock()
	if err != nil {
		t.Errorf("%s dom %d: %v", j.program, j.dom, err)
		return
	}
	if onlyTimingFailures(out) {
		// Guest checks that assume the vCPU runs within a few
		// milliseconds (see timingChecks): an overloaded host can
		// deschedule the vCPU thread for longer, as it could on Xen.
		t.Logf("%s dom %d: a wall-clock check failed (vCPU descheduled for milliseconds; host overloaded): %s", j.program, j.dom, out.Failures()[0].Msg)
		s.mu.Lock()
		s.timing++
		s.mu.Unlock()
		return
	}
	for _, r := range out.Failures() {
		t.Errorf("%s dom %d: %s at %s:%d: %s", j.program, j.dom, r.Kind, r.File, r.Line, r.Msg)
	}
	var cerr error
	switch {
	case j.forever:
		if out.Main.IsZero() {
			cerr = fmt.Errorf("never reached main (%s)", out.Result)
		} else if out.Result.Reason != vm.ReasonStopped {
			cerr = fmt.Errorf("ended on its own: %s", out.Result)
		}
		if j.program == "work" && counter == 0 {
			cerr = fmt.Errorf("no counter_gpa metric")
		}
	case j.check != nil:
		cerr = j.check(out)
	}
	if cerr != nil {
		t.Errorf("%s %q dom %d: %v\nconsole:\n%s", j.program, j.cmdline, j.dom, cerr, out.Console)
		return
	}
	s.mu.Lock()
	s.checks++
	s.mu.Unlock()
}

// timingChecks are guest expectations that hold only if the vCPU is not
// descheduled for milliseconds: timer.c arms a 5 ms timer and cancels it
// with the next hypercall (it must stay quiet); evtchn.c arms a 2 ms timer
// and expects it to arrive as an interrupt in HLT, not by the poll that
// precedes the HLT.
var timingChecks = []struct{ file, msg string }{
	{"programs/timer.c", "quiet_until"},
	{"programs/evtchn.c", "evtchn_upcall_interrupts() > before"},
}

// onlyTimingFailures reports whether every failure of a run is one of
// timingChecks.
func onlyTimingFailures(o *guestkit.Outcome) bool {
	fs := o.Failures()
	if len(fs) == 0 {
		return false
	}
	for _, r := range fs {
		known := false
		for _, c := range timingChecks {
			if r.Kind == vm.ReportFail && r.File == c.file && strings.Contains(r.Msg, c.msg) {
				known = true
			}
		}
		if !known {
			return false
		}
	}
	return true
}

// conformance requires a power-off and a summary with no failures.
func conformance(o *guestkit.Outcome) error {
	if err := poweroff(o); err != nil {
		return err
	}
	m := summaryRE.FindStringSubmatch(o.Console)
	if m == nil {
		return fmt.Errorf("no test summary")
	}
	if m[2] != "0" || m[1] == "0" {
		return fmt.Errorf("%s passed, %s failed", m[1], m[2])
	}
	return nil
}

// poweroff requires the guest to have powered off with exit code 0.
func poweroff(o *guestkit.Outcome) error {
	if o.Result.Reason != vm.ReasonPoweroff {
		return fmt.Errorf("result %s, want poweroff", o.Result)
	}
	if o.Result.HasCode && o.Result.Code != 0 {
		return fmt.Errorf("exit code %d", o.Result.Code)
	}
	return nil
}

// waitTimeout waits for wg or the timeout, whichever comes first.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) {
	c := make(chan struct{})
	go func() { wg.Wait(); close(c) }()
	select {
	case <-c:
	case <-time.After(d):
	}
}
