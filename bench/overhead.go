package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/guestkit"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
)

// OverheadOptions configure the overhead suite: every microbenchmark
// beside its floor in one run.
type OverheadOptions struct {
	Runs       int    `json:"runs"`       // guest runs per loop benchmark (default 5)
	Iterations int    `json:"iterations"` // round trips per loop per run (default 5000)
	Lifecycle  int    `json:"lifecycle"`  // VMs created and destroyed for create/destroy (default 20)
	MemVMs     int    `json:"mem_vms"`    // idle VMs held for per-VM memory (default 50)
	BlkOps     int    `json:"blk_ops"`    // requests per PV block run (default 2000; 0 with SkipBlk)
	SkipBlk    bool   `json:"skip_blk,omitempty"`
	Exe        string `json:"-"` // binary for the empty-process memory floor (default os.Executable)
	// NoProcess skips the measurements that start processes (the
	// empty-process memory floor), e.g. in tests of this package.
	NoProcess bool      `json:"no_process,omitempty"`
	SkipNet   bool      `json:"skip_net,omitempty"`
	Progress  io.Writer `json:"-"`
	Trace     *Trace    `json:"-"` // eBPF probes for every VM (--trace), or nil
}

// Overhead runs the microbenchmarks side by side with their floors: null
// hypercall against a raw port-I/O exit; event-channel notify and round
// trip against a bare ioeventfd and an exit; VM creation to main and VM
// destruction against creating and closing a bare KVM VM with one vCPU;
// per-VM host memory against an empty monitor process; PV block against
// native pread on the same file; PV net against host veth (when built).
// Everything lands in one Result whose metric names start with the part
// they come from.
func Overhead(sys *kvm.System, o OverheadOptions) (*Result, error) {
	if o.Runs == 0 {
		o.Runs = 5
	}
	if o.Iterations == 0 {
		o.Iterations = 5000
	}
	if o.Lifecycle == 0 {
		o.Lifecycle = 20
	}
	if o.MemVMs == 0 {
		o.MemVMs = 50
	}
	if o.BlkOps == 0 {
		o.BlkOps = 2000
	}
	prog := progressOf(o.Progress)
	defer prog.Done()
	res := &Result{Suite: "overhead", Config: o}
	parts := []struct {
		name string
		run  func() (*Result, error)
	}{
		{"hypercall", func() (*Result, error) {
			return Hypercall(sys, HypercallOptions{Runs: o.Runs, Iterations: o.Iterations, Boots: 1, Progress: prog, Trace: o.Trace})
		}},
		{"evtchn", func() (*Result, error) {
			return Evtchn(sys, EvtchnOptions{Runs: o.Runs, Iterations: min(o.Iterations, 65536), Progress: prog, Trace: o.Trace})
		}},
		{"lifecycle", func() (*Result, error) { return lifecycle(sys, o.Lifecycle, prog, o.Trace) }},
		{"memory", func() (*Result, error) { return vmMemory(sys, o, prog) }},
		{"blk", func() (*Result, error) {
			if o.SkipBlk {
				return nil, nil
			}
			return Blk(sys, BlkOptions{Runs: min(o.Runs, 3), Ops: o.BlkOps, ImageMiB: 64, Progress: prog, Trace: o.Trace})
		}},
		{"net", func() (*Result, error) {
			if o.SkipNet {
				return nil, nil
			}
			r, err := Net(sys, NetOptions{Runs: min(o.Runs, 3), Packets: 5000, RoundTrips: 500, Progress: prog, Trace: o.Trace})
			if errors.Is(err, ErrNetRoot) {
				return nil, nil
			}
			return r, err
		}},
	}
	for i, p := range parts {
		prog.Status("overhead: "+p.name, -1, float64(i)/float64(len(parts)))
		r, err := p.run()
		if err != nil {
			return nil, fmt.Errorf("overhead: %s: %w", p.name, err)
		}
		if r == nil {
			switch p.name {
			case "net":
				if o.SkipNet {
					res.Notes = append(res.Notes, "net: skipped (--skip-net)")
				} else {
					res.Notes = append(res.Notes, "net: not available ("+ErrNetRoot.Error()+")")
				}
			case "blk":
				res.Notes = append(res.Notes, "blk: skipped (--skip-blk)")
			}
			continue
		}
		if r.TSCKHz != 0 && res.TSCKHz == 0 {
			res.TSCKHz = r.TSCKHz
		}
		mergeOverhead(res, p.name, r)
	}
	return res, nil
}

