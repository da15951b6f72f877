package bench

import (
	"errors"
	"fmt"
	"io"
	"math"
	"runtime/debug"
	"sort"
	"time"

	"github.com/xenolith/xenolith/bench/stats"
	"github.com/xenolith/xenolith/hv/kvm"
	"github.com/xenolith/xenolith/hv/mem"
	"github.com/xenolith/xenolith/hv/vm"
)

// DensityOptions configure a density search.
type DensityOptions struct {
	Profile       *Profile      `json:"profile"`
	Max           int           `json:"max"`             // most VMs to try
	Step          int           `json:"step"`            // VMs added per ramp step
	Searches      int           `json:"searches"`        // repeated searches, for an interval
	Window        time.Duration `json:"window_ns"`       // measuring window at each step
	MemReserveMiB uint64        `json:"mem_reserve_mib"` // stop when the host has less available
	KSM           bool          `json:"ksm"`             // merge identical guest pages, then measure again
	KSMSettle     time.Duration `json:"ksm_settle_ns"`
	// ProcessPerVM runs each VM in its own `xenolith bench vm-child`
	// process instead of sharing this process's runtime, for comparison.
	ProcessPerVM bool      `json:"process_per_vm,omitempty"`
	Exe          string    `json:"-"` // binary re-executed per VM (default os.Executable)
	Progress     io.Writer `json:"-"`
	Trace        *Trace    `json:"-"` // eBPF probes for the in-process fleet (--trace), or nil
	// CreateCycles is how many create-to-main-then-destroy cycles of one
	// extra VM measure creation latency at CreateLow VMs running and at
	// the largest fleet (0: 100; negative: none). In-process fleets only.
	CreateCycles int `json:"create_cycles"`
	CreateLow    int `json:"create_low"` // VMs running at the low level (0: 10)
	// CreateGap is the pause before each cycle (0: 20 ms), so that
	// background work (spare KVM VMs being prepared, the previous VM's
	// release) finishes as it would at a steady creation rate.
	CreateGap time.Duration `json:"create_gap_ns"`
	// Spares records that the search ran with hv/vm's pool of prepared
	// KVM VMs on (vm.SetSpares); Density sets it.
	Spares bool `json:"spares"`
}

// DensityStep is what one step of a search measured.
type DensityStep struct {
	Search, VMs      int
	SLOValue         float64 // boot p99 (ms) or slowest rate fraction
	SLOOK            bool
	CreateP50Ms      float64 // creation to main of the VMs created in this step
	CreateP99Ms      float64
	RateP50, RateMin float64 // work units/s (rate probe) or reads/s (blk probe) per VM
	BlkP50Ms         float64 // blk probe: read latency of all VMs in the window
	BlkP99Ms         float64
	NetP50Ms         float64 // net probe: UDP round trip of all VMs in the window
	NetP99Ms         float64
	NetLost          float64 // net probe: fraction of requests unanswered in the window
	HostCPU          float64 // cores used by this process
	ExitsPerSec      float64
	RSSPerVM         float64 // bytes, from the process
	PSSPerVM         float64
	KernelPerVM      float64 // bytes: slab + page tables + kernel stacks + vmalloc
	VmallocPerVM     float64
	SlabPerVM        float64
	PageTablesPerVM  float64
	KernelStackPerVM float64
	Threads, FDs     uint64
	MapsPerVM        float64 // process memory mappings added per VM
}

// errLimit names a host limit that stopped a search.
type errLimit struct{ what string }

func (e *errLimit) Error() string { return e.what }

