package guestkit

import (
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	hvboot "github.com/xenolith/xenolith/hv/boot"
	"github.com/xenolith/xenolith/hv/evtchn"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/hv/xenstore"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/internal/require"
)

// The hostile-guest suite (issue 8, docs/security.md). Each case boots one
// hostile guest next to a healthy neighbour VM in the same process, sharing
// the event-channel hub and the xenstore, and asserts
//   - the hostile guest's documented outcome (Xen errno results checked by
//     the guest itself, a block request error, the VM destroyed with a
//     reason, or a VM the host had to stop);
//   - that the neighbour's results are those of a run on its own (same
//     number of passing checks, none failing, poweroff);
//   - that repeating the case leaks neither file descriptors nor memory
//     (Go heap and RSS), measured after one warm-up run and again after
//     two more.

const (
	hostileDom   = 2 // the hostile guest's domain id
	neighbourDom = 1 // the healthy neighbour's
)

// hostileCase is one kind of abuse.
type hostileCase struct {
	name    string
	program string // hostile guestkit program
	args    string
	disk    bool // attach vbd 0 (a scratch image) to the hostile guest
	// waitMark, if set, starts the neighbour only once the hostile guest
	// reported this mark (it holds its resources from then on).
	waitMark string
	// stop makes the host stop the hostile guest once the neighbour is
	// done (a guest that never ends by itself).
	stop bool
	// neighbour is the healthy program run beside it (a conformance
	// program, or hostile_peer, ending in "N passed, 0 failed"; timing
	// checks have no place there: a spinning guest may slow it down).
	neighbour     string
	neighbourArgs string
	neighbourDisk bool
	// want checks the hostile guest's outcome.
	want func(t *testing.T, out *Outcome)
	// host, if set, runs once the mark came, beside the neighbour, with
	// the hostile VM.
	host func(t *testing.T, m *vm.VM, store *xenstore.Store)
}

var passedRE = regexp.MustCompile(`(\d+) passed, (\d+) failed`)

// wantChecks expects the hostile program's own checks (the Xen errno or
// request status of each abuse) to pass and the VM to end for reason r.
func wantChecks(r vm.Reason) func(t *testing.T, out *Outcome) {
	return func(t *testing.T, out *Outcome) {
		t.Helper()
		if out.Result.Reason != r {
			t.Errorf("hostile guest: %s, want %s\nconsole:\n%s", out.Result, r, out.Console)
		}
		m := passedRE.FindStringSubmatch(out.Console)
		if m == nil || m[2] != "0" || m[1] == "0" {
			t.Errorf("hostile guest's own checks: %v\nconsole:\n%s", m, out.Console)
		}
		for _, f := range out.Failures() {
			t.Errorf("hostile guest %s at %s:%d: %s", f.Kind, f.File, f.Line, f.Msg)
		}
	}
}

// wantReason expects the VM to end for reason r.
func wantReason(r vm.Reason, detail string) func(t *testing.T, out *Outcome) {
	return func(t *testing.T, out *Outcome) {
		t.Helper()
		if out.Result.Reason != r || !strings.Contains(out.Result.Detail, detail) {
			t.Errorf("hostile guest: %s, want %s (%q)\nconsole:\n%s", out.Result, r, detail, out.Console)
		}
	}
}