// mergeOverhead copies the metrics of a part's result into res, keeping
// only those that are, or belong to, a comparison with a floor, with names
// (and floor names) prefixed by the part.
func mergeOverhead(res *Result, part string, r *Result) {
	keep := map[string]bool{}
	for _, m := range r.Metrics {
		if m.Floor != "" {
			keep[m.Name], keep[m.Floor] = true, true
		}
	}
	for _, m := range r.Metrics {
		if !keep[m.Name] && !strings.HasSuffix(m.Name, " / floor") && part != "memory" && part != "lifecycle" {
			continue
		}
		m.Name = part + ": " + m.Name
		if m.Floor != "" {
			m.Floor = part + ": " + m.Floor
		}
		m.Samples = nil // raw samples stay in the part's own suite runs
		res.Metrics = append(res.Metrics, m)
	}
	for _, n := range r.Notes {
		res.Notes = append(res.Notes, part+": "+n)
	}
}

// lifecycle times n VMs from creation to the guest's main and from Stop
// until KVM released them (Run returned, Close done, the VM fd freed),
// each against a bare KVM VM with an in-kernel irqchip and one vCPU
// created and closed the same number of times, interleaved.
func lifecycle(sys *kvm.System, n int, prog *Progress, tr *Trace) (*Result, error) {
	img, err := guestkit.Program("idle")
	if err != nil {
		return nil, err
	}
	var create, destroy, bareCreate, bareClose []float64
	for i := 0; i < n; i++ {
		prog.Status(fmt.Sprintf("overhead: lifecycle %d/%d", i+1, n), -1, -1)
		bc, bd, err := bareVM(sys)
		if err != nil {
			return nil, err
		}
		bareCreate, bareClose = append(bareCreate, float64(bc)), append(bareClose, float64(bd))
		c, d, err := oneLifecycle(sys, img, tr)
		if err != nil {
			return nil, err
		}
		create, destroy = append(create, float64(c)), append(destroy, float64(d))
	}
	k := batchSize(n)
	res := &Result{Suite: "lifecycle"}
	pair := func(name, floor string, xs, fs []float64) {
		fm := Metric{Name: floor, Unit: "ns", Summary: stats.Summarize(fs), Runs: batchMedians(fs, k)}
		m := Metric{Name: name, Unit: "ns", Summary: stats.Summarize(xs), Runs: batchMedians(xs, k), Floor: floor}
		m.Ratio, m.RatioLo, m.RatioHi = stats.PairedRatio(m.Runs, fm.Runs)
		res.Metrics = append(res.Metrics, fm, m, ratioMetric(name, m.Runs, fm.Runs))
	}
	pair("VM create to guest main", "bare KVM VM + irqchip + vCPU created (floor)", create, bareCreate)
	pair("VM destroy (Stop, Close, until KVM released it)", "bare KVM VM + vCPU closed (floor)", destroy, bareClose)
	return res, nil
}

// bareVM creates and closes a KVM VM with an irqchip and one vCPU: the
// kernel's own share of a VM's life.
func bareVM(sys *kvm.System) (create, destroy time.Duration, err error) {
	t0 := time.Now()
	k, err := sys.CreateVM()
	if err != nil {
		return 0, 0, err
	}
	if err := k.CreateIRQChip(); err != nil {
		k.Close()
		return 0, 0, err
	}
	c, err := k.CreateVCPU(0)
	if err != nil {
		k.Close()
		return 0, 0, err
	}
	t1 := time.Now()
	c.Close()
	k.Close()
	return t1.Sub(t0), time.Since(t1), nil
}

// oneLifecycle boots an idle VM to main and destroys it.
func oneLifecycle(sys *kvm.System, img []byte, tr *Trace) (create, destroy time.Duration, err error) {
	mainc := make(chan time.Time, 1)
	m, err := vm.New(sys, vm.Config{
		Name: "lifecycle", MemBytes: 16 << 20, VCPUs: 1, Kernel: img, Cmdline: "idle", OnVCPUThread: tr.Hook("lifecycle"),
		OnReport: func(r vm.Report) {
			if r.Kind == vm.ReportMark && r.Msg == "main" {
				select {
				case mainc <- r.Time:
				default:
				}
			}
		},
	})
	if err != nil {
		return 0, 0, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(context.Background())
	}()
	select {
	case t := <-mainc:
		create = t.Sub(m.Created())
	case <-done:
		m.Close()
		return 0, 0, fmt.Errorf("idle guest ended before main")
	case <-time.After(60 * time.Second):
		m.Stop()
		<-done
		m.Close()
		return 0, 0, fmt.Errorf("idle guest did not reach main within 60 s")
	}
	t0 := time.Now()
	m.Stop()
	<-done
	m.Close()
	vm.WaitClosed()
	destroy = time.Since(t0)
	tr.Account("lifecycle", m.Exits(), nil) // after the timing: reads no fd
	return create, destroy, nil
}