// Density ramps VMs of a profile in one process (or, with ProcessPerVM,
// one child process per VM: suite "density-process") until the SLO
// breaks, the host runs out of a resource or Max is reached, then bisects
// near the knee; it repeats the search and reports "N VMs at SLO" with an
// interval, the limiting resource, and curves of everything measured on
// the way.
func Density(sys *kvm.System, o DensityOptions) (*Result, error) {
	p := o.Profile
	if err := p.Runnable(); err != nil {
		return nil, err
	}
	if o.Max == 0 {
		o.Max = 64
		if p.Probe == "boot" {
			o.Max = 1000
		}
	}
	if o.Step == 0 {
		o.Step = max(1, o.Max/10)
	}
	if o.Searches == 0 {
		o.Searches = 1
	}
	if o.Window == 0 {
		o.Window = time.Second
	}
	if o.MemReserveMiB == 0 {
		o.MemReserveMiB = 1024
	}
	if o.KSMSettle == 0 {
		o.KSMSettle = 20 * time.Second
	}
	if o.CreateCycles == 0 {
		o.CreateCycles = defaultCreateCycles
	}
	if o.CreateLow <= 0 {
		o.CreateLow = defaultCreateLow
	}
	if o.CreateGap <= 0 {
		o.CreateGap = defaultCreateGap
	}
	// Keep the kernel's part of VM creation, which grows with the VMs the
	// process holds, off the creation path (docs/measurements.md).
	vm.SetSpares(true)
	defer vm.SetSpares(false)
	o.Spares = true
	progress := progressOf(o.Progress)
	defer progress.Done()
	raiseLimits(o.Max)
	suite := "density"
	if o.ProcessPerVM {
		suite = "density-process"
	}
	res := &Result{Suite: suite, Config: o}
	if o.ProcessPerVM && p.Probe == "boot" {
		res.Notes = append(res.Notes, "one process per VM: the creation-latency SLO is not applied (fork/exec adds to it); the ramp goes to --max")
	} else {
		res.Notes = append(res.Notes, "spare KVM VMs on (vm.SetSpares): guest RAM, KVM VM, memory slot and irqchip are prepared in the background, so the kernel phase that grows with VMs running leaves the creation path")
	}
	var cycLow, cycHigh *creationLevel
	var steps []DensityStep
	var found []float64
	var allBoots []bootSample
	var limitNote string
	var searchNotes []string
	plan := &densityPlan{searches: o.Searches}
	var solo float64
	for search := 0; search < o.Searches; search++ {
		f, err := openFleet(sys, o)
		if err != nil {
			return nil, err
		}
		debug.FreeOSMemory() // see settledSample
		base := f.sample()
		measure := func(target int) (DensityStep, error) {
			st := DensityStep{Search: search, VMs: target}
			if f.size() > target {
				f.remove(f.size() - target)
			}
			first := len(f.bootLog())
			for f.size() < target {
				if err := checkLimits(o, base); err != nil {
					return st, err
				}
				if err := f.add(); err != nil {
					return st, err
				}
				plan.vmsAdded++
				progress.Status(fmt.Sprintf("density %s: search %d/%d, step to %d VMs", p.Name, search+1, o.Searches, target), f.size(), plan.fraction())
				if search == 0 && cycLow == nil && f.size() == o.CreateLow {
					cycLow = runCycles(f, o, progress)
				}
			}
			var boot []float64
			for _, b := range f.bootLog()[first:] {
				boot = append(boot, float64(b.Boot)/1e6)
			}
			if len(boot) > 0 {
				s := stats.Summarize(boot)
				st.CreateP50Ms, st.CreateP99Ms = s.P50, s.P99
			}
			progress.Status(fmt.Sprintf("density %s: search %d/%d, measuring %d VMs", p.Name, search+1, o.Searches, target), f.size(), plan.fraction())
			h0, e0, s0 := f.sample(), f.exits(), o.Trace.snapshot()
			ps := f.probe(o.Window)
			rates := ps.rates
			h1, e1 := f.sample(), f.exits()
			if !o.ProcessPerVM {
				o.Trace.step(search, target, s0, o.Trace.snapshot())
			}
			el := h1.Time.Sub(h0.Time).Seconds()
			st.HostCPU = float64(h1.CPU-h0.CPU) / 1e9 / el
			st.ExitsPerSec = float64(e1-e0) / el
			n := float64(max(target, 1))
			st.RSSPerVM = float64(h1.RSS-min(h1.RSS, base.RSS)) / n
			st.PSSPerVM = float64(h1.PSS-min(h1.PSS, base.PSS)) / n
			st.SlabPerVM = (float64(h1.Slab) - float64(base.Slab)) / n
			st.PageTablesPerVM = (float64(h1.PageTables) - float64(base.PageTables)) / n
			st.KernelStackPerVM = (float64(h1.KernelStack) - float64(base.KernelStack)) / n
			// MemFree moves with the page cache and other processes, so the
			// kernel's share is counted from the allocations a VM causes.
			st.VmallocPerVM = (float64(h1.Vmalloc) - float64(base.Vmalloc)) / n
			st.KernelPerVM = st.SlabPerVM + st.PageTablesPerVM + st.KernelStackPerVM + st.VmallocPerVM
			st.Threads, st.FDs = h1.Threads, h1.FDs
			st.MapsPerVM = (float64(h1.Maps) - float64(base.Maps)) / n
			switch p.Probe {
			case "boot":
				st.SLOValue = st.CreateP99Ms
				// A process per VM adds fork/exec to creation: the ramp
				// compares figures up to the same count instead.
				st.SLOOK = len(boot) == 0 || st.CreateP99Ms <= p.SLO.BootP99Ms || o.ProcessPerVM
			case "blk":
				if len(rates) > 0 {
					sort.Float64s(rates)
					st.RateMin, st.RateP50 = rates[0], stats.Percentile(rates, 50)
				}
				if len(ps.lats) > 0 {
					sum := stats.Summarize(ps.lats)
					st.BlkP50Ms, st.BlkP99Ms = sum.P50/1e6, sum.P99/1e6
				}
				st.SLOValue = st.BlkP99Ms
				st.SLOOK = len(ps.lats) > 0 && st.BlkP99Ms <= p.SLO.BlkReadP99Ms &&
					(p.SLO.MinReadsPerSec == 0 || st.RateMin >= p.SLO.MinReadsPerSec)
			case "net":
				netStep(&st, ps, p.SLO)
			case "rate":
				if len(rates) > 0 {
					sort.Float64s(rates)
					st.RateMin, st.RateP50 = rates[0], stats.Percentile(rates, 50)
					if solo == 0 && target == 1 {
						solo = rates[0]
					}
					if solo > 0 {
						st.SLOValue = st.RateMin / solo
					}
				}
				st.SLOOK = solo > 0 && st.SLOValue >= p.SLO.MinRateFraction
			}
			steps = append(steps, st)
			return st, nil
		}
		good, bad := 0, 0
		var stopErr error
		targets := []int{1}
		for n := o.Step; n <= o.Max; n += o.Step {
			if n > 1 {
				targets = append(targets, n)
			}
		}
		if targets[len(targets)-1] != o.Max {
			targets = append(targets, o.Max)
		}
		plan.add(targets)
		for _, n := range targets {
			st, err := measure(n)
			if err != nil {
				stopErr = err
				bad = f.size() + 1
				break
			}
			if !st.SLOOK {
				bad = n
				break
			}
			good = n
		}
		if search == 0 && cycLow != nil && f.size() > cycLow.Running {
			if stopErr != nil {
				f.remove(1) // at a host limit: room for the extra VM
			}
			if checkLimits(o, base) == nil {
				cycHigh = runCycles(f, o, progress)
			}
		}
		// Bisect between the last good and the first bad count.
		for stopErr == nil && bad > 0 && bad-good > max(1, o.Step/16) {
			mid := (good + bad) / 2
			st, err := measure(mid)
			if err != nil {
				stopErr = err
				break
			}
			if st.SLOOK {
				good = mid
			} else {
				bad = mid
			}
		}
		switch {
		case stopErr != nil:
			var le *errLimit
			if errors.As(stopErr, &le) {
				limitNote = "stopped by a host limit: " + le.what
			} else {
				limitNote = "stopped by an error: " + stopErr.Error()
			}
		case bad > 0:
			limitNote = fmt.Sprintf("stopped by the SLO (%s) at %d VMs", sloText(p), bad)
		default:
			limitNote = fmt.Sprintf("reached --max %d VMs within the SLO (%s); the host limit lies beyond", o.Max, sloText(p))
		}
		if o.KSM && search == o.Searches-1 {
			if note := ksmPass(f, o, base, progress); note != "" {
				res.Notes = append(res.Notes, note)
			}
		}
		found = append(found, float64(good))
		allBoots = append(allBoots, f.bootLog()...)
		plan.searchDone()
		progress.Status(fmt.Sprintf("density %s: search %d/%d found %d VMs at SLO", p.Name, search+1, o.Searches, good), f.size(), plan.fraction())
		searchNotes = append(searchNotes, fmt.Sprintf("search %d: %d VMs at SLO; %s", search+1, good, limitNote))
		f.close()
	}
	res.Notes = append(searchNotes, res.Notes...)
	densityMetrics(res, p, found, steps, allBoots)
	densityCurves(res, p, steps, allBoots)
	creationMetrics(res, cycLow, cycHigh)
	if o.ProcessPerVM {
		for i := range res.Curves {
			res.Curves[i].Name = "one process per VM: " + res.Curves[i].Name
		}
	}
	return res, nil
}

