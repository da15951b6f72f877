package probe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/require"
)

// doorbellFloor is a doorbell value no guest allocates: tracecount's OUT of
// it to port 0xcc hits a bare ioeventfd.
const doorbellFloor = 4095

// openTracer opens a tracer or skips (fails under XENOLITH_REQUIRE=root)
// with the reason.
func openTracer(t *testing.T, o Options) *Tracer {
	t.Helper()
	require.KVM(t)
	require.Root(t)
	tr, err := Open(o)
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("skipping: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

// window is what changed between the guest's "start" and "end" marks.
type window struct {
	trace *Snapshot         // tracer counters
	kvm   map[string]uint64 // KVM binary statistics of vCPU 0
	exits uint64            // exits the monitor handled
	tids  map[int]bool      // vCPU threads seen
}

// countRun is one tracecount guest and what it produced.
type countRun struct {
	hc, raw, db, up int
	noHook          bool // leave the vCPU threads to Options.Discover
	id              VMID
	out             window
	outcome         *vm.Result
	console         string
	err             error
}

// runCount boots tracecount with the run's counts under tracer tr and fills
// the run's window.
func runCount(sys *kvm.System, tr *Tracer, r *countRun, domID uint16) {
	img, err := guestkit.Program("tracecount")
	if err != nil {
		r.err = err
		return
	}
	name := fmt.Sprintf("tracecount-%d", domID)
	if r.id, err = tr.AddVM(name); err != nil {
		r.err = err
		return
	}
	var (
		mu    sync.Mutex
		m     *vm.VM
		start window
		cons  lockedBuf
		tids  = map[int]bool{}
	)
	hook := tr.Hook(r.id)
	snap := func() (window, error) {
		s, err := tr.Snapshot()
		if err != nil {
			return window{}, err
		}
		st, err := m.VCPUStats(0)
		if err != nil {
			return window{}, err
		}
		return window{trace: s, kvm: st, exits: m.Exits()}, nil
	}
	m, err = vm.New(sys, vm.Config{
		Name: name, DomID: domID, MemBytes: 16 << 20, VCPUs: 1, Kernel: img, Console: &cons,
		Cmdline: fmt.Sprintf("tracecount hc=%d raw=%d db=%d up=%d", r.hc, r.raw, r.db, r.up),
		OnVCPUThread: func(vcpu, tid int, on bool) {
			mu.Lock()
			tids[tid] = true
			mu.Unlock()
			if !r.noHook {
				hook(vcpu, tid, on)
			}
		},
		OnReport: func(rep vm.Report) {
			if rep.Kind != vm.ReportMark {
				return
			}
			w, err := snap()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.err = err
				return
			}
			switch rep.Msg {
			case "start":
				start = w
			case "end":
				r.out = window{trace: w.trace.Sub(start.trace), kvm: map[string]uint64{}, exits: w.exits - start.exits}
				for k, v := range w.kvm {
					r.out.kvm[k] = v - start.kvm[k]
				}
			}
		},
	})
	if err != nil {
		r.err = err
		return
	}
	defer m.Close()
	fd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		r.err = err
		return
	}
	defer unix.Close(fd)
	if err := m.Doorbell(doorbellFloor, fd); err != nil {
		r.err = err
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := m.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	r.outcome, r.console, r.out.tids = &res, cons.String(), tids
	if err != nil && r.err == nil {
		r.err = err
	}
	if r.err == nil && res.Reason != vm.ReasonPoweroff {
		r.err = fmt.Errorf("guest ended with %s", res)
	}
	if r.err == nil && r.out.trace == nil {
		r.err = errors.New("guest reported no end mark")
	}
}

// check compares the run's window with the counts the guest was asked for.
func (r *countRun) check(t *testing.T) {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%d/%d/%d/%d: %v\n%s", r.hc, r.raw, r.db, r.up, r.err, r.console)
	}
	v := r.out.trace.VMs[r.id]
	if v == nil {
		t.Fatalf("VM %d: no counters", r.id)
	}
	const end = 1 // the "end" mark's own exit on port 0xc8
	ioExits := uint64(r.hc + r.raw + r.up + end)
	for _, c := range []struct {
		what      string
		got, want uint64
	}{
		{"hypercalls (out 0xc0, monitor)", v.Port(PIOOut, 0xc0, true), uint64(r.hc)},
		{"hypercalls answered in kernel", v.Port(PIOOut, 0xc0, false), 0},
		{"raw exits (out 0xc4, monitor)", v.Port(PIOOut, 0xc4, true), uint64(r.raw)},
		{"doorbells (out 0xcc, kernel)", v.Port(PIOOut, 0xcc, false), uint64(r.db)},
		{"event sends (out 0xcc, monitor)", v.Port(PIOOut, 0xcc, true), uint64(r.up)},
		{"test protocol (out 0xc8, monitor)", v.Port(PIOOut, 0xc8, true), end},
		{"userspace exits KVM_EXIT_IO", v.Total.Exits[2], ioExits},
		{"port accesses answered by the monitor", v.Total.PIOUser, ioExits},
		{"port accesses answered in the kernel", v.Total.PIOKernel, uint64(r.db)},
		{"upcall injections", v.Total.Injections, uint64(r.up)},
		{"time-in-monitor samples", v.Monitor.Count(), v.Total.UserspaceExits() + v.Total.ExitErrors},
		// Cross-checks against KVM's own binary statistics of the vCPU.
		// KVM reloads the guest FPU once per return from userspace,
		// including KVM_RUN calls a signal interrupted (the Go runtime's
		// preemption signal), which the tracer counts as exit errors.
		{"KVM stat fpu_reload", r.out.kvm["fpu_reload"], v.Total.UserspaceExits() + v.Total.ExitErrors},
		{"KVM stat insn_emulation + insn_emulation_fail", r.out.kvm["insn_emulation"] + r.out.kvm["insn_emulation_fail"], v.Total.Emulations},
		{"KVM stat insn_emulation_fail", r.out.kvm["insn_emulation_fail"], v.Total.EmulationFailures},
		{"monitor's exit count", r.out.exits, v.Total.UserspaceExits() + v.Total.ExitErrors},
		{"KVM stat signal_exits", r.out.kvm["signal_exits"], v.Total.ExitErrors},
	} {
		if c.got != c.want {
			t.Errorf("VM %s (hc=%d raw=%d db=%d up=%d): %s = %d, want %d", v.Name, r.hc, r.raw, r.db, r.up, c.what, c.got, c.want)
		}
	}
	// kvm_pvm leaves io_exits at zero; where it counts, it counts every OUT.
	if n := r.out.kvm["io_exits"]; n != 0 && n != ioExits+uint64(r.db) {
		t.Errorf("VM %s: KVM stat io_exits %d, want %d", v.Name, n, ioExits+uint64(r.db))
	}
	if n := r.out.kvm["irq_injections"]; n < v.Total.Injections {
		t.Errorf("VM %s: KVM stat irq_injections %d < %d MSIs traced", v.Name, n, v.Total.Injections)
	}
	if halts := r.out.kvm["halt_wakeup"]; v.Total.Wakeups > halts {
		t.Errorf("VM %s: %d kvm_vcpu_wakeup waits, KVM stat halt_wakeup %d", v.Name, v.Total.Wakeups, halts)
	}
}