func hostileCases() []hostileCase {
	return []hostileCase{
		{name: "hypercalls", program: "hostile_hcall", neighbour: "hypercalls",
			want: wantChecks(vm.ReasonPoweroff)},
		// The neighbour allocates its own ports while the hostile guest
		// holds every port its cap allows.
		{name: "evtchn", program: "hostile_evtchn", args: "neighbour=1", waitMark: "exhausted",
			stop: true, neighbour: "hostile_peer", want: wantChecks(vm.ReasonStopped)},
		// The neighbour runs the xenstore conformance program while the
		// hostile guest holds its full node quota and a broken connection.
		{name: "xenstore", program: "hostile_xs", args: "neighbour=1", waitMark: "exhausted",
			stop: true, neighbour: "xenstore", want: wantChecks(vm.ReasonStopped)},
		// A guest that stops reading its ring while 128 watches fire for
		// every write the host makes: the store's output limit breaks
		// that connection, memory stays bounded.
		{name: "xenstore-deaf", program: "hostile_xs", args: "neighbour=1 mode=deaf", waitMark: "deaf",
			stop: true, neighbour: "xenstore", want: wantChecks(vm.ReasonStopped), host: floodWatches},
		// Grant and ring abuse against blkback, next to a VM checking its
		// own disk's data.
		{name: "blk-requests", program: "hostile_blk", args: "mode=requests", disk: true,
			neighbour: "blkcheck", neighbourArgs: "sectors=256 depth=8", neighbourDisk: true,
			want: wantChecks(vm.ReasonPoweroff)},
		{name: "blk-backwards", program: "hostile_blk", args: "mode=backwards", disk: true,
			neighbour: "blkcheck", neighbourArgs: "sectors=256 depth=8", neighbourDisk: true,
			want: wantChecks(vm.ReasonPoweroff)},
		// A frontend that reconnects, then reuses its ring's port number.
		{name: "blk-reconnect", program: "hostile_blk", args: "mode=reconnect", disk: true,
			neighbour: "blkcheck", neighbourArgs: "sectors=256 depth=8", neighbourDisk: true,
			want: wantChecks(vm.ReasonPoweroff)},
		// Guests that stop talking: detaching their disk must not hang.
		{name: "blk-noconnect", program: "hostile_silent", args: "mode=noconnect", disk: true,
			waitMark: "silent", stop: true, neighbour: "blkcheck", neighbourArgs: "sectors=256 depth=8",
			neighbourDisk: true, want: wantReason(vm.ReasonStopped, "")},
		{name: "blk-noconsume", program: "hostile_silent", args: "mode=noconsume", disk: true,
			waitMark: "silent", stop: true, neighbour: "blkcheck", neighbourArgs: "sectors=256 depth=8",
			neighbourDisk: true, want: wantChecks(vm.ReasonStopped)},
		// A guest that spins for ever beside the neighbour, one that
		// triple-faults.
		{name: "spin", program: "work", stop: true, neighbour: "hostile_peer",
			want: wantReason(vm.ReasonStopped, "")},
		{name: "triplefault", program: "shutdown", args: "triplefault", neighbour: "hostile_peer",
			want: wantReason(vm.ReasonDestroyed, "triple fault")},
	}
}

// floodWatches writes the deaf guest's watched directory until the store
// gives up on its connection: each write of a new node queues 128 watch
// events (about 6 KiB; events identical to a queued one are coalesced, so
// the paths differ) the guest never reads, so 400 writes are twice the
// 1 MiB output limit. The store must then have set the ring's error field.
func floodWatches(t *testing.T, m *vm.VM, store *xenstore.Store) {
	c := store.Dom0()
	defer c.Close()
	dir := fmt.Sprintf("/local/domain/%d/data/flood", hostileDom)
	for i := 0; i < 400; i++ {
		if err := c.Write(dir+"/"+strconv.Itoa(i), []byte("x")); err != nil {
			t.Errorf("write %d: %v", i, err)
			return
		}
	}
	if m == nil {
		t.Error("no hostile VM")
		return
	}
	// The store ring is the first reserved page (docs/guest-abi.md).
	ring := mem.GPA(hvboot.ReservedBase(m.Memory().Size()))
	var b [4]byte
	if err := m.Memory().ReadAt(b[:], ring+xenstore.RingErrorOff); err != nil {
		t.Error(err)
	} else if e := binary.LittleEndian.Uint32(b[:]); e != xenstore.RingErrorComm {
		t.Errorf("ring error field %d after the flood, want %d (output limit)", e, xenstore.RingErrorComm)
	}
}

// baselines caches each neighbour program's passing-check count when run alone.
var baselines sync.Map // program -> int

func neighbourRun(sys *kvm.System, c hostileCase, hub *evtchn.Hub, store *xenstore.Store, dir string) (*Outcome, error) {
	o := RunOptions{Program: c.neighbour, Cmdline: c.neighbourArgs, DomID: neighbourDom, Hub: hub,
		Store: store, Timeout: 60 * time.Second}
	var disk *devices.Disk
	if c.neighbourDisk {
		o.Setup = func(m *vm.VM) (err error) {
			disk, err = attachScratch(m, filepath.Join(dir, "neighbour.img"))
			return err
		}
	}
	out, err := Run(sys, o)
	if disk != nil {
		disk.Close()
	}
	return out, err
}