func sloText(p *Profile) string {
	switch p.Probe {
	case "boot":
		return fmt.Sprintf("creation-to-main p99 <= %g ms", p.SLO.BootP99Ms)
	case "rate":
		return fmt.Sprintf("slowest VM's rate >= %g of one VM alone", p.SLO.MinRateFraction)
	case "net":
		return fmt.Sprintf("UDP request/response p99 <= %g ms", p.SLO.NetRTTP99Ms)
	case "blk":
		if p.SLO.MinReadsPerSec > 0 {
			return fmt.Sprintf("block read p99 <= %g ms and every VM >= %g reads/s", p.SLO.BlkReadP99Ms, p.SLO.MinReadsPerSec)
		}
		return fmt.Sprintf("block read p99 <= %g ms", p.SLO.BlkReadP99Ms)
	}
	return p.Probe
}

// densityPlan estimates how far a density run has got, for progress.
type densityPlan struct {
	searches int // searches in all
	done     int // searches finished
	vmsAdded int // VMs created in the current search
	target   int // the current search's largest planned count
}

func (d *densityPlan) add(targets []int) {
	d.vmsAdded, d.target = 0, targets[len(targets)-1]
}

func (d *densityPlan) searchDone() { d.done++ }

// fraction is the share of the run done, counting a search as the VMs it
// must create to reach its largest planned count.
func (d *densityPlan) fraction() float64 {
	cur := 0.0
	if d.target > 0 {
		cur = math.Min(1, float64(d.vmsAdded)/float64(d.target))
	}
	if d.done >= d.searches {
		return 1
	}
	return (float64(d.done) + cur) / float64(max(d.searches, 1))
}

// openFleet starts an empty fleet of the kind o asks for.
func openFleet(sys *kvm.System, o DensityOptions) (vmFleet, error) {
	if o.ProcessPerVM {
		return newProcFleet(o)
	}
	f, err := newFleet(sys, o.Profile, mem.Options{Mergeable: o.KSM})
	if err != nil {
		return nil, err
	}
	f.trace = o.Trace
	return f, nil
}