type lockedBuf struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

func needGuest(t *testing.T) {
	t.Helper()
	if _, err := guestkit.Program("tracecount"); err != nil {
		require.File(t, "../../guestkit/build/tracecount.elf", "run make -C guestkit")
	}
}

func TestCountsMatchGuest(t *testing.T) {
	tr := openTracer(t, Options{})
	needGuest(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	r := &countRun{hc: 500, raw: 300, db: 400, up: 200}
	runCount(sys, tr, r, 1)
	r.check(t)
	if t.Failed() {
		t.Logf("KVM stats in the window: %v", r.out.kvm)
	}
}

func TestCountsPerVM(t *testing.T) {
	tr := openTracer(t, Options{})
	needGuest(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	runs := []*countRun{
		{hc: 100, raw: 10, db: 50, up: 20},
		{hc: 300, raw: 0, db: 0, up: 60},
		{hc: 50, raw: 200, db: 150, up: 0},
	}
	var wg sync.WaitGroup
	for i, r := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runCount(sys, tr, r, uint16(i+1))
		}()
	}
	wg.Wait()
	for _, r := range runs {
		r.check(t)
	}
}

// TestDiscoverCounts checks that threads learnt from KVM_RUN (no
// registration) count exactly too.
func TestDiscoverCounts(t *testing.T) {
	tr := openTracer(t, Options{Discover: true, NoBlock: true})
	needGuest(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	r := &countRun{hc: 200, raw: 100, db: 50, up: 30, noHook: true}
	runCount(sys, tr, r, 1)
	if r.err != nil {
		t.Fatalf("%v\n%s", r.err, r.console)
	}
	var found []*VMStats
	for id, v := range r.out.trace.VMs {
		if id.Discovered() && v.Port(PIOOut, 0xc0, true) != 0 {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d discovered VMs made hypercalls, want 1", len(found))
	}
	v := found[0]
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"hypercalls", v.Port(PIOOut, 0xc0, true), uint64(r.hc)},
		{"raw exits", v.Port(PIOOut, 0xc4, true), uint64(r.raw)},
		{"doorbells", v.Port(PIOOut, 0xcc, false), uint64(r.db)},
		// A signal (Go's preemption, a kick) ends KVM_RUN with EINTR:
		// the monitor counts that return too, the probes as an error.
		{"userspace exits and errors", v.Total.UserspaceExits() + v.Total.ExitErrors, r.out.exits},
	} {
		if c.got != c.want {
			t.Errorf("%s: traced %d, want %d", c.name, c.got, c.want)
		}
	}
}