// attachScratch attaches a fresh 8 MiB image as vbd 0.
func attachScratch(m *vm.VM, path string) (*devices.Disk, error) {
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		return nil, err
	}
	if err := os.Truncate(path, 8<<20); err != nil {
		return nil, err
	}
	f, err := devices.OpenDisk(devices.DiskSpec{Path: path})
	if err != nil {
		return nil, err
	}
	d, err := devices.AttachDisk(m, 0, f, slog.Default())
	if err != nil {
		f.Close()
		return nil, err
	}
	return d, nil
}

// neighbourPasses checks a neighbour's run and returns its passing count.
func neighbourPasses(out *Outcome) (int, error) {
	if out.Result.Reason != vm.ReasonPoweroff {
		return 0, fmt.Errorf("neighbour: %s", out.Result)
	}
	m := passedRE.FindStringSubmatch(out.Console)
	if m == nil {
		return 0, fmt.Errorf("neighbour: no summary line")
	}
	if m[2] != "0" {
		return 0, fmt.Errorf("neighbour: %s checks failed", m[2])
	}
	if f := out.Failures(); len(f) > 0 {
		return 0, fmt.Errorf("neighbour: %s at %s:%d: %s", f[0].Kind, f[0].File, f[0].Line, f[0].Msg)
	}
	n, _ := strconv.Atoi(m[1])
	return n, nil
}

// baseline runs the case's neighbour alone once per program.
func baseline(t *testing.T, sys *kvm.System, c hostileCase) int {
	t.Helper()
	if n, ok := baselines.Load(c.neighbour + " " + c.neighbourArgs); ok {
		return n.(int)
	}
	out, err := neighbourRun(sys, c, evtchn.NewHub(), xenstore.New(xenstore.Options{}), t.TempDir())
	if err != nil {
		t.Fatalf("neighbour %s alone: %v", c.neighbour, err)
	}
	n, err := neighbourPasses(out)
	if err != nil {
		t.Fatalf("neighbour %s alone: %v\nconsole:\n%s", c.neighbour, err, out.Console)
	}
	baselines.Store(c.neighbour+" "+c.neighbourArgs, n)
	return n
}

