package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
	"github.com/xenolith/xenolith/internal/iouring"
)

// BlkOptions configure the PV block suite.
type BlkOptions struct {
	Runs     int       // runs of each side (default 10)
	Ops      int       // requests per run (default 100000, at most MaxBlkOps)
	ImageMiB int       // image size (default 256); its pages are in the host page cache
	Dir      string    `json:"-"` // where the image lives (default os.TempDir)
	Progress io.Writer `json:"-"`
	Trace    *Trace    `json:"-"` // eBPF probes for every VM (--trace), or nil
}

// MaxBlkOps is the most requests BlkOptions.Ops may ask for per run.
const MaxBlkOps = 1 << 24

// blkLatSamples is the most latencies a run keeps: every
// ceil(ops/blkLatSamples)th request's (blkbench's own limit).
const blkLatSamples = 65536

// Blk measures 4 KiB random reads through the PV block path (blkbench in a
// VM, blkfront -> ring -> blkback -> io_uring or pread) against the same
// access pattern run natively on the same file in the same run: one thread
// keeping qd reads in flight with io_uring (what fio --ioengine=io_uring
// --iodepth=qd --numjobs=1 does), or, where io_uring is unavailable, one
// thread doing pread. It reports queue depth 32 (IOPS) and 1 (IOPS and
// latency), user-space exits and host CPU time per request, and, for
// information, qd goroutines each doing pread and, at depth 32, the floor
// again while another thread keeps a second core busy as the guest's
// polling vCPU does, and the floor with its file and buffers registered
// with the ring (as the backend registers the image and persistent-grant
// pages; fio's registerfiles and fixedbufs). Each queue depth starts with a warm-up pair of runs
// that is not counted (as fio's ramp_time): the first runs in a process
// are slower (measured: the first PV run at about half the rate). Each
// run's PV and floor pair alternates which goes first.
func Blk(sys *kvm.System, o BlkOptions) (*Result, error) {
	tr := o.Trace
	stopProfile, err := startCPUProfile()
	if err != nil {
		return nil, err
	}
	defer stopProfile()
	if o.Runs == 0 {
		o.Runs = 10
	}
	if o.Ops == 0 {
		o.Ops = 100000
	}
	if o.ImageMiB == 0 {
		o.ImageMiB = 256
	}
	progress := o.Progress
	if progress == nil {
		progress = io.Discard
	}
	dir := o.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	img := filepath.Join(dir, fmt.Sprintf("xenolith-blk-%d.img", os.Getpid()))
	if err := writeImage(img, o.ImageMiB); err != nil {
		return nil, err
	}
	defer os.Remove(img)
	res := &Result{Suite: "blk", Config: o}
	floorName := "native io_uring, 1 thread (floor)"
	if err := iouring.Available(); err != nil {
		floorName = "native pread, 1 thread (floor; io_uring unavailable)"
	}
	// The native loop with registered file and buffers, where the kernel
	// has them: what the floor would gain from what the backend does.
	regOK := iouring.BufferTablesAvailable() == nil
	for _, qd := range []int{32, 1} {
		var pvIOPS, natIOPS, busyIOPS, regIOPS, poolIOPS, pvLat, natLat, poolLat, exitsPer, cpuPer []float64
		fmt.Fprintf(progress, "blk: qd %d warm-up\n", qd)
		// Untraced: the trace's per-VM figures are the counted runs'.
		if _, _, _, _, _, err := blkGuestRun(sys, nil, img, qd, min(o.Ops, 20000)); err != nil {
			return nil, err
		}
		if _, _, err := blkNativeRun(img, qd, min(o.Ops, 20000)); err != nil {
			return nil, err
		}
		for run := 0; run < o.Runs; run++ {
			fmt.Fprintf(progress, "blk: qd %d run %d/%d\n", qd, run+1, o.Runs)
			guest := func() error {
				iops, lat, exits, cpu, khz, err := blkGuestRun(sys, tr, img, qd, o.Ops)
				if err != nil {
					return err
				}
				res.TSCKHz = khz
				pvIOPS = append(pvIOPS, iops)
				pvLat = append(pvLat, lat...)
				exitsPer = append(exitsPer, exits)
				cpuPer = append(cpuPer, cpu)
				return nil
			}
			native := func() error {
				niops, nlat, err := blkNativeRun(img, qd, o.Ops)
				if err != nil {
					return err
				}
				natIOPS = append(natIOPS, niops)
				natLat = append(natLat, nlat...)
				return nil
			}
			// The pair's order alternates, so that neither side always
			// follows the same neighbour (or the host's drift) in time.
			first, second := guest, native
			if run%2 == 1 {
				first, second = native, guest
			}
			if err := first(); err != nil {
				return nil, err
			}
			if err := second(); err != nil {
				return nil, err
			}
			if qd == 32 {
				biops, err := blkNativeBusy(img, qd, o.Ops)
				if err != nil {
					return nil, err
				}
				busyIOPS = append(busyIOPS, biops)
				if regOK {
					riops, _, err := blkNativeUring(img, qd, o.Ops, true)
					if err != nil {
						return nil, err
					}
					regIOPS = append(regIOPS, riops)
				}
			}
			piops, plat, err := blkNativePread(img, qd, o.Ops)
			if err != nil {
				return nil, err
			}
			poolIOPS = append(poolIOPS, piops)
			poolLat = append(poolLat, plat...)
		}
		q := fmt.Sprintf("4 KiB random read, qd %d", qd)
		nat := Metric{Name: q + ", " + floorName, Unit: "ops/s", Summary: stats.Summarize(natIOPS), Runs: natIOPS}
		pv := Metric{Name: q + ", PV block", Unit: "ops/s", Summary: stats.Summarize(pvIOPS), Runs: pvIOPS, Floor: nat.Name}
		pv.Ratio, pv.RatioLo, pv.RatioHi = stats.PairedRatio(pvIOPS, natIOPS)
		pool := Metric{Name: fmt.Sprintf("%s, native pread, %d goroutines (informational)", q, qd), Unit: "ops/s",
			Summary: stats.Summarize(poolIOPS), Runs: poolIOPS}
		res.Metrics = append(res.Metrics, nat, pv, pool)
		if len(regIOPS) > 0 {
			reg := Metric{Name: q + ", native io_uring, registered file and buffers, 1 thread (informational)",
				Unit: "ops/s", Summary: stats.Summarize(regIOPS), Runs: regIOPS, Floor: nat.Name}
			reg.Ratio, reg.RatioLo, reg.RatioHi = stats.PairedRatio(regIOPS, natIOPS)
			res.Metrics = append(res.Metrics, reg)
		}
		if len(busyIOPS) > 0 {
			busy := Metric{Name: q + ", " + strings.TrimSuffix(floorName, " (floor)") + " beside a busy thread (informational)",
				Unit: "ops/s", Summary: stats.Summarize(busyIOPS), Runs: busyIOPS, Floor: nat.Name}
			busy.Ratio, busy.RatioLo, busy.RatioHi = stats.PairedRatio(busyIOPS, natIOPS)
			res.Metrics = append(res.Metrics, busy)
		}
		if qd == 1 {
			res.Metrics = append(res.Metrics,
				Metric{Name: q + ", " + strings.TrimSuffix(floorName, " (floor)") + " latency", Unit: "ns", Summary: stats.Summarize(natLat)},
				Metric{Name: q + ", PV block latency", Unit: "ns", Summary: stats.Summarize(pvLat)},
				Metric{Name: q + ", native pread latency (informational)", Unit: "ns", Summary: stats.Summarize(poolLat)})
		}
		res.Metrics = append(res.Metrics,
			Metric{Name: q + ", user-space exits per request", Unit: "count", Summary: stats.Summarize(exitsPer), Runs: exitsPer},
			Metric{Name: q + ", monitor process CPU per request (includes the guest's polling vCPU)", Unit: "ns", Summary: stats.Summarize(cpuPer), Runs: cpuPer})
	}
	res.Notes = append(res.Notes, "PV block needs two cores at once (the guest's polling vCPU and the backend) where the floor needs one; "+
		"the floor beside a busy thread shows what occupying the second core alone costs the floor on this host")
	return res, nil
}

