package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/vm"
	"github.com/xenolith/xenolith/internal/devices"
)

// BlkOptions configure the PV block suite.
type BlkOptions struct {
	Runs     int       // runs of each side (default 5)
	Ops      int       // requests per run (default 20000, at most 65536)
	ImageMiB int       // image size (default 256); its pages are in the host page cache
	Dir      string    `json:"-"` // where the image lives (default os.TempDir)
	Progress io.Writer `json:"-"`
}

// Blk measures 4 KiB random reads through the PV block path (blkbench in a
// VM, blkfront -> ring -> blkback -> pread) against the same pattern run
// natively on the same file in the same run (goroutines doing pread), at
// queue depth 32 (IOPS) and 1 (latency); with user-space exits and host
// CPU time per request.
func Blk(sys *kvm.System, o BlkOptions) (*Result, error) {
	if o.Runs == 0 {
		o.Runs = 5
	}
	if o.Ops == 0 {
		o.Ops = 20000
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
	for _, qd := range []int{32, 1} {
		var pvIOPS, natIOPS, pvLat, natLat, exitsPer, cpuPer []float64
		for run := 0; run < o.Runs; run++ {
			fmt.Fprintf(progress, "blk: qd %d run %d/%d\n", qd, run+1, o.Runs)
			iops, lat, exits, cpu, khz, err := blkGuestRun(sys, img, qd, o.Ops)
			if err != nil {
				return nil, err
			}
			res.TSCKHz = khz
			pvIOPS = append(pvIOPS, iops)
			pvLat = append(pvLat, lat...)
			exitsPer = append(exitsPer, exits)
			cpuPer = append(cpuPer, cpu)
			niops, nlat, err := blkNativeRun(img, qd, o.Ops)
			if err != nil {
				return nil, err
			}
			natIOPS = append(natIOPS, niops)
			natLat = append(natLat, nlat...)
		}
		q := fmt.Sprintf("4 KiB random read, qd %d", qd)
		nat := Metric{Name: q + ", native pread (floor)", Unit: "ops/s", Summary: stats.Summarize(natIOPS), Runs: natIOPS}
		pv := Metric{Name: q + ", PV block", Unit: "ops/s", Summary: stats.Summarize(pvIOPS), Runs: pvIOPS, Floor: nat.Name}
		pv.Ratio, pv.RatioLo, pv.RatioHi = stats.PairedRatio(pvIOPS, natIOPS)
		res.Metrics = append(res.Metrics, nat, pv)
		if qd == 1 {
			res.Metrics = append(res.Metrics,
				Metric{Name: q + ", native pread latency", Unit: "ns", Summary: stats.Summarize(natLat)},
				Metric{Name: q + ", PV block latency", Unit: "ns", Summary: stats.Summarize(pvLat)})
		}
		res.Metrics = append(res.Metrics,
			Metric{Name: q + ", user-space exits per request", Unit: "count", Summary: stats.Summarize(exitsPer), Runs: exitsPer},
			Metric{Name: q + ", monitor process CPU per request (includes the guest's polling vCPU)", Unit: "ns", Summary: stats.Summarize(cpuPer), Runs: cpuPer})
	}
	return res, nil
}

// writeImage fills a file with data, so that its pages are in the page cache.
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
	return f.Close()
}

// blkGuestRun runs blkbench once and returns IOPS, latencies (ns),
// user-space exits per request and monitor CPU ns per request.
func blkGuestRun(sys *kvm.System, img string, qd, n int) (float64, []float64, float64, float64, uint64, error) {
	var disk *devices.Disk
	var m *vm.VM
	var mu sync.Mutex
	exits := map[string]uint64{}
	cpu := map[string]time.Duration{}
	out, err := guestkit.Run(sys, guestkit.RunOptions{
		Program: "blkbench", MemBytes: 32 << 20, Timeout: 5 * time.Minute,
		Cmdline: fmt.Sprintf("mode=randread bs=4096 qd=%d n=%d", qd, n),
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

// blkNativeRun reads 4 KiB blocks at random offsets of the image with qd
// goroutines, n reads in all; returns IOPS and latencies (ns).
func blkNativeRun(img string, qd, n int) (float64, []float64, error) {
	f, err := os.Open(img)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	blocks := st.Size() / 4096
	fd := int(f.Fd())
	lats := make([][]float64, qd)
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
				lats[g] = append(lats[g], float64(time.Since(s).Nanoseconds()))
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