// runHostile runs the case once on hub and store: the hostile guest, then
// (at once or after its mark) the neighbour; returns both outcomes.
func runHostile(t *testing.T, sys *kvm.System, c hostileCase, hub *evtchn.Hub, store *xenstore.Store) (hostile, neighbour *Outcome) {
	t.Helper()
	dir := t.TempDir()
	var (
		mu     sync.Mutex
		hvm    *vm.VM
		marked = make(chan struct{})
		once   sync.Once
		disk   *devices.Disk
	)
	o := RunOptions{Program: c.program, Cmdline: c.args, DomID: hostileDom, Hub: hub, Store: store,
		Timeout: 60 * time.Second,
		OnStart: func(m *vm.VM) { mu.Lock(); hvm = m; mu.Unlock() },
		OnReport: func(r vm.Report) {
			if c.waitMark != "" && r.Kind == vm.ReportMark && r.Msg == c.waitMark {
				once.Do(func() { close(marked) })
			}
		},
	}
	if c.disk {
		o.Setup = func(m *vm.VM) (err error) {
			disk, err = attachScratch(m, filepath.Join(dir, "hostile.img"))
			return err
		}
	}
	type res struct {
		out *Outcome
		err error
	}
	hdone := make(chan res, 1)
	ended := make(chan struct{})
	go func() {
		out, err := Run(sys, o)
		close(ended)
		if disk != nil {
			disk.Close()
		}
		once.Do(func() { close(marked) }) // never wait for a mark that cannot come
		hdone <- res{out, err}
	}()
	if c.waitMark != "" {
		<-marked
	}
	hostDone := make(chan struct{})
	go func() {
		defer close(hostDone)
		if c.host != nil {
			mu.Lock()
			m := hvm
			mu.Unlock()
			c.host(t, m, store)
		}
	}()
	nout, nerr := neighbourRun(sys, c, hub, store, dir)
	<-hostDone
	if c.stop {
		// The hostile guest does not end by itself: stop it now (it may
		// not have been created yet, or have failed to start).
		for stopped := false; !stopped; {
			mu.Lock()
			m := hvm
			mu.Unlock()
			select {
			case <-ended:
				stopped = true
			default:
				if m != nil {
					m.Stop()
					stopped = true
				} else {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
	}
	h := <-hdone
	if h.err != nil {
		t.Fatalf("hostile %s: %v", c.program, h.err)
	}
	if nerr != nil {
		t.Fatalf("neighbour %s: %v", c.neighbour, nerr)
	}
	return h.out, nout
}

// usage is the process's file descriptors, Go heap and resident memory.
type usage struct {
	fds       int
	heap, rss uint64
}

func measure(t *testing.T) usage {
	t.Helper()
	vm.WaitClosed()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	statm, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(statm))
	res, _ := strconv.ParseUint(f[1], 10, 64)
	return usage{fds: len(ents), heap: ms.HeapAlloc, rss: res * uint64(os.Getpagesize())}
}

// Slack allowed between the measurement after the warm-up run and the one
// after two more runs: a leak of one guest's RAM (16 MiB) per run or of a
// descriptor per run shows well beyond it.
// allocLimit bounds what one run of a case (both VMs) may allocate in
// all: guest-controlled sizes (a test-protocol series claiming 2^20 values,
// a console write of 4 GiB) must not turn into host allocations.
const allocLimit = 64 << 20

const (
	fdSlack   = 2
	heapSlack = 4 << 20
	rssSlack  = 12 << 20
)

// TestHostileGuests runs every hostile case next to a healthy neighbour.
func TestHostileGuests(t *testing.T) {
	require.KVM(t)
	sys, err := kvm.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	for _, c := range hostileCases() {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range []string{c.program, c.neighbour} {
				if _, err := Program(p); err != nil {
					require.File(t, "build/"+p+".elf", "run make -C guestkit")
				}
			}
			want := baseline(t, sys, c)
			// One hub and store for all runs, as in a long-lived process:
			// what a destroyed VM leaves behind in them would pile up.
			hub, store := evtchn.NewHub(), xenstore.New(xenstore.Options{})
			var before usage
			for rep := 0; rep < 3; rep++ {
				var ms0, ms1 runtime.MemStats
				runtime.ReadMemStats(&ms0)
				h, n := runHostile(t, sys, c, hub, store)
				runtime.ReadMemStats(&ms1)
				if a := ms1.TotalAlloc - ms0.TotalAlloc; a > allocLimit {
					t.Errorf("run %d: the process allocated %d MiB (limit %d MiB)", rep, a>>20, allocLimit>>20)
				}
				c.want(t, h)
				got, err := neighbourPasses(n)
				if err != nil {
					t.Fatalf("run %d: %v\nneighbour console:\n%s", rep, err, n.Console)
				}
				if got != want {
					t.Errorf("run %d: neighbour passed %d checks, %d alone", rep, got, want)
				}
				// Nothing of either domain stays behind in the shared hub and store.
				if n := hub.Len(); n != 0 {
					t.Errorf("run %d: %d domains still registered with the hub", rep, n)
				}
				home := fmt.Sprintf("/local/domain/%d", hostileDom)
				admin := store.Dom0()
				if names, err := admin.Directory(home); err == nil {
					t.Errorf("run %d: %s survives its domain: %v", rep, home, names)
				}
				admin.Close()
				if t.Failed() {
					return
				}
				if rep == 0 {
					before = measure(t)
				}
			}
			after := measure(t)
			t.Logf("fds %d -> %d, heap %d -> %d KiB, rss %d -> %d KiB", before.fds, after.fds,
				before.heap>>10, after.heap>>10, before.rss>>10, after.rss>>10)
			if after.fds > before.fds+fdSlack {
				t.Errorf("file descriptors grew from %d to %d over 2 runs", before.fds, after.fds)
			}
			if after.heap > before.heap+heapSlack {
				t.Errorf("Go heap grew from %d to %d KiB over 2 runs", before.heap>>10, after.heap>>10)
			}
			if after.rss > before.rss+rssSlack {
				t.Errorf("RSS grew from %d to %d KiB over 2 runs", before.rss>>10, after.rss>>10)
			}
		})
	}
}