// writeImage fills a file with data and syncs it, so that its pages are
// clean and in the page cache.
func writeImage(path string, mib int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for i := 0; i < mib; i++ {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	// Clean pages: writeback must not run during the measurements.
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// blkGuestRun runs blkbench once and returns IOPS, latencies (ns),
// user-space exits per request and monitor CPU ns per request.
func blkGuestRun(sys *kvm.System, tr *Trace, img string, qd, n int) (float64, []float64, float64, float64, uint64, error) {
	var disk *devices.Disk
	var m *vm.VM
	var mu sync.Mutex
	exits := map[string]uint64{}
	cpu := map[string]time.Duration{}
	out, err := tr.run(sys, fmt.Sprintf("blkbench qd %d", qd), guestkit.RunOptions{
		Program: "blkbench", MemBytes: 32 << 20, Timeout: 5 * time.Minute,
		Cmdline: fmt.Sprintf("mode=randread bs=4096 qd=%d n=%d xen_blkfront.feature_persistent=1", qd, n),
		OnStart: func(v *vm.VM) { m = v },
		OnReport: func(r vm.Report) {
			if r.Kind == vm.ReportMark {
				var ru syscall.Rusage
				syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
				mu.Lock()
				exits[r.Msg] = m.Exits()
				cpu[r.Msg] = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
				mu.Unlock()
			}
		},
		Setup: func(v *vm.VM) error {
			f, err := devices.OpenDisk(devices.DiskSpec{Path: img})
			if err != nil {
				return err
			}
			disk, err = devices.AttachDisk(v, 0, f, nil)
			return err
		},
	})
	if disk != nil {
		disk.Close()
	}
	if err != nil {
		return 0, nil, 0, 0, 0, err
	}
	ops, ok1 := out.Metric("ops")
	cycles, ok2 := out.Metric("cycles")
	if out.Result.Reason != vm.ReasonPoweroff || !ok1 || !ok2 || out.TSCKHz == 0 {
		return 0, nil, 0, 0, 0, fmt.Errorf("blkbench guest ended with %s: %s", out.Result, out.Console)
	}
	secs := float64(cycles) / (float64(out.TSCKHz) * 1e3)
	mu.Lock()
	defer mu.Unlock()
	e := float64(exits["bench_end"]-exits["bench_start"]) / float64(ops)
	c := float64(cpu["bench_end"]-cpu["bench_start"]) / float64(ops)
	return float64(ops) / secs, nsSeries(out.Series("lat"), out.TSCKHz), e, c, out.TSCKHz, nil
}

// blkNativeRun is the floor: one thread reading 4 KiB blocks at random
// offsets of the image with qd reads in flight on io_uring, n reads in all
// (one thread doing pread where io_uring is unavailable); returns IOPS and
// latencies (ns) of every ceil(n/blkLatSamples)th read.
func blkNativeRun(img string, qd, n int) (float64, []float64, error) {
	return blkNativeUring(img, qd, n, false)
}

// blkNativeUring is blkNativeRun, with the file and the buffers registered
// with the ring (READ_FIXED, as the backend reads into persistent-grant
// pages) if registered.
func blkNativeUring(img string, qd, n int, registered bool) (float64, []float64, error) {
	if iouring.Available() != nil {
		return blkNativePread(img, 1, n)
	}
	f, blocks, err := openImage(img)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	r, err := iouring.New(uint32(qd))
	if err != nil {
		return 0, nil, err
	}
	defer r.Close()
	arena, err := unix.Mmap(-1, 0, qd*4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return 0, nil, fmt.Errorf("native buffers: %w", err)
	}
	defer unix.Munmap(arena)
	fd, flags := int(f.Fd()), iouring.Flags(0)
	if registered {
		if err := r.RegisterFiles(fd); err != nil {
			return 0, nil, err
		}
		if err := r.RegisterBufferSlots(1); err != nil {
			return 0, nil, err
		}
		if err := r.SetBuffer(0, arena); err != nil {
			return 0, nil, err
		}
		fd, flags = 0, iouring.FixedFile
	}
	rng := rand.New(rand.NewPCG(uint64(qd), 7))
	bufs := make([][]byte, qd)
	sub := make([]time.Time, qd)
	stride := (n + blkLatSamples - 1) / blkLatSamples
	lats := make([]float64, 0, n/stride+1)
	cqes := make([]iouring.CQE, qd)
	issued, done := 0, 0
	start := func(slot int) error {
		sub[slot] = time.Now()
		issued++
		if registered {
			return r.ReadFixed(fd, bufs[slot], rng.Int64N(blocks)*4096, 0, flags, uint64(slot))
		}
		return r.Read(fd, bufs[slot], rng.Int64N(blocks)*4096, flags, uint64(slot))
	}
	t0 := time.Now()
	for slot := range bufs {
		bufs[slot] = arena[slot*4096 : (slot+1)*4096 : (slot+1)*4096]
		if issued < n {
			if err := start(slot); err != nil {
				return 0, nil, err
			}
		}
	}
	for done < n {
		if r.Ready() == 0 {
			if _, err := r.Submit(1); err != nil {
				return 0, nil, err
			}
		}
		k := r.Reap(cqes)
		now := time.Now()
		for _, c := range cqes[:k] {
			if c.Res != 4096 {
				return 0, nil, fmt.Errorf("native io_uring read: result %d", c.Res)
			}
			slot := int(c.UserData)
			if done%stride == 0 {
				lats = append(lats, float64(now.Sub(sub[slot]).Nanoseconds()))
			}
			done++
			if issued < n {
				if err := start(slot); err != nil {
					return 0, nil, err
				}
			}
		}
	}
	el := time.Since(t0).Seconds()
	return float64(n) / el, lats, nil
}

// blkNativeBusy is blkNativeRun while another thread spins, as the guest's
// vCPU does while it polls for completions: what the same native reads get
// when a second core is busy. On a host whose two cores share one physical
// core's resources this alone costs a tenth or more (docs/measurements.md).
func blkNativeBusy(img string, qd, n int) (float64, error) {
	var stop atomic.Bool
	done := make(chan uint64)
	go func() {
		runtime.LockOSThread()
		x := uint64(1)
		for !stop.Load() {
			for i := uint64(0); i < 256; i++ {
				x = x*6364136223846793005 + i
			}
		}
		done <- x
	}()
	iops, _, err := blkNativeRun(img, qd, n)
	stop.Store(true)
	<-done
	return iops, err
}

// openImage opens the image and returns it with its size in 4 KiB blocks.
func openImage(img string) (*os.File, int64, error) {
	f, err := os.Open(img)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size() / 4096, nil
}

// blkNativePread reads 4 KiB blocks at random offsets of the image with
// qd goroutines each doing pread, n reads in all; returns IOPS and the
// latencies (ns) of about every ceil(n/blkLatSamples)th read.
func blkNativePread(img string, qd, n int) (float64, []float64, error) {
	f, blocks, err := openImage(img)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	fd := int(f.Fd())
	lats := make([][]float64, qd)
	stride := (n + blkLatSamples - 1) / blkLatSamples
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < qd; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 7))
			buf := make([]byte, 4096)
			for i := g; i < n; i += qd {
				s := time.Now()
				unix.Pread(fd, buf, r.Int64N(blocks)*4096)
				if i%stride == 0 {
					lats[g] = append(lats[g], float64(time.Since(s).Nanoseconds()))
				}
			}
		}(g)
	}
	wg.Wait()
	el := time.Since(t0).Seconds()
	var all []float64
	for _, l := range lats {
		all = append(all, l...)
	}
	return float64(n) / el, all, nil
}

// startCPUProfile writes a pprof CPU profile of the suite to the file named
// by the environment variable XENOLITH_CPUPROFILE, if set, until the
// returned function is called.
func startCPUProfile() (func(), error) {
	path := os.Getenv("XENOLITH_CPUPROFILE")
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