// vmMemory holds o.MemVMs idle VMs in this process and reports host memory
// per VM (process RSS and PSS growth, kernel memory growth) against the
// memory of an empty monitor process (the floor: a vm-child without a VM).
func vmMemory(sys *kvm.System, o OverheadOptions, prog *Progress) (*Result, error) {
	prof := &Profile{Name: "idle", VCPUs: 1, MemMiB: 16, Program: "idle", Probe: "boot"}
	f, err := newFleet(sys, prof, mem.Options{})
	if err != nil {
		return nil, err
	}
	f.trace = o.Trace
	defer f.close()
	base := settledSample()
	var rss, pss, kern []float64
	// Three measurements at growing counts give run-level values.
	for i, target := range []int{o.MemVMs / 3, 2 * o.MemVMs / 3, o.MemVMs} {
		for f.size() < max(target, 1) {
			if err := f.add(); err != nil {
				return nil, err
			}
			prog.Status(fmt.Sprintf("overhead: memory, step %d/3", i+1), f.size(), -1)
		}
		time.Sleep(200 * time.Millisecond)
		h := SampleHost()
		n := float64(f.size())
		rss = append(rss, float64(h.RSS-min(h.RSS, base.RSS))/n)
		pss = append(pss, float64(h.PSS-min(h.PSS, base.PSS))/n)
		kern = append(kern, (float64(h.Slab+h.PageTables+h.KernelStack+h.Vmalloc)-float64(base.Slab+base.PageTables+base.KernelStack+base.Vmalloc))/n)
	}
	res := &Result{Suite: "memory"}
	res.Notes = append(res.Notes, fmt.Sprintf("per-VM memory of %d idle VMs of 16 MiB in one process, measured at 1/3, 2/3 and all of them", o.MemVMs))
	floorName := ""
	var floorRuns []float64
	if !o.NoProcess {
		e, err := emptyProcessRSS(o.Exe)
		if err != nil {
			res.Notes = append(res.Notes, "empty-process floor not measured: "+err.Error())
		} else {
			floorRuns = []float64{float64(e), float64(e), float64(e)}
			floorName = "empty monitor process RSS (floor)"
			res.Metrics = append(res.Metrics, Metric{Name: floorName, Unit: "bytes", Summary: stats.Summarize(floorRuns[:1]), Runs: floorRuns})
		}
	}
	for _, x := range []struct {
		name string
		v    []float64
	}{{"process RSS per VM", rss}, {"process PSS per VM", pss}, {"kernel memory per VM (slab, page tables, stacks, vmalloc)", kern}} {
		m := Metric{Name: x.name, Unit: "bytes", Summary: stats.Summarize(x.v), Runs: x.v}
		if floorName != "" && x.name == "process RSS per VM" {
			m.Floor = floorName
			m.Ratio, m.RatioLo, m.RatioHi = stats.PairedRatio(x.v, floorRuns)
		}
		res.Metrics = append(res.Metrics, m)
	}
	return res, nil
}

// emptyProcessRSS starts the monitor binary as a vm-child with no VM and
// returns its resident memory once it is up.
func emptyProcessRSS(exe string) (uint64, error) {
	f, err := newProcFleet(DensityOptions{Exe: exe, Profile: &Profile{Name: "empty", Probe: "boot"}})
	if err != nil {
		return 0, err
	}
	defer f.close()
	if err := f.add(); err != nil {
		return 0, err
	}
	time.Sleep(200 * time.Millisecond)
	c := f.members[0]
	r := procKV(fmt.Sprintf("/proc/%d/smaps_rollup", c.cmd.Process.Pid))
	if r == nil || r["Rss"] == 0 {
		return 0, fmt.Errorf("no smaps_rollup for the empty process: %w", os.ErrNotExist)
	}
	return r["Rss"], nil
}
